"""The settings table, continued: the AWS consumers (S3, datatools, service, Batch, Step Functions).

Declarations only: what these consumers compute from the settings (the S3 client arguments, the
Batch image and container environment, the state machine name) lives in ``_snapshot.views``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fields import (
    PREFIX,
    Context,
    Derive,
    Renamed,
    Section,
    old_attribute,
    same_as,
    setting,
    under,
)
from .kinds import (
    AWS_ENDPOINT,
    AZURE_ROOT,
    BOOL,
    CLIENT_PARAMS,
    DYNAMO_TABLE,
    GS_URL,
    HEADERS,
    IAM_ROLE_ARN,
    JSON_OBJECT,
    LOG_GROUP_ARN,
    PATH,
    RETRY_CONFIG,
    S3_RETRIES,
    S3_TRANSIENT_RETRIES,
    S3_URL,
    S3_WORKERS,
    SERVICE_RETRIES,
    SFN_NAME_PREFIX,
    STR,
    TAGS,
    URL,
    VERIFY,
    choice,
)

__all__ = ["S3", "Batch", "Datatools", "Service", "StepFunctions"]


def _internal_url(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    if values["AWS_SANDBOX_ENABLED"]:
        name = "AWS_SANDBOX_INTERNAL_SERVICE_URL"
        return values[name], PREFIX + name
    return values["SERVICE_URL"], PREFIX + "SERVICE_URL"


def _state_machine_prefix(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    if values["AWS_SANDBOX_ENABLED"]:
        return values["AWS_SANDBOX_STACK_NAME"], PREFIX + "AWS_SANDBOX_STACK_NAME"
    return None, PREFIX + "AWS_SANDBOX_ENABLED"


class S3(Section):
    """Talking to S3 (endpoint, TLS, encryption, retries)."""

    endpoint_url: str | None = setting(
        "S3_ENDPOINT_URL",
        AWS_ENDPOINT,
        "endpoint_url for boto3 S3 clients (MinIO, VPC endpoints).",
        sensitive=True,
    )
    verify_certificate: bool | str | None = setting(
        "S3_VERIFY_CERTIFICATE",
        VERIFY,
        "Verify S3 TLS certificates: a boolean or a CA bundle.",
        sensitive=True,
    )
    server_side_encryption: str | None = setting(
        "S3_SERVER_SIDE_ENCRYPTION",
        choice("AES256", "aws:kms", "aws:kms:dsse"),
        "ServerSideEncryption for S3 uploads.",
        sensitive=True,  # a profile's aws:kms is not downgraded by a repository
    )
    retry_count: int = setting(
        "S3_RETRY_COUNT", S3_RETRIES, "Retries of failed S3 operations.", default=7
    )
    worker_count: int = setting(
        "S3_WORKER_COUNT", S3_WORKERS, "Concurrent S3 worker processes.", default=64
    )
    transient_retry_count: int = setting(
        "S3_TRANSIENT_RETRY_COUNT",
        S3_TRANSIENT_RETRIES,
        "Retries of transient S3 failures.",
        default=20,
    )
    log_transient_retries: bool = setting(
        "S3_LOG_TRANSIENT_RETRIES", BOOL, "Log transient S3 retries.", default=False
    )
    client_retry_config: Mapping[str, Any] = setting(
        "S3_CLIENT_RETRY_CONFIG",
        RETRY_CONFIG,
        "botocore retry config of S3 clients.",
        default={"max_attempts": 10, "mode": "adaptive"},
    )


class Datatools(Section):
    """metaflow.S3 and IncludeFile roots and client parameters (``DATATOOLS_*``)."""

    suffix: str = setting(
        "DATATOOLS_SUFFIX",
        STR,
        "Suffix of the datatools roots under the sysroots.",
        default="data",
        sensitive=True,  # the datatools roots derive from it (an absolute one replaces them)
    )
    s3root: str | None = setting(
        "DATATOOLS_S3ROOT",
        S3_URL,
        "S3 root used by metaflow.S3.",
        derive=under("DATASTORE_SYSROOT_S3", suffix_setting="DATATOOLS_SUFFIX"),
        sensitive=True,
        renamed=(
            Renamed(
                "METAFLOW_DATATOOLS_SYSROOT_S3",
                "2.8.3",
                "written by `metaflow configure aws` 2.0.0 to 2.8.2, never read by Metaflow, "
                "which derived <METAFLOW_DATASTORE_SYSROOT_S3>/data; the wizard writes the "
                "current name since 2.8.3",
            ),
        ),
    )
    client_params_setting: Mapping[str, Any] = setting(
        "DATATOOLS_CLIENT_PARAMS",
        CLIENT_PARAMS,
        "Extra keyword arguments for the datatools S3 client.",
        default={},
        secret=True,
        renamed=(old_attribute("DATATOOLS_DEFAULT_CLIENT_PARAMS"),),
    )
    session_vars: Mapping[str, Any] = setting(
        "DATATOOLS_SESSION_VARS",
        JSON_OBJECT,
        "Keyword arguments for the datatools boto3 session.",
        default={},
        secret=True,
        renamed=(old_attribute("DATATOOLS_DEFAULT_SESSION_VARS"),),
    )
    azureroot: str | None = setting(
        "DATATOOLS_AZUREROOT",
        AZURE_ROOT,
        "Azure root used by IncludeFile.",
        derive=under("DATASTORE_SYSROOT_AZURE", suffix_setting="DATATOOLS_SUFFIX"),
        sensitive=True,
    )
    gsroot: str | None = setting(
        "DATATOOLS_GSROOT",
        GS_URL,
        "GCS root used by IncludeFile.",
        derive=under("DATASTORE_SYSROOT_GS", suffix_setting="DATATOOLS_SUFFIX"),
        sensitive=True,
    )
    localroot: str | None = setting(
        "DATATOOLS_LOCALROOT",
        PATH,
        "Local root used by IncludeFile.",
        derive=under("DATASTORE_SYSROOT_LOCAL", suffix_setting="DATATOOLS_SUFFIX"),
        local=True,
        sensitive=True,
    )


class Service(Section):
    """The Metaflow metadata service."""

    url: str | None = setting(
        "SERVICE_URL",
        URL,
        "URL of the metadata service.",
        sensitive=True,
        renamed=(
            Renamed(
                "METADATA_SERVICE_URL",
                "2.0.1",
                "written without the METAFLOW_ prefix by `metaflow configure aws` 2.0.0, never "
                "read by Metaflow; the wizard writes the current name since 2.0.1",
            ),
        ),
    )
    internal_url: str | None = setting(
        "SERVICE_INTERNAL_URL",
        URL,
        "Metadata service URL as seen from remote containers.",
        derive=Derive(
            ("SERVICE_URL", "AWS_SANDBOX_ENABLED", "AWS_SANDBOX_INTERNAL_SERVICE_URL"),
            _internal_url,
            f"<{PREFIX}SERVICE_URL> (<{PREFIX}AWS_SANDBOX_INTERNAL_SERVICE_URL> in the sandbox)",
        ),
        sensitive=True,
        renamed=(old_attribute("BATCH_METADATA_SERVICE_URL"),),
    )
    retry_count: int = setting(
        "SERVICE_RETRY_COUNT",
        SERVICE_RETRIES,
        "Retries of metadata service calls.",
        default=5,
        renamed=(old_attribute("METADATA_SERVICE_NUM_RETRIES"),),
    )
    auth_key: str | None = setting(
        "SERVICE_AUTH_KEY",
        STR,
        "API key sent as x-api-key to the metadata service.",
        secret=True,
        renamed=(old_attribute("METADATA_SERVICE_AUTH_KEY"),),
    )
    headers: Mapping[str, str] = setting(
        "SERVICE_HEADERS",
        HEADERS,
        "Extra HTTP headers for the metadata service.",
        default={},
        secret=True,
        renamed=(
            old_attribute("METADATA_SERVICE_HEADERS"),
            old_attribute("BATCH_METADATA_SERVICE_HEADERS"),
        ),
    )
    version_check: bool = setting(
        "SERVICE_VERSION_CHECK",
        BOOL,
        "Check the metadata service version.",
        default=True,
        renamed=(old_attribute("METADATA_SERVICE_VERSION_CHECK"),),
    )


class Batch(Section):
    """AWS Batch compute (the @batch decorator)."""

    job_role: str | None = setting(
        "ECS_S3_ACCESS_IAM_ROLE",
        IAM_ROLE_ARN,
        "IAM role of Batch containers (S3 access, and DynamoDB for Step Functions).",
        sensitive=True,
    )
    fargate_execution_role: str | None = setting(
        "ECS_FARGATE_EXECUTION_ROLE",
        IAM_ROLE_ARN,
        "Execution role of Batch jobs on Fargate.",
        sensitive=True,
    )
    job_queue: str | None = setting(
        "BATCH_JOB_QUEUE",
        STR,
        "AWS Batch job queue jobs are submitted to.",
        aliases=("JOB_QUEUE_NAME",),
        sensitive=True,  # its compute environment: the instance role a container reaches
    )
    container_image: str | None = setting(
        "BATCH_CONTAINER_IMAGE",
        STR,
        "Container image of Batch jobs.",
        derive=same_as("DEFAULT_CONTAINER_IMAGE"),
        sensitive=True,
    )
    container_registry: str | None = setting(
        "BATCH_CONTAINER_REGISTRY",
        STR,
        "Registry Batch images are pulled from.",
        derive=same_as("DEFAULT_CONTAINER_REGISTRY"),
        sensitive=True,
    )
    emit_tags: bool = setting(
        "BATCH_EMIT_TAGS", BOOL, "Tag Batch jobs (needs batch:TagResource).", default=False
    )
    default_tags: Mapping[str, str] = setting(
        "BATCH_DEFAULT_TAGS",
        TAGS,
        "Extra AWS tags for Batch jobs (with BATCH_EMIT_TAGS).",
        default={},
        sensitive=True,  # tags can grant access (attribute-based IAM), as a pod's labels do
    )


class StepFunctions(Section):
    """AWS Step Functions scheduling (step-functions create)."""

    iam_role: str | None = setting(
        "SFN_IAM_ROLE",
        IAM_ROLE_ARN,
        "IAM role of the state machines (Batch, DynamoDB access).",
        sensitive=True,
    )
    dynamo_db_table: str | None = setting(
        "SFN_DYNAMO_DB_TABLE",
        DYNAMO_TABLE,
        "DynamoDB table for foreach (hash key 'pathspec').",
        sensitive=True,
    )
    events_role: str | None = setting(
        "EVENTS_SFN_ACCESS_IAM_ROLE",
        IAM_ROLE_ARN,
        "IAM role EventBridge uses to start scheduled state machines.",
        sensitive=True,
    )
    state_machine_prefix: str | None = setting(
        "SFN_STATE_MACHINE_PREFIX",
        SFN_NAME_PREFIX,
        "Prefix of state machine names.",
        derive=Derive(
            ("AWS_SANDBOX_ENABLED", "AWS_SANDBOX_STACK_NAME"),
            _state_machine_prefix,
            f"<{PREFIX}AWS_SANDBOX_STACK_NAME> in the sandbox, else unset",
        ),
        sensitive=True,
    )
    execution_log_group_arn: str | None = setting(
        "SFN_EXECUTION_LOG_GROUP_ARN",
        LOG_GROUP_ARN,
        "CloudWatch log group of execution history.",
        sensitive=True,
    )
    s3_distributed_map_output_path: str | None = setting(
        "SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH",
        S3_URL,
        "S3 path of distributed map results.",
        derive=under("DATASTORE_SYSROOT_S3", suffix="sfn_distributed_map_output"),
        sensitive=True,
    )
    compress_state_machine: bool = setting(
        "SFN_COMPRESS_STATE_MACHINE",
        BOOL,
        "Offload step commands to S3 to shrink definitions.",
        default=False,
    )
