"""The METAFLOW_* scan of an environment (``_environ``) finds exactly what a plain loop finds."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import ConfigWarning, load
from metaflow_config._sources.data import LayerData
from metaflow_config._sources.environ import metaflow_items


def plain(env: dict[str, str] | os._Environ[str]) -> list[tuple[str, str]]:
    """What the scan replaces: every name, in order, tested in Python; then the slips of case
    (``metaflow_``, which Metaflow passes over: reported), in order."""
    return [(key, env[key]) for key in env if key.startswith("METAFLOW_")] + [
        (key, env[key]) for key in env if key.startswith("metaflow_")
    ]


NAMES = st.lists(
    st.sampled_from(["METAFLOW_", "metaflow_", "\0", "A", "_", "M", "é", "\udcff"]), max_size=5
).map("".join)


@given(st.dictionaries(NAMES, st.text(max_size=3), max_size=8))
def test_any_dict_scans_like_the_plain_loop(env: dict[str, str]) -> None:
    """Names holding NUL, repeats after a cut, non-ASCII: the same pairs in the same order."""
    assert metaflow_items(env) == plain(env)
    assert metaflow_items(env) == plain(env)  # and again, from the remembered search


def test_os_environ_scans_like_the_plain_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.environ: non-ASCII and undecodable bytes; adding, changing and removing between scans."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "q-\udcff")
    monkeypatch.setenv("METAFLOW_É", "é")
    monkeypatch.setenv("metaflow_batch_job_queue", "q")
    assert metaflow_items(os.environ) == plain(os.environ)
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "other")  # same names, a new value
    assert metaflow_items(os.environ) == plain(os.environ)
    monkeypatch.delenv("METAFLOW_É")
    monkeypatch.setenv("METAFLOW_Z", "z")  # as many names as before, one different
    assert metaflow_items(os.environ) == plain(os.environ)
    monkeypatch.delenv("METAFLOW_Z")
    assert metaflow_items(os.environ) == plain(os.environ)


def test_a_typo_added_after_a_resolution_is_still_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The remembered search never hides a variable added since: unknown names still warn."""
    load()
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEU", "q")
    with pytest.warns(ConfigWarning, match="METAFLOW_BATCH_JOB_QUEU"):
        load()


@pytest.mark.parametrize(
    ("name", "said"),
    [
        pytest.param(
            "metaflow_batch_job_queue", "did you mean METAFLOW_BATCH_JOB_QUEUE?", id="setting"
        ),
        pytest.param("metaflow_profile", "did you mean METAFLOW_PROFILE?", id="selector"),
        pytest.param(
            "metaflow_acme", "Metaflow reads only METAFLOW_* keys: if no other program", id="other"
        ),
    ],
)
def test_a_name_in_lower_case_is_reported_not_applied(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, name: str, said: str
) -> None:
    """Environment names are case-sensitive: Metaflow reads none of ``metaflow_*``, and a user
    who typed one is told what it is (with the name in capitals where that one is known)."""
    monkeypatch.setenv(name, "q")
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    with pytest.warns(ConfigWarning, match=rf"{name} \(env: {name}\).*{re.escape(said)}"):
        s = load()
    assert s.batch.job_queue is None
    assert s.explain("METAFLOW_BATCH_JOB_QUEUE").source == "default"


def test_the_environment_layer_is_read_again_exactly_when_it_could_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The remembered read of the env layer is reused while its names and the values it depends
    on are unchanged: a runtime variable's new value, or a new name of a runtime family, reuses
    it; any other change reads again."""
    from metaflow_config._sources.layers import EnvLayer

    def read() -> LayerData:
        return EnvLayer(os.environ).read()

    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "q")
    monkeypatch.setenv("METAFLOW_CONDA_ENVS_DIRNAME", "envs")  # Metaflow's runtime variable
    monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", "")  # a setting, empty: not set
    monkeypatch.setenv("METAFLOW_PERF_UNKNOWN", "u")
    first = read()
    assert read() is first
    monkeypatch.setenv("METAFLOW_CONDA_ENVS_DIRNAME", "other")  # passed over by name
    assert read() is first
    monkeypatch.setenv("PERF_NOT_METAFLOW", "x")  # another variable: the same names found
    assert read() is first
    assert read() is first
    steps = [
        ("METAFLOW_BATCH_JOB_QUEUE", "q2"),  # a setting's value
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::123456789012:role/r"),  # an empty one set
        ("METAFLOW_PERF_UNKNOWN", "v"),  # an unknown key's value (held in extra)
        ("METAFLOW_PERF_OTHER", "x"),  # a new name
    ]
    for name, value in steps:
        before = read()
        monkeypatch.setenv(name, value)
        after = read()
        assert after is not before, name
        assert after == _fresh(), name
    before = read()
    monkeypatch.setenv("METAFLOW_CONDA_OTHER", "x")  # a runtime family's: the search passes it over
    assert read() is before
    monkeypatch.delenv("METAFLOW_PERF_OTHER")
    assert read() is not before
    assert read().values["BATCH_JOB_QUEUE"].value == "q2"
    assert read().values["SFN_IAM_ROLE"].value == "arn:aws:iam::123456789012:role/r"


def _fresh() -> LayerData:
    """The env layer read from a copy of os.environ (no remembered read can apply)."""
    from metaflow_config._sources.layers import EnvLayer

    data = EnvLayer(dict(os.environ)).read()
    return data


@pytest.mark.parametrize("large", [0, 1 << 40])
def test_a_large_environment_is_searched_as_a_small_one(
    monkeypatch: pytest.MonkeyPatch, large: int
) -> None:
    """Whether the runtime families are looked for by one compiled search (a large environment)
    or by a substring test each (a small one), the same names are found."""
    from metaflow_config._sources import environ
    from metaflow_config._sources.keys import ENV_SKIP

    env = {f"METAFLOW_CONDA_GUARD_{i}": "x" for i in range(50)}
    env.update(
        {
            "METAFLOW_CONDA_PACKAGE_S3ROTO": "typo",  # kept: one edit from a family setting
            "METAFLOW_DEBUG_SUBCOMAND": "1",
            "METAFLOW_BATCH_JOB_QUEUE": "q",
            "METAFLOW_BENCH_UNKNOWN": "u",
            "PATH": "/bin",
        }
    )
    expected = [
        ("METAFLOW_CONDA_PACKAGE_S3ROTO", "typo"),
        ("METAFLOW_DEBUG_SUBCOMAND", "1"),
        ("METAFLOW_BATCH_JOB_QUEUE", "q"),
        ("METAFLOW_BENCH_UNKNOWN", "u"),
    ]
    monkeypatch.setattr(environ, "_LARGE", large)
    monkeypatch.setattr(environ, "_last", ([], environ.Found((), native=False)))  # no memory
    assert metaflow_items(env, ENV_SKIP) == expected
    without = {k: v for k, v in env.items() if "CONDA" not in k and "DEBUG" not in k}
    assert metaflow_items(without, ENV_SKIP) == expected[2:]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_family_typo_found_by_its_end_is_kept_wherever_it_is(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A runtime family's name misspelled at its start (``XACKAGE``) is found from its end:
    also as the environment's last name, which no NUL follows (it was passed over there)."""
    from metaflow_config._sources import environ
    from metaflow_config._sources.keys import ENV_SKIP

    typo = ("METAFLOW_CONDA_XACKAGE_S3ROOT", "typo")
    others = [("METAFLOW_CONDA_GUARD", "x"), ("METAFLOW_BATCH_JOB_QUEUE", "q"), ("PATH", "/b")]
    at = {"first": 0, "middle": 1, "last": len(others)}[where]
    env = dict([*others[:at], typo, *others[at:]])
    monkeypatch.setattr(environ, "_last", ([], environ.Found((), native=False)))  # no memory
    found = metaflow_items(env, ENV_SKIP)
    assert found == [(k, v) for k, v in env.items() if k in (typo[0], "METAFLOW_BATCH_JOB_QUEUE")]
