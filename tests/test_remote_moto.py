"""A Batch job and a Step Functions state machine on moto carry to_env into a fresh process.

The tests run on a moto server on 127.0.0.1 (``aws_env``): what the APIs give back becomes the
whole environment of a fresh process, and that process resolves what this one did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import Settings, load
from metaflow_config._model.table import FIELDS
from metaflow_config._model.values import thaw
from tests._remote_helpers import ROLE, SECRET, assert_same_where_it_travels
from tests.conftest import write_json

# --- Batch and Step Functions on moto, then a fresh process -----------------------------------

_RESOLVE_IN_A_FRESH_PROCESS = """
import json, sys
from metaflow_config import load
from metaflow_config._model.table import FIELDS
s = load(home=sys.argv[1], cwd=sys.argv[2])
print(json.dumps({f.env: s[f.env] for f in FIELDS}))
"""


def _everywhere(tmp_path: Path, endpoint: str) -> Settings:
    """A configuration spread over every layer, with every kind of value that travels."""
    home, project = tmp_path / "home", tmp_path / "project"
    write_json(
        home / "config_prod.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow",
            "METAFLOW_BATCH_JOB_QUEUE": "shadowed-by-the-alias",
            "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE + "mf-batch",
            "METAFLOW_SFN_IAM_ROLE": ROLE + "mf-sfn",
            "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": ROLE + "mf-events",
            "METAFLOW_SERVICE_URL": "https://mf.example.com/api",
            "METAFLOW_SERVICE_INTERNAL_URL": "http://mf-internal.vpc:8080/api",
            "METAFLOW_SERVICE_AUTH_KEY": SECRET,
            "METAFLOW_SERVICE_HEADERS": {"x-team": "ml", "x-note": 'a "quoted" é'},
            "METAFLOW_BATCH_EMIT_TAGS": True,
            "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml", "cost-center": "42"},
            "METAFLOW_S3_CLIENT_RETRY_CONFIG": {"max_attempts": 4, "mode": "standard"},
            "METAFLOW_CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT": 7,
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/home/me/mf",
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN": (
                "arn:aws:logs:us-east-1:123456789012:log-group:/mf/sfn:*"
            ),
            "METAFLOW_SFN_STATE_MACHINE_PREFIX": "team",
            "METAFLOW_DEFAULT_DATASTORE": "s3",  # sensitive: the profile's, not a project's
            "METAFLOW_DATATOOLS_SUFFIX": "datasets",  # so are these
            "METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
        },
    )
    write_json(
        project / ".metaflow" / "config.json",
        {
            "METAFLOW_S3_WORKER_COUNT": 16,
            "METAFLOW_KUBERNETES_GPU_VENDOR": "amd",
        },
    )
    env = {
        "METAFLOW_HOME": str(home),
        "METAFLOW_PROFILE": "prod",
        "METAFLOW_JOB_QUEUE_NAME": "mf-queue",
        "METAFLOW_S3_ENDPOINT_URL": endpoint,
        "METAFLOW_S3_VERIFY_CERTIFICATE": "no",
        "METAFLOW_DEBUG_S3CLIENT": "on",
        "METAFLOW_TEMPDIR": "/scratch/tmp",
        "USER": "alice",
    }
    overrides = {
        "SFN_DYNAMO_DB_TABLE": "mf-foreach",
        "DATATOOLS_CLIENT_PARAMS": {"region_name": "us-east-1"},
        "SPIN_ALLOWED_DECORATORS": ["card", "timeout"],
        "KUBERNETES_SHARED_MEMORY": 256,
    }
    return load(env=env, cwd=project, overrides=overrides)


def _resolve_fresh(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Resolve in a new process whose environment is exactly ``env`` (no profile file)."""
    empty = tmp_path / "container"
    empty.mkdir(exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", _RESOLVE_IN_A_FRESH_PROCESS, str(empty / "home"), str(empty)],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _check_what_came_back(
    came_back: dict[str, str], s: Settings, target: str, tmp_path: Path
) -> None:
    metaflow = {k: v for k, v in came_back.items() if k.startswith("METAFLOW_")}
    assert metaflow == s.to_env(target)
    assert "METAFLOW_DATASTORE_SYSROOT_LOCAL" not in metaflow
    assert "METAFLOW_TEMPDIR" not in metaflow
    assert metaflow["METAFLOW_SERVICE_URL"] == "http://mf-internal.vpc:8080/api"
    fresh = _resolve_fresh(came_back, tmp_path)
    assert_same_where_it_travels(fresh, s, target)
    assert fresh["METAFLOW_DATATOOLS_S3ROOT"] == "s3://mf-bucket/metaflow/datasets"
    assert fresh["METAFLOW_DATASTORE_SYSROOT_LOCAL"] is None


@pytest.mark.aws
def test_batch_job_environment_resolves_the_same_in_the_container(
    aws_env: str, tmp_path: Path
) -> None:
    """A Batch job submitted with to_env('batch') gives it back intact; a fresh process agrees."""
    from metaflow_config import aws

    s = _everywhere(tmp_path, aws_env)
    iam = aws.client("iam", s, endpoint_url=aws_env)
    service_role = iam.create_role(
        RoleName="batch-service", AssumeRolePolicyDocument=json.dumps({"Statement": []})
    )["Role"]["Arn"]
    batch = aws.client("batch", s, endpoint_url=aws_env)
    batch.create_compute_environment(
        computeEnvironmentName="mf-ce", type="UNMANAGED", state="ENABLED", serviceRole=service_role
    )
    batch.create_job_queue(
        jobQueueName=s.batch.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "mf-ce"}],
    )
    definition = batch.register_job_definition(
        jobDefinitionName="mf-job",
        type="container",
        containerProperties={
            "image": s.batch.image,
            "jobRoleArn": s.batch.job_role,
            "command": ["true"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
    )
    job = batch.submit_job(
        jobName="start",
        jobQueue=s.batch.job_queue,
        jobDefinition=definition["jobDefinitionArn"],
        containerOverrides={
            "environment": s.batch.container_environment({"AWS_DEFAULT_REGION": aws.region(s)})
        },
        tags=s.batch.job_tags,
    )
    [described] = batch.describe_jobs(jobs=[job["jobId"]])["jobs"]
    assert described["jobQueue"].endswith(":job-queue/mf-queue")
    assert described["tags"] == {"team": "ml", "cost-center": "42"}
    came_back = {e["name"]: e["value"] for e in described["container"]["environment"]}
    assert came_back["AWS_DEFAULT_REGION"] == "us-east-1"
    _check_what_came_back(came_back, s, "batch", tmp_path)


@pytest.mark.aws
def test_state_machine_environment_resolves_the_same_in_the_container(
    aws_env: str, tmp_path: Path
) -> None:
    """A state machine whose Batch task carries to_env('sfn') reads back; a fresh process agrees."""
    from metaflow_config import aws

    s = _everywhere(tmp_path, aws_env)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/mf-job:1",
            "JobName": "start",
            "JobQueue": s.batch.job_queue,
            "ContainerOverrides": {"Environment": s.sfn.container_environment()},
        },
        "End": True,
    }
    sfn = aws.client("stepfunctions", s, endpoint_url=aws_env)
    created = sfn.create_state_machine(
        name=s.sfn.state_machine_name("RemoteFlow"),
        definition=json.dumps({"StartAt": "start", "States": {"start": task}}),
        roleArn=s.sfn.iam_role,
        loggingConfiguration=s.sfn.logging_configuration(True),
    )
    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["name"] == "team_RemoteFlow"
    assert described["roleArn"] == ROLE + "mf-sfn"
    overrides = json.loads(described["definition"])["States"]["start"]["Parameters"]
    came_back = {e["Name"]: e["Value"] for e in overrides["ContainerOverrides"]["Environment"]}
    _check_what_came_back(came_back, s, "sfn", tmp_path)


def test_the_fresh_process_sees_only_its_environment(tmp_path: Path) -> None:
    """The subprocess helper really isolates: an empty environment resolves to the defaults."""
    fresh = _resolve_fresh({}, tmp_path)
    baseline = load(env={}, home=tmp_path / "none", cwd=tmp_path / "container")
    assert fresh == {f.env: thaw(baseline[f.env]) for f in FIELDS}
    assert os.environ.get("METAFLOW_HOME")  # while this process has one (conftest)
