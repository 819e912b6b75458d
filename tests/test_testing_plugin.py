"""metaflow_config.testing and the pytest plugin: isolated snapshots, files, fixture, marker."""

from __future__ import annotations

import contextvars
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from metaflow_config import ConfigError, settings
from metaflow_config.testing import (
    ISOLATED_ROOT,
    SettingsFixture,
    assert_source,
    isolated,
    isolated_process,
    reset_settings,
    write_local,
    write_profile,
)

pytest_plugins = ["pytester"]

Q = "METAFLOW_BATCH_JOB_QUEUE"
ROLE = "arn:aws:iam::123456789012:role/sfn"
ROOT = Path(__file__).resolve().parent.parent
#: how the inner sessions run: as strict as this suite's own configuration
STRICT = ("-p", "no:cacheprovider", "--strict-markers", "-W", "error")


@pytest.fixture
def poisoned_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine whose home, METAFLOW_HOME, profile, environment and cwd all carry poison.

    ``~/.metaflowconfig/config.json`` and ``$METAFLOW_HOME/config_poison.json`` (selected by
    ``METAFLOW_PROFILE=poison``) set values, ``METAFLOW_BATCH_JOB_QUEUE=poison-env`` is in the
    environment and the working directory's ``.metaflow/config.json`` sets the sysroot.
    Returns the working directory.
    """
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    write_profile(tmp_path / "user" / ".metaflowconfig", {"SFN_IAM_ROLE": ROLE + "-home"})
    write_profile(tmp_path / "mfhome", {"SFN_IAM_ROLE": ROLE + "-profile"}, profile="poison")
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mfhome"))
    monkeypatch.setenv("METAFLOW_PROFILE", "poison")
    monkeypatch.setenv(Q, "poison-env")
    work = tmp_path / "work"
    write_local(work, {"DATASTORE_SYSROOT_S3": "s3://poison/mf"}, trusted_by=tmp_path / "mfhome")
    monkeypatch.chdir(work)
    reset_settings()
    return work


# --- metaflow_config.testing ------------------------------------------------------------------


@pytest.mark.usefixtures("poisoned_machine")
def test_isolated_reads_nothing_of_the_machine() -> None:
    """isolated() ignores os.environ, ~/.metaflowconfig, $METAFLOW_HOME and the cwd's project."""
    assert settings.batch.job_queue == "poison-env"  # the poison is really there
    s = isolated()
    assert {s.explain(name).source for name, _ in s.items()} <= {"default", "derived"}
    assert s.home == os.path.join(ISOLATED_ROOT, "home")
    # its own empty project, where the search for the project file stops
    assert s.local_path.endswith(os.path.join(".metaflow", "config.json"))
    assert not os.path.exists(s.local_path)


def test_isolated_reads_what_it_is_given(tmp_path: Path) -> None:
    """isolated() reads the env, home, profile and project it is given, values on top."""
    write_profile(tmp_path / "h", {"SFN_IAM_ROLE": ROLE}, profile="stg")
    write_local(
        tmp_path / "p", {"DATASTORE_SYSROOT_S3": "s3://local/mf"}, trusted_by=tmp_path / "h"
    )
    s = isolated(
        {"METAFLOW_BATCH_EMIT_TAGS": "true"},
        home=tmp_path / "h",
        profile="stg",
        cwd=tmp_path / "p",
        BATCH_JOB_QUEUE="q",
    )
    assert [s.source(n) for n in ("SFN_IAM_ROLE", "DATASTORE_SYSROOT_S3", "BATCH_EMIT_TAGS")] == [
        "profile",
        "local",
        "env",
    ]
    assert (s.batch.job_queue, s.source(Q)) == ("q", "override")
    assert s.datatools.s3root == "s3://local/mf/data"


def test_isolated_raises_config_error_for_bad_values() -> None:
    """isolated() validates like load(): a bad value is a ConfigError."""
    with pytest.raises(ConfigError, match="BATCH_EMIT_TAGS"):
        isolated(BATCH_EMIT_TAGS="maybe")


def test_write_profile_and_local_write_full_names(tmp_path: Path) -> None:
    """The writers put METAFLOW_* keys into the files Metaflow reads, and return their paths."""
    default = write_profile(tmp_path, {"BATCH_JOB_QUEUE": "a", Q: "b", "KUBERNETES_PORT": 1})
    named = write_profile(tmp_path, {}, profile="prod")
    local = write_local(tmp_path / "proj", {"SFN_IAM_ROLE": ROLE})
    assert (default, named) == (tmp_path / "config.json", tmp_path / "config_prod.json")
    assert local == tmp_path / "proj" / ".metaflow" / "config.json"
    assert json.loads(default.read_text(encoding="utf-8")) == {
        Q: "b",
        "METAFLOW_KUBERNETES_PORT": 1,
    }
    assert json.loads(local.read_text(encoding="utf-8")) == {"METAFLOW_SFN_IAM_ROLE": ROLE}


def test_a_short_name_that_names_no_setting_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    """A typo of a short name would be written and warned about, and the test would fail on a
    puzzling assertion: it is a ConfigError with the did-you-mean. A full name is written as it
    is, known or not (a test of the warning)."""
    meant = r"BATCH_JOB_QEUE .*did you mean METAFLOW_BATCH_JOB_QUEUE"
    with pytest.raises(ConfigError, match=meant):
        write_profile(tmp_path, {"BATCH_JOB_QEUE": "q"})
    with pytest.raises(ConfigError, match="BATCH_JOB_QEUE"):
        write_local(tmp_path / "proj", {"BATCH_JOB_QEUE": "q"})
    assert list(tmp_path.iterdir()) == []
    written = write_profile(tmp_path, {"METAFLOW_BATCH_JOB_QEUE": "q", "DATATOOLS_SYSROOT_S3": "x"})
    assert set(json.loads(written.read_text(encoding="utf-8"))) == {
        "METAFLOW_BATCH_JOB_QEUE",
        "METAFLOW_DATATOOLS_SYSROOT_S3",  # an old name: a file may hold it
    }


def test_write_profile_refuses_a_name_that_leaves_home(tmp_path: Path) -> None:
    """A profile name with a path in it is a ConfigError, and nothing is written."""
    with pytest.raises(ConfigError, match="METAFLOW_PROFILE"):
        write_profile(tmp_path / "h", {Q: "x"}, profile="../escape")
    assert list(tmp_path.iterdir()) == []


def test_assert_source_passes_and_returns_the_explanation(tmp_path: Path) -> None:
    """assert_source accepts the right layer, a whole location, or the file of a location."""
    path = write_profile(tmp_path, {Q: "p"})
    s = isolated(home=tmp_path)
    info = assert_source(Q, "profile", location=path, snapshot=s)
    assert info.value == "p"
    assert_source("BATCH_JOB_QUEUE", "profile", location=f"{path}:{Q}", snapshot=s)
    assert_source("DATATOOLS_S3ROOT", "default", snapshot=s)


@pytest.mark.parametrize(
    ("source", "location"),
    [
        pytest.param("env", None, id="wrong-source"),
        pytest.param("profile", "/elsewhere/config.json", id="wrong-file"),
        pytest.param("profile", "config.json", id="partial-file"),
    ],
)
def test_assert_source_fails_with_the_explanation(
    tmp_path: Path, source: str, location: str | None
) -> None:
    """A mismatch raises AssertionError carrying the full explanation of the value."""
    write_profile(tmp_path, {Q: "p"})
    s = isolated(home=tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)expected source .*source:\s+profile"):
        assert_source(Q, source, location=location, snapshot=s)


def test_assert_source_rejects_an_unknown_layer() -> None:
    """A misspelled layer name is a ValueError, not a test that can never pass."""
    with pytest.raises(ConfigError, match="'default', 'derived'"):
        assert_source(Q, "enviroment", snapshot=isolated())


def test_assert_source_reads_the_scope_in_force() -> None:
    """Without a snapshot, assert_source asks the snapshot in force (overrides included)."""
    from metaflow_config import override

    with override(BATCH_JOB_QUEUE="q"):
        assert_source(Q, "override", location="override(BATCH_JOB_QUEUE)")
    assert_source(Q, "default")


def test_reset_settings_resolves_again_on_next_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """After reset_settings() the next read sees the environment as it is now."""
    assert settings.batch.job_queue is None
    monkeypatch.setenv(Q, "later")
    assert settings.batch.job_queue is None
    reset_settings()
    assert settings.batch.job_queue == "later"


def test_isolated_process_isolates_and_undoes(poisoned_machine: Path, tmp_path: Path) -> None:
    """isolated_process hides the machine inside and gives it all back on exit."""
    home, cwd = tmp_path / "iso-home", tmp_path / "iso-cwd"
    home.mkdir()
    cwd.mkdir()
    with pytest.MonkeyPatch.context() as mp, isolated_process(mp, home=home, cwd=cwd):
        assert os.getcwd() == str(cwd)
        assert [k for k in os.environ if k.startswith("METAFLOW_")] == ["METAFLOW_HOME"]
        assert (settings.batch.job_queue, settings.sfn.iam_role) == (None, None)
        assert settings.home == str(home)
    assert os.getcwd() == str(poisoned_machine)
    assert os.environ["METAFLOW_PROFILE"] == "poison"
    assert (settings.batch.job_queue, settings.sfn.iam_role) == ("poison-env", ROLE + "-profile")


def test_isolated_process_with_a_project_keeps_the_cwd(
    poisoned_machine: Path, tmp_path: Path
) -> None:
    """project= keeps the working directory and reads the project file from the project only."""
    home, project = tmp_path / "iso-home", tmp_path / "iso-project"
    home.mkdir()
    (project / ".metaflow").mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp, isolated_process(mp, home=home, project=project):
        assert os.getcwd() == str(poisoned_machine)
        assert os.environ["METAFLOW_CONFIG_PROJECT"] == str(project)
        assert settings.datastore.sysroot_s3 is None  # the poisoned cwd's project file
        assert settings.local_path == str(project / ".metaflow" / "config.json")
        write_local(project, {"S3_RETRY_COUNT": 3})
        reset_settings()
        assert settings.s3.retry_count == 3
    assert "METAFLOW_CONFIG_PROJECT" not in os.environ
    assert settings.datastore.sysroot_s3 == "s3://poison/mf"


def test_isolated_process_needs_a_project_or_a_cwd(tmp_path: Path) -> None:
    """Without project= or cwd= the working directory's project file would apply: refused."""
    with pytest.MonkeyPatch.context() as mp:
        with pytest.raises(TypeError, match="project= or cwd="):
            isolated_process(mp, home=tmp_path).__enter__()
        assert os.environ["METAFLOW_HOME"] != str(tmp_path)


def test_import_pulls_in_nothing_heavy() -> None:
    """Importing the package, its testing module and the plugin loads no heavy dependency."""
    code = textwrap.dedent(
        """
        import sys
        import metaflow_config, metaflow_config.testing
        light = sorted(m for m in ("asyncio", "boto3", "click", "pytest", "pydantic_core")
                       if m in sys.modules)
        import pytest
        before = set(sys.modules)
        import metaflow_config.pytest_plugin
        added = {m.split(".")[0] for m in set(sys.modules) - before}
        print(light, sorted(added & {"asyncio", "boto3", "click", "hypothesis", "pydantic",
                                     "pydantic_core", "metaflow"}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[] []"


# --- the fixture and the marker in this suite -------------------------------------------------


def test_fixture_isolates_the_test(
    poisoned_machine: Path, metaflow_settings: SettingsFixture
) -> None:
    """An empty home, an empty project, no METAFLOW_* settings; the cwd stays where it was."""
    assert sorted(k for k in os.environ if k.startswith("METAFLOW_")) == [
        "METAFLOW_CONFIG_PROJECT",
        "METAFLOW_HOME",
    ]
    assert os.environ["METAFLOW_HOME"] == str(metaflow_settings.home)
    assert os.environ["METAFLOW_CONFIG_PROJECT"] == str(metaflow_settings.project)
    assert list(metaflow_settings.home.iterdir()) == []
    assert Path.cwd() == poisoned_machine  # whose .metaflow/config.json is not read
    assert [p.name for p in metaflow_settings.project.iterdir()] == [".metaflow"]
    assert {settings.source(name) for name, _ in settings.items()} <= {"default", "derived"}
    assert settings.local_path == str(metaflow_settings.project / ".metaflow" / "config.json")


def test_fixture_sets_values_env_profiles_and_local_config(
    metaflow_settings: SettingsFixture,
) -> None:
    """set, setenv, write_profile, use_profile and write_local each reach ``settings``."""
    metaflow_settings.write_profile({"SFN_IAM_ROLE": ROLE})
    metaflow_settings.write_profile({"SFN_IAM_ROLE": ROLE + "-stg"}, profile="stg")
    metaflow_settings.write_local({"DATASTORE_SYSROOT_S3": "s3://local/mf"})
    metaflow_settings.setenv("METAFLOW_BATCH_EMIT_TAGS", "yes")
    snapshot = metaflow_settings.set(BATCH_JOB_QUEUE="q")
    assert snapshot.batch.job_queue == "q"
    assert (settings.sfn.iam_role, settings.datatools.s3root) == (ROLE, "s3://local/mf/data")
    assert [settings.source(n) for n in ("BATCH_EMIT_TAGS", "BATCH_JOB_QUEUE")] == [
        "env",
        "override",
    ]
    metaflow_settings.use_profile("stg")
    assert (settings.sfn.iam_role, settings.batch.job_queue) == (ROLE + "-stg", "q")
    stg = metaflow_settings.home / "config_stg.json"
    metaflow_settings.assert_source("SFN_IAM_ROLE", "profile", location=stg)
    metaflow_settings.use_profile(None)
    metaflow_settings.delenv("METAFLOW_BATCH_EMIT_TAGS")
    assert (settings.sfn.iam_role, settings.batch.emit_tags) == (ROLE, False)
    assert metaflow_settings.settings.batch.job_queue == "q"
    assert metaflow_settings.explain(Q).source == "override"


def test_fixture_set_validates_now(metaflow_settings: SettingsFixture) -> None:
    """A bad value given to set() raises ConfigError at once; an unknown keyword too."""
    with pytest.raises(ConfigError, match="BATCH_EMIT_TAGS"):
        metaflow_settings.set(BATCH_EMIT_TAGS="maybe")
    with pytest.raises(ConfigError, match="profile"):
        metaflow_settings.set(profile="stg")
    assert settings.batch.emit_tags is False


def test_use_profile_of_a_profile_not_written_says_to_write_it(
    metaflow_settings: SettingsFixture,
) -> None:
    """In the test's own home, the way to a profile is ``.write_profile``, not the wizard."""
    with pytest.raises(ConfigError, match=r"write_profile\(\{\.\.\.\}, profile='staging'\)"):
        metaflow_settings.use_profile("staging")
    metaflow_settings.write_profile({"BATCH_JOB_QUEUE": "q"}, profile="staging")
    metaflow_settings.use_profile("staging")
    assert settings.batch.job_queue == "q"


def test_fixture_close_ends_its_overrides(tmp_path: Path) -> None:
    """close() ends every set(), also one made in a context that is gone (an async test)."""
    with pytest.MonkeyPatch.context() as mp:
        fixture = SettingsFixture(mp, tmp_path, tmp_path)
        fixture.set(BATCH_JOB_QUEUE="here")
        contextvars.copy_context().run(fixture.set, SFN_IAM_ROLE=ROLE)
        assert (settings.batch.job_queue, settings.sfn.iam_role) == ("here", None)
        fixture.close()
    assert settings.batch.job_queue is None


@pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="marked")
def test_marker_alone_isolates_and_sets(request: pytest.FixtureRequest) -> None:
    """The marker without the fixture argument isolates the test and applies its values."""
    assert request.fixturenames[0] == "metaflow_settings"  # set up before any other fixture
    assert settings.batch.job_queue == "marked"
    assert settings.explain(Q).source == "override"


@pytest.mark.metaflow_settings({"SFN_IAM_ROLE": ROLE})
def test_marker_takes_a_mapping(metaflow_settings: SettingsFixture) -> None:
    """The marker accepts a mapping; the fixture in the same test sees its values."""
    assert metaflow_settings.settings.sfn.iam_role == ROLE


@pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="class", SFN_IAM_ROLE=ROLE)
class TestMarkerOnAClass:
    """Markers of a class apply to its tests; a marker on the test wins."""

    def test_class_marker_applies(self) -> None:
        """The class's marker values are in force."""
        assert (settings.batch.job_queue, settings.sfn.iam_role) == ("class", ROLE)

    @pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="method")
    def test_closest_marker_wins(self) -> None:
        """The test's own marker beats the class's for the same setting, keeps the rest."""
        assert (settings.batch.job_queue, settings.sfn.iam_role) == ("method", ROLE)


# --- the plugin in sessions of its own (pytester) ---------------------------------------------


@pytest.mark.usefixtures("poisoned_machine")
def test_plugin_shields_tests_from_a_poisoned_machine(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixture and the marker read nothing of the machine; the tests around them do."""
    pytester.makepyfile(
        f"""
        import os
        import pytest
        from metaflow_config import settings

        ROLE = {ROLE!r}

        def test_control_reads_the_machine():
            assert settings.batch.job_queue == "poison-env"
            assert settings.sfn.iam_role == ROLE + "-profile"
            assert settings.datastore.sysroot_s3 == "s3://poison/mf"

        def test_fixture(metaflow_settings):
            assert {{settings.source(n) for n, _ in settings.items()}} <= {{"default", "derived"}}
            assert sorted(k for k in os.environ if k.startswith("METAFLOW_")) == [
                "METAFLOW_CONFIG_PROJECT", "METAFLOW_HOME"
            ]
            assert settings.home == str(metaflow_settings.home)
            assert os.getcwd() == os.environ["EXPECTED_CWD"]

        @pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="marked")
        def test_marker():
            assert (settings.batch.job_queue, settings.sfn.iam_role) == ("marked", None)
            assert settings.datastore.sysroot_s3 is None
            assert settings.profile is None

        def test_control_after_reads_the_machine_again():
            assert settings.batch.job_queue == "poison-env"
            assert settings.datastore.sysroot_s3 == "s3://poison/mf"
        """
    )
    poison = {"DATASTORE_SYSROOT_S3": "s3://poison/mf"}
    write_local(pytester.path, poison, trusted_by=os.environ["METAFLOW_HOME"])
    monkeypatch.setenv("EXPECTED_CWD", str(pytester.path))  # the fixture does not move the test
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(passed=4)


def test_plugin_leaves_other_tests_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test without the fixture or marker gets no extra fixture, env or cwd change."""
    pytester.makepyfile(
        """
        import os

        def test_untouched(request):
            assert "metaflow_settings" not in request.fixturenames
            assert os.environ["METAFLOW_BATCH_JOB_QUEUE"] == "kept"
            assert os.getcwd() == os.environ["EXPECTED_CWD"]
        """
    )
    monkeypatch.setenv(Q, "kept")
    monkeypatch.setenv("EXPECTED_CWD", str(pytester.path))
    result = pytester.runpytest(*STRICT, "--setup-show")
    result.assert_outcomes(passed=1)
    (used,) = [line for line in result.outlines if "fixtures used" in line]
    assert "metaflow" not in used


def test_a_failed_comparison_of_a_secret_shows_no_secret(pytester: pytest.Pytester) -> None:
    """pytest's string diff of ``assert auth_key == "..."`` printed the secret on its ``+``
    line: the plugin explains a comparison holding a secret by masked reprs alone; any other
    comparison keeps pytest's explanation."""
    pytester.makepyfile(
        """
        import dataclasses

        from metaflow_config import load

        def _s():
            return load(
                env={"METAFLOW_SERVICE_AUTH_KEY": "LEAKP1-abcdef",
                     "METAFLOW_SERVICE_URL": "https://TOKENX9@h.example.com"},
                home="/nonexistent", cwd="/",
            )

        def test_secret_text():
            assert _s().service.auth_key == "LEAKP1-abcdeg"

        def test_secret_in_a_list():
            assert [_s().service.auth_key] == ["other"]

        def test_url_token():
            assert _s().service.url == "https://other.example.com"

        def test_exported():  # a dict whose own repr masks its plain values
            assert _s().to_env("batch") == {}

        def test_exported_value():  # one value of it, as a test of a task's environment reads it
            assert _s().to_env("batch")["METAFLOW_SERVICE_AUTH_KEY"] == "LEAKP1-abcdeX"

        def test_child_env_value():
            from metaflow_config import override
            from metaflow_config.testing import child_env
            with override(SERVICE_URL=_s().service.url):
                assert child_env()["METAFLOW_SERVICE_URL"] == "https://h.example.com"

        @dataclasses.dataclass
        class Creds:
            key: str

        def test_dataclass():  # pytest diffs the fields of a dataclass one by one
            assert Creds(_s().service.auth_key) == Creds("expected")

        def test_plain():
            assert "plain-left" == "plain-right"
        """
    )
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(failed=8)
    out = result.stdout.str()
    assert "LEAKP1-abcdef" not in out
    assert "TOKENX9" not in out
    # counted among the failures alone: on CI (``CI`` set) pytest's short summary repeats each
    # message whole, where elsewhere it cuts them to the terminal's width
    failures = out.partition("short test summary info")[0]
    assert failures.count("(a secret is compared: metaflow-config shows neither value") == 7
    assert "<a str, not shown>" in out
    assert "- plain-right" in out  # pytest's own diff, where nothing is secret


def test_a_failed_comparison_of_a_slotted_class_shows_no_secret(
    pytester: pytest.Pytester,
) -> None:
    """A dataclass with ``__slots__`` (``slots=True``, ``attrs.define``) has no ``vars()``: its
    fields were not looked into, and pytest's field-by-field diff printed the secret."""
    pytester.makepyfile(
        """
        import dataclasses

        from metaflow_config import load

        def _key():
            env = {"METAFLOW_SERVICE_AUTH_KEY": "SLOTLEAK-abcdef"}
            return load(env=env, home="/nonexistent", cwd="/").service.auth_key

        @dataclasses.dataclass
        class Client:
            __slots__ = ("url", "key")  # what slots=True writes (Python 3.10+)
            url: str
            key: str

        class Base:
            __slots__ = ("__kept",)

        @dataclasses.dataclass
        class Wrapped(Base):
            __slots__ = ("name",)
            name: str

        def test_slotted():
            assert Client("https://x.example.com", _key()) == Client("https://x.example.com", "o")

        def test_inherited_private_slot():
            left = Wrapped("a")
            left._Base__kept = _key()
            assert left == Wrapped("b")
        """
    )
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "SLOTLEAK" not in out
    assert out.partition("short test summary info")[0].count("(a secret is compared") == 2


def test_the_locals_pytest_shows_of_a_failed_export_hold_no_secret(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest -l`` shows the locals of every frame of a traceback: an export over the Batch
    limit raises through ``to_env``, whose last exported text was a secret's."""
    pytester.makepyfile(
        """
        import os

        from metaflow_config import load

        def test_big():
            load(
                env={"METAFLOW_SERVICE_AUTH_KEY": os.environ["THE_KEY"],
                     "METAFLOW_DEFAULT_DECOSPECS": "x" * 9000},
                home="/nonexistent", cwd="/",
            ).to_env("batch")
        """
    )
    monkeypatch.setenv("THE_KEY", "LOCALSEKRIT1")
    result = pytester.runpytest(*STRICT, "-l")
    result.assert_outcomes(failed=1)
    assert "container overrides" in result.stdout.str()
    assert "LOCALSEKRIT1" not in result.stdout.str()


def test_marker_is_declared_and_strict_markers_still_bite(pytester: pytest.Pytester) -> None:
    """--strict-markers accepts metaflow_settings and still rejects a misspelled marker."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="q")
        def test_ok():
            pass

        @pytest.mark.metaflow_setting(BATCH_JOB_QUEUE="q")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'metaflow_setting' not found in `markers`*"])
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.metaflow_settings(**values):*"])


def test_marker_on_one_parameter_isolates_only_that_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A marker on one pytest.param isolates that case; its siblings read the machine."""
    pytester.makepyfile(
        """
        import pytest
        from metaflow_config import settings

        @pytest.mark.parametrize("expected", [
            pytest.param("marked", marks=pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="marked")),
            "from-env",
        ])
        def test_case(expected):
            assert settings.batch.job_queue == expected
        """
    )
    monkeypatch.setenv(Q, "from-env")
    reset_settings()
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(passed=2)


def test_marker_with_bad_values_fails_setup(pytester: pytest.Pytester) -> None:
    """A marker with a bad value or a non-mapping argument errors in setup, saying why."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.metaflow_settings(BATCH_EMIT_TAGS="maybe")
        def test_bad_value():
            pass

        @pytest.mark.metaflow_settings("BATCH_JOB_QUEUE")
        def test_bad_argument():
            pass
        """
    )
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError*@pytest.mark.metaflow_settings(BATCH_EMIT_TAGS)*correct BATCH_EMIT_TAGS"
            " in the @pytest.mark.metaflow_settings marker*",
            "*ConfigError*@pytest.mark.metaflow_settings*a mapping of settings, or keywords*",
        ],
        consecutive=False,
    )
    assert "override(" not in result.stdout.str()
    shown = result.stdout.str()
    assert "def metaflow_settings" not in shown  # the message alone, not the plugin's source
    assert "During handling" not in shown


def test_marker_with_an_unknown_name_keeps_the_did_you_mean(pytester: pytest.Pytester) -> None:
    """A typo in the marker fails setup with override()'s did-you-mean, said of the marker."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.metaflow_settings(BATCH_JOB_QUEU="gpu")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError*@pytest.mark.metaflow_settings(BATCH_JOB_QUEU=...)*Fix: did you mean "
            "METAFLOW_BATCH_JOB_QUEUE? (correct BATCH_JOB_QUEU=... in the "
            "@pytest.mark.metaflow_settings marker*"
        ]
    )
    assert "override(" not in result.stdout.str()
    shown = result.stdout.str()
    assert "def metaflow_settings" not in shown  # the message alone, not the plugin's source
    assert "During handling" not in shown


def test_entry_point_loads_the_plugin_in_a_fresh_process(pytester: pytest.Pytester) -> None:
    """A new pytest process finds the plugin through the pytest11 entry point."""
    pytester.makepyfile(
        """
        import pytest
        from metaflow_config import settings

        @pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="q")
        def test_marked():
            assert settings.batch.job_queue == "q"
        """
    )
    result = pytester.runpytest_subprocess(*STRICT)
    result.assert_outcomes(passed=1)


def _readme_testing_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Testing your flows\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.usefixtures("poisoned_machine")
def test_readme_testing_example_passes(pytester: pytest.Pytester) -> None:
    """README's "Testing your flows" example is a test module whose tests all pass."""
    example = _readme_testing_example()
    pytester.makepyfile(test_train=example)
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(passed=len(re.findall(r"^def test_", example, re.M)))
