"""A review of the day's later fixes: what each of them still let through.

Commands offered to paste work as written and on the profile meant; ``child_env()``'s repr
masks whatever it cannot tell is a setting's; a key given twice is told at the level it is
given twice, its error bounded; the extensions' names a launch leaves behind said once a run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, load
from tests.test_sections import ACME, installed

CLI = str(Path(sys.executable).parent / "metaflow-config")


@pytest.fixture
def registered(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """README's ``acme-mf`` installed and discovered; its ``Acme`` class."""
    for module in installed(
        tmp_path_factory, monkeypatch, "acme-mf", "acme = acme_mf.config:Acme", ACME
    ):
        yield module.Acme


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(METAFLOW_HOME=str(home), HOME=str(home.parent), **extra)
    return env


def _cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args],
        env=_env(home, **extra),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    path.chmod(0o600)


# 1 ------------------------------------------------------------------------------------------------
def test_child_envs_repr_masks_a_machine_variable_named_as_a_registered_secret(
    registered: type[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An extension registers METAFLOW_ACME_API_TOKEN (secret). The machine's own ACME_API_TOKEN
    (or GITHUB_TOKEN, where a section reads METAFLOW_GITHUB_TOKEN) is 'known' to the new
    ChildEnv._shown (find_key adds the prefix) but bears_secret compares the short name with
    the section's full secret keys: its value is shown. Before 8617cba..: masked (not METAFLOW_)."""
    from metaflow_config.testing import child_env

    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("ACME_API_TOKEN", "planted-machine-token")
    env = child_env()
    assert "planted" not in repr(env)


# 2 ------------------------------------------------------------------------------------------------
def test_offered_removal_of_a_misspelled_key_holding_an_equals_sign_removes_it(
    tmp_path: Path,
) -> None:
    """A profile holding "METAFLOW_BATCH_JOB_QUEUE=x" (an env-file line pasted as a key): the
    warning offers `--set METAFLOW_BATCH_JOB_QUEUE=x=`, which --set reads as the setting
    METAFLOW_BATCH_JOB_QUEUE = "x=": pasted, it writes the real queue and keeps the typo."""
    home = tmp_path / "home"
    _write(home / "config_t.json", {"METAFLOW_BATCH_JOB_QUEUE=x": "typo", "METAFLOW_USER": "me"})
    done = _cli(home, "configure", "aws", "-p", "t", "--set", "METAFLOW_USER=me2", "--yes")
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    offered = re.findall(r"`(metaflow-config configure aws[^`]*)`", said)
    if offered:  # a command offered: pasted as written, it removes the typo and nothing else
        again = _cli(home, *shlex.split(offered[0])[1:], "--yes")
        assert again.returncode == 0, again.stderr
        data = json.loads((home / "config_t.json").read_text())
        assert data == {"METAFLOW_USER": "me2"}, data
    else:  # or left to an editor, as keys with blanks are
        assert "editor" in said


# 3 ------------------------------------------------------------------------------------------------
def test_a_named_profile_emptied_offers_the_reset_of_that_profile(tmp_path: Path) -> None:
    """`configure aws -p dev --set KEY=` removing dev's last key says "`metaflow-config reset`
    removes it": pasted, that command removes the default profile (config.json), not dev
    (_changes.write_changes builds it without profile_flag)."""
    home = tmp_path / "home"
    _write(home / "config_dev.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    _write(home / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "keep"})
    done = _cli(
        home, "configure", "aws", "-p", "dev", "--set", "METAFLOW_BATCH_JOB_QUEUE=", "--yes"
    )
    assert done.returncode == 0, done.stderr
    assert "now empty" in done.stdout
    assert "`metaflow-config reset -p dev" in done.stdout, done.stdout


# 5 ------------------------------------------------------------------------------------------------
def test_a_duplicate_keys_error_is_bounded(tmp_path: Path) -> None:
    """A cloned repository's .metaflow/config.json gives a 300 000-character key twice: the
    message says it through short_name, but the location f"{path}:{key}" holds it whole, so
    load()'s ConfigError is 300 KB (the unknown-key warning of the same key is shortened)."""
    key = "METAFLOW_" + "K" * 300_000
    project = tmp_path / "repo"
    _write(project / ".metaflow" / "config.json", f'{{"{key}": 1,\n"{key}": 2}}')
    (tmp_path / "home").mkdir()
    with pytest.raises(ConfigError) as info:
        load(env={}, home=tmp_path / "home", cwd=project)
    assert len(str(info.value)) < 5_000


# 6 ------------------------------------------------------------------------------------------------
def test_a_key_given_twice_inside_a_value_is_not_said_of_the_top_level_key(tmp_path: Path) -> None:
    """{"a": 1, "b": {"a": 1, "a": 2}}: the duplicate is inside b, but since a top-level key is
    named a too it is said "found a twice ... keep one a" (the top-level a is there once), and
    b, which holds it, is not named; with a real top-level duplicate too, "3 times"."""
    from metaflow_config._sources.jsonfile import read_json_file

    path = tmp_path / "c.json"
    path.write_text('{"a": 1,\n"b": {"a": 1, "a": 2}}')
    _, problems = read_json_file(str(path), "profile")
    assert not [p for p in problems if "found a twice" in p.expected], problems
    assert [p for p in problems if p.location.endswith(":b")], problems
    path.write_text('{"a": 1,\n"a": 2,\n"b": {"a": 1, "a": 2}}')
    _, problems = read_json_file(str(path), "profile")
    assert not [p for p in problems if "3 times" in p.expected], problems


# 7 ------------------------------------------------------------------------------------------------
def test_child_envs_repr_survives_a_registry_that_does_not_load(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A section's entry point that does not import: ChildEnv._shown catches find_key's
    ConfigError ("nothing told apart is shown"), but METAFLOW_HOME is 'known' (_SELECTORS) and
    _shown -> bears_secret calls find_key again, uncaught: repr(child_env()) raises."""
    from metaflow_config.testing import child_env

    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    gen = installed(tmp_path_factory, monkeypatch, "bad-mf", "bad = bad_mf.config:Nope", "X = 1\n")
    next(gen)
    try:
        env = child_env()
        text = repr(env)
        assert "METAFLOW_HOME" in text
    finally:
        gen.close()


# 8 ------------------------------------------------------------------------------------------------
def test_the_fix_of_a_quoted_relative_home_offers_a_value_that_is_taken() -> None:
    """METAFLOW_HOME='"rel/dir"' (an env-file's quotes): the fix says "remove them
    (METAFLOW_HOME=rel/dir)", which is refused again as relative (the absolute-path fix is
    replaced, not kept)."""
    from metaflow_config._sources.profiles import relative_home

    problem = relative_home('"rel/dir"')
    assert problem is not None
    offered = re.findall(r"METAFLOW_HOME=([^\s)`]+)", problem.fix)
    assert offered, problem.fix
    for value in offered:
        assert relative_home(value.strip("'\"")) is None, problem.fix


# 9 ------------------------------------------------------------------------------------------------
def test_a_sections_text_field_given_a_dict_in_code_is_said_in_pythons_words(
    registered: type[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """override(ACME_COST_CENTER={...}) says only "a valid string"; an int says "found a Python
    int: pass it as a str", and a built-in setting given a dict says "found a Python dict"."""
    from metaflow_config import override, settings

    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    with pytest.raises(ConfigError) as info, override(ACME_COST_CENTER={"team": "ml"}):
        settings.section(registered)
    (problem,) = info.value.problems
    assert "found a Python dict" in problem.expected, problem.expected


# 10 -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_argo_says_nothing_left_behind_where_every_step_gives_it(
    aws_env: str, tmp_path: Path
) -> None:
    """Every step gives METAFLOW_ACME_ENDPOINT with @environment, as the warning advises:
    `argo-workflows create` still says it is not passed to the tasks, because Metaflow's own
    error-msg-capture-hook container (no step's @environment reaches it) lacks it: the advice
    cannot silence it. (Airflow's test of the same passes; Argo's was not written.)"""
    from tests.test_pod_literals import _ACME_FLOW, _BEHIND, FLOW, _acme, _argo_launch, run

    ext = _acme(tmp_path / "site")
    where = _argo_launch(
        tmp_path, aws_env, PYTHONPATH=ext, METAFLOW_ACME_ENDPOINT="https://acme.internal"
    )
    (where.project / FLOW.name).write_text(_ACME_FLOW)
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    said = [x for x in proc.stderr.splitlines() if _BEHIND in x]
    assert said == [], said


def test_a_run_says_once_what_its_remote_tasks_are_not_given(tmp_path: Path) -> None:
    """``run`` with @batch steps: each task is launched by a process of its own (siblings do
    not see what the others said). The run's process says it first (``run_execute``, of every
    step's ``@environment`` together) and records it: the tasks' processes say nothing."""
    from tests.test_extension_names import _extension

    _extension(tmp_path / "site")
    (tmp_path / "home").mkdir()
    child = (
        "from metaflow_config._metaflow import launch; "
        "launch.say_not_given(launch.task_env('batch'), ['METAFLOW_USER'])"
    )
    parent = (
        "import subprocess, sys, types\n"
        "from metaflow_config._metaflow import launch\n"
        "batch = types.SimpleNamespace(name='batch')\n"
        "flow = types.SimpleNamespace(start=types.SimpleNamespace(decorators=[batch]))\n"
        "node = types.SimpleNamespace(name='start')\n"
        "runtime = types.SimpleNamespace(_flow=flow, _graph=[node])\n"
        "def tasks(runtime):\n"
        f"    for _ in range(2): subprocess.run([sys.executable, '-c', {child!r}], check=True)\n"
        "launch.run_execute(tasks, runtime)\n"
    )
    env = _env(tmp_path / "home", METAFLOW_ACME_ENDPOINT="https://x")
    env["PYTHONPATH"] = str(tmp_path / "site")
    done = subprocess.run(
        [sys.executable, "-c", parent],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count("not passed to the tasks") == 1, done.stderr
