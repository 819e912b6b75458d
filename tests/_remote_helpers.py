"""Constants and helpers shared by the tests of remote execution (tests/test_remote_*.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metaflow_config import Settings, load
from metaflow_config._model.table import FIELDS
from metaflow_config._model.values import thaw
from tests._strategies import travels

ROLE = "arn:aws:iam::123456789012:role/"
REMOTE = ("batch", "sfn")
SECRET = "s3cr3t-api-key-0123456789"


def _load(tmp_path: Path, **values: Any) -> Settings:
    """Values (short names) from the environment; JSON-valued ones given as objects."""
    env = {f"METAFLOW_{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return load(env=env, home=tmp_path / "home", cwd=tmp_path)


def assert_same_where_it_travels(
    fresh: Settings | dict[str, Any], s: Settings, target: str
) -> None:
    """``fresh`` resolves like ``s`` on every setting that travels to ``target``."""
    for field in FIELDS:
        if travels(field, target):
            assert thaw(fresh[field.env]) == thaw(s[field.env]), (target, field.env)
    if target != "local":
        expected_url = s.service.internal_url or s.service.url
        assert fresh["METAFLOW_SERVICE_URL"] == expected_url
