"""Every command printed for the user to paste is shell-quoted: pasted, it runs nothing else.

Each test builds what is printed from a crafted path or name (``$(touch pwned)``, a quote and
a ``;``), finds the command in the output exactly as ``shlex.quote`` spells it, and runs it in
``sh``: the command does what it says, and no ``pwned`` file appears.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from metaflow_config import ConfigError
from metaflow_config._checks.probes import Context
from metaflow_config._sources.writes import update_json, write_json_atomic
from tests._checks_helpers import Runner, settings_of
from tests.conftest import invoke

#: a path component no shell may run (each one tried)
CRAFTED = ["x$(touch pwned)", "a'b;touch pwned", "c`touch pwned` d"]


def sh(script: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in ``sh`` in ``cwd``; its stdout. No ``pwned`` file may appear there."""
    done = subprocess.run(
        ["sh", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    assert not (cwd / "pwned").exists(), script
    return done.stdout


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """An empty directory the pasted commands run in (where a ``pwned`` file would appear)."""
    path = tmp_path / "scratch"
    path.mkdir()
    return path


@pytest.mark.parametrize("name", CRAFTED)
def test_the_wizards_closing_exports_paste_safely(
    name: str, tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export METAFLOW_HOME=...`: pasted, it sets exactly the home, and runs nothing."""
    home = tmp_path / name
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    result = invoke("configure", "aws", "-p", "prod", "-y", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 0, result.output
    exports = [line.strip() for line in result.stdout.splitlines() if "export " in line]
    assert exports == [
        "export METAFLOW_PROFILE=prod",
        f"export METAFLOW_HOME={shlex.quote(str(home))}",
    ]
    pasted = "\n".join(exports) + '\nprintf %s "$METAFLOW_HOME"'
    assert sh(pasted, scratch) == str(home)


@pytest.mark.parametrize("name", CRAFTED)
def test_chmod_of_a_home_others_may_write_to_pastes_safely(
    name: str, tmp_path: Path, scratch: Path
) -> None:
    """The fix `chmod go-w <home>`, pasted, makes the home private: the write then goes ahead."""
    home = tmp_path / name
    home.mkdir()
    home.chmod(0o777)
    with pytest.raises(ConfigError) as err:
        write_json_atomic(home / "config.json", {"A": 1}, home=home)
    command = f"chmod go-w {shlex.quote(str(home))}"
    assert command in str(err.value)
    sh(command, scratch)
    write_json_atomic(home / "config.json", {"A": 1}, home=home)


@pytest.mark.parametrize("name", CRAFTED)
def test_replacing_a_link_out_of_the_home_pastes_safely(
    name: str, tmp_path: Path, scratch: Path
) -> None:
    """The fix `rm <link> && cp <target> <link>`, pasted, leaves a file the update writes."""
    home = tmp_path / f"home {name}"
    home.mkdir(mode=0o700)
    real = tmp_path / name / "metaflow.json"
    real.parent.mkdir()
    real.write_text('{"A": 1}')
    link = home / "config.json"
    link.symlink_to(real)
    with pytest.raises(ConfigError) as err:
        update_json(link, lambda doc: {**doc, "B": 2}, home=home)
    q_link, q_real = shlex.quote(str(link)), shlex.quote(str(real))
    command = f"rm {q_link} && cp {q_real} {q_link}"
    assert command in str(err.value)
    assert f"edit {q_real} directly" in str(err.value)
    sh(command, scratch)
    assert not link.is_symlink()
    update_json(link, lambda doc: {**doc, "B": 2}, home=home)
    assert real.read_text() == '{"A": 1}'


@pytest.mark.parametrize("name", CRAFTED)
def test_aws_cli_arguments_of_fixes_paste_safely(name: str, tmp_path: Path, scratch: Path) -> None:
    """`--region R --profile P` of the AWS CLI commands in fixes: each exactly one argument."""
    ctx = Context(
        settings_of({}, tmp_path),
        clients=None,
        config=None,
        region=f"r{name}",
        region_source="test",
        aws_profile=f"p{name}",
        timeout=1,
        write_probe=False,
        required=frozenset(),
    )
    args = ctx.region_arg()
    assert args == f" --region {shlex.quote('r' + name)} --profile {shlex.quote('p' + name)}"
    printed = sh(f"printf '%s\\n'{args}", scratch)
    assert printed.splitlines() == ["--region", f"r{name}", "--profile", f"p{name}"]


@pytest.mark.aws
@pytest.mark.usefixtures("_aws_env")
def test_a_fix_naming_a_crafted_job_queue_pastes_safely(
    run: Runner, tmp_path: Path, scratch: Path
) -> None:
    """No job queue's name (AWS Batch's form: letters, digits, - and _): no command is offered
    to create it, and the fix quotes none of it."""
    for name in CRAFTED:
        env = {"METAFLOW_BATCH_JOB_QUEUE": name}
        found = run(settings_of(env, tmp_path), capabilities=["batch"])["batch.job_queue"]
        assert "is not a job queue's name" in found.detail
        assert "create-job-queue" not in found.fix
        assert "touch" not in found.fix + found.detail
