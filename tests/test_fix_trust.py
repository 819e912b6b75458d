"""Trust of what is read and written: the profile's writers, read-only files, isolated(), counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import metaflow_config.testing as mf_testing


def test_isolated_reads_no_project_file_above_its_default_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """isolated() looks for the project file in an empty project of its own: none above is read."""
    above = tmp_path / "machine"
    (above / ".metaflow").mkdir(parents=True)
    (above / ".metaflow" / "config.json").write_text(
        json.dumps({"METAFLOW_OTEL_SERVICE_NAME": "from-the-machine"}), encoding="utf-8"
    )
    monkeypatch.setattr(
        mf_testing, "ISOLATED_ROOT", str(above / "nonexistent" / "metaflow-config-isolated")
    )
    monkeypatch.setattr(mf_testing, "_EMPTY_PROJECT", [], raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(above / "tmp"))
    (above / "tmp").mkdir()
    snapshot = mf_testing.isolated()
    assert snapshot["OTEL_SERVICE_NAME"] == "metaflow"
    assert not os.path.exists(snapshot.local_path)
    assert snapshot.explain("OTEL_SERVICE_NAME").source == "default"
