"""override(profile=, home=, env=, cwd=) switching the layers read, and settings.reload()."""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, load, override, settings
from metaflow_config.testing import write_local, write_profile
from tests._override_helpers import ROLE, TIMEOUT, Q, home

# --- switching layers at run time -------------------------------------------------------------


def test_profile_switch_reads_that_profile_file() -> None:
    """override(profile=...) reads config_<profile>.json; the default file is back after."""
    write_profile(home(), {Q: "default-q"})
    write_profile(home(), {Q: "staging-q", "DATASTORE_SYSROOT_S3": "s3://stg/mf"}, profile="stg")
    assert settings.batch.job_queue == "default-q"
    with override(profile="stg"):
        assert settings.batch.job_queue == "staging-q"
        assert settings.datatools.s3root == "s3://stg/mf/data"
        assert settings.profile == "stg"
        assert settings.explain(Q).location == f"{home() / 'config_stg.json'}:{Q}"
    assert settings.batch.job_queue == "default-q"


def test_empty_profile_selects_the_default_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """override(profile="") reads config.json even when METAFLOW_PROFILE names another."""
    write_profile(home(), {Q: "default-q"})
    write_profile(home(), {Q: "prod-q"}, profile="prod")
    monkeypatch.setenv("METAFLOW_PROFILE", "prod")
    assert settings.batch.job_queue == "prod-q"
    with override(profile=""):
        assert settings.batch.job_queue == "default-q"
        assert settings.profile is None


def test_missing_profile_is_an_error_on_entry() -> None:
    """Switching to a profile that does not exist raises, listing the profiles that do."""
    write_profile(home(), {Q: "p"}, profile="prod")
    with pytest.raises(ConfigError, match="profiles there: prod"), override(profile="nope"):
        pass


def test_missing_profile_fix_names_where_the_name_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """override(profile=)/load(profile=) say profile=; METAFLOW_PROFILE says the variable."""
    from metaflow_config import load

    write_profile(home(), {Q: "p"}, profile="prod")
    given = "pass one of the existing profiles as profile="
    with pytest.raises(ConfigError, match=given) as caught, override(profile="nope"):
        pass
    assert "set METAFLOW_PROFILE" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"name the profile without config_ and \.json: prod "):
        load(profile="config_prod.json")
    with pytest.raises(ConfigError, match=r"\(profile='prod'\)"):
        load(profile="prod.json")
    monkeypatch.setenv("METAFLOW_PROFILE", "nope")
    with pytest.raises(ConfigError, match="set METAFLOW_PROFILE to one of the existing profiles"):
        load()
    with pytest.raises(ConfigError, match="set METAFLOW_PROFILE to one"):
        override(env={"METAFLOW_PROFILE": "nope", "METAFLOW_HOME": str(home())}).__enter__()


def test_home_switch_reads_that_home(tmp_path: Path) -> None:
    """override(home=...) reads the profile of another METAFLOW_HOME; values stack on top."""
    other = tmp_path / "other-home"
    write_profile(other, {Q: "other-q"})
    with override(home=other):
        assert settings.batch.job_queue == "other-q"
        assert settings.home == str(other)
        with override(SFN_IAM_ROLE=ROLE):
            assert (settings.batch.job_queue, settings.sfn.iam_role) == ("other-q", ROLE)
    assert settings.batch.job_queue is None


def test_env_switch_does_not_touch_os_environ(tmp_path: Path) -> None:
    """override(env=...) resolves from that mapping (home and profile included) only."""
    other = tmp_path / "h"
    write_profile(other, {"SFN_IAM_ROLE": ROLE}, profile="p")
    env = {Q: "env-q", "METAFLOW_HOME": str(other), "METAFLOW_PROFILE": "p"}
    before = dict(os.environ)
    with override(env=env):
        env[Q] = "changed later"  # the scope keeps the mapping it was given
        assert settings.batch.job_queue == "env-q"
        assert settings.sfn.iam_role == ROLE
        assert settings.explain(Q).source == "env"
        assert dict(os.environ) == before
    assert settings.batch.job_queue is None


def test_env_switch_without_home_uses_that_envs_default_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An env without METAFLOW_HOME reads its ~/.metaflowconfig, as a process would; home= wins."""
    monkeypatch.setenv("HOME", str(tmp_path))
    write_profile(tmp_path / ".metaflowconfig", {Q: "tilde-q"})
    write_profile(tmp_path / "kept", {Q: "kept-q"})
    with override(env={}):
        assert settings.batch.job_queue == "tilde-q"
    with override(env={}, home=tmp_path / "kept"):
        assert settings.batch.job_queue == "kept-q"


def test_cwd_switch_reads_that_projects_local_config(tmp_path: Path) -> None:
    """override(cwd=...) reads the local config of the project around that directory."""
    write_local(tmp_path / "project", {Q: "local-q"}, trusted_by=os.environ["METAFLOW_HOME"])
    (tmp_path / "project" / "sub").mkdir()
    with override(cwd=tmp_path / "project" / "sub"):
        assert settings.batch.job_queue == "local-q"
        assert settings.explain(Q).source == "local"
    assert settings.batch.job_queue is None


def test_project_variable_starts_the_search_elsewhere(tmp_path: Path) -> None:
    """$METAFLOW_CONFIG_PROJECT, not the cwd, is where the search for the project file starts."""
    home = tmp_path / "home"  # the queue is sensitive: the files are trusted
    project = write_local(tmp_path / "project", {Q: "project-q"}, trusted_by=home)
    write_local(tmp_path / "work", {Q: "work-q"}, trusted_by=home)
    (tmp_path / "project" / "sub").mkdir()
    moved = {"METAFLOW_CONFIG_PROJECT": str(tmp_path / "project" / "sub")}
    s = load(env=moved, home=tmp_path / "home", cwd=tmp_path / "work", strict=True)
    assert (s.batch.job_queue, s.local_path) == ("project-q", str(project))
    assert s["ARTIFACT_LOCALROOT"] == str(tmp_path / "work")  # still the working directory
    empty = {"METAFLOW_CONFIG_PROJECT": ""}  # empty means unset, as everywhere
    s = load(env=empty, home=tmp_path / "home", cwd=tmp_path / "work", strict=True)
    assert s.batch.job_queue == "work-q"


def test_override_of_the_env_searches_for_the_project_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An override(env=...) without the project variable searches from the cwd again."""
    trusted = os.environ["METAFLOW_HOME"]  # the queue is sensitive: the files are trusted
    write_local(tmp_path / "project", {Q: "project-q"}, trusted_by=trusted)
    write_local(Path.cwd(), {Q: "work-q"}, trusted_by=trusted)
    monkeypatch.setenv("METAFLOW_CONFIG_PROJECT", str(tmp_path / "project"))
    settings.reload()
    assert settings.batch.job_queue == "project-q"
    with override(env={"METAFLOW_HOME": os.environ["METAFLOW_HOME"]}):
        assert settings.batch.job_queue == "work-q"
    with override(env=dict(os.environ)):
        assert settings.batch.job_queue == "project-q"


# --- reload -----------------------------------------------------------------------------------


def test_reload_rereads_env_and_files_for_every_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.reload() picks up new variables and files, in this thread and the others."""
    assert settings.batch.job_queue is None
    monkeypatch.setenv(Q, "env-q")
    write_profile(home(), {"SFN_IAM_ROLE": ROLE})
    assert settings.batch.job_queue is None  # resolved once; not re-read behind the caller
    fresh = settings.reload()
    assert fresh.batch.job_queue == "env-q"
    seen: list[Any] = []
    worker = threading.Thread(
        target=lambda: seen.append((settings.batch.job_queue, settings.sfn.iam_role))
    )
    worker.start()
    worker.join(TIMEOUT)
    assert seen == [("env-q", ROLE)]


def test_reload_inside_a_scope_keeps_the_override_on_top(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reloading inside a scope re-reads the layers below it; the override stays in force."""
    with override(BATCH_JOB_QUEUE="code-q"):
        monkeypatch.setenv(Q, "env-q")
        monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", ROLE)
        assert settings.sfn.iam_role is None
        assert settings.reload().batch.job_queue == "code-q"
        assert (settings.batch.job_queue, settings.sfn.iam_role) == ("code-q", ROLE)
    assert settings.batch.job_queue == "env-q"


def test_reload_with_a_broken_file_raises_and_keeps_the_old_snapshot() -> None:
    """A reload that fails raises ConfigError and leaves the previous snapshot in force."""
    write_profile(home(), {Q: "good"})
    assert settings.batch.job_queue == "good"
    (home() / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="valid JSON"):
        settings.reload()
    assert settings.batch.job_queue == "good"


def test_reload_reaches_scopes_open_in_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread inside a scope sees what another thread's reload re-read, under its override."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    seen: list[Any] = []

    def worker() -> None:
        with override(BATCH_JOB_QUEUE="mine"):
            seen.append((settings.batch.job_queue, settings.sfn.iam_role))
            barrier.wait()  # main reloads now
            barrier.wait()
            seen.append((settings.batch.job_queue, settings.sfn.iam_role))

    thread = threading.Thread(target=worker)
    thread.start()
    barrier.wait()
    monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", ROLE)
    settings.reload()
    barrier.wait()
    thread.join(TIMEOUT)
    assert seen == [("mine", None), ("mine", ROLE)]


def test_reload_under_deeply_nested_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload under hundreds of nested scopes re-derives them all, without deep recursion."""
    depth = 300
    with contextlib.ExitStack() as stack:
        for i in range(depth):
            stack.enter_context(override(BATCH_JOB_QUEUE=f"q-{i}"))
        monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", ROLE)
        with contextlib.ExitStack() as tight:
            tight.callback(sys.setrecursionlimit, sys.getrecursionlimit())
            here = len(inspect.stack(0))
            sys.setrecursionlimit(here + 150)  # room to resolve, not to recurse over the scopes
            settings.reload()
            seen = (settings.batch.job_queue, settings.sfn.iam_role)
        assert seen == (f"q-{depth - 1}", ROLE)
    assert settings.batch.job_queue is None
