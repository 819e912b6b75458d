"""The public API: lazy cheap import, immutable snapshots, lookup, explain, compat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import metaflow_config
import metaflow_config.compat as mc
from metaflow_config import ConfigError, Settings, load, override, settings
from metaflow_config._model.values import SecretDict
from tests.conftest import write_json


def test_import_reads_nothing_and_imports_nothing_heavy(tmp_path: Path) -> None:
    """Importing the package reads no file, and pulls in no boto3, click, asyncio or pydantic."""
    code = (
        "import sys, json, builtins\n"
        "opened = []\n"
        "real = builtins.open\n"
        "builtins.open = lambda *a, **k: (opened.append(a[0]), real(*a, **k))[1]\n"
        "import metaflow_config, metaflow_config.compat\n"
        "heavy = [m for m in ('boto3', 'click', 'asyncio', 'pydantic_core', 'pydantic')"
        " if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'opened': opened}))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "METAFLOW_HOME": str(tmp_path / "poison")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert json.loads(out.stdout) == {"heavy": [], "opened": []}


def test_import_never_fails_on_bad_config(tmp_path: Path) -> None:
    """A broken profile does not break `import`; the first read raises ConfigError."""
    code = (
        "from metaflow_config import settings, ConfigError\n"
        "try:\n    settings.batch.job_queue\n"
        "except ConfigError as e:\n    print('CE', e.problems[0].setting)\n"
    )
    (tmp_path / "config.json").write_text("{broken")
    env = {"PATH": os.environ.get("PATH", ""), "METAFLOW_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == f"CE {tmp_path / 'config.json'}"


def test_all_is_sorted_and_documented() -> None:
    """__all__ is sorted and every public name has a docstring."""
    assert list(metaflow_config.__all__) == sorted(metaflow_config.__all__)
    for name in metaflow_config.__all__:
        obj = getattr(metaflow_config, name)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, name


def test_snapshot_is_immutable(tmp_path: Path) -> None:
    """Sections and snapshots refuse assignment and point at override()."""
    s = load(env={}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(AttributeError, match="override"):
        s.batch.job_queue = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="override"):
        s.batch = None  # type: ignore[assignment,misc]
    with pytest.raises(AttributeError, match="override"):
        settings.batch = None  # type: ignore[assignment,misc]


@pytest.mark.parametrize("where", ["snapshot", "process"])
def test_a_change_in_place_is_told_the_override_that_works(tmp_path: Path, where: str) -> None:
    """The message names the setting as ``override`` takes it (``BATCH_JOB_QUEUE``, not the
    attribute ``job_queue``), for an attribute, an item and a deletion alike; and what it
    suggests runs."""
    s: Any = load(env={}, home=tmp_path, cwd=tmp_path) if where == "snapshot" else settings
    changes = {
        "s.batch.job_queue = 'x'": "BATCH_JOB_QUEUE",
        "s.sfn.iam_role = 'x'": "SFN_IAM_ROLE",
        "s['METAFLOW_BATCH_JOB_QUEUE'] = 'x'": "BATCH_JOB_QUEUE",
        "s['SFN_IAM_ROLE'] = 'x'": "SFN_IAM_ROLE",
        "del s['BATCH_JOB_QUEUE']": "BATCH_JOB_QUEUE",
    }
    for change, name in changes.items():
        with pytest.raises((AttributeError, TypeError)) as info:
            exec(change, {"s": s})  # noqa: S102 - the statements above, as a user writes them
        assert f"metaflow_config.override({name}=...)" in str(info.value), change
        assert "_ProcessSettings" not in str(info.value)
        with override(home=tmp_path, cwd=tmp_path, **{name: "arn:aws:iam::123456789012:role/r"}):
            pass  # the override suggested is one that runs
    with pytest.raises(AttributeError) as section:
        s.batch = None
    assert "override(NAME=...) with a setting's name" in str(section.value)
    assert "override(ECS_S3_ACCESS_IAM_ROLE=...)" in str(section.value)  # one of its own


def test_getitem_by_env_name_alias_and_short(tmp_path: Path) -> None:
    """settings["METAFLOW_X"] returns the typed value; aliases and short names work; typos don't."""
    s = load(env={"METAFLOW_S3_RETRY_COUNT": "3"}, home=tmp_path, cwd=tmp_path)
    assert s["METAFLOW_S3_RETRY_COUNT"] == 3
    assert s["S3_RETRY_COUNT"] == 3
    assert s["METAFLOW_JOB_QUEUE_NAME"] is None
    assert "METAFLOW_S3_RETRY_COUNT" in s
    assert "METAFLOW_NOPE" not in s
    with pytest.raises(KeyError, match="did you mean METAFLOW_S3_RETRY_COUNT"):
        s["METAFLOW_S3_RETRY_CONT"]


def test_items_cover_every_setting(tmp_path: Path) -> None:
    """items() yields every setting of the table once, by environment name."""
    names = [name for name, _ in load(env={}, home=tmp_path, cwd=tmp_path).items()]
    assert len(names) == len(set(names)) >= 150
    assert all(n.startswith("METAFLOW_") for n in names)


def test_explain_masks_secrets(tmp_path: Path) -> None:
    """explain() keeps the real value but masks it in repr/str, and in shadowed layers."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": "canary-profile"})
    s = load(env={"METAFLOW_SERVICE_AUTH_KEY": "canary-env"}, home=home, cwd=tmp_path)
    info = s.explain("METAFLOW_SERVICE_AUTH_KEY")
    assert info.value == "canary-env"
    for text in (repr(info), str(info), repr(s), repr(s.service), repr(info.shadowed)):
        assert "canary" not in text
    assert info.shadowed[0].source == "profile"


def test_explain_derived_names_its_base(tmp_path: Path) -> None:
    """A derived value's explain names the rule and the setting it came from."""
    s = load(env={"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bucket/x"}, home=tmp_path, cwd=tmp_path)
    info = s.explain("DATATOOLS_S3ROOT")
    assert info.source == "derived"
    assert "METAFLOW_DATASTORE_SYSROOT_S3" in info.location
    assert info.derived_from == "<METAFLOW_DATASTORE_SYSROOT_S3>/<METAFLOW_DATATOOLS_SUFFIX>"


def test_process_settings_is_lazy_and_reloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`settings` resolves on first use and re-reads the environment on reload()."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "one")
    assert settings.batch.job_queue == "one"
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "two")
    assert settings.batch.job_queue == "one"
    fresh = settings.reload()
    assert isinstance(fresh, Settings)
    assert settings.batch.job_queue == "two"
    assert settings["METAFLOW_BATCH_JOB_QUEUE"] == "two"


def test_snapshot_reload_rereads_files(tmp_path: Path) -> None:
    """Settings.reload() on a load() snapshot re-reads its profile file."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "a"})
    s = load(env={}, home=home, cwd=tmp_path)
    write_json(home / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "b"})
    assert (s.batch.job_queue, s.reload().batch.job_queue) == ("a", "b")


def test_compat_names_resolve_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """compat exposes Metaflow's names, live, with effective headers and constants."""
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://bucket/mf")
    monkeypatch.setenv("METAFLOW_SERVICE_AUTH_KEY", "k")
    settings.reload()
    assert mc.DATATOOLS_S3ROOT == "s3://bucket/mf/data"
    assert mc.SERVICE_HEADERS == {"x-api-key": "k"}
    assert mc.DATASTORE_LOCAL_DIR == ".metaflow"
    mc.SERVICE_HEADERS["x"] = "y"
    assert mc.SERVICE_HEADERS == {"x-api-key": "k"}
    with pytest.raises(AttributeError):
        _ = mc.NOT_A_SETTING
    assert "BATCH_JOB_QUEUE" in dir(mc)


def test_to_env_rejects_unknown_target(tmp_path: Path) -> None:
    """to_env with an unknown target is a ConfigError listing the targets."""
    with pytest.raises(ConfigError, match="one of 'local', 'batch', 'sfn'"):
        load(env={}, home=tmp_path, cwd=tmp_path).to_env("k8s")


def test_snapshots_cannot_be_changed_in_place(tmp_path: Path) -> None:
    """JSON values are read-only (mappings and tuples): no snapshot is changed in place."""
    a = load(env={"METAFLOW_SERVICE_HEADERS": '{"h": "v"}'}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(TypeError):
        a.service.headers["x"] = "y"  # type: ignore[index]
    with pytest.raises(AttributeError):
        a.spin.allowed_decorators.append("evil")  # type: ignore[attr-defined]
    assert a.spin.allowed_decorators[:2] == ("conda", "pypi")
    assert a.to_env()["METAFLOW_SERVICE_HEADERS"] == '{"h":"v"}'


def test_override_does_not_share_the_callers_objects(tmp_path: Path) -> None:
    """A dict given to override()/load(overrides=) is copied: changing it later changes nothing."""
    given = {"team": {"nested": ["a"]}}
    s = load(env={}, home=tmp_path, cwd=tmp_path, overrides={"DATATOOLS_SESSION_VARS": given})
    given["team"]["nested"].append("b")
    assert s.datatools.session_vars["team"]["nested"] == ("a",)


def test_accessors_and_compat_hand_out_plain_copies(tmp_path: Path) -> None:
    """effective_headers, client_params and compat values are mutable, private dict copies.

    A secret's copy is a ``SecretDict`` all the way down (a ``dict`` whose ``repr`` masks it).
    """
    env = {"METAFLOW_DATATOOLS_CLIENT_PARAMS": '{"config": {"retries": {"max_attempts": 2}}}'}
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    params = s.datatools.client_params
    params["config"]["retries"]["max_attempts"] = 99
    assert s.datatools.client_params["config"]["retries"]["max_attempts"] == 2
    assert type(params["config"]) is SecretDict  # a dict subclass


def test_a_misspelled_section_is_said_with_its_did_you_mean(tmp_path: Path) -> None:
    """``settings.bach``: the section it is near, in the process-wide object too; ``dir()`` lists
    the sections (they are built on first read)."""
    from metaflow_config import settings

    s = load(env={}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(AttributeError, match="did you mean 'batch'"):
        _ = s.bach
    with pytest.raises(AttributeError, match="did you mean 'batch'"):
        _ = settings.bach
    assert {"batch", "s3", "service"} <= set(dir(s))
    assert not hasattr(s, "_no_such")


def test_a_misspelled_section_is_said_with_one_did_you_mean(tmp_path: Path) -> None:
    """As a traceback shows it (Python 3.12+ computes its own suggestion there, 3.10 and 3.11
    at the interpreter's top level): one did-you-mean, the message's."""
    import subprocess
    import sys
    import traceback

    from metaflow_config import settings

    for snapshot in (load(env={}, home=tmp_path, cwd=tmp_path), settings):
        with pytest.raises(AttributeError) as info:
            _ = snapshot.btach
        shown = "".join(traceback.format_exception_only(info.type, info.value))
        assert shown.lower().count("did you mean") == 1, shown
    code = "from metaflow_config import load; load(env={}).btach"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.lower().count("did you mean") == 1, last
    assert "'batch'" in last


@pytest.mark.skipif(sys.version_info < (3, 10), reason="Python says a did-you-mean from 3.10")
def test_a_misspelled_section_attribute_gets_pythons_did_you_mean(tmp_path: Path) -> None:
    """Sections hold their values as plain attributes (no ``__getattr__``, which would slow every
    read): Python's own traceback names the attribute meant."""
    code = "from metaflow_config import load\nload(env={}, home='/nonexistent').batch.job_qeue\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert "has no attribute 'job_qeue'. Did you mean: 'job_queue'?" in done.stderr


def test_an_unknown_attribute_of_the_settings_names_settings_not_a_private_class() -> None:
    """Once its sections are cached, ``settings`` has no ``__getattr__`` (for speed): a typo
    was "'_ProcessSettings' object has no attribute 'btach'", a class no user knows."""
    from metaflow_config import settings

    settings.batch  # noqa: B018 - caches the sections
    with pytest.raises(AttributeError, match=r"^'Settings' object has no attribute 'btach'"):
        settings.btach  # type: ignore[attr-defined]  # noqa: B018


def test_an_explanations_text_says_the_value_as_the_command_line_does() -> None:
    """``print(settings.explain(name))`` said ``True`` and a dict's repr where
    ``metaflow-config explain`` says ``true`` and the JSON text; a URL's password masked."""
    from metaflow_config import load

    s = load(
        env={
            "METAFLOW_BATCH_DEFAULT_TAGS": '{"team": "ml"}',
            "METAFLOW_SERVICE_URL": "https://user:pa55@mf.example.com/api",
        }
    )
    first = [
        str(s.explain(name)).splitlines()[0]
        for name in (
            "METAFLOW_INCLUDE_FOREACH_STACK",
            "METAFLOW_BATCH_DEFAULT_TAGS",
            "METAFLOW_SERVICE_URL",
        )
    ]
    assert first == [
        "METAFLOW_INCLUDE_FOREACH_STACK = true",
        'METAFLOW_BATCH_DEFAULT_TAGS = {"team":"ml"}',
        "METAFLOW_SERVICE_URL = https://user:****@mf.example.com/api",
    ]
