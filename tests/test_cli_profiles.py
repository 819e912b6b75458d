"""Writing profiles in-process: configure aws (scripted and --set), export, import, reset."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import load
from metaflow_config.cli._wizard import CAPABILITIES
from tests.conftest import invoke, write_json

SYSROOT = "s3://my-bucket/metaflow"
ROLE = "arn:aws:iam::123456789012:role/MetaflowBatch"
SFN_ROLE = "arn:aws:iam::123456789012:role/MetaflowSFN"
EVENTS_ROLE = "arn:aws:iam::123456789012:role/MetaflowEvents"
SECRET = "api-key-secret-123"


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


def read(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``."""
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def answers(*lines: str) -> str:
    """Stdin for the wizard: one answer per line."""
    return "".join(line + "\n" for line in lines)


#: A new user enabling everything (S3, service with a secret key, Batch, Step Functions).
EVERYTHING = answers(
    "y", SYSROOT, "",  # S3: sysroot, datatools root derived
    "y", "https://mf.example.com", "", SECRET,  # service: url, internal derived, auth key
    "y", "my-queue", ROLE, "", "",  # batch: queue, role, registry, image
    "y", SFN_ROLE, EVENTS_ROLE, "mf-table",  # step functions
    "y",  # write these changes
)  # fmt: skip


# --- configure aws ----------------------------------------------------------------------------


def test_piped_answers_read_the_secret_without_getpass(tmp_path: Path) -> None:
    """Answers piped by a script: the secret is read as a line (no terminal echoes it), not by
    getpass, which would warn that it cannot hide it; it is written, and never printed."""
    import subprocess
    import sys

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "METAFLOW_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "metaflow_config", "configure", "aws"],
        input=EVERYTHING,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert read(tmp_path / "config.json")["METAFLOW_SERVICE_AUTH_KEY"] == SECRET
    assert "GetPassWarning" not in proc.stderr
    assert "echoed" not in proc.stdout + proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_wizard_first_profile_writes_what_was_answered() -> None:
    """A new user's answers become config.json (mode 0600), with the datastore and metadata set."""
    result = invoke("configure", "aws", input=EVERYTHING)
    assert result.exit_code == 0, result.output
    path = home() / "config.json"
    assert read(path) == {
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_SERVICE_URL": "https://mf.example.com",
        "METAFLOW_SERVICE_AUTH_KEY": SECRET,
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_BATCH_JOB_QUEUE": "my-queue",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE,
        "METAFLOW_SFN_IAM_ROLE": SFN_ROLE,
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": EVENTS_ROLE,
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-table",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SECRET not in result.output
    assert "+ METAFLOW_SERVICE_AUTH_KEY = ****" in result.output
    assert "It is the default profile" in result.output
    assert "point Metaflow at this home with:\n  export METAFLOW_HOME=" in result.output
    s = load(env={}, home=home(), cwd=home())
    assert s.datatools.s3root == f"{SYSROOT}/data"


def test_wizard_only_s3_asks_nothing_else() -> None:
    """Declining the service and Batch skips Batch's and Step Functions' questions."""
    result = invoke("configure", "aws", "-p", "dev", input=answers("y", SYSROOT, "", "n", "n", "y"))
    assert result.exit_code == 0, result.output
    assert read(home() / "config_dev.json") == {
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_DEFAULT_DATASTORE": "s3",
    }
    assert "Configure AWS Step Functions" not in result.output
    assert "export METAFLOW_PROFILE=dev" in result.output


def test_configuring_a_new_profile_near_an_existing_one_says_so() -> None:
    """`-p prodution` beside `production`: created (it may be meant), with the did-you-mean."""
    write_json(home() / "config_production.json", {})
    result = invoke("configure", "aws", "-p", "prodution", "-y", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 0, result.output
    assert "no profile prodution yet (did you mean production? -p production)" in result.stderr
    assert read(home() / "config_prodution.json") == {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    again = invoke("configure", "aws", "-p", "prodution", "-y", "--set", "BATCH_JOB_QUEUE=r")
    assert "did you mean" not in again.stderr  # it exists now


def test_wizard_declining_everything_writes_nothing() -> None:
    """No capability enabled on a new profile: no file is written, and the wizard says so. An
    answer that is neither yes nor no says what it takes, and the question is asked again."""
    result = invoke("configure", "aws", input=answers("sure", "NO", "n"))
    assert result.exit_code == 0
    assert "Error: answer y or n (or Enter for yes), not 'sure'" in result.output
    assert result.output.count("Configure Amazon S3 as the datastore? [Y/n]") == 2
    assert "Nothing to write" in result.output
    assert "Configure AWS Batch" not in result.output  # Batch needs S3
    assert not (home() / "config.json").exists()


def test_wizard_rerun_keeps_unasked_keys_and_masked_secret() -> None:
    """Re-running keeps every key it did not ask about; Enter keeps values and the secret."""
    path = write_json(
        home() / "config.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "METAFLOW_SERVICE_URL": "https://mf.example.com",
            "METAFLOW_SERVICE_AUTH_KEY": SECRET,
            "METAFLOW_DEFAULT_METADATA": "service",
            "METAFLOW_KUBERNETES_NAMESPACE": "ml",
            "METAFLOW_SOMETHING_FROM_AN_EXTENSION": "kept",
        },
    )
    script = answers("y", "", "", "y", "", "", "", "n")  # S3 kept; service kept; no Batch
    result = invoke("configure", "aws", input=script)
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    assert read(path)["METAFLOW_SOMETHING_FROM_AN_EXTENSION"] == "kept"
    script = answers("y", "s3://other-bucket/mf", "", "y", "", "", "", "n", "y")
    result = invoke("configure", "aws", input=script)
    assert result.exit_code == 0, result.output
    assert (
        "~ METAFLOW_DATASTORE_SYSROOT_S3 = s3://other-bucket/mf (was s3://my-bucket/metaflow)"
        in (result.output)
    )
    after = read(path)
    assert after["METAFLOW_DATASTORE_SYSROOT_S3"] == "s3://other-bucket/mf"
    assert after["METAFLOW_SERVICE_AUTH_KEY"] == SECRET
    assert after["METAFLOW_KUBERNETES_NAMESPACE"] == "ml"
    assert after["METAFLOW_SOMETHING_FROM_AN_EXTENSION"] == "kept"
    assert SECRET not in result.output


def test_wizard_declining_s3_drops_the_s3_default_datastore() -> None:
    """Saying no to S3 on a profile using it removes DEFAULT_DATASTORE=s3, keeps the sysroot."""
    path = write_json(
        home() / "config.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT, "METAFLOW_DEFAULT_DATASTORE": "s3"},
    )
    result = invoke("configure", "aws", input=answers("n", "n", "y"))
    assert result.exit_code == 0, result.output
    assert "- METAFLOW_DEFAULT_DATASTORE (was s3)" in result.output
    assert read(path) == {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT}


def test_wizard_wrong_answer_is_asked_again() -> None:
    """An invalid answer is reported with what was expected and asked again."""
    script = answers("y", "my-bucket/metaflow", "s3://my bucket", SYSROOT, "", "n", "n", "y")
    result = invoke("configure", "aws", input=script)
    assert result.exit_code == 0, result.output
    assert result.output.count("Error: got 'my-bucket/metaflow'; expected an S3 URL") == 1
    assert result.output.count("Error: got 's3://my bucket'; expected an S3 URL") == 1
    assert read(home() / "config.json")["METAFLOW_DATASTORE_SYSROOT_S3"] == SYSROOT


def test_wizard_optional_dash_clears_a_value() -> None:
    """Typing - at an optional prompt removes the key (it derives again)."""
    path = write_json(
        home() / "config.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "METAFLOW_DATATOOLS_S3ROOT": "s3://stale/data",
        },
    )
    result = invoke("configure", "aws", "--yes", input=answers("y", "", "-", "n", "n"))
    assert result.exit_code == 0, result.output
    assert "METAFLOW_DATATOOLS_S3ROOT" not in read(path)


def test_wizard_moves_an_alias_to_the_setting_name() -> None:
    """A value under an alias (METAFLOW_JOB_QUEUE_NAME) is offered, then saved under its name."""
    path = write_json(
        home() / "config.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "METAFLOW_JOB_QUEUE_NAME": "old-q",
            "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE,
        },
    )
    script = answers("", "", "", "n", "", "", "", "", "", "n", "y")
    result = invoke("configure", "aws", input=script)
    assert result.exit_code == 0, result.output
    assert "[old-q]" in result.output
    doc = read(path)
    assert doc["METAFLOW_BATCH_JOB_QUEUE"] == "old-q"
    assert "METAFLOW_JOB_QUEUE_NAME" not in doc


def test_wizard_refusal_leaves_profile_untouched() -> None:
    """Answering no to "Write these changes?" exits 1 and changes nothing; it was asked once."""
    path = write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    before = path.read_bytes()
    result = invoke("configure", "aws", input=answers("y", SYSROOT, "", "n", "n", "n"))
    assert result.exit_code == 1
    assert "Error: not written: " in result.stderr
    assert path.read_bytes() == before
    assert result.output.count("Write these changes to the default profile? [y/N]") == 1
    assert "modify" not in result.output  # no question up front: one, after the summary


def test_wizard_set_is_non_interactive_and_validated() -> None:
    """--set writes exactly the given keys (short or full names), validated; --yes skips asking."""
    result = invoke(
        "configure", "aws", "-p", "ci", "-y", "--set", f"DATASTORE_SYSROOT_S3={SYSROOT}",
        "--set", "METAFLOW_BATCH_EMIT_TAGS=yes", "--set", 'BATCH_DEFAULT_TAGS={"team": "ml"}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    path = home() / "config_ci.json"
    assert read(path) == {
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_BATCH_EMIT_TAGS": True,
        "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml"},
    }
    bad = invoke(
        "configure", "aws", "-p", "ci", "-y", "--set", "SFN_IAM_ROLE=nope", "--set", "X=1",
        "--set", "BATCH_JOB_QEUE=q",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "3 problems" in bad.stderr  # every one, the names that are no setting too
    assert "X (command line: --set X): expected the name of a setting" in bad.stderr
    assert "BATCH_JOB_QEUE (command line: --set BATCH_JOB_QEUE)" in bad.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in bad.stderr
    assert "got 'nope'" in bad.stderr
    bad = invoke("configure", "aws", "-p", "ci", "-y", "--set", "DEFAULT_DATASTORE=S3")
    assert bad.exit_code == 1  # a run would refuse it: so is writing it
    assert "got 'S3'; expected a datastore Metaflow knows" in bad.stderr
    assert "did you mean s3?" in bad.stderr
    bad = invoke("configure", "aws", "-p", "ci", "-y", "--set", "SFN_IAM_ROLE=nope")
    assert bad.exit_code == 1
    assert "METAFLOW_SFN_IAM_ROLE (command line: --set METAFLOW_SFN_IAM_ROLE): got 'nope'" in (
        bad.stderr
    )
    assert "Fix: pass --set METAFLOW_SFN_IAM_ROLE=<IAM role ARN>" in bad.stderr
    removed = invoke("configure", "aws", "-p", "ci", "-y", "--set", "BATCH_EMIT_TAGS=")
    assert removed.exit_code == 0
    assert "METAFLOW_BATCH_EMIT_TAGS" not in read(path)


def test_wizard_secret_via_set_is_masked_in_output() -> None:
    """A secret given with --set is written but never printed."""
    result = invoke("configure", "aws", "-y", "--set", f"SERVICE_AUTH_KEY={SECRET}")
    assert result.exit_code == 0
    assert read(home() / "config.json") == {"METAFLOW_SERVICE_AUTH_KEY": SECRET}
    assert SECRET not in result.output


def test_wizard_broken_profile_is_an_error_not_overwritten() -> None:
    """A profile that is not valid JSON is reported, never overwritten."""
    path = home() / "config.json"
    path.write_text("{oops")
    result = invoke("configure", "aws", "-y", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 1
    assert "valid JSON" in result.stderr
    assert path.read_text() == "{oops"


def test_schema_validates_the_files_the_wizard_writes() -> None:
    """Profiles written by the wizard (prompted and --set, typed values) pass the JSON Schema."""
    import jsonschema

    from metaflow_config.cli._reference import profile_schema

    assert invoke("configure", "aws", input=EVERYTHING).exit_code == 0
    typed = ["--set", "BATCH_EMIT_TAGS=on", "--set", 'BATCH_DEFAULT_TAGS={"a": "b"}']
    assert (
        invoke(
            "configure", "aws", "-p", "typed", "-y", "--set", "S3_RETRY_COUNT=3", *typed
        ).exit_code
        == 0
    )
    validator = jsonschema.Draft202012Validator(profile_schema())
    for path in (home() / "config.json", home() / "config_typed.json"):
        assert list(validator.iter_errors(read(path))) == [], path
    assert list(validator.iter_errors({"METAFLOW_S3_RETRY_COUNT": -1})) != []


def test_wizard_profile_meets_every_capability_it_enabled() -> None:
    """After enabling everything, settings.require() passes for every capability."""
    assert invoke("configure", "aws", input=EVERYTHING).exit_code == 0
    s = load(env={}, home=home(), cwd=home())
    for capability in ("s3", "service", "batch", "sfn", "sfn-schedule", "sfn-foreach"):
        s.require(capability)
    assert invoke("check", "--require", "sfn-schedule", "--require", "sfn-foreach").exit_code == 0


def test_capabilities_ask_only_table_settings() -> None:
    """Every setting the wizard asks or fixes is a setting of the table."""
    from metaflow_config._model.table import BY_NAME

    for cap in CAPABILITIES:
        for name in (*cap.required, *cap.optional, *cap.fixed):
            assert name in BY_NAME, (cap.key, name)


# --- export / import / reset ------------------------------------------------------------------


def test_export_then_import_into_a_new_profile(tmp_path: Path) -> None:
    """export copies the profile (0600); import into a profile that does not exist creates it."""
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q", "METAFLOW_X_EXT": 1})
    out = tmp_path / "backup.json"
    result = invoke("export", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    result = invoke("import", str(out), "--profile", "copy", "--lenient")
    assert result.exit_code == 0, result.output
    assert read(home() / "config_copy.json") == read(home() / "config.json")
    assert "export METAFLOW_PROFILE=copy" in result.output
    assert "METAFLOW_X_EXT (import file: " in result.stderr
    assert "is not a setting of Metaflow or of a registered section" in result.stderr


def test_export_asks_before_overwriting(tmp_path: Path) -> None:
    """An existing destination is only overwritten after a yes."""
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    out = tmp_path / "backup.json"
    out.write_text("keep")
    assert invoke("export", str(out), input="n\n").exit_code == 1
    assert out.read_text() == "keep"
    assert invoke("export", str(out), input="y\n").exit_code == 0
    assert read(out) == {"METAFLOW_BATCH_JOB_QUEUE": "q"}


def test_export_of_nothing_is_an_error(tmp_path: Path) -> None:
    """Exporting a profile that has no file fails instead of writing an empty file."""
    result = invoke("export", str(tmp_path / "out.json"))
    assert result.exit_code == 1
    assert "nothing to export" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_import_validates_before_writing(tmp_path: Path) -> None:
    """An invalid file is refused with every problem; the profile is untouched."""
    profile = write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    bad = write_json(
        tmp_path / "bad.json",
        {"METAFLOW_SFN_IAM_ROLE": "nope", "METAFLOW_BATCH_EMIT_TAGS": "maybe"},
    )
    result = invoke("import", str(bad), "-y")
    assert result.exit_code == 1
    assert "2 problems" in result.stderr
    assert f"{bad}:METAFLOW_SFN_IAM_ROLE" in result.stderr
    assert read(profile) == {"METAFLOW_BATCH_JOB_QUEUE": "q"}


def test_import_asks_before_replacing_and_merge_keeps_keys(tmp_path: Path) -> None:
    """Replacing an existing profile needs a yes; --merge keeps the keys the file lacks."""
    profile = write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    src = write_json(tmp_path / "in.json", {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT})
    result = invoke("import", str(src), input="n\n")
    assert result.exit_code == 1
    assert read(profile) == {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    assert invoke("import", str(src), "--merge", input="y\n").exit_code == 0
    assert read(profile) == {
        "METAFLOW_BATCH_JOB_QUEUE": "q",
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
    }
    assert invoke("import", str(src), "-y").exit_code == 0
    assert read(profile) == {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT}


def test_import_refuses_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    """An unknown key in the imported file is refused with a did-you-mean; the profile is kept.

    A replacing import of a file whose only key is a typo used to leave the profile holding the
    typo alone, saying "Imported 0 setting(s)".
    """
    profile = write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    src = write_json(tmp_path / "in.json", {"METAFLOW_BATCH_JOB_QEUE": "x"})
    result = invoke("import", str(src), "-y")
    assert result.exit_code == 1
    assert f"METAFLOW_BATCH_JOB_QEUE (import file: {src}:METAFLOW_BATCH_JOB_QEUE)" in result.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE? (--lenient imports it" in result.stderr
    assert read(profile) == {"METAFLOW_BATCH_JOB_QUEUE": "q"}


def test_import_lenient_imports_unknown_keys_with_a_warning(tmp_path: Path) -> None:
    """--lenient: an unknown key warns with a did-you-mean, and is imported as is."""
    src = write_json(tmp_path / "in.json", {"METAFLOW_BATCH_JOB_QEUE": "q"})
    result = invoke("import", str(src), "-y", "--lenient")
    assert result.exit_code == 0, result.output
    assert f"unknown setting METAFLOW_BATCH_JOB_QEUE (import file: {src})" in result.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr
    assert read(home() / "config.json") == {"METAFLOW_BATCH_JOB_QEUE": "q"}
    assert "Imported 0 setting(s) and 1 other key(s), as they are" in result.stdout  # not "1"
    both = write_json(tmp_path / "both.json", {"METAFLOW_BATCH_JOB_QEUE": "q", "BATCH_JOB_Q": 1})
    replaced = invoke("import", str(both), "-y", "--lenient", "-p", "two")
    assert "Imported 0 setting(s) and 2 other key(s)" in replaced.stdout
    merged = invoke("import", str(src), "--merge", "-y", "--lenient", "-p", "three")
    assert "Imported 0 setting(s) and 1 other key(s)" in merged.stdout


def test_import_says_which_keys_a_replacing_import_removed(tmp_path: Path) -> None:
    """Replacing names the keys that went, and the count is of the keys written; --merge keeps."""
    profile = write_json(
        home() / "config.json",
        {"METAFLOW_BATCH_JOB_QUEUE": "q", "METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-t"},
    )
    src = write_json(tmp_path / "in.json", {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT})
    result = invoke("import", str(src), "-y")
    assert result.exit_code == 0, result.output
    assert "Imported 1 setting(s)" in result.stdout
    assert (
        f"removed 2 key(s) that {src} does not set: METAFLOW_BATCH_JOB_QUEUE, "
        "METAFLOW_SFN_DYNAMO_DB_TABLE (--merge keeps them)"
    ) in result.stdout
    assert read(profile) == {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT}
    write_json(profile, {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("import", str(src), "-y", "--merge")
    assert f"Kept 1 key(s) of the profile that {src} does not set." in result.stdout
    assert "removed" not in result.stdout


def test_import_file_problems_name_the_import_file(tmp_path: Path) -> None:
    """The file being imported is not the profile yet: its problems say "import file"."""
    bad = write_json(tmp_path / "bad.json", {"METAFLOW_SFN_IAM_ROLE": "nope"})
    result = invoke("import", str(bad), "-y")
    assert result.exit_code == 1
    assert f"(import file: {bad}:METAFLOW_SFN_IAM_ROLE)" in result.stderr
    assert "(profile:" not in result.stderr
    (tmp_path / "broken.json").write_text("{'a': 1}")
    result = invoke("import", str(tmp_path / "broken.json"), "-y")
    assert result.exit_code == 1
    assert f"{tmp_path / 'broken.json'} (import file): expected valid JSON" in result.stderr  # once


def test_import_caps_the_unknown_key_report(tmp_path: Path) -> None:
    """Past MAX_UNKNOWN_REPORTED unknown keys, the rest are counted in one line."""
    from metaflow_config._resolve.resolve import MAX_UNKNOWN_REPORTED

    extra = 3
    keys = {f"METAFLOW_X_EXT_{i:02d}": i for i in range(MAX_UNKNOWN_REPORTED + extra)}
    src = write_json(tmp_path / "in.json", keys)
    result = invoke("import", str(src), "-y", "--lenient")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("is not a setting of Metaflow") == MAX_UNKNOWN_REPORTED
    assert f"{extra} more unknown keys in {src}" in result.stderr
    assert read(home() / "config.json") == keys


def test_import_in_strict_mode_refuses_unknown_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """METAFLOW_CONFIG_STRICT=1: an unknown key is an error (with its did-you-mean)."""
    monkeypatch.setenv("METAFLOW_CONFIG_STRICT", "1")
    src = write_json(tmp_path / "in.json", {"METAFLOW_BATCH_JOB_QEUE": "q"})
    result = invoke("import", str(src), "-y")
    assert result.exit_code == 1
    assert "METAFLOW_BATCH_JOB_QEUE" in result.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr
    assert not (home() / "config.json").exists()


def test_import_with_invalid_strict_setting_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid METAFLOW_CONFIG_STRICT is an error, as in load(), not silently False."""
    monkeypatch.setenv("METAFLOW_CONFIG_STRICT", "sometimes")
    src = write_json(tmp_path / "in.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("import", str(src), "-y")
    assert result.exit_code == 1
    assert "METAFLOW_CONFIG_STRICT" in result.stderr
    assert "'sometimes'" in result.stderr
    assert not (home() / "config.json").exists()


def test_import_writes_the_document_it_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is read once: a change after validation is not imported unvalidated."""
    from metaflow_config._sources.jsonfile import read_json_file
    from metaflow_config.cli import _profiles

    src = write_json(tmp_path / "in.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    reads: list[str] = []

    def read_then_change(path: str, layer: str) -> Any:
        reads.append(path)
        result = read_json_file(path, layer)
        write_json(Path(path), {"METAFLOW_SFN_IAM_ROLE": "not-an-arn"})
        return result

    monkeypatch.setattr(_profiles, "read_json_file", read_then_change)
    result = invoke("import", str(src), "-y")
    assert result.exit_code == 0, result.output
    assert reads == [str(src)]
    assert read(home() / "config.json") == {"METAFLOW_BATCH_JOB_QUEUE": "q"}


def test_import_of_an_empty_file_is_refused(tmp_path: Path) -> None:
    """A file with no setting (or only nulls) is not imported as an empty profile."""
    src = write_json(tmp_path / "in.json", {"METAFLOW_BATCH_JOB_QUEUE": None})
    result = invoke("import", str(src))
    assert result.exit_code == 1
    assert "nothing to import" in result.stderr
    assert not (home() / "config.json").exists()


def test_reset_asks_first_and_honours_no() -> None:
    """reset removes the profile only after a yes."""
    path = write_json(home() / "config_dev.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("reset", "-p", "dev", input="n\n")
    assert result.exit_code == 1
    assert path.exists()
    result = invoke("reset", "-p", "dev", input="y\n")
    assert result.exit_code == 0
    assert not path.exists()
    missing = invoke("reset", "-p", "dev")
    assert missing.exit_code == 1
    assert "profiles there: none" in missing.stderr
    assert "Nothing to reset" in invoke("reset").output


def test_reset_says_what_is_true_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A named profile reset: selecting it now fails, and the message says so (and the way out)."""
    write_json(home() / "config_staging.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("reset", "-p", "staging", "-y")
    assert result.exit_code == 0, result.output
    assert "runs locally" not in result.output
    assert "where METAFLOW_PROFILE=staging is set, Metaflow and metaflow-config now fail" in (
        result.output
    )
    assert "`metaflow-config configure aws --profile staging`" in result.output
    monkeypatch.setenv("METAFLOW_PROFILE", "staging")
    assert invoke("show").exit_code == 1  # what the message said: it fails
    write_json(home() / "config_staging.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("reset", "-y")  # the profile METAFLOW_PROFILE selects
    assert "METAFLOW_PROFILE=staging is set here" in result.output
    assert "Run `unset METAFLOW_PROFILE` to use the default profile" in result.output
    monkeypatch.delenv("METAFLOW_PROFILE")
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("reset", "-y")
    assert "With no default profile, Metaflow runs locally with its defaults" in result.output
    assert invoke("show").exit_code == 0


def test_configure_aliases_match_metaflow_names(tmp_path: Path) -> None:
    """`configure export/import/reset/show` work as in `metaflow configure`."""
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    assert invoke("configure", "show").stdout == invoke("show").stdout
    assert invoke("configure", "export", str(tmp_path / "x.json")).exit_code == 0
    assert read(tmp_path / "x.json") == {"METAFLOW_BATCH_JOB_QUEUE": "q"}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["configure", "aws", "-p", "../evil", "--set", "BATCH_JOB_QUEUE=q"], id="wiz"),
        pytest.param(["import", "in.json", "-p", "a/b"], id="import"),
        pytest.param(["reset", "-p", "x/../../y"], id="reset"),
    ],
)
def test_unsafe_profile_names_are_refused(args: list[str], tmp_path: Path) -> None:
    """A profile name with a path in it is an error; nothing is written outside METAFLOW_HOME."""
    write_json(Path("in.json"), {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke(*args)
    assert result.exit_code == 1
    assert "a profile name of letters" in result.stderr
    assert sorted(p.name for p in home().parent.iterdir() if p.name.endswith(".json")) == []


def test_export_to_dash_is_refused_not_a_file_named_dash(tmp_path: Path) -> None:
    """`export -` is a usage error saying why (the secrets); no file named - is written."""
    write_json(home() / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": SECRET})
    result = invoke("export", "-")
    assert result.exit_code == 2
    assert "- (stdout) is refused" in result.stderr
    assert "./- for a file named -" in result.stderr
    assert not Path("-").exists()
    assert SECRET not in result.output
    assert invoke("export", "./-").exit_code == 0
    assert read(Path("-")) == {"METAFLOW_SERVICE_AUTH_KEY": SECRET}


# --- profiles ---------------------------------------------------------------------------------


def test_profiles_lists_each_with_its_file_and_marks_the_one_in_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """config.json as the default, each config_<name>.json by its name, `*` on the one in
    force; --json the same; a METAFLOW_PROFILE naming none is said; no profile, how to make one."""
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    empty = invoke("profiles")
    assert empty.exit_code == 0
    assert "No profile in" in empty.stdout
    assert "metaflow-config configure aws" in empty.stdout
    write_json(home() / "config.json", {})
    write_json(home() / "config_prod.json", {})
    listed = invoke("profiles").stdout.splitlines()
    assert listed[0].startswith("* config.json (the default)")
    assert listed[0].endswith(str(home() / "config.json"))
    assert listed[1].split()[:2] == ["prod", str(home() / "config_prod.json")]
    monkeypatch.setenv("METAFLOW_PROFILE", "prod")
    rows = json.loads(invoke("profiles", "--json").stdout)
    assert [(r["name"], r["in_force"]) for r in rows] == [("", False), ("prod", True)]
    monkeypatch.setenv("METAFLOW_PROFILE", "stage")
    said = invoke("profiles")
    assert "METAFLOW_PROFILE=stage names no profile here" in said.stderr
    assert "*" not in said.stdout


def test_import_shows_the_plugin_lists_it_writes(tmp_path: Path) -> None:
    """A team file's ``METAFLOW_ENABLED_*`` (the plugins Metaflow loads) is shown in the change
    list, to be reviewed: not masked as a key no setting knows would be."""
    team = tmp_path / "team.json"
    write_json(
        team, {"METAFLOW_ENABLED_STEP_DECORATOR": '["evil"]', "METAFLOW_BATCH_JOB_QUEUE": "q"}
    )
    result = invoke("import", str(team), "--yes")
    assert result.exit_code == 0, result.output
    assert '+ METAFLOW_ENABLED_STEP_DECORATOR = ["evil"]' in result.stdout


def test_a_refused_set_says_nothing_of_configuring() -> None:
    """``configure aws --set`` with a key that is no setting: the error alone, before any word
    of the profile being configured (nothing is), and nothing written."""
    result = invoke("configure", "aws", "-p", "x", "--set", "BATCH_JOB_QUEU=q", "--yes")
    assert result.exit_code == 1
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr
    assert "Configuring" not in result.stdout
    assert not (home() / "config_x.json").exists()


def test_import_writes_an_old_name_as_its_current_name_so_a_merge_applies_it(
    tmp_path: Path,
) -> None:
    """An old name imported with --merge into a profile holding the current name: kept as it
    was, it would lose to the current name and the import would change nothing it said."""
    write_json(home() / "config.json", {"METAFLOW_DATATOOLS_S3ROOT": "s3://new/data"})
    old = write_json(tmp_path / "old.json", {"METAFLOW_DATATOOLS_SYSROOT_S3": "s3://old/data"})
    result = invoke("import", str(old), "--merge", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "Writing METAFLOW_DATATOOLS_SYSROOT_S3 as METAFLOW_DATATOOLS_S3ROOT" in result.stdout
    assert read(home() / "config.json") == {"METAFLOW_DATATOOLS_S3ROOT": "s3://old/data"}


def test_profiles_lists_what_a_name_selects_and_warns_of_the_other_files() -> None:
    """``config_a b.json`` (a name no profile name takes here) and ``config_.json`` (no name):
    listed by no name, and not a second default; each said, with the fix. ``profiles`` lists
    the rest (it stopped on ``METAFLOW_PROFILE (profile): got 'a b'``, a variable not set)."""
    home = Path(os.environ["METAFLOW_HOME"])
    for name in ("config_prod.json", "config_a b.json", "config_.json"):
        write_json(home / name, {"METAFLOW_USER": "x"})
    result = invoke("profiles", "--json")
    assert result.exit_code == 0, result.stderr
    assert [row["name"] for row in json.loads(result.stdout)] == ["prod"]
    for name in ("config_a b.json", "config_.json"):
        assert f"Warning: {home / name}: no profile name selects it here" in result.stderr
    assert "rename it config_<name>.json" in result.stderr
    missing = invoke("show", "-p", "prdo")
    assert "(profiles there: prod)" in missing.stderr


@pytest.mark.parametrize(
    "broken", ['{"METAFLOW_USER": "a", "METAFLOW_USER": "b"}', '{"METAFLOW_USER": "a",}']
)
def test_importing_over_a_broken_profile_says_how_to_replace_it(
    broken: str, tmp_path: Path
) -> None:
    """``import good.json -p prod`` over a profile that does not read: refused (what replacing
    it drops cannot be shown), with the way out beside the file's own fix; the file is left."""
    home = Path(os.environ["METAFLOW_HOME"])
    profile = home / "config_prod.json"
    profile.write_text(broken, encoding="utf-8")
    good = write_json(tmp_path / "good.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("import", str(good), "-p", "prod", "--yes")
    assert result.exit_code == 1
    assert "or, to replace it whole, remove it (`metaflow-config reset -p prod -y`)" in (
        result.stderr
    )
    assert profile.read_text(encoding="utf-8") == broken
    assert invoke("reset", "-p", "prod", "-y").exit_code == 0
    assert invoke("import", str(good), "-p", "prod", "--yes").exit_code == 0
    assert load(profile="prod")["METAFLOW_BATCH_JOB_QUEUE"] == "q"
    # --merge keeps the keys: the profile must be corrected, not replaced
    profile.write_text(broken, encoding="utf-8")
    merged = invoke("import", str(good), "-p", "prod", "--merge", "--yes")
    assert merged.exit_code == 1
    assert "reset" not in merged.stderr


def test_the_reset_offered_over_a_broken_default_profile_names_it_where_another_is_selected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``METAFLOW_PROFILE=dev`` exported, ``import -p ''`` over a broken config.json: the reset
    offered was ``reset -y``, which removes config_dev.json; it is ``reset -p '' -y``."""
    home = Path(os.environ["METAFLOW_HOME"])
    (home / "config.json").write_text('{"METAFLOW_USER": "a",}', encoding="utf-8")
    write_json(home / "config_dev.json", {"METAFLOW_USER": "dev"})
    monkeypatch.setenv("METAFLOW_PROFILE", "dev")
    good = write_json(tmp_path / "good.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("import", str(good), "-p", "", "--yes")
    assert result.exit_code == 1
    assert "remove it (`metaflow-config reset -p '' -y`)" in result.stderr
    assert invoke("reset", "-p", "", "-y").exit_code == 0
    assert (home / "config_dev.json").exists()
    assert not (home / "config.json").exists()
