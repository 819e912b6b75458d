"""Profiles from the wild (``tests/profiles_wild.json``) through check, migrate and Metaflow.

Each profile works with Metaflow 2.19 alone. ``check`` tells what each key that is not a setting
is: an old name (applied, a warning), a key near no setting (an extension's, a fork's, another
program's: a warning, no did-you-mean), a misspelling (an error with its did-you-mean); the exit
status is an invalid value's or a misspelling's, never a foreign key's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import load
from metaflow_config._sources.keys import classify
from tests.conftest import invoke

CORPUS = json.loads((Path(__file__).parent / "profiles_wild.json").read_text(encoding="utf-8"))
PROFILES = {p["id"]: p for p in CORPUS["profiles"]}

#: check's exit status for each profile, and the kind of each key of it that is not a setting.
EXPECTED: dict[str, tuple[int, dict[str, str]]] = {
    "C1": (0, {"OBP_METAFLOW_CONFIG_URL": "foreign"}),
    "C2": (0, dict.fromkeys(("OBP_AUTH_SERVER", "OBP_API_SERVER", "OBP_PERIMETER"), "foreign")),
    "C3": (
        0,
        {
            "METAFLOW_AWS_ARN": "foreign",
            "METAFLOW_AWS_S3_REGION": "foreign",
            "KFP_RUN_URL_PREFIX": "foreign",
            "KFP_SDK_NAMESPACE": "foreign",
            "KFP_SDK_USERID": "foreign",
        },
    ),
    "C4": (0, {"ARGO_RUN_URL_PREFIX": "foreign"}),
    "C5": (0, {"METAFLOW_S3_ENDPOINT_URL_KUBERNETES": "foreign"}),
    "C6": (0, {"METAFLOW_DATATOOLS_SYSROOT_S3": "old"}),
    "C6b": (0, {"MLFLOW_TRACKING_PASSWORD": "foreign", "MLFLOW_S3_ENDPOINT_URL": "foreign"}),
    "C7": (0, {"METAFLOW_DATATOOLS_SYSROOT_S3": "old", "METADATA_SERVICE_URL": "old"}),
    # a placeholder role ARN is an invalid value; the module's old attribute name, a misspelling
    "C8": (1, {"METADATA_SERVICE_HEADERS": "typo", "METADATA_SERVICE_URL": "old"}),
    "C9": (0, {}),
    "C10": (
        0,
        {"METAFLOW_BATCH_CLIENT_PARAMS": "foreign", "METAFLOW_SFN_CLIENT_PARAMS": "foreign"},
    ),
    "C11": (1, {}),  # a placeholder endpoint URL
    "C12": (0, {}),
    "C13": (0, {}),
    "C14": (
        0,
        {
            "METAFLOW_DECOSPECS": "old",
            "METAFLOW_SKIP_CARD_DUALWRITE": "retired",
            "METAFLOW_ENABLED_STEP_DECORATOR": "metaflow",
        },
    ),
    "C15": (1, {}),  # a project file, not trusted: its endpoints and roots are not applied
}

#: how check words each kind (a phrase of its line)
SAID = {
    "foreign": "is not a setting of Metaflow or of a registered section",
    "old": "is an old name of",
    "retired": "is a name Metaflow no longer reads",
    "typo": "did you mean",
}


def _write(tmp_path: Path, profile: dict[str, Any]) -> Path:
    """The corpus profile written where its layer reads it (0600); the file's path."""
    if profile["layer"] == "local":
        path = tmp_path / "work" / ".metaflow" / "config.json"
    else:
        path = Path(os.environ["METAFLOW_HOME"]) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(profile["profile"], f)
    return path


def test_the_corpus_covers_every_kind() -> None:
    """Every profile is pinned, and among them is each kind of key that is not a setting."""
    assert set(EXPECTED) == set(PROFILES)
    kinds = {kind for _, pinned in EXPECTED.values() for kind in pinned.values()}
    assert kinds == {"foreign", "old", "retired", "typo", "metaflow"}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_check_tells_each_key_for_what_it_is(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exit status, and each key that is not a setting worded by its kind (a foreign key
    without a did-you-mean); the values of keys that are not settings are never shown."""
    profile = PROFILES[name]
    path = _write(tmp_path, profile)
    if profile["layer"] == "local":
        monkeypatch.setenv("METAFLOW_CONFIG_PROJECT", str(path.parent.parent))
    code, pinned = EXPECTED[name]
    result = invoke("check")
    assert result.exit_code == code, result.output + result.stderr
    said = result.stderr
    for key in profile["profile"]:
        assert classify(key, file=True).kind == pinned.get(key, classify(key, file=True).kind)
    for key, kind in pinned.items():
        assert classify(key, file=True).kind == kind, key
        lines = [line for line in said.splitlines() if f"{key} (" in line or f"- {key} (" in line]
        if kind == "metaflow":
            assert lines == [], lines  # left to Metaflow: not a word
            continue
        assert lines, (key, said)
        assert SAID[kind] in lines[0], lines
        if kind == "foreign":
            assert "did you mean" not in lines[0]
    for key, value in profile["profile"].items():
        if classify(key, file=True).kind in ("foreign", "typo") and isinstance(value, str):
            assert value not in said, key


def test_lenient_check_passes_every_profile_but_invalid_values(tmp_path: Path) -> None:
    """``--lenient``: a misspelling warns; only invalid values and untrusted keys remain errors."""
    _write(tmp_path, PROFILES["C8"])
    result = invoke("check", "--lenient")
    assert result.exit_code == 1
    assert "METADATA_SERVICE_HEADERS" not in result.stderr.split("Error:", 1)[1]
    _write(tmp_path, PROFILES["C3"])
    assert invoke("check", "--strict").exit_code == 1
    assert invoke("check", "--lenient").exit_code == 0


@pytest.mark.parametrize("name", sorted(n for n in PROFILES if PROFILES[n]["layer"] == "profile"))
def test_migrate_keeps_what_resolves(name: str, tmp_path: Path) -> None:
    """After ``migrate --yes`` no old name is left, and every setting resolves as before."""
    path = _write(tmp_path, PROFILES[name])
    before = _resolved()
    result = invoke("migrate", "--yes")
    assert result.exit_code == 0, result.output + result.stderr
    after_doc = json.loads(path.read_text(encoding="utf-8"))
    assert not [k for k in after_doc if classify(k, file=True).kind in ("old", "retired")]
    assert _resolved() == before
    olds = [k for k in PROFILES[name]["profile"] if classify(k, file=True).kind == "old"]
    assert ("Nothing to migrate" in result.output) == (not olds and name != "C14")


def _resolved() -> dict[str, Any]:
    """Every setting's value, as a broken configuration still shows it (invalid ones aside)."""
    import warnings

    from metaflow_config._model.table import FIELDS
    from metaflow_config.cli._diagnose import without_invalid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            snapshot = load()
        except Exception:
            found = without_invalid(None)
            assert found is not None
            snapshot = found.snapshot
    return {f.env: snapshot[f.env] for f in FIELDS}


# --- with Metaflow ------------------------------------------------------------------------------


_PROBE = """
import json, sys
import metaflow.metaflow_config as m
print(json.dumps({"s3root": m.DATATOOLS_S3ROOT, "url": m.SERVICE_URL, "deco": m.DEFAULT_DECOSPECS}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["C3", "C6", "C7", "C14"])
def test_import_metaflow_applies_old_names_and_warns_once_each(name: str, tmp_path: Path) -> None:
    """With the extension: an old name is applied, one warning each; a foreign key warns; the
    variables of Metaflow's command line in the environment say nothing."""
    profile = PROFILES[name]
    path = _write(tmp_path, profile)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "METAFLOW_HOME": os.environ["METAFLOW_HOME"],
        "METAFLOW_RUN_BOOL_PARAM": "False",
        "METAFLOW_RUN_NO_DEFAULT_PARAM": "test_str",
        "METAFLOW_RUN_MAX_WORKERS": "2",
        "METAFLOW_BRANCH": "feature",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    values = json.loads(proc.stdout)
    lines = proc.stderr.splitlines()
    assert all(line.startswith("Warning: ") for line in lines), lines
    assert not [line for line in lines if "METAFLOW_RUN_" in line or "METAFLOW_BRANCH" in line]
    keys = profile["profile"]
    for key in keys:
        kind = classify(key, file=True).kind
        count = sum(line.startswith(f"Warning: {key} (profile: {path})") for line in lines)
        assert count == (kind in ("old", "foreign", "retired")), (key, lines)
    if "METAFLOW_DATATOOLS_SYSROOT_S3" in keys:
        assert values["s3root"] == keys["METAFLOW_DATATOOLS_SYSROOT_S3"]
    if "METADATA_SERVICE_URL" in keys:
        assert values["url"] == keys["METADATA_SERVICE_URL"]
    if "METAFLOW_DECOSPECS" in keys:
        assert values["deco"] == keys["METAFLOW_DECOSPECS"]
