"""The command line on keys that are not settings: check and import by kind, explain, migrate."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigWarning, load
from tests.conftest import invoke, write_json


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


def read(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``."""
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


# --- check and import: a misspelling is an error, a foreign key a warning -----------------------


@pytest.mark.parametrize(
    ("option", "typo_code", "foreign_code"),
    [
        pytest.param((), 1, 0, id="default"),
        pytest.param(("--strict",), 1, 1, id="strict"),
        pytest.param(("--lenient",), 0, 0, id="lenient"),
    ],
)
def test_check_errs_on_a_misspelling_and_warns_of_a_foreign_key(
    option: tuple[str, ...], typo_code: int, foreign_code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misspelled key is a setting not applied; a key nobody misspelled is not an error unless
    ``--strict``; ``--lenient`` makes neither one; the warning is printed either way."""
    monkeypatch.setenv("METAFLOW_ACME_GPU_QUEUE", "q")
    result = invoke("check", *option)
    assert result.exit_code == foreign_code, result.stderr
    said = "is not a setting" if foreign_code == 0 else "expected a setting of Metaflow or of"
    assert "METAFLOW_ACME_GPU_QUEUE (env: METAFLOW_ACME_GPU_QUEUE)" in result.stderr
    assert said in result.stderr
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QEUE", "q")
    result = invoke("check", *option)
    assert result.exit_code == typo_code, result.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr
    assert "METAFLOW_ACME_GPU_QUEUE (env: METAFLOW_ACME_GPU_QUEUE)" in result.stderr


def test_check_still_warns_of_an_old_name_when_the_configuration_is_invalid() -> None:
    """The error lists the problems; the old name's warning is said besides, once."""
    write_json(
        home() / "config.json",
        {"METAFLOW_DECOSPECS": "retry", "METAFLOW_SFN_IAM_ROLE": "not-an-arn"},
    )
    result = invoke("check")
    assert result.exit_code == 1
    assert result.stderr.count("METAFLOW_DECOSPECS (profile: ") == 1
    assert "is an old name of METAFLOW_DEFAULT_DECOSPECS" in result.stderr
    assert "METAFLOW_SFN_IAM_ROLE" in result.stderr.split("Error:", 1)[1]


def test_import_imports_a_foreign_key_with_a_warning_and_refuses_a_misspelling(
    tmp_path: Path,
) -> None:
    """As check: by default a foreign key comes along (warned), a misspelling stops the import."""
    src = write_json(tmp_path / "in.json", {"METAFLOW_ACME_GPU_QUEUE": "q", "KFP_SDK_USERID": "u"})
    result = invoke("import", str(src), "-y")
    assert result.exit_code == 0, result.stderr
    assert read(home() / "config.json") == {"METAFLOW_ACME_GPU_QUEUE": "q", "KFP_SDK_USERID": "u"}
    assert "is not a setting of Metaflow" in result.stderr
    assert invoke("import", str(src), "-y", "--strict").exit_code == 1
    typo = write_json(tmp_path / "typo.json", {"METAFLOW_SFN_IAM_ROEL": "x"})
    result = invoke("import", str(typo), "-y")
    assert result.exit_code == 1
    assert "did you mean METAFLOW_SFN_IAM_ROLE?" in result.stderr


def test_show_json_gives_each_unknown_keys_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """``unknown`` entries say their kind, what the key is (``about``) and the setting it
    likely stands for (``suggestion``: a name, or null, never a description); a variable of
    Metaflow's command line is not one."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QEUE", "q")
    monkeypatch.setenv("METAFLOW_ACME_X", "q")
    monkeypatch.setenv("METAFLOW_RUN_MAX_WORKERS", "4")
    monkeypatch.setenv("METAFLOW_SKIP_CARD_DUALWRITE", "1")  # a name Metaflow retired
    doc = json.loads(invoke("show", "--json").stdout)
    kinds = {u["name"]: (u["kind"], u["suggestion"]) for u in doc["unknown"]}
    assert kinds == {
        "METAFLOW_BATCH_JOB_QEUE": ("typo", "METAFLOW_BATCH_JOB_QUEUE"),
        "METAFLOW_ACME_X": ("foreign", None),
        "METAFLOW_SKIP_CARD_DUALWRITE": ("retired", None),
    }
    about = {u["name"]: u["about"] for u in doc["unknown"]}
    assert about["METAFLOW_ACME_X"] == "not a setting of Metaflow or of a registered section"
    assert about["METAFLOW_SKIP_CARD_DUALWRITE"].startswith("a name Metaflow no longer reads")
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in about["METAFLOW_BATCH_JOB_QEUE"]


# --- explain -------------------------------------------------------------------------------------


def test_explain_says_what_a_command_line_variable_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Which option of which command it gives; whether it is set here, never its value."""
    result = invoke("explain", "METAFLOW_RUN_MAX_WORKERS")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "METAFLOW_RUN_MAX_WORKERS: not a setting",
        "  what:     the environment variable of --max-workers of `python flow.py run`, read by "
        "Metaflow itself",
        "  in files: the environment variable of --max-workers of `python flow.py run`, read from "
        "the environment only",
        "  set:      not here",
    ]
    monkeypatch.setenv("METAFLOW_RUN_MY_SECRET_PARAM", "s3cr3t")
    result = invoke("explain", "RUN_MY_SECRET_PARAM")
    assert "the value of a flow parameter for `python flow.py run`" in result.stdout
    assert "set:      in this environment" in result.stdout
    assert "s3cr3t" not in result.stdout


def test_explain_of_an_old_name_explains_its_setting() -> None:
    """A line saying what the old name was, then the setting; the setting lists it."""
    write_json(home() / "config.json", {"METAFLOW_DECOSPECS": "retry"})
    result = invoke("explain", "METAFLOW_DECOSPECS")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "METAFLOW_DECOSPECS: an old name of METAFLOW_DEFAULT_DECOSPECS (read by Metaflow 2.12.1 "
        "to 2.14.1; renamed in 2.14.2)"
    )
    assert lines[1].startswith("  in the environment: the environment variable of --with of")
    assert lines[2] == "METAFLOW_DEFAULT_DECOSPECS = retry"
    assert f"  from:     {home() / 'config.json'}:METAFLOW_DECOSPECS" in lines
    assert any(line.startswith("  old name: METAFLOW_DECOSPECS (read by") for line in lines)


def test_explain_of_a_setting_the_command_line_reads_too() -> None:
    """``SPIN_PERSIST`` is a setting, and the variable of ``spin --persist``: both said."""
    result = invoke("explain", "SPIN_PERSIST")
    assert "  also:     the environment variable of --persist of `python flow.py spin`" in (
        result.stdout
    )


def test_explain_of_a_foreign_key_is_an_error() -> None:
    """Not a name anything knows: exit 2, and no did-you-mean to a setting it is not near."""
    result = invoke("explain", "METAFLOW_AWS_ARN")
    assert result.exit_code == 2
    assert "'METAFLOW_AWS_ARN' is not a Metaflow setting" in result.stderr
    assert "did you mean" not in result.stderr


# --- migrate -------------------------------------------------------------------------------------


def test_migrate_renames_old_names_and_keeps_every_value() -> None:
    """Each old name in force becomes the setting's own; one not in force, and a retired name,
    go; the other keys stay; a URL's password is masked in the diff."""
    profile = write_json(
        home() / "config.json",
        {
            "METADATA_SERVICE_URL": "https://user:pa55@mf.example.com/api/",
            "METAFLOW_DATATOOLS_SYSROOT_S3": "s3://bucket/old",
            "METAFLOW_DATATOOLS_S3ROOT": "s3://bucket/new",
            "METAFLOW_SKIP_CARD_DUALWRITE": True,
            "METAFLOW_ACME_X": 1,
        },
    )
    result = invoke("migrate", "--yes")
    assert result.exit_code == 0, result.stderr
    assert read(profile) == {
        "METAFLOW_SERVICE_URL": "https://user:pa55@mf.example.com/api/",
        "METAFLOW_DATATOOLS_S3ROOT": "s3://bucket/new",
        "METAFLOW_ACME_X": 1,
    }
    assert (
        "  ~ METADATA_SERVICE_URL -> METAFLOW_SERVICE_URL = https://user:****@mf.example.com/api/"
    ) in result.stdout
    assert "pa55" not in result.stdout
    assert (
        "  - METAFLOW_DATATOOLS_SYSROOT_S3 (was s3://bucket/old)  (old name of "
        "METAFLOW_DATATOOLS_S3ROOT, not in force: METAFLOW_DATATOOLS_S3ROOT is)"
    ) in result.stdout
    assert "  - METAFLOW_SKIP_CARD_DUALWRITE (was ****)  (no effect since Metaflow 2.15.18)" in (
        result.stdout
    )
    assert (profile.stat().st_mode & 0o777) == 0o600
    assert "Nothing to migrate" in invoke("migrate", "--yes").stdout


@pytest.mark.parametrize("empty", ["", None])
def test_migrate_renames_an_old_name_in_force_beside_its_own_name_set_to_nothing(
    empty: str | None,
) -> None:
    """The own name holding ``""`` or ``null`` sets nothing (the old name is in force, as the
    resolver reads it): the old name takes its place, and no value in force changes."""
    profile = write_json(
        home() / "config.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/mf",
            "METAFLOW_DATATOOLS_SYSROOT_S3": "s3://b/tools",
            "METAFLOW_DATATOOLS_S3ROOT": empty,
            "METADATA_SERVICE_URL": "https://mf.example.com",
            "METAFLOW_SERVICE_URL": empty,
            "METAFLOW_DECOSPECS": empty,  # an old name set to nothing: goes, as nothing
        },
    )
    with pytest.warns(ConfigWarning, match="old name"):
        before = load()
    result = invoke("migrate", "--yes")
    assert result.exit_code == 0, result.stderr
    assert read(profile) == {
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/mf",
        "METAFLOW_DATATOOLS_S3ROOT": "s3://b/tools",
        "METAFLOW_SERVICE_URL": "https://mf.example.com",
    }
    after = load()
    for name in ("METAFLOW_DATATOOLS_S3ROOT", "METAFLOW_SERVICE_URL"):
        assert after[name] == before[name] != "", name
    shown = json.dumps(empty)
    assert (
        "  ~ METADATA_SERVICE_URL -> METAFLOW_SERVICE_URL = https://mf.example.com  (in place "
        f"of METAFLOW_SERVICE_URL = {shown})"
    ) in result.stdout
    assert "  - METAFLOW_SERVICE_URL" not in result.stdout
    assert "(old name of METAFLOW_DEFAULT_DECOSPECS, set to" in result.stdout
    assert "Migrated 3 key(s)" in result.stdout


def test_migrate_asks_first_and_writes_nothing_on_no() -> None:
    """Without --yes it asks; "n" leaves the file as it was."""
    profile = write_json(home() / "config_prod.json", {"METAFLOW_DECOSPECS": "retry"})
    result = invoke("migrate", "-p", "prod", input="n\n")
    assert result.exit_code == 1
    assert "Write these changes to profile 'prod'?" in result.stdout
    assert read(profile) == {"METAFLOW_DECOSPECS": "retry"}


def test_migrate_keeps_an_alias_in_force() -> None:
    """An alias before an old name is the value in force: the old name goes, the alias stays."""
    profile = write_json(
        home() / "config.json",
        {
            "METAFLOW_JOB_QUEUE_NAME": "q",
            "METAFLOW_BATCH_JOB_QUEUE": None,
            "METAFLOW_DECOSPECS": "",
        },
    )
    assert invoke("migrate", "--yes").exit_code == 0
    assert read(profile)["METAFLOW_JOB_QUEUE_NAME"] == "q"


def test_migrate_names_a_missing_profile() -> None:
    """A named profile that does not exist is an error listing the profiles; none: nothing."""
    result = invoke("migrate", "-p", "nope")
    assert result.exit_code == 1
    assert "nope" in result.stderr
    result = invoke("migrate")
    assert result.exit_code == 1
    assert "nothing to migrate" in result.stderr
