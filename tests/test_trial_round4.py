"""Findings of the fourth round of outside trials (newcomer, attacker, platform, contract).

Each test failed before its fix; the docstring says what a user did and what happened.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import invoke


def _profile() -> Path:
    return Path(os.environ["METAFLOW_HOME"]) / "config.json"


# --- newcomer: a name its service refuses, on every write path -------------------------------


@pytest.mark.parametrize(
    ("item", "said"),
    [
        ("BATCH_JOB_QUEUE=gpu queue", "holds a blank, so it is not a job queue's name"),
        ('BATCH_JOB_QUEUE="gpu-queue"', "is not a job queue's name"),
        ("KUBERNETES_SERVICE_ACCOUNT=My SA", "Kubernetes service account"),
        ("KUBERNETES_NAMESPACE=Team ML", "namespace"),
    ],
)
def test_configure_set_refuses_what_the_prompt_refuses(item: str, said: str) -> None:
    """``configure aws --set 'BATCH_JOB_QUEUE=gpu queue' --yes`` wrote the name the same
    wizard refuses when typed at its prompt (README: ``--set`` "validates every value"); the
    first job failed at AWS Batch. Refused with the form and an example, nothing written."""
    result = invoke("configure", "aws", "--yes", "--set", item)
    assert result.exit_code == 1
    err = result.output + (result.stderr or "")
    assert said in err, err
    assert "Fix: pass --set METAFLOW_" in err
    assert not _profile().exists()


def test_import_warns_of_a_name_its_service_refuses(tmp_path: Path) -> None:
    """``import FILE`` of a profile whose job queue holds a blank wrote it and said nothing:
    it is written as the file says (it is the user's file), with the warning ``check`` gives,
    before the confirmation."""
    source = tmp_path / "team.json"
    source.write_text(json.dumps({"METAFLOW_BATCH_JOB_QUEUE": "gpu queue"}))
    result = invoke("import", str(source), input="y\n")
    assert result.exit_code == 0, result.output
    err = result.stderr or result.output
    assert "Warning: METAFLOW_BATCH_JOB_QUEUE holds a blank" in err, err
    assert "e.g. gpu-queue" in err
    assert json.loads(_profile().read_text())["METAFLOW_BATCH_JOB_QUEUE"] == "gpu queue"
