"""Constants and helpers shared by the tests of the live checks (tests/test_checks_*.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metaflow_config import Settings, load
from metaflow_config._checks.probes import FAIL, CheckResult

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


def moto_clients(session: Any, url: str) -> Callable[..., Any]:
    """A client factory sending every client to the moto server."""

    def make(service: str, *, config: Any = None, region_name: str | None = None) -> Any:
        return session.client(service, config=config, region_name=region_name, endpoint_url=url)

    return make


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
        "METAFLOW_DEFAULT_DATASTORE": "s3",
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
        # kept in Secrets Manager: fetched by the secrets.references check
        "METAFLOW_AWS_SANDBOX_API_KEY": "{{resolve:secretsmanager:mf/sandbox-key}}",
        "METAFLOW_SERVICE_HEADERS": json.dumps({"Authorization": SECRET_TOKEN}),
    }


def settings_of(env: dict[str, str], tmp_path: Path) -> Settings:
    """A snapshot of exactly ``env`` (an empty METAFLOW_HOME)."""
    home = tmp_path / "mfhome"
    home.mkdir(exist_ok=True)
    return load(env=env, home=home, cwd=tmp_path)


Runner = Callable[..., "dict[str, CheckResult]"]


def failing(results: dict[str, CheckResult]) -> set[str]:
    """The names of the failed checks."""
    return {name for name, r in results.items() if r.status == FAIL}


def assert_no_secrets(text: str) -> None:
    """Neither the API key nor the header value shows."""
    assert SECRET_KEY not in text
    assert "tok-0815" not in text


def _disable_queue(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("batch").update_job_queue(jobQueue="mf-queue", state="DISABLED")
