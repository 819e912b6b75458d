"""Interoperability with the real Metaflow package: each reads the profiles the other writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import metaflow_config.compat as compat
from metaflow_config import load, override
from metaflow_config.cli import cli
from tests.conftest import cli_runner

pytest.importorskip("metaflow")
pytestmark = pytest.mark.slow

SYSROOT = "s3://team-bucket/metaflow"
ROLE = "arn:aws:iam::123456789012:role/MetaflowBatch"
SFN_ROLE = "arn:aws:iam::123456789012:role/MetaflowSFN"
EVENTS_ROLE = "arn:aws:iam::123456789012:role/MetaflowEvents"

#: Runs in a fresh process: Metaflow's own module, reading METAFLOW_HOME / METAFLOW_PROFILE.
PROBE = """
import json, sys
import metaflow.metaflow_config as m
print(json.dumps({name: getattr(m, name) for name in sys.argv[1:]}))
"""

#: What the wizard writes, and what Metaflow derives from it.
COMPARED = (
    "DEFAULT_DATASTORE",
    "DATASTORE_SYSROOT_S3",
    "DATATOOLS_S3ROOT",
    "CARD_S3ROOT",
    "DEFAULT_METADATA",
    "SERVICE_URL",
    "SERVICE_INTERNAL_URL",
    "SERVICE_AUTH_KEY",
    "SERVICE_HEADERS",
    "BATCH_JOB_QUEUE",
    "ECS_S3_ACCESS_IAM_ROLE",
    "BATCH_CONTAINER_IMAGE",
    "SFN_IAM_ROLE",
    "EVENTS_SFN_ACCESS_IAM_ROLE",
    "SFN_DYNAMO_DB_TABLE",
    "SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH",
)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for a subprocess: no METAFLOW_* but the ones given."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home.parent), "LC_ALL": "C.UTF-8"}
    env["METAFLOW_HOME"] = str(home)
    env.update(extra)
    return env


def metaflow_values(home: Path, profile: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The values Metaflow's own ``metaflow.metaflow_config`` holds for ``names``."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        env=clean_env(home, METAFLOW_PROFILE=profile),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    values: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return values


def test_profile_written_by_the_wizard_resolves_the_same_in_metaflow(tmp_path: Path) -> None:
    """Metaflow reads a wizard-written named profile to the values metaflow_config resolves."""
    home = tmp_path / ".metaflowconfig"
    script = "".join(
        line + "\n"
        for line in (
            "y", SYSROOT, "",
            "y", "https://metadata.example.com", "", "service-api-key",
            "y", "metaflow-queue", ROLE, "", "python:3.11",
            "y", SFN_ROLE, EVENTS_ROLE, "metaflow-step-functions",
            "y",
        )
    )  # fmt: skip
    result = cli_runner().invoke(
        cli,
        ["configure", "aws", "--profile", "team"],
        input=script,
        env={"METAFLOW_HOME": str(home)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    theirs = metaflow_values(home, "team", COMPARED)
    env = {"METAFLOW_HOME": str(home), "METAFLOW_PROFILE": "team"}
    with override(env=env, cwd=tmp_path):
        ours = {name: getattr(compat, name) for name in COMPARED}
    assert ours == theirs
    assert theirs["DATATOOLS_S3ROOT"] == f"{SYSROOT}/data"
    assert theirs["SERVICE_HEADERS"] == {"x-api-key": "service-api-key"}


def test_file_written_by_metaflow_configure_import_is_read_by_ours(tmp_path: Path) -> None:
    """`metaflow configure import` writes config.json; metaflow_config reads the same values."""
    metaflow_cli = shutil.which("metaflow", path=str(Path(sys.executable).parent))
    assert metaflow_cli is not None
    home = tmp_path / ".metaflowconfig"
    source = tmp_path / "team.json"
    settings = {
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_BATCH_JOB_QUEUE": "metaflow-queue",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE,
        "METAFLOW_BATCH_EMIT_TAGS": "true",
        "METAFLOW_SFN_IAM_ROLE": SFN_ROLE,
    }
    source.write_text(json.dumps(settings), encoding="utf-8")
    proc = subprocess.run(
        [metaflow_cli, "configure", "import", str(source)],
        env=clean_env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (home / "config.json").exists()
    s = load(env={}, home=home, cwd=tmp_path)
    assert s.datastore.sysroot_s3 == SYSROOT
    assert s.defaults.datastore == "s3"
    assert s.batch.job_queue == "metaflow-queue"
    assert s.batch.job_role == ROLE
    assert s.batch.emit_tags is True
    assert s.sfn.iam_role == SFN_ROLE
    assert s.source("METAFLOW_BATCH_JOB_QUEUE") == "profile"
    shown = cli_runner().invoke(
        cli, ["show", "--json"], env={"METAFLOW_HOME": str(home)}, catch_exceptions=False
    )
    by_name = {e["name"]: e["value"] for e in json.loads(shown.stdout)["settings"]}
    assert by_name["METAFLOW_DATATOOLS_S3ROOT"] == f"{SYSROOT}/data"
    assert by_name["METAFLOW_BATCH_EMIT_TAGS"] is True
