"""Test isolation: no test reads the developer's ~/.metaflowconfig, cwd or METAFLOW_* env."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from metaflow_config.testing import isolated_process

# Hypothesis budgets: "ci" (the default) keeps the suite fast; "dev" digs deeper; "fuzz" is the
# long run of tests/test_fuzz.py (see README "Guarantees"). Pick one with HYPOTHESIS_PROFILE.
# No deadline: a resolution reads files, and a slow disk is not a bug.
hypothesis_settings.register_profile("ci", max_examples=40, deadline=None, database=None)
hypothesis_settings.register_profile("dev", max_examples=300, deadline=None)
hypothesis_settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolate(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Clear METAFLOW_*, point METAFLOW_HOME at an empty temp dir, run in an empty temp cwd."""
    home = tmp_path_factory.mktemp("mfhome")
    work = tmp_path_factory.mktemp("work")
    with isolated_process(monkeypatch, home=home, cwd=work):  # the plugin's isolation
        yield


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` (creating parents, mode 0600) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)
    return path
