"""What a newcomer trying README's commands met: each message says what is wrong and the way
out that works, and the commands and the Python API word the same thing alike."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from metaflow_config import load
from tests.conftest import invoke, write_json


def test_missing_named_profile_does_not_blame_an_unset_metaflow_home(tmp_path: Path) -> None:
    """Fresh machine, never configured, METAFLOW_PROFILE=prod exported (a team's instructions):
    the fix does not blame METAFLOW_HOME, which is not set, and offers `unset METAFLOW_PROFILE`
    (as `profiles` does, and the error once the folder exists)."""
    result = invoke(
        "check",
        env={"METAFLOW_HOME": None, "HOME": str(tmp_path), "METAFLOW_PROFILE": "prod"},  # type: ignore[dict-item]
    )
    assert result.exit_code == 1
    assert "METAFLOW_HOME if it is mistyped" not in result.stderr, result.stderr
    assert "unset METAFLOW_PROFILE" in result.stderr, result.stderr


def test_import_help_agrees_with_what_import_does_with_an_unknown_key(tmp_path: Path) -> None:
    """`import --help` says what `import` does with a key near no setting: imported, with a
    warning (its --strict/--lenient text and README say so); it said the file changed nothing."""
    source = write_json(tmp_path / "team.json", {"METAFLOW_ACME_ENDPOINT": "https://x.example"})
    result = invoke("import", str(source), "--yes")
    assert result.exit_code == 0, result.stderr  # imported, with a warning
    help_text = " ".join(invoke("import", "--help").stdout.split())
    assert "one with an unknown key (unless --lenient), changes nothing" not in help_text


@pytest.mark.parametrize("target", ["argo", "airflow"])
def test_env_with_nothing_set_says_an_not_a_before_a_vowel(target: str) -> None:
    """`env --target argo` with nothing configured says "an argo process", not "a argo"."""
    result = invoke("env", "--target", target)
    assert result.exit_code == 0
    assert f"a {target} process" not in result.stderr, result.stderr


def test_show_json_marks_a_masked_url_password_as_masked() -> None:
    """A service URL holding a password is shown masked (as `env` and `get` say): `show --json`
    says so (`masked`), so a script can tell the '****' from the value."""
    result = invoke("show", "--json", env={"METAFLOW_SERVICE_URL": "https://u:pw@h.example"})
    row = next(
        r for r in json.loads(result.stdout)["settings"] if r["name"] == "METAFLOW_SERVICE_URL"
    )
    assert "****" in row["value"]
    assert row["masked"], row
    assert not row["secret"]  # the setting is not secret: its value's password is masked


def test_python_explain_says_unset_as_the_command_does(tmp_path: Path) -> None:
    """README's first example, `print(settings.explain("METAFLOW_DATATOOLS_S3ROOT"))`, says an
    unset value as `metaflow-config explain` does: "= (unset)", not "= None"."""
    cli = invoke("explain", "METAFLOW_DATATOOLS_S3ROOT").stdout.splitlines()[0]
    py = str(load(env={}, home=str(tmp_path)).explain("METAFLOW_DATATOOLS_S3ROOT")).splitlines()[0]
    assert cli == "METAFLOW_DATATOOLS_S3ROOT = (unset)"
    assert py == cli


#: A profile Metaflow's wizard up to 2.8.2 wrote: the datatools root under its old name
OLD_PROFILE = {
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/mf",
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DATATOOLS_SYSROOT_S3": "s3://b/tools",
}


def _home_profile(values: dict[str, str]) -> Path:
    import os

    return write_json(Path(os.environ["METAFLOW_HOME"]) / "config.json", values)


def test_configure_sees_a_setting_held_under_its_old_name() -> None:
    """`configure aws` treats an old name the resolution applies as the setting's (as it does
    an alias): `--set KEY=` removes it, the wizard offers its value (not a derivation it does
    not have), and clearing it with `-` clears it. It printed "No changes" and kept it."""
    profile = _home_profile(OLD_PROFILE)
    result = invoke("configure", "aws", "--set", "DATATOOLS_S3ROOT=", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "METAFLOW_DATATOOLS_SYSROOT_S3" not in json.loads(profile.read_text())
    assert load().datatools.s3root == "s3://b/mf/data"  # derived again

    _home_profile(OLD_PROFILE)
    shown = invoke("configure", "aws", input="y\n\n-\nn\nn\ny\n")
    assert "= s3://b/tools" not in shown.stdout.replace("[s3://b/tools]", "")
    assert "[s3://b/tools]" in shown.stdout, shown.stdout  # its value, offered
    assert load().datatools.s3root == "s3://b/mf/data", shown.stdout  # `-` cleared it

    profile = _home_profile({"METADATA_SERVICE_URL": "https://old.example.com"})
    offered = invoke("configure", "aws", input="n\ny\n\n\n\ny\n")
    assert offered.exit_code == 0, offered.stdout + offered.stderr
    assert "[https://old.example.com]" in offered.stdout, offered.stdout
    assert load().service.url == "https://old.example.com"


def test_a_sections_unset_secret_shows_as_unset() -> None:
    """A built-in unset secret shows `auth_key=None`; a section's unset SecretStr showed
    `api_token=****`, as if a token were configured."""
    from typing import Optional

    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict

    from metaflow_config.pydantic import MetaflowBaseSettings

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        api_token: Optional[SecretStr] = None

    assert "auth_key=None" in repr(load(env={}, home="/nonexistent").service)
    assert "api_token=None" in repr(Acme())
    assert "api_token=****" in repr(Acme(api_token="t0ken"))


def test_isolated_process_says_at_the_call_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """`isolated_process()` is a context manager (README shows it in a `with`); called without
    `project=` or `cwd=` it says so at the call, not only once entered."""
    from metaflow_config.testing import isolated_process

    with pytest.raises(TypeError, match="needs project= or cwd="):
        isolated_process(monkeypatch, home="/nonexistent")


def test_a_missing_profile_given_as_an_argument_is_headed_by_the_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`load(profile="nope")`: the error is headed `profile=`, where the name was given (its fix
    said `profile=` already, its heading METAFLOW_PROFILE, which was not set); from the
    variable, and from `-p`, as before."""
    from metaflow_config import ConfigError, override

    with pytest.raises(ConfigError, match=r"^invalid Metaflow configuration: profile= \("):
        load(profile="nope")
    with pytest.raises(ConfigError, match=r"configuration: profile= \("), override(profile="nope"):
        pass
    monkeypatch.setenv("METAFLOW_PROFILE", "nope")
    with pytest.raises(ConfigError, match=r"configuration: METAFLOW_PROFILE \("):
        load()
    assert (
        "Error: invalid Metaflow configuration: -p/--profile (" in invoke("show", "-p", "no").stderr
    )


def test_diff_of_a_missing_profile_offers_a_way_its_argument_can_take() -> None:
    """`diff default b` with no b: the fix offered "giving no name" for the default profile,
    which a positional argument cannot do; it says to give "" as PROFILE_B."""
    import os

    _home_profile({})
    assert os.path.exists(Path(os.environ["METAFLOW_HOME"]) / "config.json")
    result = invoke("diff", "default", "b")
    assert result.exit_code != 0
    assert 'by giving "" as PROFILE_B' in result.stderr, result.stderr
    assert "giving no name" not in result.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [("{resolve:ssm:/mf/key}}", True), ("{{resolve:ssm:/mf/key}}", False), ("k3y", False)],
)
def test_check_says_a_reference_missing_a_brace(value: str, said: bool) -> None:
    """`{resolve:ssm:/key}}` (a brace missing) holds no `{{`: it is not read as a reference
    and would be sent as the key itself; `check` says so, naming the setting, never its value."""
    result = invoke("check", env={"METAFLOW_SERVICE_AUTH_KEY": value})
    assert result.exit_code == 0, result.stderr
    assert ("looks like a secret reference but is none" in result.stderr) is said
    assert ("(env: METAFLOW_SERVICE_AUTH_KEY) looks like" in result.stderr) is said
    assert "/mf/key}}" not in result.stderr.replace("{{resolve:ssm:/mf/key}}", "")


@pytest.mark.parametrize(
    ("value", "said"),
    [('"gpu-queue"', True), ("'gpu-queue'", True), ('"gpu-queue', False), ("gpu-queue", False)],
)
def test_check_says_a_value_wrapped_in_quotes(value: str, said: bool) -> None:
    """``docker --env-file`` and systemd keep the quotes a shell removes: the queue would be
    named ``"gpu-queue"``. Said by name and where it is set (never the value), not of what
    follows from it (the namespace a sensor namespace derives from)."""
    result = invoke(
        "check",
        env={"METAFLOW_BATCH_JOB_QUEUE": value, "METAFLOW_KUBERNETES_NAMESPACE": value},
    )
    assert result.exit_code == 0, result.stderr
    note = (
        "METAFLOW_BATCH_JOB_QUEUE (env: METAFLOW_BATCH_JOB_QUEUE), METAFLOW_KUBERNETES_NAMESPACE"
        " (env: METAFLOW_KUBERNETES_NAMESPACE) are wrapped in quotes"
    )
    assert (note in result.stderr) is said, result.stderr
    assert "ARGO_EVENTS_SENSOR_NAMESPACE (derived" not in result.stderr
    assert value not in result.stderr


def test_check_says_a_profile_with_a_byte_order_mark_reads_here_only() -> None:
    """Notepad's byte-order mark: read here, but Metaflow's own ``json.load`` (the extension
    off, ``metaflow configure show``) fails on it with a traceback. ``check`` says so; a file
    without one says nothing."""
    profile = Path(os.environ["METAFLOW_HOME"]) / "config.json"
    profile.write_bytes(b'\xef\xbb\xbf{"METAFLOW_USER": "bob"}')
    result = invoke("check")
    assert result.exit_code == 0, result.stderr
    assert f"{profile} starts with a byte-order mark: read here, but Metaflow alone" in (
        result.stderr
    )
    profile.write_bytes(b'{"METAFLOW_USER": "bob"}')
    assert "byte-order mark" not in invoke("check").stderr
