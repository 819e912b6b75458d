"""Profiles from the wild, and parity with Metaflow: what deployments' files hold is read as
Metaflow reads it, or refused with a way out that works, and each difference is documented."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, load
from tests.conftest import invoke, write_json


def _home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


def _tf(value: Any, kind: Any) -> dict[str, Any]:
    """One output as ``terraform output -json`` writes it."""
    return {"sensitive": False, "type": kind, "value": value}


def test_terraform_outputs_that_agree_in_value_but_not_in_json_type_are_no_conflict(
    tmp_path: Path,
) -> None:
    """A wrapper module outputs ``METAFLOW_S3_RETRY_COUNT = 7`` (a number) and its
    ``metaflow_profile_json`` holds ``"7"`` (jsonencode of a string): one setting, one value
    (Metaflow reads either as 7), not two outputs in conflict (``7 != "7"`` as JSON)."""
    outputs = {
        "METAFLOW_DATASTORE_SYSROOT_S3": _tf("s3://metaflow-s3-abc123/metaflow", "string"),
        "METAFLOW_S3_RETRY_COUNT": _tf(7, "number"),
        "metaflow_profile_json": _tf(
            json.dumps(
                {
                    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://metaflow-s3-abc123/metaflow",
                    "METAFLOW_S3_RETRY_COUNT": "7",
                }
            ),
            "string",
        ),
    }
    path = write_json(tmp_path / "outputs.json", outputs)
    result = invoke("import", "--from-terraform", str(path), "-p", "prod", "-y")
    assert result.exit_code == 0, result.output + result.stderr
    assert load(profile="prod").s3.sysroot == "s3://metaflow-s3-abc123/metaflow"
    assert load(profile="prod")["METAFLOW_S3_RETRY_COUNT"] == 7


@pytest.mark.parametrize(
    "bucket",
    [
        "My_Legacy_Bucket",  # uppercase and underscore: us-east-1 before 2018-03-01
        "legacy_bucket_name",
    ],
)
def test_a_legacy_us_east_1_bucket_name_metaflow_and_boto3_use_is_not_refused(
    bucket: str,
) -> None:
    """S3 buckets created in us-east-1 before 1 March 2018 may hold upper-case letters and
    underscores (up to 255 characters); they still exist, boto3 accepts them
    (``botocore.handlers.validate_bucket_name``: ``[a-zA-Z0-9.\\-_]{1,255}``), and Metaflow
    alone runs on such a profile: so does the extension (a bucket cannot be renamed)."""
    home = _home()
    write_json(
        home / "config.json",
        {
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://{bucket}/metaflow",
        },
    )
    s = load(home=str(home))
    assert s.s3.sysroot == f"s3://{bucket}/metaflow"
    assert s.datatools.s3root == f"s3://{bucket}/metaflow/data"


def test_integer_text_with_a_fraction_is_refused_as_metaflow_refuses_it() -> None:
    """``"METAFLOW_S3_RETRY_COUNT": "7.0"`` (a stack output of a number rendered as text):
    Metaflow alone fails at import (``int("7.0")``), so the extension refuses it too (taken, it
    would stop a run with the extension switched off)."""
    home = _home()
    write_json(home / "config.json", {"METAFLOW_S3_RETRY_COUNT": "7.0"})
    with pytest.raises(ConfigError, match="METAFLOW_S3_RETRY_COUNT"):
        load(home=str(home))


def _differences_table() -> str:
    """README's "Differences from Metaflow" section."""
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("## Differences from Metaflow")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_a_profile_key_given_twice_is_a_documented_difference_from_metaflow() -> None:
    """A hand-edited profile that sets a key twice: Metaflow alone (``json.load``) takes the
    last value, silently; the library refuses the file, and README's Differences say so."""
    home = _home()
    (home / "config.json").write_text(
        '{"METAFLOW_BATCH_JOB_QUEUE": "old-queue", "METAFLOW_BATCH_JOB_QUEUE": "new-queue"}',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="twice"):
        load(home=str(home))
    table = _differences_table()
    assert "twice" in table or "duplicate" in table.lower()


def test_metaflow_configure_failing_on_the_profile_does_not_say_it_still_runs() -> None:
    """A profile Metaflow's own reading cannot read either (a trailing comma): ``metaflow
    configure reset`` exits 1 as Metaflow alone does, and does not say that ``metaflow
    configure`` still runs: it points at what does (correct the file, ``metaflow-config
    reset``)."""
    import subprocess
    import sys

    home = _home()
    (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q",}\n', encoding="utf-8")
    metaflow = Path(sys.executable).parent / "metaflow"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home.parent),
        "METAFLOW_HOME": str(home),
        "USER": "alice",
        "PYTHONWARNINGS": "ignore",
    }
    result = subprocess.run(
        [str(metaflow), "configure", "reset"],
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "expected valid JSON" in result.stderr
    assert "`metaflow configure` still runs" not in result.stderr, result.stderr
    assert "metaflow-config reset" in result.stderr
