"""Test isolation: no test reads the developer's ~/.metaflowconfig, cwd or METAFLOW_* env."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import _runtime


@pytest.fixture(autouse=True)
def _isolate(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Clear METAFLOW_*, point METAFLOW_HOME at an empty temp dir, run in an empty temp cwd."""
    for key in list(os.environ):
        if key.startswith("METAFLOW_") or key in {"SUDO_USER", "USERNAME"}:
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("mfhome")
    work = tmp_path_factory.mktemp("work")
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.chdir(work)
    _runtime._process.__dict__["_base"] = None
    _runtime._process._drop_cache()
    yield
    _runtime._process.__dict__["_base"] = None
    _runtime._process._drop_cache()


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` (creating parents) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
