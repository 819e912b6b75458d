"""Override scopes build on the snapshot they enter from; unknown keys are reported once, capped."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from metaflow_config import ConfigError, ConfigWarning, load, override, settings
from metaflow_config._resolve.resolve import MAX_UNKNOWN_REPORTED
from tests.conftest import write_json


def test_override_layers_on_the_snapshot_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entering an override does not re-read files: it layers on the snapshot in force."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "old"})
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    settings.reload()
    write_json(home / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "new"})
    with override(SFN_DYNAMO_DB_TABLE="mf-t"):
        assert settings.batch.job_queue == "old"
        assert settings.sfn.dynamo_db_table == "mf-t"
    assert settings.reload().batch.job_queue == "new"


def test_unknown_key_is_not_warned_again_on_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown variable warns when the process resolves, not again on every override."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEU", "typo")
    with pytest.warns(ConfigWarning, match="did you mean"):
        settings.reload()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with override(BATCH_JOB_QUEUE="q"):
            assert settings.batch.job_queue == "q"


def test_override_switching_env_reads_afresh(tmp_path: Path) -> None:
    """An override that changes the environment re-reads it (and reports its problems)."""
    with (
        pytest.raises(ConfigError, match="METAFLOW_BATCH_EMIT_TAGS"),
        override(env={"METAFLOW_BATCH_EMIT_TAGS": "junk"}, home=tmp_path),
    ):
        pass


def test_unknown_keys_are_capped(tmp_path: Path) -> None:
    """A file full of unknown keys gives a bounded number of warnings, the rest counted."""
    home = tmp_path / "home"
    keys = {f"METAFLOW_NOT_A_SETTING_{i}": "x" for i in range(500)}
    write_json(home / "config.json", keys)
    with pytest.warns(ConfigWarning) as record:
        s = load(env={}, home=home, cwd=tmp_path)
    assert len(record) == MAX_UNKNOWN_REPORTED + 1
    assert s.warnings[-1].startswith(f"{500 - MAX_UNKNOWN_REPORTED} more unknown keys in ")


def test_unknown_keys_capped_in_strict_mode(tmp_path: Path) -> None:
    """In strict mode the unknown keys beyond the cap are one counted problem."""
    env = {f"METAFLOW_NOT_A_SETTING_{i}": "x" for i in range(30)}
    with pytest.raises(ConfigError) as info:
        load(env=env, home=tmp_path, cwd=tmp_path, strict=True)
    assert len(info.value.problems) == MAX_UNKNOWN_REPORTED + 1
    assert "20 more unknown keys" in str(info.value)


def test_schema_key_in_a_file_is_not_a_setting(tmp_path: Path) -> None:
    """A "$schema" key (an editor's pointer to the JSON Schema) is neither a setting nor unknown."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(
        json.dumps({"$schema": "./profile.schema.json", "METAFLOW_BATCH_JOB_QUEUE": "q"})
    )
    (home / "config.json").chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = load(env={}, home=home, cwd=tmp_path, strict=True)
    assert s.batch.job_queue == "q"


def test_deleted_working_directory_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A working directory removed under the process gives ConfigError, not FileNotFoundError."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(ConfigError, match="pass cwd="):
        load(env={}, home=tmp_path)
    assert load(env={}, home=tmp_path, cwd=tmp_path).defaults.datastore == "local"


def test_warnings_point_at_the_callers_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ConfigWarning is attributed to the user's code, not to a line inside the library."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEU", "typo")
    with pytest.warns(ConfigWarning) as record:
        settings.reload()
    assert record[0].filename == __file__
    with pytest.warns(ConfigWarning) as record:
        load()
    assert record[0].filename == __file__
