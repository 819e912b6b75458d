"""Diagnostics on a broken configuration, and the commands people expect (issue 16).

``show`` and ``explain`` look around a configuration with an invalid value (marking it in place),
``check`` fails on unknown keys, ``get``/``diff``/``completion``, and the quiet successes that
now speak: an empty ``env``, a profile given as a file name, a missing ``METAFLOW_HOME``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError
from metaflow_config.testing import write_profile
from tests.conftest import complete, invoke

SECRET = "s3cr3t-value-xyz"


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile with good values and a secret, and one invalid value in the environment."""
    write_profile(
        home(),
        {"BATCH_JOB_QUEUE": "gpu", "SERVICE_AUTH_KEY": SECRET, "BATCH_EMIT_TAGS": True},
    )
    monkeypatch.setenv("METAFLOW_BATCH_EMIT_TAGS", "maybe")


# --- looking around a broken configuration -------------------------------------------------


@pytest.mark.usefixtures("broken")
def test_show_lists_everything_and_marks_the_invalid_value() -> None:
    """Every setting is listed; the invalid one in place, masked as usual; exit status 1."""
    result = invoke("show")
    assert result.exit_code == 1
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line[:1] != "#"}
    assert "gpu" in rows["METAFLOW_BATCH_JOB_QUEUE"]
    assert "'maybe' INVALID" in rows["METAFLOW_BATCH_EMIT_TAGS"]
    assert "env" in rows["METAFLOW_BATCH_EMIT_TAGS"]
    assert "# marked above: 1 INVALID" in result.stdout
    assert "METAFLOW_BATCH_EMIT_TAGS (env: METAFLOW_BATCH_EMIT_TAGS)" in result.stderr
    assert "METAFLOW_BATCH_EMIT_TAGS (env" not in result.stdout  # the problem: said once
    assert SECRET not in result.output


@pytest.mark.usefixtures("broken")
def test_show_json_names_the_problem() -> None:
    """The JSON has the invalid value as text with its problem, and a list of problems."""
    result = invoke("show", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    entry = next(e for e in doc["settings"] if e["name"] == "METAFLOW_BATCH_EMIT_TAGS")
    assert entry["value"] == "'maybe'"
    assert entry["source"] == "env"
    assert "expected a boolean" in entry["problem"]
    assert len(doc["problems"]) == 1


@pytest.mark.usefixtures("broken")
def test_explain_of_an_invalid_value_shows_it_and_its_problem() -> None:
    """Raw (masked) value, source, location, what it shadows, the problem; exit status 1."""
    result = invoke("explain", "BATCH_EMIT_TAGS", "BATCH_JOB_QUEUE")
    assert result.exit_code == 1
    text = result.stdout
    assert "METAFLOW_BATCH_EMIT_TAGS = 'maybe' (INVALID)" in text
    assert "  source:   env" in text
    assert "  from:     METAFLOW_BATCH_EMIT_TAGS" in text
    assert "  problem:  expected a boolean" in text
    assert f"  shadows:  profile {home() / 'config.json'}:METAFLOW_BATCH_EMIT_TAGS = true" in text
    assert "METAFLOW_BATCH_JOB_QUEUE = gpu" in text
    # the problem explained is not said again; one elsewhere is
    assert (
        result.stderr.strip() == "Error: the configuration is invalid: the problem explained above"
    )
    elsewhere = invoke("explain", "BATCH_JOB_QUEUE")
    assert elsewhere.exit_code == 1
    assert (
        "METAFLOW_BATCH_EMIT_TAGS (env: METAFLOW_BATCH_EMIT_TAGS): got 'maybe'" in elsewhere.stderr
    )


def test_an_invalid_secret_is_explained_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret's invalid value stays masked in show and explain."""
    monkeypatch.setenv("METAFLOW_SERVICE_HEADERS", f'["{SECRET}"]')
    for args in (["show"], ["explain", "SERVICE_HEADERS"], ["show", "--json"]):
        result = invoke(*args)
        assert result.exit_code == 1
        assert SECRET not in result.output
        assert "****" in result.output


@pytest.mark.usefixtures("broken")
def test_env_still_refuses_an_invalid_configuration() -> None:
    """What cannot resolve is not exported: exit status 1, every problem named."""
    result = invoke("env", "--target", "batch")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "METAFLOW_BATCH_EMIT_TAGS" in result.stderr


def test_an_unreadable_file_still_stops_show() -> None:
    """When a file cannot be read at all, there is nothing to show but the error."""
    (home() / "config.json").write_text("{'METAFLOW_BATCH_JOB_QUEUE': 'q'}")
    result = invoke("show")
    assert result.exit_code == 1
    assert "single quotes are not JSON" in result.stderr
    assert result.stdout == ""


# --- get, diff, completion ---------------------------------------------------------------------


def test_get_prints_the_value_alone() -> None:
    """For scripts: the value as its variable holds it; short and full names."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "gpu", "BATCH_DEFAULT_TAGS": {"team": "ml"}})
    assert invoke("get", "BATCH_JOB_QUEUE").stdout == "gpu\n"
    assert invoke("get", "METAFLOW_BATCH_JOB_QUEUE").stdout == "gpu\n"
    assert json.loads(invoke("get", "BATCH_DEFAULT_TAGS").stdout) == {"team": "ml"}
    assert invoke("get", "DATATOOLS_SUFFIX").stdout == "data\n"  # a default is a value


def test_get_of_an_unset_setting_prints_nothing_and_exits_1() -> None:
    """Unset: exit status 1, nothing on stdout."""
    result = invoke("get", "SFN_IAM_ROLE")
    assert result.exit_code == 1
    assert result.stdout == ""


def test_get_masks_secrets_unless_revealed() -> None:
    """A secret and a URL's password are masked unless --reveal-secrets."""
    url = "https://bob:pw-" + SECRET + "@mf.example.com/api"
    write_profile(home(), {"SERVICE_AUTH_KEY": SECRET, "SERVICE_URL": url})
    masked = invoke("get", "SERVICE_AUTH_KEY")
    assert masked.stdout == "****\n"
    # a script must not take the mask for the value: stderr says so (stdout stays the value's)
    assert masked.stderr == (
        "Note: METAFLOW_SERVICE_AUTH_KEY is shown masked; --reveal-secrets prints it\n"
    )
    assert invoke("get", "SERVICE_URL").stdout == "https://bob:****@mf.example.com/api\n"
    assert "is shown masked" in invoke("get", "SERVICE_URL").stderr
    assert invoke("get", "--reveal-secrets", "SERVICE_AUTH_KEY").stdout == SECRET + "\n"
    revealed = invoke("get", "--reveal-secrets", "SERVICE_URL")
    assert revealed.stdout == url + "\n"
    assert not revealed.stderr
    assert not invoke("get", "SERVICE_HEADERS").stderr  # {}: nothing masked, nothing said


def test_get_shows_a_secret_that_holds_nothing_as_show_does() -> None:
    """The headers' default, ``{}``: nothing to hide, shown as show and explain show it (a
    mask said something was set); headers that hold one are masked."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "q"})
    assert invoke("get", "SERVICE_HEADERS").stdout == "{}\n"
    write_profile(home(), {"SERVICE_HEADERS": {"x-api-key": SECRET}})
    assert invoke("get", "SERVICE_HEADERS").stdout == "****\n"


def test_get_of_an_old_name_gives_its_settings_value() -> None:
    """An old name a layer still applies is explained as its setting; get gives that value too,
    with a note on stderr (stdout stays the value alone); an attribute name Metaflow never read
    as a key is no setting."""
    write_profile(home(), {"DATASTORE_SYSROOT_S3": "s3://bkt/mf"})
    for name in ("METAFLOW_DATATOOLS_SYSROOT_S3", "DATATOOLS_SYSROOT_S3", "METADATA_SERVICE_URL"):
        result = invoke("get", name)
        expected = 1 if name == "METADATA_SERVICE_URL" else 0  # unset: exit 1, as for its setting
        assert result.exit_code == expected, result.output
        assert "is an old name of METAFLOW_" in result.stderr
    assert invoke("get", "METAFLOW_DATATOOLS_SYSROOT_S3").stdout == "s3://bkt/mf/data\n"
    assert invoke("get", "DATATOOLS_DEFAULT_CLIENT_PARAMS").exit_code == 2


def test_get_of_an_unknown_key_suggests_one() -> None:
    """A typo is an error with a did-you-mean, exit status 2 (1 is an unset setting)."""
    result = invoke("get", "BATCH_JOB_QUEU")
    assert result.exit_code == 2
    assert invoke("get", "BATCH_JOB_QUEUE").exit_code == 1  # unset
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr


def test_diff_lists_what_differs_between_two_profiles() -> None:
    """Settings that differ, as each profile resolves here; secrets masked; exit 1."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "cpu", "SERVICE_AUTH_KEY": "a-" + SECRET})
    write_profile(
        home(),
        {
            "BATCH_JOB_QUEUE": "gpu",
            "SERVICE_AUTH_KEY": "b-" + SECRET,
            "SFN_DYNAMO_DB_TABLE": "mf-t",
            "SERVICE_HEADERS": {"x-api-key": SECRET},
        },
        profile="prod",
    )
    result = invoke("diff", "default", "prod")
    assert result.exit_code == 1
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert lines["NAME"] == ["default", "prod"]
    assert lines["METAFLOW_BATCH_JOB_QUEUE"] == ["cpu", "gpu"]
    assert lines["METAFLOW_SFN_DYNAMO_DB_TABLE"] == ["(unset)", "mf-t"]
    assert lines["METAFLOW_SERVICE_AUTH_KEY"] == ["****", "(differs)", "****"]
    assert lines["METAFLOW_SERVICE_HEADERS"] == ["{}", "****"]  # empty: nothing to hide
    assert SECRET not in result.output
    assert "METAFLOW_DATATOOLS_SUFFIX" not in lines


def test_diff_of_equal_profiles_says_so_and_exits_0() -> None:
    """The same settings: said, exit status 0."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "cpu"})
    write_profile(home(), {"METAFLOW_JOB_QUEUE_NAME": "cpu"}, profile="alias")
    result = invoke("diff", "default", "alias")
    assert result.exit_code == 0
    assert "No difference" in result.stdout


@pytest.fixture
def no_fetch(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every secret reference fetched (none is, offline): the texts asked for."""
    from metaflow_config._snapshot import fetch as fetching

    asked: list[str] = []

    def fetch(reference: Any, *args: Any, **kwargs: Any) -> str:
        asked.append(reference.text)
        return "fetched-" + SECRET

    monkeypatch.setattr(fetching, "fetch_text", fetch)
    return asked


def test_diff_exit_status_is_diffs(no_fetch: list[str]) -> None:
    """0 the same, 1 they differ, 2 trouble: a broken or a missing profile."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "q"}, profile="a")
    write_profile(home(), {"BATCH_JOB_QUEUE": "q"}, profile="same")
    write_profile(home(), {"SFN_IAM_ROLE": "bad"}, profile="broken")
    assert invoke("diff", "a", "same").exit_code == 0
    assert invoke("diff", "a", "default").exit_code == 1
    broken = invoke("diff", "a", "broken")
    assert broken.exit_code == 2
    assert "METAFLOW_SFN_IAM_ROLE" in broken.stderr
    missing = invoke("diff", "nope", "a")
    assert missing.exit_code == 2
    assert "PROFILE_A (profile: " in missing.stderr
    assert "give one of the existing profiles as PROFILE_A" in missing.stderr
    assert "-p/--profile" not in missing.stderr
    assert invoke("diff", "a", "config_a.json").stderr.count("(a as PROFILE_B)") == 1


def test_diff_shows_a_reference_without_fetching_it(no_fetch: list[str]) -> None:
    """A secret reference is compared and shown as written; nothing is fetched."""
    reference = "{{resolve:ssm:/mf/key}}"
    write_profile(home(), {"SERVICE_AUTH_KEY": reference}, profile="d")
    write_profile(home(), {"SERVICE_AUTH_KEY": reference}, profile="e")
    write_profile(home(), {"SERVICE_AUTH_KEY": SECRET}, profile="plain")
    result = invoke("diff", "d", "plain")
    assert result.exit_code == 1
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert lines["METAFLOW_SERVICE_AUTH_KEY"] == [reference, "****"]
    assert invoke("diff", "d", "e").exit_code == 0
    assert no_fetch == []
    assert SECRET not in result.output


def test_diff_marks_values_that_differ_only_where_masked() -> None:
    """URL passwords that differ render alike: the row says (differs)."""
    write_profile(home(), {"SERVICE_URL": "https://u:pw1@h"}, profile="a")
    write_profile(home(), {"SERVICE_URL": "https://u:pw2@h"}, profile="b")
    result = invoke("diff", "a", "b")
    assert result.exit_code == 1
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert lines["METAFLOW_SERVICE_URL"] == ["https://u:****@h", "(differs)", "https://u:****@h"]
    assert "pw1" not in result.output
    assert "pw2" not in result.output


def test_diff_names_the_default_profile_default() -> None:
    """`diff '' ci`: the column of config.json is headed default, not left empty."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "ci-q"}, profile="ci")
    result = invoke("diff", "", "ci")
    assert result.stdout.splitlines()[0].split() == ["NAME", "default", "ci"]
    write_profile(home(), {"BATCH_JOB_QUEUE": "ci-q"})
    assert "No difference: default and ci" in invoke("diff", "", "ci").stdout


def test_diff_of_the_default_profile_is_config_json_whatever_metaflow_profile_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After ``export METAFLOW_PROFILE=prod`` (README's own example), ``diff default prod``
    compared prod with itself and said "No difference"."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "cpu"})
    write_profile(home(), {"BATCH_JOB_QUEUE": "gpu"}, profile="prod")
    monkeypatch.setenv("METAFLOW_PROFILE", "prod")
    for first in ("default", ""):
        compared = invoke("diff", first, "prod")
        assert compared.exit_code == 1, compared.output
        assert "cpu" in compared.stdout
        assert "gpu" in compared.stdout


def test_a_profile_named_default_is_not_the_default_profile() -> None:
    """``-p default`` selects ``config_default.json``, as ``METAFLOW_PROFILE=default`` does in
    Metaflow: where there is none, the error says that ``config.json`` is the default profile
    (not "did you mean default?"); ``configure -p default`` says what it creates; ``diff`` tells
    the two apart once both exist."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "main"})
    missing = invoke("get", "-p", "default", "BATCH_JOB_QUEUE")
    assert missing.exit_code != 0
    said = missing.stderr
    assert "config.json (the default)" in said
    assert "leave the profile out" in said
    assert "did you mean default" not in said
    made = invoke("configure", "aws", "-p", "default", "--yes", "--set", "BATCH_JOB_QUEUE=named")
    assert made.exit_code == 0, made.output
    assert "a profile named default is config_default.json" in made.stderr
    compared = invoke("diff", "", "default")
    assert compared.exit_code == 1
    assert compared.stdout.splitlines()[0].split() == ["NAME", "config.json", "default"]


def test_get_of_a_reference_prints_it_unfetched_unless_revealed(no_fetch: list[str]) -> None:
    """Without --reveal-secrets, what show prints (where it is kept); with it, the fetched value."""
    reference = "{{resolve:ssm:/mf/key}}"
    write_profile(home(), {"SERVICE_AUTH_KEY": reference})
    result = invoke("get", "SERVICE_AUTH_KEY")
    assert (result.exit_code, result.stdout) == (0, reference + "\n")
    assert no_fetch == []
    revealed = invoke("get", "--reveal-secrets", "SERVICE_AUTH_KEY")
    assert revealed.stdout == "fetched-" + SECRET + "\n"
    assert no_fetch == [reference]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script(shell: str) -> None:
    """The script the shell sources, driving the command's own completion."""
    result = invoke("completion", shell)
    assert result.exit_code == 0
    assert "_METAFLOW_CONFIG_COMPLETE" in result.stdout


def test_completion_of_commands_settings_and_profiles() -> None:
    """Commands, setting names (short or full, as typed) and profile names complete."""
    write_profile(home(), {}, profile="prod")
    write_profile(home(), {}, profile="staging")
    assert {"explain", "env", "get"} <= set(complete("metaflow-config e")) | {"get"}
    assert complete("metaflow-config explain BATCH_JOB_Q") == ["BATCH_JOB_QUEUE"]
    assert complete("metaflow-config get METAFLOW_BATCH_JOB_Q") == ["METAFLOW_BATCH_JOB_QUEUE"]
    assert complete("metaflow-config show -p s") == ["staging"]
    assert set(complete("metaflow-config diff ")) == {"prod", "staging"}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_in_a_terminal(tmp_path: Path) -> None:
    """In a real bash (a pseudo-terminal), Tab completes a setting name."""
    import sys

    import pexpect

    write_profile(home(), {})
    bindir = Path(sys.executable).parent
    rc = tmp_path / "rc"
    rc.write_text(
        f'export PATH="{bindir}:$PATH"\nPS1="$ "\neval "$(metaflow-config completion bash)"\n',
        encoding="utf-8",
    )
    shell = pexpect.spawn(
        "bash",
        ["--noprofile", "--rcfile", str(rc), "-i"],
        encoding="utf-8",
        timeout=30,
        env={**os.environ, "TERM": "dumb"},
    )
    try:
        shell.expect_exact("$ ")
        shell.send("metaflow-config explain BATCH_JOB_QUE\t")
        shell.expect("BATCH_JOB_QUEUE")
    finally:
        shell.close(force=True)


# --- quiet successes speak ---------------------------------------------------------------------


def test_env_with_nothing_to_export_says_so() -> None:
    """Nothing set in a layer: only what this machine derives is printed, and stderr says so
    (not "nothing to export" beside an export line)."""
    result = invoke("env", "--target", "batch")
    assert result.exit_code == 0
    assert result.stdout == "export METAFLOW_USER=metaflow-test\n"  # this machine's, derived
    said = "Only what this machine derives is exported (METAFLOW_USER: a process started"
    assert said in result.stderr
    assert "Nothing to export" not in result.stderr
    write_profile(home(), {"BATCH_JOB_QUEUE": "q"})
    assert "Only what this machine derives" not in invoke("env", "--target", "batch").stderr


@pytest.mark.parametrize(("given", "meant"), [("config_prod.json", "prod"), ("prod.json", "prod")])
def test_a_profile_given_as_a_file_name_names_the_profile(given: str, meant: str) -> None:
    """``-p config_prod.json`` is refused with the profile's name suggested."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "q"}, profile="prod")
    result = invoke("show", "-p", given)
    assert result.exit_code == 1
    assert f"(--profile {meant})" in result.stderr
    assert "create it" not in result.stderr  # it exists, under its own name


def test_config_json_given_as_a_profile_is_the_default() -> None:
    """``-p config.json`` says that config.json is the default profile."""
    result = invoke("show", "-p", "config.json")
    assert result.exit_code == 1
    assert "config.json is the default profile" in result.stderr


def test_a_missing_metaflow_home_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A named profile in a METAFLOW_HOME that does not exist: the folder is named as missing."""
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "nowhere"))
    result = invoke("show", "-p", "prod")
    assert result.exit_code == 1
    assert f"{tmp_path / 'nowhere'}, which does not exist (METAFLOW_HOME)" in result.stderr


def test_a_missing_metaflow_home_is_said_for_the_default_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """show and check name a missing METAFLOW_HOME folder, not only a missing config.json."""
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "nowhere"))
    said = f"config.json: not found, and METAFLOW_HOME {tmp_path / 'nowhere'} does not exist"
    assert said in invoke("show").stdout
    assert said in invoke("check").stdout
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    assert "METAFLOW_HOME" not in invoke("show").stdout  # there: only the file is missing
    monkeypatch.delenv("METAFLOW_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "fresh"))
    shown = invoke("show").stdout
    assert "config.json: not found (its folder does not exist yet)" in shown


def test_schema_output_creates_the_folder(tmp_path: Path) -> None:
    """``schema --output FILE`` works on a fresh machine (the folder does not exist yet)."""
    target = tmp_path / "fresh" / ".metaflowconfig" / "profile.schema.json"
    result = invoke("schema", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["type"] == "object"


@pytest.mark.aws
def test_an_aws_client_without_a_region_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No region anywhere: a ConfigError saying how to set one, not botocore's NoRegionError."""
    from metaflow_config import aws, load

    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    s = load(env={}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION"):
        aws.client("batch", s)
    assert aws.client("batch", s, region_name="us-east-1").meta.region_name == "us-east-1"


# --- the wizard shows what a derived default would be ------------------------------------------


@pytest.mark.parametrize(
    ("doc", "shown"),
    [
        ({"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bkt/mf"}, "s3://bkt/mf/data"),
        (
            {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bkt/mf", "METAFLOW_DATATOOLS_SUFFIX": "dt"},
            "s3://bkt/mf/dt",
        ),
        (
            {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bkt/mf", "METAFLOW_DATATOOLS_S3ROOT": "s3://x"},
            "s3://bkt/mf/data",
        ),
        ({}, None),
        ({"METAFLOW_DATASTORE_SYSROOT_S3": "not a url"}, None),
        ({"METAFLOW_DATASTORE_SYSROOT_S3": "aws-secretsmanager://sysroot"}, None),
    ],
)
def test_wizard_derived_value(doc: dict[str, str], shown: str | None) -> None:
    """The derived value comes from the profile as answered (the setting's own value ignored)."""
    from metaflow_config._model.table import BY_ENV
    from metaflow_config.cli._wizard import derived_value

    assert derived_value(BY_ENV["METAFLOW_DATATOOLS_S3ROOT"], doc) == shown


def test_wizard_derived_value_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """METAFLOW_* variables of the shell do not leak into what the profile would derive."""
    from metaflow_config._model.table import BY_ENV
    from metaflow_config.cli._wizard import derived_value

    monkeypatch.setenv("METAFLOW_DATATOOLS_SUFFIX", "from-env")
    doc = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bkt/mf"}
    assert derived_value(BY_ENV["METAFLOW_DATATOOLS_S3ROOT"], doc) == "s3://bkt/mf/data"


@pytest.mark.parametrize("command", ["show", "explain BATCH_JOB_QUEUE", "get BATCH_JOB_QUEUE"])
def test_a_removed_working_directory_is_the_error_load_gives(tmp_path: Path, command: str) -> None:
    """A command run in a directory removed under it says what ``load()`` says (a ConfigError
    naming the working directory and the fix), not a bare ``No such file or directory``."""
    import subprocess
    import sys

    gone = tmp_path / "gone"
    gone.mkdir()
    script = f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m metaflow_config {command}'
    result = subprocess.run(
        ["sh", "-c", script, sys.executable],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode != 0
    assert "working directory (local: os.getcwd()): expected an existing working directory" in (
        result.stderr
    )
    assert "change to an existing directory" in result.stderr
