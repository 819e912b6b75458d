"""`metaflow-config configure aws` in-process: its arguments, completion and piped answers.

The fast companion of tests/test_cli_wizard.py (which drives it in a real pseudo-terminal).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_config._model.table import BY_NAME
from metaflow_config.cli._wizard import CAPABILITIES
from tests.conftest import complete, invoke, write_json
from tests.test_cli_profiles import home, read

SYSROOT = "s3://my-bucket/metaflow"


# --- --set KEY=VALUE --------------------------------------------------------------------------


def test_set_without_equals_is_a_usage_error() -> None:
    """--set NOEQUALS is a usage error (exit 2) before anything is asked or written."""
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke("configure", "aws", "--set", "NOEQUALS")  # no --yes: nothing is asked
    assert result.exit_code == 2, result.output
    assert "Error: Invalid value for '--set': no '='" in result.stderr
    assert "expected KEY=VALUE, e.g. --set BATCH_JOB_QUEUE=my-queue" in result.stderr
    assert "NOEQUALS" not in result.stderr  # not a setting's name: it may be a value
    assert result.stdout == ""  # not even "Configuring ..."
    assert read(home() / "config.json") == {"METAFLOW_BATCH_JOB_QUEUE": "q"}


def test_a_setting_set_twice_is_a_usage_error_that_shows_neither_value() -> None:
    """--set SERVICE_AUTH_KEY=a --set METAFLOW_SERVICE_AUTH_KEY=b: which one was meant is not
    known (the last one used to win silently); nothing is written, no value is shown."""
    result = invoke(
        "configure", "aws", "-y",
        "--set", "SERVICE_AUTH_KEY=ZZSEC_one",
        "--set", "BATCH_JOB_QUEUE=q",
        "--set", "METAFLOW_SERVICE_AUTH_KEY=ZZSEC_two",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert (
        "METAFLOW_SERVICE_AUTH_KEY is given twice (--set number 1 and 3; values not shown)"
    ) in result.stderr
    assert "ZZSEC" not in result.output
    assert not (home() / "config.json").exists()
    same_twice = invoke("configure", "aws", "-y", "--set", "X_Y=1", "--set", "X_Y=2")
    assert "X_Y is given twice" in same_twice.stderr  # a key no setting has: by its text


def test_set_removes_a_key_no_setting_reads_that_the_profile_holds() -> None:
    """What check says to remove (a misspelled key, a command line's variable, a selector) is
    removed by ``KEY=`` as the file holds it; a setting's own key stays as it is."""
    path = write_json(
        home() / "config_t.json",
        {
            "METAFLOW_BATCH_JOB_QEUE": "q",
            "METAFLOW_DATASTORE": "s3",
            "METAFLOW_PROFILE": "prod",
            "METAFLOW_BATCH_JOB_QUEUE": "kept",
        },
    )
    result = invoke(
        "configure", "aws", "-p", "t", "-y",
        "--set", "METAFLOW_BATCH_JOB_QEUE=", "--set", "DATASTORE=", "--set", "METAFLOW_PROFILE=",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read(path) == {"METAFLOW_BATCH_JOB_QUEUE": "kept"}
    absent = invoke("configure", "aws", "-p", "t", "-y", "--set", "NOT_HELD=")
    assert absent.exit_code == 1  # a key neither a setting nor in the file: still refused
    assert read(path) == {"METAFLOW_BATCH_JOB_QUEUE": "kept"}


def test_set_of_a_command_line_variable_names_the_setting_its_option_defaults_to() -> None:
    """``--set DATASTORE=s3``: the variable of ``--datastore``, which a file never sets; the
    fix names the setting the option defaults to, as the profile's warning does."""
    result = invoke("configure", "aws", "-y", "--set", "DATASTORE=s3")
    assert result.exit_code == 1
    assert "set METAFLOW_DEFAULT_DATASTORE instead" in result.stderr
    assert not (home() / "config.json").exists()


def test_set_of_a_name_alone_says_how_to_set_and_remove_it() -> None:
    """--set BATCH_JOB_QUEUE (no =) names the setting, how to set it and how to remove it."""
    result = invoke("configure", "aws", "-y", "--set", "BATCH_JOB_QUEUE")
    assert result.exit_code == 2
    assert (
        "BATCH_JOB_QUEUE has no '=': expected KEY=VALUE (--set BATCH_JOB_QUEUE=<string> sets "
        "it, --set BATCH_JOB_QUEUE= removes it)"
    ) in result.stderr
    assert not (home() / "config.json").exists()


@pytest.mark.parametrize("item", ["=hunter2", "SERVICE_AUTH_KEY:hunter2"])
def test_set_item_that_is_not_key_value_is_not_shown(item: str) -> None:
    """An item without a key, or without '=', may be a value: it is told by position only."""
    result = invoke("configure", "aws", "-y", "--set", "BATCH_JOB_QUEUE=q", "--set", item)
    assert result.exit_code == 2
    assert "--set number 2 of 2 has no" in result.stderr
    assert "hunter2" not in result.output + result.stderr
    assert not (home() / "config.json").exists()


# --- completion ---------------------------------------------------------------------------------


def test_set_completes_setting_names_with_their_equals() -> None:
    """--set completes KEY= (short or full names, as typed); after the = nothing is offered."""
    assert complete("metaflow-config configure aws --set BATCH_JOB_Q") == ["BATCH_JOB_QUEUE="]
    assert complete("metaflow-config configure aws --set METAFLOW_BATCH_JOB_Q") == [
        "METAFLOW_BATCH_JOB_QUEUE="
    ]
    assert "DATASTORE_SYSROOT_S3=" in complete("metaflow-config configure aws -y --set DATA")
    assert complete("metaflow-config configure aws --set BATCH_JOB_QUEUE=") == []


def test_set_completion_leaves_out_registered_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys of registered sections complete elsewhere, not after --set (which refuses them)."""
    from metaflow_config.cli import _query

    monkeypatch.setattr(_query, "registry", lambda: {"METAFLOW_ACME_REGION": None})
    assert complete("metaflow-config get ACME_R") == ["ACME_REGION"]
    assert complete("metaflow-config configure aws --set ACME_R") == []


# --- piped answers ------------------------------------------------------------------------------


def _piped(answers: str) -> subprocess.CompletedProcess[str]:
    """``configure aws`` in a process of its own, its stdin a pipe holding ``answers``.

    Not in-process: click 8.1's CliRunner (the one Python 3.9 gets) answers "" forever once its
    input is used up, where a real pipe ends (EOFError), so the end could not be told there.
    """
    return subprocess.run(
        [sys.executable, "-m", "metaflow_config", "configure", "aws"],
        input=answers,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def test_answers_that_run_out_are_an_error_naming_the_question() -> None:
    """Piped answers used up: an error naming the unanswered question, exit 1, nothing written."""
    result = _piped("y\n")
    assert result.returncode == 1
    assert result.stderr == (
        "Error: the input ended before METAFLOW_DATASTORE_SYSROOT_S3 was answered: nothing was "
        "written. Give one line per question, or configure without questions with "
        "--set KEY=VALUE ... --yes\n"
    )
    assert not (home() / "config.json").exists()
    result = _piped("y\n" + SYSROOT + "\n\n")
    assert result.returncode == 1
    assert 'the input ended before "Configure the Metaflow metadata service?"' in result.stderr
    assert not (home() / "config.json").exists()


@pytest.mark.parametrize("command", [["reset"], ["export", "f.json"]])
def test_a_confirmation_left_unanswered_says_so_for_every_command(
    command: list[str], tmp_path: Path
) -> None:
    """``reset`` and ``export`` over a file: the same error as the wizard's, not ``Aborted!``."""
    path = write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    (tmp_path / "f.json").write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "metaflow_config", *command],
        input="",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "the input ended before" in result.stderr
    assert "Run it again with --yes" in result.stderr
    assert "Aborted!" not in result.stderr
    assert path.exists()
    assert (tmp_path / "f.json").read_text() == "{}"


def test_answers_that_run_out_at_the_confirmation_leave_the_profile() -> None:
    """No answer to "Write these changes?" is the same error, naming that question."""
    path = write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    before = path.read_bytes()
    result = _piped(f"y\n{SYSROOT}\n\nn\nn\n")  # S3, its two values, no service, no Batch
    assert result.returncode == 1
    assert "+ METAFLOW_DATASTORE_SYSROOT_S3 = s3://my-bucket/metaflow" in result.stdout
    assert (
        'the input ended before "Write these changes to the default profile?" was answered: '
        "nothing was written"
    ) in result.stderr
    assert path.read_bytes() == before


def test_the_wizard_warns_of_an_invalid_profile_before_its_questions() -> None:
    """A profile holding an invalid value stops every run, and answering No asks nothing of
    it: said before the first question, naming the setting (never its value)."""
    write_json(
        home() / "config.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": "bad-bucket/x", "METAFLOW_BATCH_JOB_QUEUE": "q"},
    )
    result = _piped("n\nn\n")
    assert result.returncode == 0, result.stderr
    assert (
        f"{home() / 'config.json'} holds 1 invalid value(s) (METAFLOW_DATASTORE_SYSROOT_S3), "
        "which stop every run"
    ) in result.stderr
    assert "bad-bucket" not in result.stderr
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    assert "invalid value" not in _piped("n\nn\n").stderr


def test_piped_answers_that_end_at_an_invalid_value_leave_the_profile() -> None:
    """Piped answers used up mid-interview: a clear error, exit 1, the profile left as it was."""
    path = write_json(home() / "config.json", {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://b:c/mf"})
    before = path.read_bytes()
    done = _piped("y\n\n\n\n")  # S3, then Enter three times at the invalid sysroot
    assert done.returncode == 1, done
    warned, error = done.stderr.strip().split("\n")  # the invalid value, before the questions
    assert "holds 1 invalid value(s) (METAFLOW_DATASTORE_SYSROOT_S3)" in warned
    assert error == (
        "Error: the input ended before METAFLOW_DATASTORE_SYSROOT_S3 was answered: nothing was "
        "written. Give one line per question, or configure without questions with "
        "--set KEY=VALUE ... --yes"
    )
    assert done.stdout.count("Error: METAFLOW_DATASTORE_SYSROOT_S3 is required") == 3
    assert path.read_bytes() == before


# --- empty and invalid answers ---------------------------------------------------------------


def test_empty_required_answer_says_it_is_required_and_how_to_skip() -> None:
    """Enter at a required prompt says it is required, and that - skips the capability."""
    result = invoke("configure", "aws", input=f"y\n\n\n{SYSROOT}\n\nn\nn\ny\n")
    assert result.exit_code == 0, result.output
    said = (
        "Error: METAFLOW_DATASTORE_SYSROOT_S3 is required for Amazon S3 as the datastore: type "
        "a value, or - to skip Amazon S3 as the datastore (nothing of it is changed)"
    )
    assert result.output.count(said) == 2
    assert read(home() / "config.json")["METAFLOW_DATASTORE_SYSROOT_S3"] == SYSROOT


@pytest.mark.parametrize("skip", ["-", "skip", "Skip"])
def test_dash_at_a_required_answer_skips_the_capability(skip: str) -> None:
    """- (or skip) at a required value: none of that capability is written, nor what needs it."""
    result = invoke(
        "configure", "aws", input=f"y\n{skip}\ny\nhttps://mf.example.com\n\n\ny\n"
    )  # S3 skipped at its sysroot; the service configured; Batch not asked (it needs S3)
    assert result.exit_code == 0, result.output
    assert "Skipped Amazon S3 as the datastore: nothing of it is changed." in result.output
    assert "AWS Batch for compute: not asked (it needs Amazon S3 as the datastore)." in (
        result.output
    )
    assert read(home() / "config.json") == {
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_SERVICE_URL": "https://mf.example.com",
    }


def test_skipping_a_capability_leaves_the_profile_s_own_values() -> None:
    """Skipped at its first required value, a configured capability keeps every key it had."""
    doc = {
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_DATATOOLS_S3ROOT": f"{SYSROOT}/tools",
    }
    path = write_json(home() / "config.json", doc)
    result = invoke("configure", "aws", input="y\n-\nn\n")  # S3: skip; the service: no
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    assert read(path) == doc


def test_invalid_current_value_is_explained_once_and_not_offered() -> None:
    """An invalid sysroot in the profile is said once, is not the default, and is replaced."""
    path = write_json(home() / "config.json", {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://b:c/mf"})
    result = invoke("configure", "aws", input=f"y\n\n\n{SYSROOT}\n\nn\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("The profile's METAFLOW_DATASTORE_SYSROOT_S3 is invalid") == 1
    assert "got 's3://b:c/mf'; expected an S3 URL" in result.output
    assert "[s3://b:c/mf]" not in result.output
    assert result.output.count("METAFLOW_DATASTORE_SYSROOT_S3 is required") == 2
    assert read(path)["METAFLOW_DATASTORE_SYSROOT_S3"] == SYSROOT


def test_invalid_optional_value_needs_a_value_or_dash() -> None:
    """At an invalid optional value, Enter is refused; - removes it (it derives again)."""
    path = write_json(
        home() / "config.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT, "METAFLOW_DATATOOLS_S3ROOT": "s3://x:y"},
    )
    result = invoke("configure", "aws", input="y\n\n\n-\nn\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "type a valid value, or - to remove it." in result.output
    assert (
        "Error: the profile's METAFLOW_DATATOOLS_S3ROOT is invalid: type a valid value, or - to "
        "remove it"
    ) in result.output
    assert "METAFLOW_DATATOOLS_S3ROOT" not in read(path)


def test_invalid_secret_is_not_kept_by_enter_nor_shown() -> None:
    """An invalid secret gets no "Enter keeps it"; its value is never printed."""
    path = write_json(
        home() / "config.json",
        {"METAFLOW_SERVICE_URL": "https://mf.example.com", "METAFLOW_SERVICE_AUTH_KEY": 987654},
    )
    result = invoke("configure", "aws", input="n\ny\n\n\n\nnew-key\ny\n")
    assert result.exit_code == 0, result.output
    assert "The profile's METAFLOW_SERVICE_AUTH_KEY is invalid: expected" in result.output
    assert "Enter keeps it" not in result.output
    assert "987654" not in result.output
    assert read(path)["METAFLOW_SERVICE_AUTH_KEY"] == "new-key"


# --- README: the questions, in order -------------------------------------------------------------


def test_readme_lists_the_questions_in_the_order_asked() -> None:
    """README's numbered list is the wizard's order: each capability, then its settings."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The wizard's questions, in order", 1)[1].split("\n### ", 1)[0]
    items = re.findall(r"^\d\. (.*?)(?=^\d\. |\n\n)", section, re.S | re.M)
    listed = [re.findall(r"`(Configure [^`]*\?|METAFLOW_[A-Z0-9_]+)`", item) for item in items]
    asked = [
        [f"Configure {cap.title}?", *(BY_NAME[n].env for n in (*cap.required, *cap.optional))]
        for cap in CAPABILITIES
    ]
    assert listed[: len(asked)] == asked
    assert "Write these changes to profile" in items[len(asked)]


def test_a_bad_profile_name_is_said_of_the_option_it_came_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``configure aws -p 'a b'``: the error names -p/--profile, as show's does, not the
    METAFLOW_PROFILE variable nobody set; the variable is named where it gave the name."""
    said = invoke("configure", "aws", "-p", "a b", "--yes", "--set", "BATCH_JOB_QUEUE=q").stderr
    assert "-p/--profile: got 'a b'" in said
    assert "METAFLOW_PROFILE" not in said
    monkeypatch.setenv("METAFLOW_PROFILE", "a b")
    said = invoke("configure", "aws", "--yes", "--set", "BATCH_JOB_QUEUE=q").stderr
    assert "METAFLOW_PROFILE (profile): got 'a b'" in said


def test_a_misspelled_key_left_in_the_profile_is_said_with_the_command_that_removes_it() -> None:
    """The wizard writes the queue beside ``METAFLOW_BATCH_JOB_QEUE`` (a hand edit, applied
    nowhere): its warning gives the command that removes it, which works as written."""
    home = Path(os.environ["METAFLOW_HOME"])
    write_json(home / "config_dev.json", {"METAFLOW_BATCH_JOB_QEUE": "q"})
    result = invoke("configure", "aws", "-p", "dev", "--yes", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 0, result.stderr
    command = "metaflow-config configure aws -p dev --set METAFLOW_BATCH_JOB_QEUE="
    assert f"remove the misspelled key (applied nowhere): `{command}`" in result.stderr
    removed = invoke(*command.split()[1:], input="y\n")
    assert removed.exit_code == 0, removed.stderr
    assert json.loads((home / "config_dev.json").read_text()) == {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    assert "misspelled" not in removed.stderr


def test_the_removal_command_of_several_misspelled_keys_works_and_names_the_default_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two misspelled keys in config.json, ``METAFLOW_PROFILE=dev`` exported: the command
    gives ``--set`` for each (one takes one) and ``-p ''`` (else it would work on dev); a key
    with a blank (which ``--set`` strips) is left to an editor."""
    home = Path(os.environ["METAFLOW_HOME"])
    write_json(home / "config_dev.json", {"METAFLOW_USER": "dev"})
    write_json(
        home / "config.json",
        {"METAFLOW_BATCH_JOB_QEUE": "q", "METAFLOW_USR": "me", "METAFLOW_BATCH_JOB_QUEUE ": "x"},
    )
    monkeypatch.setenv("METAFLOW_PROFILE", "dev")
    result = invoke("configure", "aws", "-p", "", "--yes", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 0, result.stderr
    command = (
        "metaflow-config configure aws -p '' --set METAFLOW_BATCH_JOB_QEUE= --set METAFLOW_USR="
    )
    assert f"remove the misspelled keys (applied nowhere): `{command}`" in result.stderr
    assert f"remove the misspelled keys with a blank or '=' from {home / 'config.json'}" in (
        result.stderr
    )
    removed = invoke(
        "configure",
        "aws",
        "-p",
        "",
        "--set",
        "METAFLOW_BATCH_JOB_QEUE=",
        "--set",
        "METAFLOW_USR=",
        input="y\n",
    )
    assert removed.exit_code == 0, removed.stderr
    assert json.loads((home / "config.json").read_text()) == {
        "METAFLOW_BATCH_JOB_QUEUE ": "x",
        "METAFLOW_BATCH_JOB_QUEUE": "q",
    }
    assert json.loads((home / "config_dev.json").read_text()) == {"METAFLOW_USER": "dev"}
