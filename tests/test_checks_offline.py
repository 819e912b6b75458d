"""Live checks (``check --aws``) with no account: trust policies, images, stubbed AWS answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from metaflow_config._checks.checks import check
from metaflow_config._checks.probes import FAIL, PASS, SKIP, WARN, CheckResult
from metaflow_config._checks.probes_aws import trusts
from tests._checks_helpers import (
    ACCOUNT,
    REGION,
    failing,
    role_arn,
    settings_of,
    trust,
)
from tests.conftest import invoke

pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("_aws_env")]


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
    """batch.container_image accepts Docker references and refuses capitals, spaces, schemes;
    offline, `check` warns of what the live check refuses by its form alone."""
    env = {"METAFLOW_BATCH_CONTAINER_IMAGE": image}
    results = {r.name: r for r in check(settings_of(env, tmp_path), ["batch"], session=_NoAws())}
    assert (results["batch.container_image"].status == PASS) is ok
    offline = invoke("check", env=env)
    assert offline.exit_code == 0, offline.stderr
    said = "METAFLOW_BATCH_CONTAINER_IMAGE is not an image reference" in offline.stderr
    assert said is not ok, offline.stderr
    if said:  # where it is set, and the value to give
        assert "(set in env: METAFLOW_BATCH_CONTAINER_IMAGE)" in offline.stderr
        assert "set it to <name>:<tag>" in offline.stderr


def test_offline_check_warns_of_a_registry_not_well_formed() -> None:
    """A registry given as a URL: `check --aws` fails it on its form; `check` warns of it."""
    env = {"METAFLOW_BATCH_CONTAINER_REGISTRY": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"}
    offline = invoke("check", env=env)
    assert "METAFLOW_BATCH_CONTAINER_REGISTRY is not a registry host" in offline.stderr


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
    from metaflow_config._snapshot.settings import lookup

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


def test_network_errors_in_a_region_botocore_does_not_know_name_the_region(
    tmp_path: Path,
) -> None:
    """In a mistyped region (us-weast-2) no endpoint answers: the failures say to correct the
    region, not to look at proxies and VPNs (they did, beside aws.region's warning)."""
    from botocore.exceptions import EndpointConnectionError

    class _Mistyped(_NoAws):
        region_name = "us-weast-2"

    down = EndpointConnectionError(endpoint_url="https://batch.us-weast-2.amazonaws.com")

    def factory(service: str, **kwargs: Any) -> Any:
        return _Stub(describe_job_queues=down, get_caller_identity=down)

    env = {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    results = check(
        settings_of(env, tmp_path), ["batch"], session=_Mistyped(), client_factory=factory
    )
    failed = {r.name: r for r in results if r.status == FAIL}
    assert {"aws.credentials", "batch.job_queue"} <= set(failed), failed
    for result in (failed["aws.credentials"], failed["batch.job_queue"]):
        assert "us-weast-2 is no region botocore knows" in result.fix, result
        assert "HTTPS_PROXY" not in result.fix


def test_a_config_error_met_by_a_check_is_reported_with_its_own_fix(tmp_path: Path) -> None:
    """A ConfigError inside a check (a reference it could not fetch, a value a client refused)
    FAILs with the problem's own text and fix, not as an "unexpected error"."""
    from metaflow_config import ConfigError
    from metaflow_config.errors import Problem

    refused = ConfigError(
        [Problem.missing("METAFLOW_X", "a value the client takes", "set METAFLOW_X to one")]
    )
    env = {"METAFLOW_BATCH_JOB_QUEUE": "q"}
    result = stub_check(tmp_path, env, ["batch"], batch=_Stub(describe_job_queues=refused))
    queue = result["batch.job_queue"]
    assert queue.status == FAIL
    assert "unexpected" not in queue.detail
    assert "METAFLOW_X: expected a value the client takes" in queue.detail
    assert queue.fix == "set METAFLOW_X to one"


def test_aws_client_s_missing_region_is_classified_as_the_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``aws.client()`` without a region raises the ConfigError the checks read as "region"."""
    import boto3

    from metaflow_config import ConfigError, aws
    from metaflow_config._checks.probes import classify

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    no_region = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y")
    with pytest.raises(ConfigError) as info:
        aws.client("sts", settings_of({}, tmp_path), boto_session=no_region)
    assert classify(info.value) == "region"
