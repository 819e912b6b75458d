"""``import --from-cloudformation STACK``: a profile from a deployed stack's outputs, on moto."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import pytest

from metaflow_config import load
from tests._stack_fixtures import (
    QUEUE_ARN,
    REGION,
    SERVICE_URL,
    official_outputs,
    template,
)
from tests.conftest import invoke, write_json

pytestmark = pytest.mark.aws

CANARY = "SEKRITapikey0123456789abcdefghij"  # the API key's value: never shown


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


def read(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``."""
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


class Account:
    """The moto account the command reads: clients to build stacks, the API key's id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[str, Any] = {}
        self.key_id = self.client("apigateway").create_api_key(
            name="metaflow", enabled=True, value=CANARY
        )["id"]

    def client(self, service: str) -> Any:
        """A client of ``service`` in the stacks' region, on moto."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def deploy(self, name: str = "metaflow", outputs: dict[str, Any] | None = None) -> str:
        """Create the stack ``name`` (the official outputs by default); its stack id."""
        body = template(official_outputs(self.key_id) if outputs is None else outputs)
        return str(
            self.client("cloudformation").create_stack(StackName=name, TemplateBody=body)["StackId"]
        )

    def outputs(self, name: str = "metaflow") -> dict[str, str]:
        """The stack's outputs by key, as CloudFormation gives them."""
        stack = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


@pytest.fixture
def account(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Account:
    """A reset moto account in ``REGION``; boto3's chain points the command at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)  # every client the command makes goes there
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return Account(aws_env)


def _import(*args: str, input: str | None = None) -> Any:
    return invoke("import", "--from-cloudformation", *args, input=input)


def _assert_clean(result: Any) -> None:
    assert CANARY not in result.stdout + result.stderr


# --- the official stack -----------------------------------------------------------------------


def test_the_official_stack_becomes_a_working_profile(account: Account) -> None:
    """Each tagged output lands in its setting, the API key is fetched by its id, 0600."""
    account.deploy()
    outputs = account.outputs()
    result = _import("metaflow", "-p", "prod", input="y\n")
    assert result.exit_code == 0, result.output + result.stderr
    path = home() / "config_prod.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read(path) == {
        "METAFLOW_DATASTORE_SYSROOT_S3": outputs["MetaflowDataStoreS3Url"],
        "METAFLOW_DATATOOLS_S3ROOT": outputs["MetaflowDataToolsS3Url"],
        "METAFLOW_BATCH_JOB_QUEUE": QUEUE_ARN,  # the ARN, as Metaflow accepts it
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": outputs["ECSJobRoleForBatchJobs"],
        "METAFLOW_SERVICE_URL": SERVICE_URL,
        "METAFLOW_SERVICE_INTERNAL_URL": outputs["InternalServiceUrl"],
        "METAFLOW_SERVICE_AUTH_KEY": CANARY,
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": outputs["EventBridgeRoleArn"],
        "METAFLOW_SFN_IAM_ROLE": outputs["StepFunctionsRoleArn"],
        "METAFLOW_SFN_DYNAMO_DB_TABLE": outputs["DDBTableName"],
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DEFAULT_METADATA": "service",
    }
    load(profile="prod").require("sfn-foreach")  # what the stack deploys is usable as it is
    out = result.stdout
    assert f"CloudFormation stack 'metaflow' in {REGION} (CREATE_COMPLETE)" in out
    assert f"+ METAFLOW_BATCH_JOB_QUEUE = {QUEUE_ARN}  (from BatchJobQueueArn)" in out
    assert "+ METAFLOW_SERVICE_AUTH_KEY = ****  (fetched by the id in ApiKeyId)" in out
    assert "+ METAFLOW_DEFAULT_DATASTORE = s3  (implied by METAFLOW_DATASTORE_SYSROOT_S3)" in out
    assert "  MigrationFunctionName: no [METAFLOW_*] tag" in out
    assert "  MetaflowUserRoleArn: no [METAFLOW_*] tag" in out
    assert "export METAFLOW_PROFILE=prod" in out
    assert "metaflow-config check --aws -p prod" in out
    _assert_clean(result)


def test_without_a_terminal_or_yes_nothing_is_written(account: Account) -> None:
    """No answer (the input ends): nothing written, and it says so; a no writes nothing."""
    account.deploy()
    result = _import("metaflow")
    assert result.exit_code == 1
    assert not (home() / "config.json").exists()
    if version("click").split(".")[:2] != ["8", "1"]:  # 8.1's CliRunner answers "" forever
        assert "nothing was written" in result.stderr  # as a pipe does: the input ends
        assert "--yes" in result.stderr
    assert "Changes to" in result.stdout  # the diff was shown before the question
    result = _import("metaflow", input="n\n")
    assert result.exit_code == 1
    assert "not written" in result.stderr
    assert not (home() / "config.json").exists()
    assert _import("metaflow", "--yes").exit_code == 0
    assert read(home() / "config.json")["METAFLOW_SERVICE_AUTH_KEY"] == CANARY


def test_keys_the_stack_does_not_set_are_kept(account: Account) -> None:
    """The profile's other keys stay; an alias of an imported setting goes; changes are shown."""
    account.deploy()
    path = write_json(
        home() / "config.json",
        {
            "METAFLOW_BATCH_EMIT_TAGS": True,
            "METAFLOW_JOB_QUEUE_NAME": "old-queue",
            "METAFLOW_SERVICE_URL": "https://old.example.com/api/",
            "METAFLOW_SERVICE_AUTH_KEY": "SEKRITold-key",
        },
    )
    result = _import("metaflow", "-y")
    assert result.exit_code == 0, result.stderr
    profile = read(path)
    assert profile["METAFLOW_BATCH_EMIT_TAGS"] is True
    assert "METAFLOW_JOB_QUEUE_NAME" not in profile
    assert profile["METAFLOW_BATCH_JOB_QUEUE"] == QUEUE_ARN
    assert profile["METAFLOW_SERVICE_URL"] == SERVICE_URL
    out = result.stdout
    assert "- METAFLOW_JOB_QUEUE_NAME (was old-queue)" in out
    assert f"~ METAFLOW_SERVICE_URL = {SERVICE_URL} (was https://old.example.com/api/)" in out
    assert "~ METAFLOW_SERVICE_AUTH_KEY = **** (was ****)" in out
    assert "Kept 1 key(s)" in out
    assert "SEKRIT" not in out + result.stderr


def test_an_alias_tag_and_registered_names_map_through_the_table(account: Account) -> None:
    """A tag naming an alias sets its setting; an unknown tag is listed with a did-you-mean."""
    account.deploy(
        outputs={
            "QueueName": {"Description": "Queue [METAFLOW_JOB_QUEUE_NAME]", "Value": "q1"},
            "Typo": {"Description": "Table [METAFLOW_SFN_DYNAMO_DB_TABEL]", "Value": "t"},
        }
    )
    result = _import("metaflow", "-y")
    assert result.exit_code == 0, result.stderr
    assert read(home() / "config.json") == {"METAFLOW_BATCH_JOB_QUEUE": "q1"}
    assert (
        "Typo: METAFLOW_SFN_DYNAMO_DB_TABEL is not a setting; did you mean "
        "METAFLOW_SFN_DYNAMO_DB_TABLE?"
    ) in result.stdout


# --- what is refused --------------------------------------------------------------------------


def test_an_invalid_output_names_the_output_the_setting_and_the_fix(account: Account) -> None:
    """One output the setting refuses: the error names it; nothing is written, not even the rest."""
    outputs = official_outputs(account.key_id)
    outputs["StepFunctionsRoleArn"]["Value"] = "not-a-role"
    account.deploy(outputs=outputs)
    path = write_json(home() / "config.json", {"METAFLOW_BATCH_EMIT_TAGS": True})
    before = path.read_bytes()
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    err = result.stderr
    assert "METAFLOW_SFN_IAM_ROLE" in err
    assert f"CloudFormation stack 'metaflow' in {REGION}: output StepFunctionsRoleArn" in err
    assert "expected an IAM role ARN" in err
    assert "Fix: correct the Value of output StepFunctionsRoleArn" in err
    assert "nothing was written" in err
    assert path.read_bytes() == before
    _assert_clean(result)


def test_two_outputs_with_one_tag_and_two_values_are_an_error(account: Account) -> None:
    """The same setting from two outputs that disagree: an error naming both (secrets masked)."""
    account.deploy(
        outputs={
            "QueueA": {"Description": "[METAFLOW_BATCH_JOB_QUEUE]", "Value": "queue-a"},
            "QueueB": {"Description": "[METAFLOW_BATCH_JOB_QUEUE]", "Value": "queue-b"},
            "Same1": {"Description": "[METAFLOW_SFN_DYNAMO_DB_TABLE]", "Value": "mf-t"},
            "Same2": {"Description": "[METAFLOW_SFN_DYNAMO_DB_TABLE]", "Value": "mf-t"},
            "ApiKeyId": {
                "Description": "Key ID [METAFLOW_SERVICE_AUTH_KEY]",
                "Value": account.key_id,
            },
            "ApiKey": {"Description": "[METAFLOW_SERVICE_AUTH_KEY]", "Value": "SEKRITother"},
        }
    )
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    err = result.stderr
    assert "2 problems" in err
    assert "outputs QueueA and QueueB" in err
    assert "QueueA = queue-a and QueueB = queue-b" in err
    assert "outputs ApiKey and ApiKeyId" in err
    assert "ApiKey = **** and ApiKeyId = ****" in err
    assert "SEKRIT" not in err + result.stdout
    assert not (home() / "config.json").exists()


def _not_found(account: Account) -> str:
    return "nope"


def _in_review(account: Account) -> str:
    """A stack made by a change set not yet executed: REVIEW_IN_PROGRESS, no outputs."""
    account.client("cloudformation").create_change_set(
        StackName="review",
        TemplateBody=template(official_outputs(account.key_id)),
        ChangeSetName="first",
        ChangeSetType="CREATE",
    )
    return "review"


def _deleted(account: Account) -> str:
    """A deleted stack, by its id (its name finds nothing): DELETE_COMPLETE."""
    stack_id = account.deploy("gone")
    account.client("cloudformation").delete_stack(StackName="gone")
    return stack_id


def _unrelated(account: Account) -> str:
    account.deploy("other", {"Web": {"Description": "The site", "Value": "https://example.com"}})
    return "other"


def _only_unknown_tags(account: Account) -> str:
    account.deploy("typos", {"Typo": {"Description": "[METAFLOW_BATCH_JOB_QEUE]", "Value": "q"}})
    return "typos"


def _only_empty(account: Account) -> str:
    account.deploy("blank", {"ServiceUrl": {"Description": "[METAFLOW_SERVICE_URL]", "Value": ""}})
    return "blank"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_not_found, "expected an existing stack", id="not-found"),
        pytest.param(_in_review, "found REVIEW_IN_PROGRESS", id="review-in-progress"),
        pytest.param(_deleted, "found DELETE_COMPLETE", id="deleted"),
        pytest.param(_unrelated, "expected Metaflow outputs", id="no-metaflow-outputs"),
        pytest.param(
            _only_unknown_tags,
            "named after a setting (none is; its outputs: Typo)",
            id="only-unknown-tags",
        ),
        pytest.param(_only_empty, "each output that names a setting is empty", id="only-empty"),
    ],
)
def test_a_stack_that_cannot_be_imported_is_named_with_its_region(
    account: Account, make: Any, expected: str
) -> None:
    """Not found, not complete, no Metaflow outputs: an error naming the stack and the region."""
    stack = make(account)
    result = _import(stack, "-y")
    assert result.exit_code == 1, result.stdout
    name = stack.split("/")[1] if stack.startswith("arn:") else stack
    assert f"CloudFormation stack {name!r} in {REGION}" in result.stderr
    assert expected in result.stderr
    assert not (home() / "config.json").exists()


def test_an_api_key_id_that_is_not_there(account: Account) -> None:
    """An ApiKeyId API Gateway does not know: an error naming the id, output and region."""
    outputs = official_outputs("nosuchkey1")
    account.deploy(outputs=outputs)
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    err = result.stderr
    assert "METAFLOW_SERVICE_AUTH_KEY (the API Gateway key 'nosuchkey1' in us-west-2" in err
    assert "output ApiKeyId of CloudFormation stack 'metaflow'" in err
    assert "aws apigateway get-api-keys --region us-west-2" in err
    assert not (home() / "config.json").exists()


def test_the_region_comes_from_the_option_the_stack_id_or_boto3(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--region, else a stack id's region, else boto3's; none at all is said with the fix."""
    stack_id = account.deploy()
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    assert "pass --region REGION" in result.stderr
    result = _import("metaflow", "--region", "eu-west-1", "-y")
    assert result.exit_code == 1
    assert "CloudFormation stack 'metaflow' in eu-west-1" in result.stderr
    assert _import(stack_id, "-y").exit_code == 0
    assert _import("metaflow", "--region", REGION, "-y").exit_code == 0


def test_without_credentials_the_error_names_the_stack(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS credentials at all: said for the stack and the region, nothing written."""
    account.deploy()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    assert f"CloudFormation stack 'metaflow' in {REGION}: expected AWS credentials" in (
        result.stderr
    )
    result = _import("metaflow", "--aws-profile", "nobody", "-y")
    assert result.exit_code == 1
    assert "AWS profile (--aws-profile): got 'nobody'" in result.stderr


@pytest.fixture
def botocore_debug() -> Iterator[list[str]]:
    """Every record the AWS libraries log, at DEBUG (botocore logs response bodies there)."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("botocore", "boto3", "urllib3")]
    levels = [lg.level for lg in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_the_api_key_is_never_logged(account: Account, botocore_debug: list[str]) -> None:
    """Reading the API key logs nothing that holds it (botocore's DEBUG response bodies)."""
    account.deploy()
    result = _import("metaflow", "-y")
    assert result.exit_code == 0, result.stderr
    assert botocore_debug, "botocore logged nothing at all: the capture does not work"
    assert not [r for r in botocore_debug if CANARY in r]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-cloudformation", "s", "team.json"], "give FILE or --from-cloudformation"),
        (["--from-cloudformation", "s", "--from-terraform", "t.json"], "not both"),
        (["--from-terraform", "t.json", "--region", "us-east-1"], "--region goes with"),
        (["--from-cloudformation", "s", "--merge"], "drop --merge"),
        (["--from-cloudformation", "s", "--lenient"], "--strict/--lenient are for FILE"),
        (["team.json", "--aws-profile", "p"], "--aws-profile goes with"),
        ([], "give FILE, or --from-cloudformation STACK"),
    ],
)
def test_options_that_mean_nothing_together_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """A FILE and a stack, two stacks, an option of the other source: exit 2, nothing asked."""
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "team.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    write_json(tmp_path / "t.json", {})
    result = invoke("import", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_an_endpoint_that_does_not_answer(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer from CloudFormation (nothing listens): said for the stack, as a connection
    refused at once (not "within the timeouts", which a refusal never waits for)."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    assert (
        f"CloudFormation stack 'metaflow' in {REGION}: expected an answer from CloudFormation "
        "(could not connect: EndpointConnectionError)"
    ) in result.stderr
    assert "check the network and the region" in result.stderr


def test_two_api_key_ids_are_an_error_before_any_is_read(account: Account) -> None:
    """Two outputs holding two API key ids: an error naming both; no key is fetched."""
    account.deploy(
        outputs={
            "ApiKeyId": {
                "Description": "Key ID [METAFLOW_SERVICE_AUTH_KEY]",
                "Value": account.key_id,
            },
            "OtherKeyId": {"Description": "Key ID [METAFLOW_SERVICE_AUTH_KEY]", "Value": "k2"},
        }
    )
    result = _import("metaflow", "-y")
    assert result.exit_code == 1
    assert "outputs ApiKeyId and OtherKeyId" in result.stderr
    assert "Fetched" not in result.stdout
    assert not (home() / "config.json").exists()
