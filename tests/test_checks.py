"""Live checks (``check --aws``) against a moto server and small HTTP servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from moto.server import ThreadedMotoServer

from metaflow_config import ConfigError, Settings, load
from metaflow_config._checks import CAPABILITIES, check, render, run_cli
from metaflow_config._probes import CHECKS, FAIL, PASS, SKIP, WARN, CheckResult
from metaflow_config._probes_aws import trusts

pytestmark = pytest.mark.aws

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
SECRET_KEY = "sekret-api-key-4711"
SECRET_TOKEN = "Bearer tok-0815"
LOG_GROUP = "/aws/vendedlogs/states/metaflow"
ROLES = {
    "MetaflowBatchRole": "ecs-tasks.amazonaws.com",
    "MetaflowFargateRole": "ecs-tasks.amazonaws.com",
    "MetaflowStepFunctionsRole": "states.amazonaws.com",
    "MetaflowEventsRole": "events.amazonaws.com",
    "BatchServiceRole": "batch.amazonaws.com",
}


def trust(service: str) -> str:
    """A trust policy that lets ``service`` assume the role."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def role_arn(name: str) -> str:
    """The ARN moto gives a role created without a path."""
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# --- servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server on 127.0.0.1 for the whole run (each test resets it)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class _Handler(BaseHTTPRequestHandler):
    """A metadata service stand-in: 200 on .../ping, 403 when ``server.key`` is not sent."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.headers)  # case-insensitive .get()
        if server.key and self.headers.get("x-api-key") != server.key:
            code = 403
        else:
            code = 200 if self.path.endswith("/ping") else 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        """Silence the request log."""


@pytest.fixture
def service() -> Iterator[Any]:
    """A small HTTP server on 127.0.0.1; ``.url``, ``.seen`` (request headers), ``.key``."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.seen, server.key = [], None
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server accepts connections (in the backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


# --- the AWS account --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no ~/.aws files, no instance metadata, no proxy."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def moto_clients(session: Any, url: str) -> Callable[..., Any]:
    """A client factory sending every client to the moto server."""

    def make(service: str, *, config: Any = None, region_name: str | None = None) -> Any:
        return session.client(service, config=config, region_name=region_name, endpoint_url=url)

    return make


@pytest.fixture(scope="session")
def shared_session() -> Any:
    """One boto3 session for the run (loading service models is the slow part of a client).

    Fake credentials of its own; the region comes from the environment. Tests that change
    credentials or region make their own session.
    """
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="session")
def setup_clients(shared_session: Any, moto_url: str) -> dict[str, Any]:
    """Clients (by service) that build the account on the moto server."""
    return {}


@pytest.fixture
def aws(moto_url: str, shared_session: Any, setup_clients: dict[str, Any]) -> Callable[[str], Any]:
    """A fresh, fully correct Metaflow account on the moto server; returns a client maker."""
    reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - http://127.0.0.1

    def client(service: str) -> Any:
        if service not in setup_clients:
            setup_clients[service] = shared_session.client(
                service, endpoint_url=moto_url, region_name=REGION
            )
        return setup_clients[service]

    client("s3").create_bucket(Bucket="mf-bucket")
    iam = client("iam")
    for name, principal in ROLES.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(principal))
    batch = client("batch")
    batch.create_compute_environment(
        computeEnvironmentName="mf-ce",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role_arn("BatchServiceRole"),
    )
    batch.create_job_queue(
        jobQueueName="mf-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "mf-ce"}],
    )
    make_table(client("dynamodb"), "mf-table", key="pathspec", ttl="ttl")
    client("logs").create_log_group(logGroupName=LOG_GROUP)
    return client


def make_table(dynamodb: Any, name: str, *, key: str, key_type: str = "S", ttl: str = "") -> None:
    """Create a DynamoDB table with one hash key, and TTL on ``ttl`` if given."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": key_type}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if ttl:
        spec = {"Enabled": True, "AttributeName": ttl}
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec)


def correct_env(service_url: str) -> dict[str, str]:
    """The METAFLOW_* settings of the correct account (every check configured)."""
    return {
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow",
        "METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "AES256",
        "METAFLOW_BATCH_JOB_QUEUE": "mf-queue",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": role_arn("MetaflowBatchRole"),
        "METAFLOW_ECS_FARGATE_EXECUTION_ROLE": role_arn("MetaflowFargateRole"),
        "METAFLOW_BATCH_CONTAINER_IMAGE": "metaflow/my-image:latest",
        "METAFLOW_BATCH_CONTAINER_REGISTRY": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        "METAFLOW_SFN_IAM_ROLE": role_arn("MetaflowStepFunctionsRole"),
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": role_arn("MetaflowEventsRole"),
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-table",
        "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN": (
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}"
        ),
        "METAFLOW_SERVICE_URL": service_url,
        "METAFLOW_SERVICE_INTERNAL_URL": service_url + "internal",
        "METAFLOW_SERVICE_AUTH_KEY": SECRET_KEY,
        "METAFLOW_SERVICE_HEADERS": json.dumps({"Authorization": SECRET_TOKEN}),
    }


def settings_of(env: dict[str, str], tmp_path: Path) -> Settings:
    """A snapshot of exactly ``env`` (an empty METAFLOW_HOME)."""
    home = tmp_path / "mfhome"
    home.mkdir(exist_ok=True)
    return load(env=env, home=home, cwd=tmp_path)


Runner = Callable[..., "dict[str, CheckResult]"]


@pytest.fixture
def run(moto_url: str, shared_session: Any) -> Runner:
    """``run(settings, **options)``: every check against moto (shared session); by name."""

    def run_checks(
        settings: Settings, *, session: Any = None, **options: Any
    ) -> dict[str, CheckResult]:
        session = shared_session if session is None else session
        options.setdefault("timeout", 5.0)
        options.setdefault("deadline", 30.0)
        factory = moto_clients(session, moto_url)
        results = check(settings, session=session, client_factory=factory, **options)
        return {r.name: r for r in results}

    return run_checks


def failing(results: dict[str, CheckResult]) -> set[str]:
    """The names of the failed checks."""
    return {name for name, r in results.items() if r.status == FAIL}


def assert_no_secrets(text: str) -> None:
    """Neither the API key nor the header value shows."""
    assert SECRET_KEY not in text
    assert "tok-0815" not in text


# --- a correct account, and one thing wrong -----------------------------------------------------


def test_correct_account_passes_every_check(
    aws: Any, run: Runner, service: Any, tmp_path: Path
) -> None:
    """A fully correct account and a live metadata service give PASS on every check."""
    service.key = SECRET_KEY
    settings = settings_of(correct_env(service.url), tmp_path)
    results = run(settings, write_probe=True)
    assert list(results)[:3] == ["aws.credentials", "aws.region", "s3.sysroot"]
    assert set(results) == {c.name for c in CHECKS}
    assert {n: r.detail for n, r in results.items() if r.status != PASS} == {}
    assert results["aws.region"].detail == f"{REGION} (from AWS_DEFAULT_REGION)"
    assert f"account {ACCOUNT}" in results["aws.credentials"].detail
    assert "AES256" in results["s3.write_probe"].detail
    objects = aws("s3").list_objects_v2(Bucket="mf-bucket").get("KeyCount")
    assert objects == 0  # the probe object was deleted
    assert_no_secrets("\n".join(str(r) for r in results.values()))


def _delete_bucket(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("s3").delete_bucket(Bucket="mf-bucket")


def _disable_queue(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("batch").update_job_queue(jobQueue="mf-queue", state="DISABLED")


def _unknown_queue(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_BATCH_JOB_QUEUE"] = "no-such-queue"


def _retrust(role: str, principal: str) -> Callable[[Callable[[str], Any], dict[str, str]], None]:
    def mutate(client: Callable[[str], Any], env: dict[str, str]) -> None:
        client("iam").update_assume_role_policy(RoleName=role, PolicyDocument=trust(principal))

    return mutate


def _delete_role(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("iam").delete_role(RoleName="MetaflowStepFunctionsRole")


def _role_in_other_account(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_SFN_IAM_ROLE"] = "arn:aws:iam::999999999999:role/MetaflowStepFunctionsRole"


def _table_without_ttl(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "no-ttl", key="pathspec")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "no-ttl"


def _table_ttl_elsewhere(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "ttl-expires", key="pathspec", ttl="expires")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "ttl-expires"


def _table_wrong_key(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "wrong-key", key="run_id", ttl="ttl")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "wrong-key"


def _table_numeric_key(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "numeric-key", key="pathspec", key_type="N", ttl="ttl")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "numeric-key"


def _no_table(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("dynamodb").delete_table(TableName="mf-table")


def _no_log_group(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("logs").delete_log_group(logGroupName=LOG_GROUP)


def _bad_image(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_BATCH_CONTAINER_IMAGE"] = "My-Image : latest"


def _bad_registry(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_BATCH_CONTAINER_REGISTRY"] = f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


@pytest.mark.parametrize(
    ("mutate", "name", "fix"),
    [
        pytest.param(_delete_bucket, "s3.sysroot", "aws s3 mb s3://mf-bucket", id="no-bucket"),
        pytest.param(
            _disable_queue,
            "batch.job_queue",
            f"aws batch update-job-queue --job-queue mf-queue --state ENABLED --region {REGION}",
            id="queue-disabled",
        ),
        pytest.param(
            _unknown_queue,
            "batch.job_queue",
            "aws batch create-job-queue --job-queue-name no-such-queue",
            id="queue-missing",
        ),
        pytest.param(
            _retrust("MetaflowBatchRole", "states.amazonaws.com"),
            "batch.job_role",
            "aws iam update-assume-role-policy --role-name MetaflowBatchRole",
            id="job-role-trust",
        ),
        pytest.param(
            _retrust("MetaflowFargateRole", "ec2.amazonaws.com"),
            "batch.fargate_execution_role",
            '"Service":"ecs-tasks.amazonaws.com"',
            id="fargate-role-trust",
        ),
        pytest.param(
            _retrust("MetaflowStepFunctionsRole", "ecs-tasks.amazonaws.com"),
            "sfn.iam_role",
            '"Service":"states.amazonaws.com"',
            id="sfn-role-trust",
        ),
        pytest.param(
            _retrust("MetaflowEventsRole", "states.amazonaws.com"),
            "sfn.events_role",
            "update-assume-role-policy --role-name MetaflowEventsRole",
            id="events-role-trust",
        ),
        pytest.param(
            _role_in_other_account,
            "sfn.iam_role",
            f"export METAFLOW_SFN_IAM_ROLE={role_arn('MetaflowStepFunctionsRole')}",
            id="sfn-role-other-account",
        ),
        pytest.param(
            _delete_role,
            "sfn.iam_role",
            "aws iam create-role --role-name MetaflowStepFunctionsRole",
            id="sfn-role-missing",
        ),
        pytest.param(
            _table_without_ttl,
            "sfn.dynamo_db_table",
            "aws dynamodb update-time-to-live --table-name no-ttl "
            "--time-to-live-specification Enabled=true,AttributeName=ttl",
            id="table-no-ttl",
        ),
        pytest.param(
            _table_ttl_elsewhere,
            "sfn.dynamo_db_table",
            "update-time-to-live --table-name ttl-expires",
            id="table-ttl-other-attribute",
        ),
        pytest.param(
            _table_wrong_key,
            "sfn.dynamo_db_table",
            "set METAFLOW_SFN_DYNAMO_DB_TABLE=<new>",
            id="table-wrong-key",
        ),
        pytest.param(
            _table_numeric_key,
            "sfn.dynamo_db_table",
            "AttributeName=pathspec,AttributeType=S",
            id="table-numeric-key",
        ),
        pytest.param(
            _no_table,
            "sfn.dynamo_db_table",
            "aws dynamodb create-table --table-name mf-table",
            id="table-missing",
        ),
        pytest.param(
            _no_log_group,
            "sfn.execution_log_group",
            f"aws logs create-log-group --log-group-name {LOG_GROUP} --region {REGION}",
            id="log-group-missing",
        ),
        pytest.param(
            _bad_image, "batch.container_image", "METAFLOW_BATCH_CONTAINER_IMAGE=", id="bad-image"
        ),
        pytest.param(
            _bad_registry,
            "batch.container_registry",
            "METAFLOW_BATCH_CONTAINER_REGISTRY=",
            id="registry-with-scheme",
        ),
    ],
)
def test_one_misconfiguration_fails_exactly_its_check(
    aws: Any,
    run: Runner,
    service: Any,
    tmp_path: Path,
    mutate: Callable[[Callable[[str], Any], dict[str, str]], None],
    name: str,
    fix: str,
) -> None:
    """Each single misconfiguration makes exactly its check FAIL, with the fix to run."""
    env = correct_env(service.url)
    mutate(aws, env)
    results = run(settings_of(env, tmp_path))
    assert failing(results) == {name}, {n: r.detail for n, r in results.items()}
    assert fix in results[name].fix
    assert {r.status for r in results.values()} <= {PASS, FAIL, SKIP}


def test_no_credentials_fails_only_the_credentials_check(
    aws: Any, run: Runner, service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials aws.credentials FAILs (fix: aws configure); AWS checks are SKIPped."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    results = run(settings_of(correct_env(service.url), tmp_path), session=boto3.Session())
    assert failing(results) == {"aws.credentials"}
    creds = results["aws.credentials"]
    assert "Unable to locate credentials" in creds.detail
    assert "aws configure" in creds.fix
    assert "AWS_ACCESS_KEY_ID" in creds.fix
    for name in ("s3.sysroot", "batch.job_queue", "batch.job_role", "sfn.dynamo_db_table"):
        assert results[name].status == SKIP
        assert "credentials" in results[name].detail
    assert results["service.url"].status == PASS  # not an AWS check


def test_missing_aws_profile_is_a_credentials_failure_listing_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An AWS profile that does not exist FAILs aws.credentials, naming the profiles there are."""
    config = tmp_path / "aws-config"
    config.write_text("[profile dev]\nregion = eu-west-1\n", encoding="utf-8")
    settings = settings_of({"METAFLOW_BATCH_JOB_QUEUE": "q"}, tmp_path)
    results = {r.name: r for r in check(settings, profile="prod", timeout=1, deadline=10)}
    assert failing(results) == {"aws.credentials"}
    assert "'prod'" in results["aws.credentials"].detail
    assert "dev" in results["aws.credentials"].detail
    assert "aws configure --profile prod" in results["aws.credentials"].fix
    assert results["batch.job_queue"].status == SKIP


def test_region_source_names_the_profile_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    """A region from the AWS config file is reported with the file and the profile section."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n", encoding="utf-8")
    settings = settings_of({}, tmp_path)
    session = boto3.Session(profile_name="dev")
    results = run(settings, session=session, capabilities=["s3"])
    assert results["aws.region"].status == PASS
    assert results["aws.region"].detail.startswith("eu-west-1 (from ")
    assert "[profile dev]" in results["aws.region"].detail


def test_no_region_fails_the_region_check_and_skips_regional_checks(
    aws: Any, run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No region anywhere: aws.region FAILs with the variable to set; Batch is SKIPped."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    env = {"METAFLOW_BATCH_JOB_QUEUE": "mf-queue"}
    results = run(settings_of(env, tmp_path), session=boto3.Session())
    assert results["aws.region"].status == FAIL
    assert "AWS_DEFAULT_REGION" in results["aws.region"].fix
    assert results["batch.job_queue"].status == SKIP
    assert "region" in results["batch.job_queue"].detail


# --- S3 ---------------------------------------------------------------------------------------


def test_write_probe_puts_and_deletes_under_the_prefix(
    aws: Any, moto_url: str, tmp_path: Path
) -> None:
    """--write-probe writes one object under the sysroot prefix and deletes it again."""
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/team/metaflow"}
    seen: list[str] = []
    session = boto3.Session()

    def factory(service: str, **kwargs: Any) -> Any:
        client = moto_clients(session, moto_url)(service, **kwargs)
        client.meta.events.register(
            "before-parameter-build.s3.PutObject",
            lambda params, **_: seen.append(f"{params['Bucket']}/{params['Key']}"),
        )
        return client

    results = check(
        settings_of(env, tmp_path),
        ["s3"],
        write_probe=True,
        session=session,
        client_factory=factory,
    )
    assert {r.name: r.status for r in results}["s3.write_probe"] == PASS
    assert len(seen) == 1
    assert seen[0].startswith("mf-bucket/team/metaflow/.metaflow-config-probe-")
    assert aws("s3").list_objects_v2(Bucket="mf-bucket").get("KeyCount") == 0


def test_write_probe_is_skipped_unless_asked(aws: Any, run: Runner, tmp_path: Path) -> None:
    """Without write_probe no object is written and s3.write_probe is SKIP."""
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow"}
    results = run(settings_of(env, tmp_path), capabilities=["s3"])
    assert results["s3.write_probe"].status == SKIP
    assert results["s3.sysroot"].status == PASS


def test_bucket_in_another_region_warns(aws: Any, run: Runner, tmp_path: Path) -> None:
    """A sysroot bucket in another region than the compute is a WARN naming both regions."""
    aws("s3").create_bucket(
        Bucket="mf-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-eu/metaflow"}
    result = run(settings_of(env, tmp_path), capabilities=["s3"])["s3.sysroot"]
    assert result.status == WARN
    assert "eu-west-1" in result.detail
    assert REGION in result.detail


# --- capabilities -----------------------------------------------------------------------------


def test_nothing_configured_skips_everything_but_credentials_and_region(
    run: Runner, tmp_path: Path
) -> None:
    """With no settings, every check but aws.credentials and aws.region is SKIPped."""
    results = run(settings_of({}, tmp_path))
    assert {n for n, r in results.items() if r.status != SKIP} == {"aws.credentials", "aws.region"}
    assert results["aws.credentials"].status == PASS


def test_asked_capability_fails_on_unset_settings(run: Runner, tmp_path: Path) -> None:
    """capabilities=["batch"]: the unset settings Batch needs FAIL; other families do not run."""
    results = run(settings_of({}, tmp_path), capabilities=["batch"])
    assert failing(results) == {"s3.sysroot", "batch.job_queue", "batch.job_role"}
    assert "export METAFLOW_BATCH_JOB_QUEUE=" in results["batch.job_queue"].fix
    assert not any(name.startswith(("sfn.", "service.")) for name in results)
    assert results["batch.fargate_execution_role"].status == SKIP  # optional


def test_service_capability_alone_makes_no_aws_call(service: Any, tmp_path: Path) -> None:
    """capabilities=["service"] runs only the service checks: no session, no boto3 clients."""
    env = {"METAFLOW_SERVICE_URL": service.url}
    results = check(settings_of(env, tmp_path), ["service"], timeout=2)
    assert [r.name for r in results] == ["service.url", "service.internal_url"]
    assert results[0].status == PASS


def test_unknown_capability_is_a_config_error(tmp_path: Path) -> None:
    """An unknown capability is refused with the list of known ones."""
    with pytest.raises(ConfigError, match="capabilities among s3"):
        check(settings_of({}, tmp_path), ["batch", "kubernetes"])
    assert "sfn-foreach" in CAPABILITIES


# --- the metadata service ---------------------------------------------------------------------


def test_service_check_sends_configured_headers_and_masks_them(
    service: Any, tmp_path: Path
) -> None:
    """The ping carries SERVICE_HEADERS and x-api-key; results name the headers, never values."""
    service.key = SECRET_KEY
    env = {
        "METAFLOW_SERVICE_URL": service.url,
        "METAFLOW_SERVICE_AUTH_KEY": SECRET_KEY,
        "METAFLOW_SERVICE_HEADERS": json.dumps({"Authorization": SECRET_TOKEN}),
    }
    results = check(settings_of(env, tmp_path), ["service"], timeout=2)
    assert results[0].status == PASS
    assert service.seen[0].get("x-api-key") == SECRET_KEY
    assert service.seen[0].get("Authorization") == SECRET_TOKEN
    assert "Authorization" in results[0].detail
    assert_no_secrets(repr(results))


def test_service_that_rejects_the_key_fails_with_the_auth_fix(service: Any, tmp_path: Path) -> None:
    """A 403 from the service FAILs service.url, pointing at METAFLOW_SERVICE_AUTH_KEY."""
    service.key = SECRET_KEY
    env = {"METAFLOW_SERVICE_URL": service.url, "METAFLOW_SERVICE_AUTH_KEY": "wrong-key"}
    result = check(settings_of(env, tmp_path), ["service"], timeout=2)[0]
    assert result.status == FAIL
    assert "HTTP 403" in result.detail
    assert "METAFLOW_SERVICE_AUTH_KEY" in result.fix
    assert "wrong-key" not in str(result)


def test_service_that_never_answers_times_out_cleanly(silent_url: str, tmp_path: Path) -> None:
    """A server that accepts and never answers FAILs after the timeout, with the URL to check."""
    env = {"METAFLOW_SERVICE_URL": silent_url}
    result = check(settings_of(env, tmp_path), ["service"], timeout=0.5, deadline=20)[0]
    assert result.status == FAIL
    assert "no answer within 0.5 s" in result.detail
    assert "METAFLOW_SERVICE_URL" in result.fix


def test_overall_deadline_bounds_a_stuck_check(silent_url: str, tmp_path: Path) -> None:
    """A check still running at the deadline is reported as FAIL instead of waited for."""
    env = {"METAFLOW_SERVICE_URL": silent_url}
    result = check(settings_of(env, tmp_path), ["service"], timeout=30, deadline=0.3)[0]
    assert result.status == FAIL
    assert "overall deadline of 0.3 s" in result.detail


def test_refused_connection_fails(tmp_path: Path) -> None:
    """Nobody listening on the service port: service.url FAILs naming the reason."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {"METAFLOW_SERVICE_URL": f"http://127.0.0.1:{port}"}
    result = check(settings_of(env, tmp_path), ["service"], timeout=2)[0]
    assert result.status == FAIL
    assert "refused" in result.detail.lower()


def test_unreachable_internal_url_only_warns(service: Any, silent_url: str, tmp_path: Path) -> None:
    """An internal URL that does not answer from here is a WARN about the containers' network."""
    env = {"METAFLOW_SERVICE_URL": service.url, "METAFLOW_SERVICE_INTERNAL_URL": silent_url}
    results = check(settings_of(env, tmp_path), ["service"], timeout=0.5)
    assert [r.status for r in results] == [PASS, WARN]
    assert "security groups" in results[1].fix


# --- pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(json.loads(trust("states.amazonaws.com")), True, id="plain"),
        pytest.param(trust("states.amazonaws.com"), True, id="json-string"),
        pytest.param(
            {
                "Statement": {
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "states.amazonaws.com"]},
                    "Action": ["sts:TagSession", "STS:AssumeRole"],
                }
            },
            True,
            id="lists-and-case",
        ),
        pytest.param(
            {
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            },
            False,
            id="deny",
        ),
        pytest.param(json.loads(trust("events.amazonaws.com")), False, id="other-service"),
        pytest.param(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            },
            False,
            id="account-principal",
        ),
    ],
)
def test_trust_policy_reading(document: Any, expected: bool) -> None:
    """trusts() accepts Allow + sts:AssumeRole for the service, in every shape IAM allows."""
    assert trusts(document, "states.amazonaws.com") is expected


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("python:3.11", True),
        ("metaflow/my-image:latest", True),
        ("localhost:5000/team/img", True),
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/img@sha256:{'a' * 64}", True),
        ("My-Image:latest", False),
        ("img : latest", False),
        ("https://registry/img", False),
        ("img:", False),
    ],
)
def test_image_reference_well_formed(tmp_path: Path, image: str, ok: bool) -> None:
    """batch.container_image accepts Docker references and refuses capitals, spaces, schemes."""
    env = {"METAFLOW_BATCH_CONTAINER_IMAGE": image}
    results = {r.name: r for r in check(settings_of(env, tmp_path), ["batch"], session=_NoAws())}
    assert (results["batch.container_image"].status == PASS) is ok


@pytest.mark.parametrize(
    ("image", "runs"),
    [
        pytest.param("localhost/img:1", "reg.example.com/team/localhost/img:1", id="localhost"),
        pytest.param("metaflow/img:1", "reg.example.com/team/metaflow/img:1", id="no-registry"),
        pytest.param("localhost:5000/img:1", "localhost:5000/img:1", id="own-registry"),
        pytest.param("other.example.com/img", "other.example.com/img", id="own-domain"),
    ],
)
def test_image_check_reports_the_image_batch_runs(tmp_path: Path, image: str, runs: str) -> None:
    """batch.container_image shows settings.batch.image: localhost/img gets the registry prefix."""
    env = {
        "METAFLOW_BATCH_CONTAINER_IMAGE": image,
        "METAFLOW_BATCH_CONTAINER_REGISTRY": "reg.example.com/team/",
    }
    settings = settings_of(env, tmp_path)
    assert settings.batch.image == runs
    results = {r.name: r for r in check(settings, ["batch"], session=_NoAws())}
    result = results["batch.container_image"]
    assert result.status == PASS
    assert result.detail.split(" ")[0] == runs
    assert ("names its own registry" in result.detail) is (runs == image)


def test_image_check_validates_the_joined_image(tmp_path: Path) -> None:
    """An image Metaflow prefixes with the registry is checked as joined (a capital fails)."""
    env = {
        "METAFLOW_BATCH_CONTAINER_IMAGE": "MyHost/img:1",
        "METAFLOW_BATCH_CONTAINER_REGISTRY": "reg.example.com",
    }
    results = {r.name: r for r in check(settings_of(env, tmp_path), ["batch"], session=_NoAws())}
    assert results["batch.container_image"].status == FAIL
    assert "'reg.example.com/MyHost/img:1'" in results["batch.container_image"].detail
    assert results["batch.container_registry"].status == PASS


def test_image_check_leaves_a_bad_registry_to_the_registry_check(tmp_path: Path) -> None:
    """A malformed registry fails batch.container_registry only; the image check is SKIP."""
    env = {
        "METAFLOW_BATCH_CONTAINER_IMAGE": "metaflow/img:1",
        "METAFLOW_BATCH_CONTAINER_REGISTRY": "https://reg.example.com",
    }
    results = {r.name: r for r in check(settings_of(env, tmp_path), ["batch"], session=_NoAws())}
    assert results["batch.container_registry"].status == FAIL
    assert results["batch.container_image"].status == SKIP
    assert "https://reg.example.com/metaflow/img:1" in results["batch.container_image"].detail


def test_sse_check_lists_the_choices_of_the_setting(tmp_path: Path) -> None:
    """s3.server_side_encryption names the values of the setting's kind (no list of its own)."""
    from metaflow_config._settings import lookup

    env = {"METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "aws:kms"}
    results = {r.name: r for r in check(settings_of(env, tmp_path), ["s3"], session=_NoAws())}
    result = results["s3.server_side_encryption"]
    assert result.status == PASS
    assert ", ".join(lookup("S3_SERVER_SIDE_ENCRYPTION").kind.choices) in result.detail


def test_ecr_registry_in_another_region_warns(tmp_path: Path) -> None:
    """An ECR registry outside the region in force is a WARN about cross-region pulls."""
    env = {"METAFLOW_BATCH_CONTAINER_REGISTRY": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"}
    results = {r.name: r for r in check(settings_of(env, tmp_path), ["batch"], session=_NoAws())}
    assert results["batch.container_registry"].status == WARN
    assert "eu-west-1" in results["batch.container_registry"].detail


class _NoAws:
    """A session stand-in whose clients must never be used (offline checks only)."""

    region_name = REGION
    profile_name = None

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise NoCredentialsError

    def get_credentials(self) -> None:
        return None


class _Stub:
    """A client whose methods return canned answers or raise canned errors."""

    def __init__(self, **answers: Any) -> None:
        self._answers = answers

    def __getattr__(self, name: str) -> Any:
        answer = self._answers[name]

        def call(**kwargs: Any) -> Any:
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


def stub_check(
    tmp_path: Path, env: dict[str, str], capabilities: list[str], **clients: Any
) -> dict[str, CheckResult]:
    """Run checks with stub clients, one per service."""

    def factory(service: str, **kwargs: Any) -> Any:
        return clients.get(service) or _Stub(
            get_caller_identity={"Arn": "arn:aws:iam::1:user/me", "Account": "1"}
        )

    results = check(
        settings_of(env, tmp_path), capabilities, session=_NoAws(), client_factory=factory
    )
    return {r.name: r for r in results}


def test_queue_without_compute_environment_fails(tmp_path: Path) -> None:
    """A job queue with no compute environment (or INVALID) FAILs with update-job-queue."""
    queue = {
        "jobQueueName": "q",
        "state": "ENABLED",
        "status": "INVALID",
        "statusReason": "CE gone",
    }
    batch = _Stub(describe_job_queues={"jobQueues": [{**queue, "computeEnvironmentOrder": []}]})
    env = {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    result = stub_check(tmp_path, env, ["batch"], batch=batch)["batch.job_queue"]
    assert result.status == FAIL
    assert "has no compute environment" in result.detail
    assert "INVALID (CE gone)" in result.detail
    assert "--compute-environment-order order=1,computeEnvironment=<env>" in result.fix


def test_queue_with_only_disabled_compute_environments_fails(tmp_path: Path) -> None:
    """A queue whose compute environments are all DISABLED FAILs with update-compute-environment."""
    queue = {
        "jobQueueName": "q",
        "state": "ENABLED",
        "status": "VALID",
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce1"}],
    }
    envs = [{"computeEnvironmentName": "ce1", "state": "DISABLED", "status": "VALID"}]
    batch = _Stub(
        describe_job_queues={"jobQueues": [queue]},
        describe_compute_environments={"computeEnvironments": envs},
    )
    result = stub_check(tmp_path, {"METAFLOW_BATCH_JOB_QUEUE": "q"}, ["batch"], batch=batch)
    assert result["batch.job_queue"].status == FAIL
    assert "update-compute-environment --compute-environment ce1 --state ENABLED" in (
        result["batch.job_queue"].fix
    )


def test_access_denied_on_iam_is_a_warning_naming_the_action(tmp_path: Path) -> None:
    """Not allowed iam:GetRole: the role check WARNs (cannot verify) and names the action."""
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not you"}}, "GetRole")
    env = {"METAFLOW_SFN_IAM_ROLE": role_arn("R")}
    iam = _Stub(get_role=denied)
    result = stub_check(tmp_path, env, ["sfn"], iam=iam, batch=_Stub())["sfn.iam_role"]
    assert result.status == WARN
    assert "iam:GetRole" in result.detail
    assert "grant iam:GetRole" in result.fix


@pytest.mark.parametrize("valid", [True, False], ids=["valid-credentials", "rejected-credentials"])
def test_forbidden_bucket_blames_credentials_only_when_sts_rejects_them(
    tmp_path: Path, valid: bool
) -> None:
    """A 403 on the bucket FAILs s3.sysroot, unless STS rejects the keys (then only credentials)."""
    forbidden = ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")
    rejected = ClientError(
        {"Error": {"Code": "InvalidClientTokenId", "Message": "bad key"}}, "GetCallerIdentity"
    )
    identity = {"Arn": "arn:aws:iam::1:user/me", "Account": "1"} if valid else rejected
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://theirs/mf"}
    s3, sts = _Stub(head_bucket=forbidden), _Stub(get_caller_identity=identity)
    results = stub_check(tmp_path, env, ["s3"], s3=s3, sts=sts)
    if valid:
        assert failing(results) == {"s3.sysroot"}
        assert "grant s3:ListBucket on arn:aws:s3:::theirs" in results["s3.sysroot"].fix
    else:
        assert failing(results) == {"aws.credentials"}
        assert "AWS rejected the credentials" in results["aws.credentials"].detail
        assert results["s3.sysroot"].status == SKIP


def test_network_errors_fail_with_the_proxy_fix(tmp_path: Path) -> None:
    """An endpoint that cannot be reached FAILs the check with network guidance."""
    from botocore.exceptions import EndpointConnectionError

    down = EndpointConnectionError(endpoint_url="https://batch.us-east-1.amazonaws.com")
    env = {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    result = stub_check(tmp_path, env, ["batch"], batch=_Stub(describe_job_queues=down))
    assert result["batch.job_queue"].status == FAIL
    assert "HTTPS_PROXY" in result["batch.job_queue"].fix


# --- command-line output ----------------------------------------------------------------------


class _Tty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_run_cli_prints_a_table_and_exits_1_on_failure(
    aws: Any, moto_url: str, shared_session: Any, service: Any, tmp_path: Path
) -> None:
    """run_cli prints every result and the fix, masks secrets, and exits 1 when any FAIL."""
    env = correct_env(service.url)
    _disable_queue(aws, env)
    out, err = io.StringIO(), io.StringIO()
    session = shared_session
    code = run_cli(
        settings_of(env, tmp_path),
        out=out,
        err=err,
        session=session,
        client_factory=moto_clients(session, moto_url),
    )
    assert code == 1
    text = out.getvalue()
    assert "FAIL  batch.job_queue" in text
    assert "fix: aws batch update-job-queue --job-queue mf-queue --state ENABLED" in text
    assert text.rstrip().splitlines()[-1].startswith(f"{len(CHECKS)} checks: ")
    assert err.getvalue() == ""  # not a terminal: no progress line
    assert_no_secrets(text)


def test_run_cli_progress_line_only_on_a_terminal(service: Any, tmp_path: Path) -> None:
    """On a terminal stderr gets a live progress line, cleared at the end; exit 0 when no FAIL."""
    err = _Tty()
    out = io.StringIO()
    env = {"METAFLOW_SERVICE_URL": service.url}
    code = run_cli(settings_of(env, tmp_path), capabilities=["service"], out=out, err=err)
    assert code == 0
    assert "checking: 0/2 done; waiting for service.url, service.internal_url" in err.getvalue()
    assert err.getvalue().endswith("\r\x1b[K")
    assert "checking" not in out.getvalue()


def test_render_shows_fix_under_failures() -> None:
    """render() prints status, name, detail, and the fix on the next line."""
    out = io.StringIO()
    render([CheckResult("a.b", FAIL, "broken", "do this"), CheckResult("c", PASS, "fine")], out)
    assert out.getvalue().splitlines() == [
        "FAIL  a.b  broken",
        "           fix: do this",
        "PASS  c    fine",
        "2 checks: 1 PASS, 1 FAIL",
    ]


def test_importing_checks_does_not_import_boto3() -> None:
    """metaflow_config._checks (and the package) import boto3 only when AWS checks run."""
    code = "import sys, metaflow_config._checks; print('boto3' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --- through metaflow_config.aws and the command line ------------------------------------------


def test_aws_check_uses_the_aws_module_session_and_clients(
    aws: Any, moto_url: str, service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """metaflow_config.aws.check() runs every check through aws.session()/aws.client()."""
    from metaflow_config import aws as aws_module

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # boto3's own endpoint override
    service.key = SECRET_KEY
    results = aws_module.check(settings_of(correct_env(service.url), tmp_path), write_probe=True)
    assert {r.name: r.status for r in results} == {c.name: PASS for c in CHECKS}
    assert isinstance(results[0], aws_module.CheckResult)


def test_cli_check_aws_exit_status_and_fix(
    aws: Any,
    moto_url: str,
    service: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`metaflow-config check --aws` exits 0 when all pass, 1 with the fix when one FAILs."""
    from metaflow_config.cli import main

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    service.key = SECRET_KEY
    for name, value in correct_env(service.url).items():
        monkeypatch.setenv(name, value)
    assert main(["check", "--aws"]) == 0
    first = capsys.readouterr().out
    assert f"{len(CHECKS)} checks: {len(CHECKS) - 1} PASS, 1 SKIP" in first  # no --write-probe
    _disable_queue(aws, {})
    for name in ("METAFLOW_SERVICE_URL", "METAFLOW_SERVICE_INTERNAL_URL"):
        monkeypatch.delenv(name)  # offline, --require batch refuses a loopback service URL
    code = main(["check", "--aws", "--require", "batch"])
    second, err = capsys.readouterr()
    assert code == 1, err
    assert "FAIL  batch.job_queue" in second, err
    assert "--state ENABLED" in second
    assert "sfn." not in second  # only what Batch needs
    assert_no_secrets(first + second)


def test_cli_write_probe_needs_aws(capsys: pytest.CaptureFixture[str]) -> None:
    """--write-probe and --aws-profile without --aws are usage errors (exit 2)."""
    from metaflow_config.cli import main

    assert main(["check", "--write-probe"]) == 2
    assert "--aws" in capsys.readouterr().err
