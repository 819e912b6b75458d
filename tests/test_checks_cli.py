"""Live checks (``check --aws``) reported: run_cli, render, aws.check(), the command line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metaflow_config._checks.checks import render, run_cli
from metaflow_config._checks.probes import CHECKS, FAIL, PASS, CheckResult
from tests._checks_helpers import (
    SECRET_KEY,
    _disable_queue,
    assert_no_secrets,
    correct_env,
    moto_clients,
    settings_of,
)

pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("_aws_env")]


# --- command-line output ----------------------------------------------------------------------


class _Tty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_run_cli_prints_a_table_and_exits_1_on_failure(
    aws: Any, moto_url: str, shared_session: Any, service: Any, tmp_path: Path
) -> None:
    """run_cli prints every result and the fix, masks secrets, and exits 1 when any FAIL."""
    env = correct_env(service.url)
    _disable_queue(aws, env)
    out, err = io.StringIO(), io.StringIO()
    session = shared_session
    code = run_cli(
        settings_of(env, tmp_path),
        out=out,
        err=err,
        session=session,
        client_factory=moto_clients(session, moto_url),
    )
    assert code == 1
    text = out.getvalue()
    assert "FAIL  batch.job_queue" in text
    assert "fix: aws batch update-job-queue --job-queue mf-queue --state ENABLED" in text
    assert text.rstrip().splitlines()[-1].startswith(f"{len(CHECKS)} checks: ")
    assert err.getvalue() == ""  # not a terminal: no progress line
    assert_no_secrets(text)


def test_run_cli_progress_line_only_on_a_terminal(service: Any, tmp_path: Path) -> None:
    """On a terminal stderr gets a live progress line, cleared at the end; exit 0 when no FAIL."""
    err = _Tty()
    out = io.StringIO()
    env = {"METAFLOW_SERVICE_URL": service.url}
    code = run_cli(settings_of(env, tmp_path), capabilities=["service"], out=out, err=err)
    assert code == 0
    assert "checking: 0/2 done; waiting for service.url, service.internal_url" in err.getvalue()
    assert err.getvalue().endswith("\r\x1b[K")
    assert "checking" not in out.getvalue()


def test_render_shows_fix_under_failures() -> None:
    """render() prints status, name, detail, and the fix on the next line."""
    out = io.StringIO()
    render([CheckResult("a.b", FAIL, "broken", "do this"), CheckResult("c", PASS, "fine")], out)
    assert out.getvalue().splitlines() == [
        "FAIL  a.b  broken",
        "           fix: do this",
        "PASS  c    fine",
        "2 checks: 1 PASS, 1 FAIL",
    ]


def test_importing_checks_does_not_import_boto3() -> None:
    """metaflow_config._checks.checks (and the package) import boto3 only when AWS checks run."""
    code = "import sys, metaflow_config._checks.checks; print('boto3' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --- through metaflow_config.aws and the command line ------------------------------------------


def test_aws_check_uses_the_aws_module_session_and_clients(
    aws: Any, moto_url: str, service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """metaflow_config.aws.check() runs every check through aws.session()/aws.client()."""
    from metaflow_config import aws as aws_module

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # boto3's own endpoint override
    service.key = SECRET_KEY
    results = aws_module.check(settings_of(correct_env(service.url), tmp_path), write_probe=True)
    assert {r.name: r.status for r in results} == {c.name: PASS for c in CHECKS}
    assert isinstance(results[0], aws_module.CheckResult)


def test_cli_check_aws_exit_status_and_fix(
    aws: Any,
    moto_url: str,
    service: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`metaflow-config check --aws` exits 0 when all pass, 1 with the fix when one FAILs."""
    from metaflow_config.cli import main

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    service.key = SECRET_KEY
    for name, value in correct_env(service.url).items():
        monkeypatch.setenv(name, value)
    assert main(["check", "--aws"]) == 0
    first = capsys.readouterr().out
    assert f"{len(CHECKS)} checks: {len(CHECKS) - 1} PASS, 1 SKIP" in first  # no --write-probe
    _disable_queue(aws, {})
    for name in ("METAFLOW_SERVICE_URL", "METAFLOW_SERVICE_INTERNAL_URL"):
        monkeypatch.delenv(name)  # offline, --require batch refuses a loopback service URL
    code = main(["check", "--aws", "--require", "batch"])
    second, err = capsys.readouterr()
    assert code == 1, err
    assert "FAIL  batch.job_queue" in second, err
    assert "--state ENABLED" in second
    assert "sfn." not in second  # only what Batch needs
    assert_no_secrets(first + second)


def test_cli_write_probe_needs_aws(capsys: pytest.CaptureFixture[str]) -> None:
    """--write-probe and --aws-profile without --aws are usage errors (exit 2)."""
    from metaflow_config.cli import main

    assert main(["check", "--write-probe"]) == 2
    assert "--aws" in capsys.readouterr().err
