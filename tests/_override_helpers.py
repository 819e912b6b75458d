"""Constants and helpers shared by the tests of override() (tests/test_override_*.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import metaflow_config.compat as mc
from metaflow_config import settings

Q = "METAFLOW_BATCH_JOB_QUEUE"
ROLE = "arn:aws:iam::123456789012:role/sfn"
TIMEOUT = 60  # seconds a barrier waits before the test fails instead of hanging


def home() -> Path:
    """The test's METAFLOW_HOME (an empty temp directory, see conftest)."""
    return Path(os.environ["METAFLOW_HOME"])


def fast_path_cached() -> bool:
    """Whether ``settings.batch`` is currently a plain instance attribute (the fast path)."""
    return "batch" in vars(settings)


def _observed_queue() -> tuple[Any, Any]:
    return settings.batch.job_queue, mc.BATCH_JOB_QUEUE
