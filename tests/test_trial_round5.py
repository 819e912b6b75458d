"""Findings of the fifth round of outside trials (newcomer on 3.9, platform, differential).

Each test failed before its fix; the docstring says what a user did and what happened.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from metaflow_config import ConfigError, load
from tests.conftest import invoke


def _home() -> Path:
    return Path(os.environ["METAFLOW_HOME"])


def _output(result: object) -> str:
    """What a command printed, stdout and stderr (click 8.1 keeps them apart on 3.9)."""
    return str(getattr(result, "output", "")) + str(getattr(result, "stderr", "") or "")


# --- a value pasted with a blank (or a line ending) at one end -----------------------------------


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("METAFLOW_ECS_S3_ACCESS_IAM_ROLE", " arn:aws:iam::123456789012:role/batch", "starts"),
        ("METAFLOW_KUBERNETES_CPU", " 2", "starts with a blank"),
        ("METAFLOW_DEFAULT_DATASTORE", "s3 ", "ends with a blank, which is part"),
        ("METAFLOW_KUBERNETES_QOS", " Burstable", "starts with a blank"),
        ("METAFLOW_SERVICE_URL", "https://mf.example.com\r", "ends with a carriage return"),
        ("METAFLOW_DEFAULT_DATASTORE", "  s3  ", "starts with blanks and ends with blanks"),
    ],
)
def test_a_value_with_a_blank_at_an_end_says_so(name: str, value: str, said: str) -> None:
    """``METAFLOW_ECS_S3_ACCESS_IAM_ROLE= arn:...`` (a ``KEY= value`` line) was refused as "not
    an ARN: an ARN has six parts" (it has six), ``' 2'`` as "expected a number": the blank, the
    whole problem, was never named. Where the value is valid without it, the error says so."""
    with pytest.raises(ConfigError) as raised:
        load(env={name: value})
    message = str(raised.value)
    assert said in message
    assert "remove" in message


def test_a_value_invalid_without_its_blank_too_gets_no_blank_hint() -> None:
    """The hint is only where removing the blanks is the fix."""
    with pytest.raises(ConfigError) as raised:
        load(env={"METAFLOW_KUBERNETES_QOS": " Bursty"})
    assert "blank" not in str(raised.value)


def test_a_profile_name_with_a_line_ending_says_so() -> None:
    """``METAFLOW_PROFILE`` from a file saved on Windows: ``'prod\\r'``."""
    with pytest.raises(ConfigError, match="ends with a carriage return"):
        load(env={"METAFLOW_PROFILE": "prod\r"})


# --- a METAFLOW_HOME that names its folder only without its ends -------------------------------


@pytest.mark.parametrize(("before", "after"), [("", "\r"), ("", " "), (" ", "")])
def test_a_metaflow_home_with_a_blank_or_line_ending_is_refused(
    tmp_path: Path, before: str, after: str
) -> None:
    """``METAFLOW_HOME=/home/me/.metaflowconfig`` from a CRLF ``team.env``: the folder with
    ``\\r`` is not there, and every setting of the profile was dropped without a word (``check``
    said "valid, 0 settings"). It is an error naming METAFLOW_HOME, with the export meant."""
    home = tmp_path / "mfhome"
    home.mkdir()
    (home / "config.json").write_text('{"METAFLOW_DEFAULT_DATASTORE": "s3"}')
    with pytest.raises(ConfigError) as raised:
        load(env={"METAFLOW_HOME": f"{before}{home}{after}"})
    message = str(raised.value)
    assert "METAFLOW_HOME" in message
    assert f"export METAFLOW_HOME={home}" in message


def test_a_metaflow_home_there_as_named_is_read(tmp_path: Path) -> None:
    """A folder whose name ends with a blank, there as named, is the home (nothing guessed)."""
    home = tmp_path / "mfhome "
    home.mkdir()
    (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    assert load(env={"METAFLOW_HOME": str(home)}).batch.job_queue == "q"


# --- a profile file saved under a near-miss name -------------------------------------------------


@pytest.mark.parametrize(
    "misnamed", ["prod.json", "config-prod.json", "config_prod.JSON", "config_prod.json.txt"]
)
def test_a_misnamed_profile_file_is_pointed_at(misnamed: str) -> None:
    """``~/.metaflowconfig/prod.json`` written by hand: ``show -p prod`` said "profiles there:
    none" and to create the profile, beside the file meant for it. The error names the file,
    and how to rename it; ``profiles`` says it is read by no one."""
    (_home() / misnamed).write_text('{"METAFLOW_BATCH_JOB_QUEUE": "gpu-queue"}')
    result = invoke("show", "-p", "prod")
    assert result.exit_code == 1
    said = _output(result)
    assert f"{misnamed} there looks like it" in said
    assert f"mv {_home() / misnamed} {_home() / 'config_prod.json'}" in said
    listed = _output(invoke("profiles"))
    if misnamed != "prod.json":  # a name of the form config*: any such file is said
        assert f"{_home() / misnamed}: read by no one" in listed


def test_a_profile_read_as_named_is_no_near_miss() -> None:
    """``config_prod.json`` and the trust store are what they are named."""
    (_home() / "config_prod.json").write_text("{}")
    (_home() / "trusted.json").write_text("{}")
    assert "read by no one" not in _output(invoke("profiles"))


# --- a new profile named as its file -------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("prod.json", "(-p prod)"),
        ("config_prod", "(-p prod)"),
        ("config_prod.json", "(-p prod)"),
        ("config", "config.json is the default profile: leave -p out"),
    ],
)
def test_configure_a_profile_named_as_a_file_is_refused(
    given: str, said: str, tmp_path: Path
) -> None:
    """``configure aws -p prod.json --yes --set ...`` wrote ``config_prod.json.json`` without
    a word (a read of that name is refused with the name meant). Nothing is written now."""
    result = invoke("configure", "aws", "-p", given, "--yes", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 1
    assert said in _output(result)
    assert not any(_home().iterdir())
    source = tmp_path / "profile.json"
    source.write_text(json.dumps({"METAFLOW_BATCH_JOB_QUEUE": "q"}))
    result = invoke("import", str(source), "-p", given, "--yes")
    assert result.exit_code == 1
    assert said in _output(result)
    assert not any(_home().iterdir())


def test_an_existing_profile_named_as_a_file_is_still_written() -> None:
    """A profile that exists under such a name (Metaflow reads any) is edited as it is."""
    (_home() / "config_prod.json.json").write_text("{}")
    result = invoke("configure", "aws", "-p", "prod.json", "--yes", "--set", "BATCH_JOB_QUEUE=q")
    assert result.exit_code == 0, _output(result)
    assert json.loads((_home() / "config_prod.json.json").read_text()) == {
        "METAFLOW_BATCH_JOB_QUEUE": "q"
    }


# --- DEFAULT_DECOSPECS: a spec Metaflow cuts in two ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "piece"),
    [
        ('environment:vars={"A": "b"}', "'\"b\"}'"),
        ('retry environment:vars={"GREETING":"hello world"}', "'world\"}'"),
    ],
)
def test_decorator_specs_holding_a_blank_are_refused(
    value: str, piece: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DEFAULT_DECOSPECS='environment:vars={"A": "b"}'`` (JSON as ``json.dumps`` writes it):
    ``check`` said OK, then every run stopped with 'Unknown step decorator "b"}.': Metaflow
    splits the setting at blanks. Refused, naming the piece and the fix."""
    with pytest.raises(ConfigError) as raised:
        load(env={"METAFLOW_DEFAULT_DECOSPECS": value})
    message = str(raised.value)
    assert f"{piece} is no decorator spec" in message
    assert "write each spec without blanks" in message
    monkeypatch.setenv("METAFLOW_DEFAULT_DECOSPECS", value)
    result = invoke("check")
    assert result.exit_code != 0
    assert "DEFAULT_DECOSPECS" in _output(result)


@pytest.mark.parametrize(
    "value",
    [
        "kubernetes",
        "kubernetes retry:times=3",
        ' kubernetes  environment:vars={"A":"b"} ',
        "my_pkg.my_decorator:x=1",
        'batch:image=python:3.11,queue=q catch:var="e"',
    ],
)
def test_decorator_specs_as_with_takes_them_are_taken(value: str) -> None:
    """Every spec ``--with`` takes, as Metaflow splits them: the value as given."""
    assert load(env={"METAFLOW_DEFAULT_DECOSPECS": value}).defaults.decospecs == value


@pytest.mark.parametrize(
    "value", ['retry\tenvironment:vars={"A":"b"}', "retry\xa0timeout:seconds=60", "retry:"]
)
def test_specs_as_metaflow_splits_them_at_any_blank_are_taken(value: str) -> None:
    """Metaflow splits the setting with ``split()``, at a tab or a no-break space too (review
    trial: such a value ran with Metaflow alone and was refused here, naming no piece)."""
    assert load(env={"METAFLOW_DEFAULT_DECOSPECS": value}).defaults.decospecs == value


@pytest.mark.parametrize("value", ["retry:times", "retry:times,minutes_between_retries=1"])
def test_a_spec_attribute_without_a_value_is_refused(value: str) -> None:
    """``retry:times`` passed, and every run then stopped with Metaflow's traceback ("not
    enough values to unpack"): each attribute is ``name=value``."""
    with pytest.raises(ConfigError, match="attributes are name=value pairs"):
        load(env={"METAFLOW_DEFAULT_DECOSPECS": value})


def test_a_profiles_list_of_specs_holding_a_blank_is_refused() -> None:
    """In a file, a JSON list of specs is joined with blanks: an item holding one is refused."""
    (_home() / "config.json").write_text(
        json.dumps({"METAFLOW_DEFAULT_DECOSPECS": ["retry", 'environment:vars={"A": "b"}']})
    )
    with pytest.raises(ConfigError, match="DEFAULT_DECOSPECS"):
        load()


# --- a list of Secrets with an empty item (profiles from the wild) -------------------------------


@pytest.mark.parametrize(
    "name", ["METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"]
)
def test_a_secret_list_with_an_empty_item_is_read_as_metaflow_reads_it(name: str) -> None:
    """``"METAFLOW_KUBERNETES_SECRETS": "mf-secret,"`` (a trailing comma, as a template or
    Metaflow's own ``configure kubernetes`` prompt may leave it) stopped every ``import
    metaflow``: Metaflow leaves an empty item out wherever it splits these lists. It is
    taken; ``check`` warns where Airflow would mount a Secret of no name."""
    (_home() / "config.json").write_text(json.dumps({name: "mf-secret,"}))
    assert load()[name] == "mf-secret,"
    said = _output(invoke("check"))
    warned = f"Warning: {name} is not comma-separated Kubernetes Secret names" in said
    assert warned == (name == "METAFLOW_KUBERNETES_SECRETS")


def test_a_package_suffix_list_with_an_empty_item_is_refused() -> None:
    """An empty suffix would take every file into the code package: still refused."""
    with pytest.raises(ConfigError, match="an empty item"):
        load(env={"METAFLOW_DEFAULT_PACKAGE_SUFFIXES": ".py,"})


def test_a_refused_specs_piece_is_shown_as_a_value_is() -> None:
    """The piece named is shown bounded (a 1 MB piece was quoted whole in the message) and
    masked where the value holds a URL's password."""
    with pytest.raises(ConfigError) as raised:
        load(env={"METAFLOW_DEFAULT_DECOSPECS": "x:" + "y" * 1_000_000})
    assert len(str(raised.value)) < 2_000
    with pytest.raises(ConfigError) as raised:
        load(env={"METAFLOW_DEFAULT_DECOSPECS": 'environment:vars={"U":"https://u:pw@h"} x"}'})
    assert "pw" not in str(raised.value)
