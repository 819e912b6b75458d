"""The consumers' accessors: S3 datastore, Batch image, tags and environment, Step Functions."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from metaflow_config import ConfigError, ConfigWarning
from metaflow_config._snapshot.export import OVERRIDES_LIMIT
from tests._remote_helpers import ROLE, SECRET, _load

# --- the consumers' accessors -----------------------------------------------------------------


def test_s3_datastore_accessors(tmp_path: Path) -> None:
    """sysroot, datatools and card roots, client kwargs (a fresh copy) and upload arguments."""
    s = _load(
        tmp_path,
        DATASTORE_SYSROOT_S3="s3://mf-bucket/mf/",
        S3_ENDPOINT_URL="https://minio.example",
        S3_SERVER_SIDE_ENCRYPTION="aws:kms",
    )
    assert (s.s3.sysroot, s.s3.datatools_root, s.s3.card_root) == (
        "s3://mf-bucket/mf/",
        "s3://mf-bucket/mf/data",
        "s3://mf-bucket/mf/mf.cards",
    )
    kwargs = s.s3.client_kwargs
    assert kwargs == {
        "endpoint_url": "https://minio.example",
        "config": {"retries": {"max_attempts": 10, "mode": "adaptive"}},
    }
    kwargs["config"]["retries"]["max_attempts"] = 0
    assert s.s3.client_retry_config == {"max_attempts": 10, "mode": "adaptive"}
    assert s.s3.upload_args == {"ServerSideEncryption": "aws:kms"}
    assert _load(tmp_path).s3.upload_args == {}


@pytest.mark.parametrize(
    ("env", "requested", "image"),
    [
        pytest.param({}, None, "python:{}.{}".format(*sys.version_info[:2]), id="python-fallback"),
        pytest.param(
            {"BATCH_CONTAINER_REGISTRY": "123.dkr.ecr.us-east-1.amazonaws.com/"},
            None,
            "123.dkr.ecr.us-east-1.amazonaws.com/python:{}.{}".format(*sys.version_info[:2]),
            id="fallback-with-registry",
        ),
        pytest.param(
            {"BATCH_CONTAINER_IMAGE": "mf/img:1", "BATCH_CONTAINER_REGISTRY": "reg.io"},
            None,
            "reg.io/mf/img:1",
            id="configured-with-registry",
        ),
        pytest.param(
            {
                "DEFAULT_CONTAINER_IMAGE": "other.io/img@sha256:ab",
                "BATCH_CONTAINER_REGISTRY": "r.io",
            },
            None,
            "other.io/img@sha256:ab",
            id="image-names-its-registry",
        ),
        pytest.param(
            {"BATCH_CONTAINER_IMAGE": "mf/img:1", "BATCH_CONTAINER_REGISTRY": "reg.io"},
            "localhost:5000/step:2",
            "localhost:5000/step:2",
            id="step-image",
        ),
    ],
)
def test_batch_image(
    tmp_path: Path, env: dict[str, str], requested: str | None, image: str
) -> None:
    """The image falls back to python:<major>.<minor>; the registry prefixes images without one."""
    s = _load(tmp_path, **env)
    assert s.batch.image_for(requested) == image
    if requested is None:
        assert s.batch.image == image


def test_batch_tags_need_emit_tags(tmp_path: Path) -> None:
    """BATCH_DEFAULT_TAGS are the job tags with BATCH_EMIT_TAGS; without it, a warning, no tags."""
    tags = {"team": "ml"}
    assert _load(tmp_path, BATCH_DEFAULT_TAGS=tags, BATCH_EMIT_TAGS="1").batch.job_tags == tags
    with pytest.warns(ConfigWarning, match="METAFLOW_BATCH_EMIT_TAGS is off"):
        assert _load(tmp_path, BATCH_DEFAULT_TAGS=tags).batch.job_tags == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _load(tmp_path).batch.job_tags == {}


def test_batch_container_environment(tmp_path: Path) -> None:
    """The job's environment list is to_env('batch') plus the launcher's variables (they win)."""
    s = _load(tmp_path, BATCH_JOB_QUEUE="q", DEFAULT_DATASTORE="local", SERVICE_AUTH_KEY=SECRET)
    env = s.batch.container_environment({"METAFLOW_DEFAULT_DATASTORE": "s3", "AWS_X": "1"})
    assert env == [
        {"name": "METAFLOW_DEFAULT_DATASTORE", "value": "s3"},
        {"name": "METAFLOW_SERVICE_AUTH_KEY", "value": SECRET},
        {"name": "METAFLOW_BATCH_JOB_QUEUE", "value": "q"},
        {"name": "AWS_X", "value": "1"},
    ]
    assert SECRET not in repr(env)  # the secret's value is text whose repr masks it
    sfn = _load(tmp_path, SERVICE_AUTH_KEY=SECRET).sfn.container_environment()
    assert SECRET not in repr(sfn)
    assert [e["Value"] for e in sfn if e["Name"] == "METAFLOW_SERVICE_AUTH_KEY"] == [SECRET]
    with pytest.raises(ConfigError, match="container environment for AWS Batch"):
        s.batch.container_environment({"METAFLOW_CODE_URL": "s3://b/" + "c" * 9000})


@pytest.mark.parametrize(
    ("env", "flow", "name"),
    [
        pytest.param({}, "MyFlow", "MyFlow", id="no-prefix"),
        pytest.param({"SFN_STATE_MACHINE_PREFIX": "team"}, "MyFlow", "team_MyFlow", id="prefix"),
        pytest.param(
            {"SFN_STATE_MACHINE_PREFIX": "team"}, "team_MyFlow", "team_MyFlow", id="not-twice"
        ),
        pytest.param(
            {"AWS_SANDBOX_ENABLED": "true", "AWS_SANDBOX_STACK_NAME": "sbx"},
            "MyFlow",
            "sbx_MyFlow",
            id="sandbox-stack",
        ),
    ],
)
def test_state_machine_name(tmp_path: Path, env: dict[str, str], flow: str, name: str) -> None:
    """The state machine of a flow carries SFN_STATE_MACHINE_PREFIX (the sandbox's stack name)."""
    assert _load(tmp_path, **env).sfn.state_machine_name(flow) == name


@pytest.mark.parametrize(
    ("prefix", "flow", "match"),
    [
        pytest.param("t", "a/b", "state machine name", id="slash-in-name"),
        pytest.param("x" * 70, "F" * 10, "at most 80 characters, found 81", id="too-long"),
    ],
)
def test_invalid_state_machine_names(tmp_path: Path, prefix: str, flow: str, match: str) -> None:
    """A name AWS would refuse is a ConfigError naming what is at fault."""
    s = _load(tmp_path, SFN_STATE_MACHINE_PREFIX=prefix)
    with pytest.raises(ConfigError, match=match):
        s.sfn.state_machine_name(flow)


@pytest.mark.parametrize("prefix", ["my team", "a/b", "x" * 80])
def test_invalid_state_machine_prefix_fails_resolution(tmp_path: Path, prefix: str) -> None:
    """A prefix no state machine name could carry is refused when settings resolve."""
    with pytest.raises(ConfigError, match="METAFLOW_SFN_STATE_MACHINE_PREFIX"):
        _load(tmp_path, SFN_STATE_MACHINE_PREFIX=prefix)


def test_step_functions_accessors(tmp_path: Path) -> None:
    """Roles, table, distributed-map output, logging configuration, compression flag."""
    s = _load(
        tmp_path,
        DATASTORE_SYSROOT_S3="s3://mf-bucket/mf",
        SFN_IAM_ROLE=ROLE + "sfn",
        EVENTS_SFN_ACCESS_IAM_ROLE=ROLE + "events",
        SFN_DYNAMO_DB_TABLE="mf-table",
        SFN_EXECUTION_LOG_GROUP_ARN="arn:aws:logs:us-east-1:123456789012:log-group:/mf/sfn",
        SFN_COMPRESS_STATE_MACHINE="yes",
    )
    sfn = s.sfn
    assert (sfn.iam_role, sfn.events_role, sfn.dynamo_db_table) == (
        ROLE + "sfn",
        ROLE + "events",
        "mf-table",
    )
    assert sfn.distributed_map_output == ("mf-bucket", "mf/sfn_distributed_map_output")
    assert sfn.compress_state_machine is True
    assert sfn.logging_configuration(False) == {"level": "OFF"}
    assert sfn.logging_configuration(True) == {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [
            {
                "cloudWatchLogsLogGroup": {
                    "logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/mf/sfn:*"
                }
            }
        ],
    }
    assert _load(tmp_path).sfn.distributed_map_output is None


def test_execution_logging_without_a_log_group_says_how_to_set_it(tmp_path: Path) -> None:
    """Asking for execution history without SFN_EXECUTION_LOG_GROUP_ARN names it and the fix."""
    with pytest.raises(ConfigError, match="METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN is not set") as e:
        _load(tmp_path).sfn.logging_configuration(True)
    assert "export METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN=arn:aws:logs:" in str(e.value)


def test_sfn_container_environment_counts_the_launchers_variables(tmp_path: Path) -> None:
    """ContainerOverrides.Environment is PascalCase; the limit applies to it with the extras."""
    s = _load(tmp_path, BATCH_JOB_QUEUE="q")
    assert s.sfn.container_environment({"METAFLOW_CODE_URL": "s3://b/c"}) == [
        {"Name": "METAFLOW_BATCH_JOB_QUEUE", "Value": "q"},
        {"Name": "METAFLOW_CODE_URL", "Value": "s3://b/c"},
    ]
    with pytest.raises(ConfigError, match="largest: METAFLOW_CODE_URL"):
        s.sfn.container_environment({"METAFLOW_CODE_URL": "s3://b/" + "c" * OVERRIDES_LIMIT})
