"""The metaflow-config command in-process: show, explain, env, check, schema, docs, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from metaflow_config._display import printable
from metaflow_config.cli import cli
from tests.conftest import invoke, write_json

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hunter2-secret-value"
HEADERS_SECRET = "Bearer tok-secret-xyz"
SYSROOT = "s3://my-bucket/metaflow"
ROLE = "arn:aws:iam::123456789012:role/MetaflowBatch"


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


@pytest.fixture
def configured() -> Path:
    """A default profile with S3, Batch and two secrets."""
    return write_json(
        home() / "config.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "METAFLOW_BATCH_JOB_QUEUE": "queue-from-profile",
            "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE,
            "METAFLOW_SERVICE_URL": "https://mf.example.com",
            "METAFLOW_SERVICE_AUTH_KEY": SECRET,
            "METAFLOW_SERVICE_HEADERS": {"Authorization": HEADERS_SECRET},
        },
    )


# --- show -------------------------------------------------------------------------------------


def test_show_unconfigured_says_local_mode() -> None:
    """With no configuration at all, show succeeds and says every value is a default."""
    result = invoke("show")
    assert result.exit_code == 0, result.output
    assert "no setting is configured" in result.stdout


def test_bare_command_is_show(configured: Path) -> None:
    """`metaflow-config` with no arguments prints the same as `metaflow-config show`."""
    assert invoke().stdout == invoke("show").stdout


def test_show_table_has_value_source_location_and_masks(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Show lists set values with source and location; secrets are masked; env beats profile."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "queue-from-env")
    result = invoke("show")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line}
    assert lines["METAFLOW_BATCH_JOB_QUEUE"][1:] == ["queue-from-env", "env"]  # its own name
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "")
    monkeypatch.setenv("METAFLOW_JOB_QUEUE_NAME", "queue-from-alias")
    aliased = {line.split()[0]: line.split() for line in invoke("show").stdout.splitlines()}
    assert aliased["METAFLOW_BATCH_JOB_QUEUE"][1:] == [
        "queue-from-alias",
        "env",
        "as",
        "METAFLOW_JOB_QUEUE_NAME",
    ]
    assert lines["METAFLOW_DATASTORE_SYSROOT_S3"][1:] == [SYSROOT, "profile"]  # file: in the header
    assert f"# profile: default ({configured})" in result.stdout
    assert lines["METAFLOW_DATATOOLS_S3ROOT"][1:3] == [f"{SYSROOT}/data", "derived"]
    assert lines["METAFLOW_SERVICE_AUTH_KEY"][1] == "****"
    assert SECRET not in result.output
    assert "Bearer" not in result.output
    assert "METAFLOW_S3_RETRY_COUNT" not in result.stdout  # a default: hidden


def test_show_all_lists_defaults_masked(configured: Path) -> None:
    """--all lists every setting, defaults included, still masking secrets."""
    result = invoke("show", "--all")
    assert "METAFLOW_S3_RETRY_COUNT" in result.stdout
    assert "METAFLOW_AWS_SANDBOX_API_KEY" in result.stdout
    assert SECRET not in result.output
    assert HEADERS_SECRET not in result.output


def test_show_json_is_machine_readable_and_masked(configured: Path) -> None:
    """--json prints one JSON document with value, source, location and secret flags."""
    result = invoke("show", "--json")
    doc = json.loads(result.stdout)
    by_name = {s["name"]: s for s in doc["settings"]}
    assert doc["profile"] == "default"
    assert doc["profile_path"] == str(configured)
    assert doc["profile_found"] is True
    assert by_name["METAFLOW_BATCH_JOB_QUEUE"]["value"] == "queue-from-profile"
    assert by_name["METAFLOW_BATCH_JOB_QUEUE"]["source"] == "profile"
    assert by_name["METAFLOW_SERVICE_AUTH_KEY"] == {
        "name": "METAFLOW_SERVICE_AUTH_KEY",
        "value": "****",
        "source": "profile",
        "location": f"{configured}:METAFLOW_SERVICE_AUTH_KEY",
        "secret": True,
        "masked": True,
    }
    assert by_name["METAFLOW_BATCH_JOB_QUEUE"]["masked"] is False
    assert SECRET not in result.stdout
    assert HEADERS_SECRET not in result.stdout
    assert "METAFLOW_S3_RETRY_COUNT" not in by_name
    every = json.loads(invoke("show", "--json", "--all").stdout)
    assert len(every["settings"]) > len(doc["settings"])


def test_show_named_profile() -> None:
    """--profile selects config_<name>.json."""
    write_json(home() / "config_prod.json", {"METAFLOW_BATCH_JOB_QUEUE": "prod-q"})
    result = invoke("show", "--profile", "prod")
    assert "prod-q" in result.stdout
    assert "# profile: prod" in result.stdout


def test_unknown_profile_is_one_readable_error() -> None:
    """A missing named profile exits 1 with one message listing the profiles that exist."""
    write_json(home() / "config_dev.json", {})
    result = invoke("show", "-p", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid Metaflow configuration")
    assert "profiles there: dev" in result.stderr
    assert "Traceback" not in result.output


def test_show_json_names_the_default_profile_as_show_does(configured: Path) -> None:
    """show --json calls the default profile "default", as the show table does, with its path."""
    doc = json.loads(invoke("show", "--json").stdout)
    assert (doc["profile"], doc["profile_path"]) == ("default", str(configured))
    assert f"# profile: default ({configured})" in invoke("show").stdout
    write_json(home() / "config_prod.json", {"METAFLOW_BATCH_JOB_QUEUE": "prod-q"})
    assert json.loads(invoke("show", "-p", "prod", "--json").stdout)["profile"] == "prod"


def test_show_and_check_say_when_the_profile_file_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """show, show --json and check say so when the profile file does not exist."""
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mistyped"))
    missing = tmp_path / "mistyped" / "config.json"
    said = f"{missing}: not found, and METAFLOW_HOME {tmp_path / 'mistyped'} does not exist"
    assert f"# profile: default ({said})\n" in invoke("show").stdout
    doc = json.loads(invoke("show", "--json").stdout)
    assert (doc["profile_path"], doc["profile_found"]) == (str(missing), False)
    assert f"({said})" in invoke("show", "--all").stdout
    checked = invoke("check").stdout
    assert f"Checked: {said};" in checked  # once: not on the OK line too
    assert checked.count("not found") == 1
    write_json(missing, {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    assert "not found" not in invoke("show").stdout + invoke("check").stdout
    assert json.loads(invoke("show", "--json").stdout)["profile_found"] is True


def test_show_and_check_say_when_the_nearest_metaflow_directory_has_no_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``.metaflow`` directory without config.json (a local run makes one) is the one read:
    show and check say its file is not found, so a project's file further up is not a mystery."""
    write_json(tmp_path / ".metaflow" / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "up"})
    (tmp_path / "sub" / ".metaflow").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "sub")
    nearest = tmp_path / "sub" / ".metaflow" / "config.json"
    said = f"{nearest}: not found (the nearest .metaflow directory has no config.json)"
    up = tmp_path / ".metaflow" / "config.json"
    said += f"; {up}, further up, is not read: the nearest .metaflow directory is the one read"
    assert f"# local config: {said}\n" in invoke("show").stdout
    assert said in invoke("check").stdout
    monkeypatch.chdir(tmp_path)
    assert "not found (the nearest" not in invoke("show").stdout


def test_show_json_of_a_file_that_is_not_json_is_a_document_of_its_problems() -> None:
    """A script reading ``show --json`` gets JSON even when nothing can be shown (exit 1)."""
    (home() / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q",}')
    result = invoke("show", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["settings"] == []
    assert "a trailing comma" in doc["problems"][0]
    # which profile and file it is, as a readable configuration's document says them
    assert doc["profile"] == "default"
    assert doc["profile_path"] == str(home() / "config.json")
    assert doc["profile_found"] is True
    (home() / "config_dev.json").write_text("[")
    doc = json.loads(invoke("show", "--json", "-p", "dev").stdout)
    assert (doc["profile"], doc["profile_path"]) == ("dev", str(home() / "config_dev.json"))
    doc = json.loads(invoke("show", "--json", "-p", "../dev").stdout)  # names no file
    assert (doc["profile_path"], doc["profile_found"]) == (None, False)


def test_missing_profile_from_the_flag_is_fixed_with_the_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing or unsafe profile given with -p names -p/--profile, not METAFLOW_PROFILE."""
    write_json(home() / "config_dev.json", {})
    result = invoke("show", "-p", "prod")
    assert result.exit_code == 1
    assert "pass one of the existing profiles to -p/--profile" in result.stderr
    assert "METAFLOW_PROFILE" not in result.stderr
    assert "profiles there: dev" in result.stderr
    unsafe = invoke("check", "--profile", "../etc")
    assert unsafe.exit_code == 1
    assert "-p/--profile: got '../etc'" in unsafe.stderr
    assert "METAFLOW_PROFILE" not in unsafe.stderr
    monkeypatch.setenv("METAFLOW_PROFILE", "prod")
    from_env = invoke("show")
    assert from_env.exit_code == 1
    assert "set METAFLOW_PROFILE to one of the existing profiles" in from_env.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["export", "-p", "nope", "out.json"], id="export"),
        pytest.param(["reset", "-p", "nope", "-y"], id="reset"),
        pytest.param(["get", "-p", "nope", "BATCH_JOB_QUEUE"], id="get"),
    ],
)
def test_missing_profile_of_every_command_names_the_flag(args: list[str]) -> None:
    """export and reset, like show, name -p/--profile for a name given with it (get exits 2,
    not 1: the setting is not unset, the profile could not be read)."""
    write_json(home() / "config_dev.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke(*args)
    assert result.exit_code == (2 if args[0] == "get" else 1)
    assert "-p/--profile (profile: " in result.stderr
    assert "pass one of the existing profiles to -p/--profile" in result.stderr
    assert "METAFLOW_PROFILE" not in result.stderr
    assert not Path("out.json").exists()


def test_unknown_key_warns_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown METAFLOW_* variable is a did-you-mean warning on stderr, not a failure."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QEUE", "q")
    result = invoke("show")
    assert result.exit_code == 0
    assert "Warning: unknown setting METAFLOW_BATCH_JOB_QEUE" in result.stderr
    assert "METAFLOW_BATCH_JOB_QUEUE" in result.stderr


# --- explain ----------------------------------------------------------------------------------


def test_explain_shows_shadowed_layers_rule_and_doc(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explain names value, source, location, the shadowed profile value, type and doc."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "queue-from-env")
    out = invoke("explain", "BATCH_JOB_QUEUE").stdout
    assert out.splitlines()[0] == "METAFLOW_BATCH_JOB_QUEUE = queue-from-env"
    assert "source:   env" in out
    assert "from:     METAFLOW_BATCH_JOB_QUEUE" in out
    assert f"shadows:  profile {configured}:METAFLOW_BATCH_JOB_QUEUE = 'queue-from-profile'" in out
    assert "aliases:  METAFLOW_JOB_QUEUE_NAME" in out
    assert "doc:      AWS Batch job queue jobs are submitted to." in out


def test_explain_derived_names_what_it_derives_from(configured: Path) -> None:
    """A derived value names its bases and its rule."""
    out = invoke("explain", "METAFLOW_DATATOOLS_S3ROOT").stdout
    assert f"= {SYSROOT}/data" in out
    assert "source:   derived" in out
    assert "derived:  METAFLOW_DATASTORE_SYSROOT_S3, METAFLOW_DATATOOLS_SUFFIX" in out
    assert "rule:     <METAFLOW_DATASTORE_SYSROOT_S3>/<METAFLOW_DATATOOLS_SUFFIX>" in out
    # each base with its value and the layer that set it: no second explain needed
    assert (
        f"base:     METAFLOW_DATASTORE_SYSROOT_S3 = {SYSROOT} "
        f"(profile: {configured}:METAFLOW_DATASTORE_SYSROOT_S3)"
    ) in out
    assert "base:     METAFLOW_DATATOOLS_SUFFIX = data (default)" in out


def test_explain_masks_secrets_everywhere(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explaining a secret masks its value and the values of the layers it shadows."""
    monkeypatch.setenv("METAFLOW_SERVICE_AUTH_KEY", "env-" + SECRET)
    result = invoke("explain", "SERVICE_AUTH_KEY", "SERVICE_HEADERS")
    assert "METAFLOW_SERVICE_AUTH_KEY = ****" in result.stdout
    assert "shadows:  profile" in result.stdout
    assert "secret:   yes" in result.stdout
    assert SECRET not in result.output
    assert HEADERS_SECRET not in result.output


def test_explain_unknown_key_suggests() -> None:
    """An unknown name is a usage error (exit 2, as ``get``'s) with a did-you-mean."""
    result = invoke("explain", "BATCH_JOB_QEUE")
    assert result.exit_code == 2
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr


@pytest.mark.parametrize("target", [[], ["--target", "batch"]])
def test_explain_of_several_names_says_every_unknown_one(target: list[str]) -> None:
    """Each known name is explained; the unknown ones are all said, in one error, exit 2."""
    result = invoke("explain", *target, "BATCH_JOB_QEUE", "BATCH_JOB_QUEUE", "METAFLOW_SFN_IAM_ROL")
    assert result.exit_code == 2
    assert "METAFLOW_BATCH_JOB_QUEUE" in result.stdout  # the known one, explained
    assert "Error: 2 names are not settings:" in result.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr
    assert "did you mean METAFLOW_SFN_IAM_ROLE?" in result.stderr
    assert "Traceback" not in result.output


# --- env --------------------------------------------------------------------------------------


def test_env_masks_secrets_unless_revealed(configured: Path) -> None:
    """env prints every set value; a secret is a comment with the mask unless revealed."""
    result = invoke("env")
    assert result.exit_code == 0
    assert f"export METAFLOW_DATASTORE_SYSROOT_S3={SYSROOT}" in result.stdout
    assert "# METAFLOW_SERVICE_AUTH_KEY=****" in result.stdout
    assert SECRET not in result.output
    assert HEADERS_SECRET not in result.output
    assert "2 secret value(s) masked" in result.stderr
    revealed = invoke("env", "--reveal-secrets").stdout
    assert f"export METAFLOW_SERVICE_AUTH_KEY={SECRET}" in revealed
    assert HEADERS_SECRET in revealed


def test_env_shell_output_round_trips_through_a_shell() -> None:
    """Sourcing the shell format in sh sets exactly the exported values, quotes and all."""
    headers = {"x": 'it\'s "q" $HOME `id`'}
    write_json(
        home() / "config.json",
        {"METAFLOW_SERVICE_HEADERS": headers, "METAFLOW_USER": "a b"},
    )
    script = invoke("env", "--reveal-secrets").stdout
    out = subprocess.run(
        ["sh", "-c", script + 'printf "%s\\n%s" "$METAFLOW_SERVICE_HEADERS" "$METAFLOW_USER"'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    ).stdout
    printed_headers, user = out.split("\n")
    assert json.loads(printed_headers) == headers
    assert user == "a b"


def test_env_json_and_dotenv_formats(configured: Path) -> None:
    """json is one object without the masked secrets; dotenv is KEY=value lines."""
    doc = json.loads(invoke("env", "--format", "json").stdout)
    assert "METAFLOW_SERVICE_AUTH_KEY" not in doc
    assert doc["METAFLOW_BATCH_JOB_QUEUE"] == "queue-from-profile"
    assert "METAFLOW_SERVICE_HEADERS" not in doc
    dotenv = invoke("env", "--format", "dotenv").stdout
    assert "METAFLOW_BATCH_JOB_QUEUE=queue-from-profile\n" in dotenv
    assert SECRET not in dotenv


def test_env_json_leaves_masked_secrets_out(configured: Path) -> None:
    """env --format json has no masked secret in it; stderr names the keys and --reveal-secrets."""
    result = invoke("env", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert "****" not in result.stdout
    assert not {"METAFLOW_SERVICE_AUTH_KEY", "METAFLOW_SERVICE_HEADERS"} & set(doc)
    assert (
        "2 secret value(s) masked, left out of the JSON "
        "(METAFLOW_SERVICE_AUTH_KEY, METAFLOW_SERVICE_HEADERS); --reveal-secrets includes them."
    ) in result.stderr
    revealed = json.loads(invoke("env", "--format", "json", "--reveal-secrets").stdout)
    assert revealed["METAFLOW_SERVICE_AUTH_KEY"] == SECRET


_AWKWARD = {
    "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml ops"},
    "METAFLOW_SERVICE_HEADERS": {"x": 'it\'s \\ "q"'},
    "METAFLOW_USER": "a b",
    "METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT": 'retry:times=2 x="$HOME" `id`',
    "METAFLOW_BATCH_JOB_QUEUE": "q#1 = ok",
}


def test_env_dotenv_reads_back_alike_in_sh_and_python_dotenv() -> None:
    """dotenv output gives the exported values in sh (set -a; . FILE) and python-dotenv."""
    dotenv = pytest.importorskip("dotenv")
    write_json(home() / "config.json", _AWKWARD)
    text = invoke("env", "--format", "dotenv", "--reveal-secrets").stdout
    expected = json.loads(invoke("env", "--format", "json", "--reveal-secrets").stdout)
    assert "METAFLOW_SERVICE_HEADERS" in expected
    assert "METAFLOW_USER='a b'\n" in text
    path = Path.cwd() / "task.env"
    path.write_text(text)
    names = sorted(expected)
    script = 'set -a; . ./task.env; printf "%s\\0"' + "".join(f' "${name}"' for name in names)
    out = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/nowhere"},
    ).stdout
    assert dict(zip(names, out.split("\0")[:-1])) == expected
    assert dict(dotenv.dotenv_values(path)) == expected


def test_env_dotenv_refuses_a_value_it_cannot_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value no dotenv quoting carries for every reader is an error naming it."""
    monkeypatch.setenv("METAFLOW_USER", "it's $HOME")
    monkeypatch.setenv("METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT", "${x}")
    result = invoke("env", "--format", "dotenv")
    assert result.exit_code == 1
    assert "METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT" in result.stderr
    assert "METAFLOW_USER" in result.stderr
    assert "--format shell" in result.stderr
    assert "$HOME" not in result.stderr
    assert invoke("env", "--format", "docker").exit_code == 0


def test_env_docker_format_is_literal_key_value_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """--format docker writes KEY=value with no quotes or escapes (docker --env-file, ECS)."""
    write_json(home() / "config.json", _AWKWARD)
    monkeypatch.setenv("METAFLOW_SERVICE_AUTH_KEY", SECRET)
    result = invoke("env", "--target", "batch", "--format", "docker")
    assert result.exit_code == 0
    assert "METAFLOW_USER=a b\n" in result.stdout
    assert "# METAFLOW_SERVICE_AUTH_KEY=****" in result.stdout
    assert SECRET not in result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    parsed = dict(line.split("=", 1) for line in lines)  # docker's own reading of a line
    expected = json.loads(invoke("env", "--target", "batch", "--format", "json").stdout)
    assert parsed == expected


def test_env_docker_format_refuses_a_line_break() -> None:
    """A value with a line break cannot be one docker --env-file line: an error naming it."""
    from metaflow_config.cli._show import render_env
    from metaflow_config.errors import ConfigError

    with pytest.raises(ConfigError, match="METAFLOW_USER") as raised:
        render_env(
            {"METAFLOW_USER": "a\nb", "METAFLOW_BATCH_JOB_QUEUE": "q"}, "docker", reveal=True
        )
    assert "a\nb" not in str(raised.value)
    assert render_env({"METAFLOW_USER": "a b"}, "docker", reveal=True)[0] == "METAFLOW_USER=a b\n"


def test_env_batch_target_uses_internal_url_and_drops_local_paths(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--target batch carries SERVICE_INTERNAL_URL as SERVICE_URL and no machine-local path."""
    monkeypatch.setenv("METAFLOW_SERVICE_INTERNAL_URL", "http://mf.internal")
    monkeypatch.setenv("METAFLOW_CLIENT_CACHE_PATH", "/home/me/cache")
    doc = json.loads(invoke("env", "--target", "batch", "--format", "json").stdout)
    assert doc["METAFLOW_SERVICE_URL"] == "http://mf.internal"
    assert "METAFLOW_CLIENT_CACHE_PATH" not in doc
    local = json.loads(invoke("env", "--format", "json").stdout)
    assert local["METAFLOW_CLIENT_CACHE_PATH"] == "/home/me/cache"


def test_env_sfn_too_large_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment over the Step Functions limit exits 1 naming the limit."""
    monkeypatch.setenv(
        "METAFLOW_BATCH_DEFAULT_TAGS", json.dumps({f"k{i}": "v" * 250 for i in range(40)})
    )
    result = invoke("env", "--target", "sfn")
    assert result.exit_code == 1
    assert "8192" in result.stderr
    assert "Traceback" not in result.output


# --- check ------------------------------------------------------------------------------------


def test_check_ok(configured: Path) -> None:
    """A valid configuration: exit 0 and a one-line OK."""
    result = invoke("check")
    assert result.exit_code == 0
    assert result.stdout.startswith("OK: the configuration of the default profile is valid")


def test_check_lists_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every problem of every layer is listed, and the exit status is 1."""
    write_json(home() / "config.json", {"METAFLOW_SFN_IAM_ROLE": "not-an-arn"})
    monkeypatch.setenv("METAFLOW_BATCH_EMIT_TAGS", "maybe")
    result = invoke("check")
    assert result.exit_code == 1
    assert "2 problems" in result.stderr
    assert "METAFLOW_SFN_IAM_ROLE" in result.stderr
    assert "METAFLOW_BATCH_EMIT_TAGS" in result.stderr


def test_check_requires_what_the_defaults_imply() -> None:
    """DEFAULT_DATASTORE=s3 without a sysroot fails check, naming the missing setting."""
    write_json(home() / "config.json", {"METAFLOW_DEFAULT_DATASTORE": "s3"})
    result = invoke("check")
    assert result.exit_code == 1
    assert "METAFLOW_DATASTORE_SYSROOT_S3 is not set" in result.stderr


def test_check_require_lists_every_missing_setting(configured: Path) -> None:
    """--require sfn-foreach names each missing setting of that capability at once."""
    assert "ready for s3, batch" in invoke("check", "--require", "batch").stdout
    result = invoke("check", "--require", "sfn-foreach")
    assert result.exit_code == 1
    assert "METAFLOW_SFN_IAM_ROLE is not set" in result.stderr
    assert "METAFLOW_SFN_DYNAMO_DB_TABLE is not set" in result.stderr


def test_check_lists_capability_problems_despite_an_invalid_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An invalid value does not hide what --require and the defaults still lack."""
    monkeypatch.setenv("METAFLOW_DEFAULT_DATASTORE", "s3")
    monkeypatch.setenv("METAFLOW_BATCH_EMIT_TAGS", "maybe")
    result = invoke("check", "--require", "batch")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid Metaflow configuration: METAFLOW_BATCH_EMIT")
    for name in (
        "METAFLOW_DATASTORE_SYSROOT_S3",
        "METAFLOW_BATCH_JOB_QUEUE",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE",
    ):
        assert result.stderr.count(f"{name} is not set") == 1, name


def test_check_lists_an_invalid_required_setting_once() -> None:
    """A needed setting with an invalid value (in a file) is listed as invalid, not as unset."""
    write_json(
        home() / "config.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT, "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "not-an-arn"},
    )
    result = invoke("check", "--require", "batch")
    assert result.exit_code == 1
    assert "got 'not-an-arn'" in result.stderr
    assert "METAFLOW_ECS_S3_ACCESS_IAM_ROLE is not set" not in result.stderr
    assert "METAFLOW_BATCH_JOB_QUEUE is not set" in result.stderr
    assert "METAFLOW_DATASTORE_SYSROOT_S3" not in result.stderr


def test_check_says_require_was_not_checked_when_a_file_is_unreadable() -> None:
    """A profile that cannot be read: only that is listed, and --require is said unchecked."""
    (home() / "config.json").write_text("{not json")
    result = invoke("check", "--require", "batch")
    assert result.exit_code == 1
    assert "(--require not checked: the configuration could not be read)" in result.stderr
    assert "is not set" not in result.stderr


def test_check_fails_on_unknown_keys_unless_lenient() -> None:
    """An unknown key is a failure of check (with its did-you-mean); --lenient only warns."""
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QEUE": "q"})
    for args in ((), ("--strict",)):
        result = invoke("check", *args)
        assert result.exit_code == 1
        assert "METAFLOW_BATCH_JOB_QEUE" in result.stderr
        assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in result.stderr
    lenient = invoke("check", "--lenient")
    assert lenient.exit_code == 0
    assert "METAFLOW_BATCH_JOB_QEUE" in lenient.stderr  # still said, as a warning


def test_check_says_what_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile file, the local file (or that there is none), how many variables."""
    write_json(home() / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    monkeypatch.setenv("METAFLOW_SFN_DYNAMO_DB_TABLE", "mf-t")
    out = invoke("check").stdout
    assert f"Checked: {home() / 'config.json'}; no .metaflow/config.json found; " in out
    assert "1 METAFLOW_* environment variable(s)" in out  # METAFLOW_HOME selects, sets nothing
    monkeypatch.setenv("METAFLOW_PROFILE", "")
    monkeypatch.setenv("METAFLOW_RUN_ID", "12")  # what Metaflow sets in a task
    monkeypatch.setenv("METAFLOW_DEFAULT_DATASTORE", "local")
    assert "2 METAFLOW_* environment variable(s)" in invoke("check").stdout


# --- the command as a whole -------------------------------------------------------------------


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(("path", "command"), _commands(cli), ids=str)
def test_every_help_has_examples(path: str, command: click.Command) -> None:
    """--help of every command (and sub-command) shows examples of the command itself."""
    result = invoke(*path.split(), "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert result.stdout.startswith(f"Usage: metaflow-config {path} ")
    examples = result.stdout.split("Examples:")[1]
    name = path.rsplit(maxsplit=1)[-1]
    assert f"metaflow-config {path}" in examples or f"metaflow-config {name}" in examples
    # what a help says reaches the terminal as it is: no character there moves or reorders it
    assert printable(result.stdout, lines=True) == result.stdout


def test_version() -> None:
    """--version prints the package version."""
    from metaflow_config import __version__

    assert invoke("--version").stdout.strip() == f"metaflow-config, version {__version__}"


def test_usage_error_exits_2_without_traceback() -> None:
    """A bad option is a usage error (exit 2), one message."""
    result = invoke("env", "--target", "mars")
    assert result.exit_code == 2
    assert "Invalid value for '--target'" in result.stderr


def test_several_problems_are_one_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several problems are one `Error:` message, a line each, as README "Command line" says."""
    monkeypatch.setenv("METAFLOW_BATCH_EMIT_TAGS", "maybe")
    monkeypatch.setenv("METAFLOW_S3_RETRY_COUNT", "many")
    result = invoke("show")
    assert result.exit_code == 1
    assert result.stderr.count("Error:") == 1
    assert len(result.stderr.splitlines()) == 3
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "An error is one `Error:` message (a line per problem" in readme
    assert "`Error: ...` line" not in readme


def test_import_metaflow_config_does_not_import_click(tmp_path: Path) -> None:
    """`import metaflow_config` (and running `load`) never imports click."""
    code = (
        "import sys, metaflow_config\n"
        "metaflow_config.load(env={}, home=sys.argv[1], cwd=sys.argv[1])\n"
        "print('click' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "METAFLOW_HOME": str(tmp_path)},
    )
    assert out.stdout.strip() == "False"


# --- as a process -----------------------------------------------------------------------------


def _process_env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "METAFLOW_HOME": str(tmp_path / "no-such-home")}


@pytest.mark.slow
def test_python_m_with_no_configuration_prints_settings(tmp_path: Path) -> None:
    """`python -m metaflow_config` works with no configuration at all and behaves like show."""
    proc = subprocess.run(
        [sys.executable, "-m", "metaflow_config"],
        capture_output=True,
        text=True,
        env=_process_env(tmp_path),
        cwd=tmp_path,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "no setting is configured" in proc.stdout
    assert not (tmp_path / "no-such-home").exists()  # reading never creates anything


@pytest.mark.slow
def test_console_script_is_installed(tmp_path: Path) -> None:
    """The `metaflow-config` console script runs the same command."""
    script = Path(sys.executable).parent / "metaflow-config"
    proc = subprocess.run(
        [str(script), "explain", "BATCH_JOB_QUEUE"],
        capture_output=True,
        text=True,
        env=_process_env(tmp_path),
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("METAFLOW_BATCH_JOB_QUEUE = (unset)")


@pytest.mark.slow
@pytest.mark.parametrize("args", [["show", "--all"], ["docs"], ["--help"]], ids=" ".join)
def test_closed_stdout_is_quiet(args: list[str], tmp_path: Path) -> None:
    """Output into a closed pipe (`metaflow-config show --all | head`) prints no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, deterministically
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "metaflow_config", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_process_env(tmp_path),
            cwd=tmp_path,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 1


def test_unexpected_exception_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug surfaces as one `Error: unexpected ...` line and exit 1, not a traceback."""
    from metaflow_config.cli import _inspect, main

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_inspect, "render", broken)
    assert main(["show"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: unexpected RuntimeError: boom")
    assert len(err.strip().splitlines()) == 1


def test_file_system_error_is_one_line(configured: Path, tmp_path: Path) -> None:
    """An OS error while writing (a file where a directory should be) is one readable message."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = invoke("export", str(blocker / "out.json"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert str(blocker) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_check_says_when_metaflow_cannot_tell_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container or CI job as root with no $USER: valid, but every flow run stops with
    "Unknown user" (Metaflow passes over root): check says so, and how to fix it."""
    for name in ("USER", "USERNAME", "SUDO_USER", "METAFLOW_USER"):
        monkeypatch.delenv(name, raising=False)
    env = {"METAFLOW_HOME": str(tmp_path)}
    for user in (None, "root"):
        if user:
            monkeypatch.setenv("USER", user)
        checked = invoke("check", env=env)
        assert checked.exit_code == 0, checked.output
        assert "Unknown user" in checked.stderr
        assert "set METAFLOW_USER" in checked.stderr
    assert "Unknown user" not in invoke("check", env={**env, "METAFLOW_USER": "ana"}).stderr


def test_check_says_a_root_configured_but_not_used(tmp_path: Path) -> None:
    """An S3 root (or a service URL) with the datastore (metadata) left at its default, local:
    valid, but flows do not use it; said with the setting and the command, for the profile in
    force. A datastore set to local on purpose is a choice: not said."""
    env = {"METAFLOW_HOME": str(tmp_path), "METAFLOW_USER": "ana"}
    write_json(
        tmp_path / "config_team.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT, "METAFLOW_SERVICE_URL": "https://mf.example"},
    )
    checked = invoke("check", "-p", "team", env=env)
    assert checked.exit_code == 0, checked.output
    assert (
        "METAFLOW_DATASTORE_SYSROOT_S3 is set, but METAFLOW_DEFAULT_DATASTORE is 'local' (the "
        "default): flows keep their data on this machine; set METAFLOW_DEFAULT_DATASTORE=s3 to "
        "use it (`metaflow-config configure aws --profile team --set DEFAULT_DATASTORE=s3`)"
    ) in checked.stderr
    assert "METAFLOW_DEFAULT_METADATA is 'local' (the default)" in checked.stderr
    chosen = invoke("check", "-p", "team", env={**env, "METAFLOW_DEFAULT_DATASTORE": "local"})
    assert "METAFLOW_DEFAULT_DATASTORE is 'local'" not in chosen.stderr


def test_check_looks_at_a_capability_configured_in_part(tmp_path: Path) -> None:
    """A job queue set says AWS Batch is meant: ready, it is listed with what is ready; not
    ready (the service at localhost, which a container cannot reach), it is said, not an
    error, with the command that lists what it lacks."""
    env = {"METAFLOW_HOME": str(tmp_path), "METAFLOW_USER": "ana"}
    batch = {
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_BATCH_JOB_QUEUE": "gpu",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE,
    }
    write_json(tmp_path / "config.json", batch)
    ready = invoke("check", env=env)
    assert ready.exit_code == 0, ready.output
    assert "ready for s3, batch)" in ready.stdout
    assert "configured in part" not in ready.stderr
    write_json(
        tmp_path / "config_tty.json",
        {
            **batch,
            "METAFLOW_SERVICE_URL": "http://localhost:8080",
            "METAFLOW_DEFAULT_METADATA": "service",
        },
    )
    apart = invoke("check", "-p", "tty", env=env)
    assert apart.exit_code == 0, apart.output
    assert "ready for s3, service)" in apart.stdout
    assert (
        "AWS Batch is configured in part and not ready (METAFLOW_SERVICE_INTERNAL_URL; not "
        "required, so not an error): `metaflow-config check -p tty --require batch` says why"
    ) in apart.stderr
    # the default datastore is no setting of Batch's own: S3 alone does not begin Batch; but
    # Batch begun on the local datastore is not ready (Metaflow's @batch refuses it)
    write_json(
        tmp_path / "config_s3.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT, "METAFLOW_DEFAULT_DATASTORE": "s3"},
    )
    alone = invoke("check", "-p", "s3", env=env)
    assert "ready for s3)" in alone.stdout
    assert "configured in part" not in alone.stderr
    local = {k: v for k, v in batch.items() if k != "METAFLOW_DEFAULT_DATASTORE"}
    write_json(tmp_path / "config_local.json", local)
    on_local = invoke("check", "-p", "local", env=env)
    assert "AWS Batch is configured in part and not ready (METAFLOW_DEFAULT_DATASTORE; " in (
        on_local.stderr
    )


def test_check_names_the_secret_references_it_did_not_fetch(tmp_path: Path) -> None:
    """Without --aws, check asks AWS nothing, though every ``import metaflow`` fetches the
    references: the note says which were not fetched, and not with --aws (which fetches)."""
    reference = "{{resolve:secretsmanager:mf/service-key}}"
    write_json(tmp_path / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": reference})
    env = {"METAFLOW_HOME": str(tmp_path), "METAFLOW_USER": "ana"}
    checked = invoke("check", env=env)
    assert checked.exit_code == 0, checked.output
    assert "1 secret reference(s) not fetched (METAFLOW_SERVICE_AUTH_KEY)" in checked.stderr
    assert "check --aws` fetches them" in checked.stderr
    write_json(tmp_path / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    assert "not fetched" not in invoke("check", env=env).stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-p", "prod", "show"], "metaflow-config COMMAND -p NAME"),
        (["--profile", "prod", "check"], "metaflow-config COMMAND -p NAME"),
        (["configure", "-p", "prod", "aws"], "metaflow-config configure COMMAND -p NAME"),
    ],
)
def test_a_profile_before_the_command_says_where_it_goes(args: list[str], said: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert f"-p is an option of each command: {said}" in result.stderr


def test_python_and_the_command_label_an_explanation_alike(tmp_path: Path) -> None:
    """``print(settings.explain(KEY))`` and ``metaflow-config explain KEY`` say a derived value's
    bases and its rule with the same labels (``derived:``, ``rule:``); a set value's ``from:``."""
    from metaflow_config import load

    env = {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT}
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    text = str(s.explain("METAFLOW_DATATOOLS_S3ROOT"))
    command = invoke(
        "explain", "DATATOOLS_S3ROOT", env={**env, "METAFLOW_HOME": str(tmp_path)}
    ).stdout
    for line in (
        "  derived:  METAFLOW_DATASTORE_SYSROOT_S3, METAFLOW_DATATOOLS_SUFFIX",
        "  rule:     <METAFLOW_DATASTORE_SYSROOT_S3>/<METAFLOW_DATATOOLS_SUFFIX> (when no layer "
        "sets it)",
    ):
        assert line in text.splitlines()
        assert line in command.splitlines()
    assert "  from:     METAFLOW_DATASTORE_SYSROOT_S3" in str(s.explain("DATASTORE_SYSROOT_S3"))


@pytest.mark.parametrize(
    ("word", "meant"),
    [("untrust", "trust --revoke [DIR]"), ("set", "configure aws --set KEY=VALUE")],
)
def test_a_command_of_another_tool_names_the_one_that_does_it(word: str, meant: str) -> None:
    """``untrust``: click's guess by spelling would be ``trust``, which does the opposite; a
    word other tools use is answered with the command that does it here (a usage error)."""
    result = invoke(word)
    assert result.exit_code == 2
    assert f"No such command '{word}': `metaflow-config {meant}` does that." in result.stderr
    typo = invoke("shwo").stderr  # a typo: click's own message (its guess, from click 8.2)
    assert "No such command 'shwo'" in typo
    assert "does that" not in typo


@pytest.mark.parametrize("command", [["check"], ["import", "in.json"]])
def test_strict_and_lenient_together_are_a_usage_error(command: list[str]) -> None:
    """click's flag pair took the last one silently: which strictness was meant is not known."""
    result = invoke(*command, "--strict", "--lenient")
    assert result.exit_code == 2
    assert "--strict and --lenient contradict each other" in result.stderr
    assert invoke("check", "--strict").exit_code != 2  # one of them: as before


def test_a_missing_default_profile_beside_named_ones_says_how_to_select_them() -> None:
    """``configure aws -p prod``, then ``METAFLOW_PROFILE`` not exported: ``show`` and
    ``check`` said only "config.json: not found"; they name the profiles there and the way
    to select one."""
    configured = invoke("configure", "aws", "-p", "prod", "--yes", "--set", "BATCH_JOB_QUEUE=q")
    assert configured.exit_code == 0, configured.stderr
    said = "profiles here: prod (select one with `-p prod` or `export METAFLOW_PROFILE=prod`)"
    assert said in invoke("show").stdout
    assert said in invoke("check").stdout
    assert "profiles here" not in invoke("show", "-p", "prod").stdout


def test_commands_offered_for_the_default_profile_name_it_where_another_is_selected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``check -p ''`` with ``METAFLOW_PROFILE=dev`` exported: a command offered without
    ``-p`` would check dev. It says ``-p ''``; with no profile selected, nothing."""
    home = Path(os.environ["METAFLOW_HOME"])
    (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}', encoding="utf-8")
    (home / "config_dev.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("METAFLOW_PROFILE", "dev")
    result = invoke("check", "-p", "")
    assert "`metaflow-config check -p '' --require batch` says why" in result.stderr
    monkeypatch.delenv("METAFLOW_PROFILE")
    assert "`metaflow-config check --require batch` says why" in invoke("check").stderr
