"""The settings table, continued: the AWS consumers (S3, datatools, service, Batch, Step Functions).

Besides the declarations, these sections carry the accessors their consumers read (the S3 client
arguments, the Batch image and container environment, the state machine name): thin wrappers over
``_consumers`` that read the resolved values and never change them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _consumers
from ._fields import PREFIX, Context, Derive, Section, same_as, setting, under
from ._kinds import (
    BOOL,
    GS_URL,
    IAM_ROLE_ARN,
    JSON_OBJECT,
    LOG_GROUP_ARN,
    NONNEG_INT,
    PATH,
    RETRY_CONFIG,
    S3_URL,
    SFN_NAME_PREFIX,
    STR,
    STR_DICT,
    TAGS,
    URL,
    VERIFY,
    choice,
    thaw,
)
from .errors import ConfigWarning

if TYPE_CHECKING:
    from ._settings import Settings

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
        "S3_ENDPOINT_URL", URL, "endpoint_url for boto3 S3 clients (MinIO, VPC endpoints)."
    )
    verify_certificate: bool | str | None = setting(
        "S3_VERIFY_CERTIFICATE", VERIFY, "Verify S3 TLS certificates: a boolean or a CA bundle."
    )
    server_side_encryption: str | None = setting(
        "S3_SERVER_SIDE_ENCRYPTION",
        choice("AES256", "aws:kms", "aws:kms:dsse"),
        "ServerSideEncryption for S3 uploads.",
    )
    retry_count: int = setting(
        "S3_RETRY_COUNT", NONNEG_INT, "Retries of failed S3 operations.", default=7
    )
    worker_count: int = setting(
        "S3_WORKER_COUNT", NONNEG_INT, "Concurrent S3 worker processes.", default=64
    )
    transient_retry_count: int = setting(
        "S3_TRANSIENT_RETRY_COUNT", NONNEG_INT, "Retries of transient S3 failures.", default=20
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

    # -- for the S3 datastore and metaflow.S3 --

    @property
    def sysroot(self) -> str | None:
        """The S3 datastore root (DATASTORE_SYSROOT_S3): artifacts and code packages."""
        return self._values["DATASTORE_SYSROOT_S3"]  # type: ignore[no-any-return]

    @property
    def datatools_root(self) -> str | None:
        """The root of metaflow.S3 (DATATOOLS_S3ROOT, by default ``<sysroot>/data``)."""
        return self._values["DATATOOLS_S3ROOT"]  # type: ignore[no-any-return]

    @property
    def card_root(self) -> str | None:
        """The root of cards (CARD_S3ROOT, by default ``<sysroot>/mf.cards``)."""
        return self._values["CARD_S3ROOT"]  # type: ignore[no-any-return]

    @property
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of a boto3 S3 client; a new dict each call.

        DATATOOLS_CLIENT_PARAMS with ``endpoint_url`` (S3_ENDPOINT_URL) and ``verify``
        (S3_VERIFY_CERTIFICATE), and ``config``: a dict of ``botocore.config.Config`` arguments
        whose ``retries`` is S3_CLIENT_RETRY_CONFIG unless the params set retries.
        ``metaflow_config.aws.s3_client()`` builds the client from it. Holds secrets when
        DATATOOLS_CLIENT_PARAMS does: never print it.
        """
        params = Datatools(self._values).client_params
        return _consumers.s3_client_kwargs(params, self.client_retry_config)

    @property
    def upload_args(self) -> dict[str, str]:
        """Extra arguments of S3 uploads: ``ServerSideEncryption`` (S3_SERVER_SIDE_ENCRYPTION).

        ``ExtraArgs`` of ``upload_file``, or keywords of ``put_object``; empty when not set.
        """
        sse = self.server_side_encryption
        return {"ServerSideEncryption": sse} if sse else {}


class Datatools(Section):
    """metaflow.S3 and IncludeFile roots and client parameters (``DATATOOLS_*``)."""

    suffix: str = setting(
        "DATATOOLS_SUFFIX",
        STR,
        "Suffix of the datatools roots under the sysroots.",
        default="data",
    )
    s3root: str | None = setting(
        "DATATOOLS_S3ROOT",
        S3_URL,
        "S3 root used by metaflow.S3.",
        derive=under("DATASTORE_SYSROOT_S3", suffix_setting="DATATOOLS_SUFFIX"),
    )
    client_params_setting: Mapping[str, Any] = setting(
        "DATATOOLS_CLIENT_PARAMS",
        JSON_OBJECT,
        "Extra keyword arguments for the datatools S3 client.",
        default={},
        secret=True,
    )
    session_vars: Mapping[str, Any] = setting(
        "DATATOOLS_SESSION_VARS",
        JSON_OBJECT,
        "Keyword arguments for the datatools boto3 session.",
        default={},
        secret=True,
    )
    azureroot: str | None = setting(
        "DATATOOLS_AZUREROOT",
        STR,
        "Azure root used by IncludeFile.",
        derive=under("DATASTORE_SYSROOT_AZURE", suffix_setting="DATATOOLS_SUFFIX"),
    )
    gsroot: str | None = setting(
        "DATATOOLS_GSROOT",
        GS_URL,
        "GCS root used by IncludeFile.",
        derive=under("DATASTORE_SYSROOT_GS", suffix_setting="DATATOOLS_SUFFIX"),
    )
    localroot: str | None = setting(
        "DATATOOLS_LOCALROOT",
        PATH,
        "Local root used by IncludeFile.",
        derive=under("DATASTORE_SYSROOT_LOCAL", suffix_setting="DATATOOLS_SUFFIX"),
        local=True,
    )

    @property
    def client_params(self) -> dict[str, Any]:
        """The effective datatools client kwargs: DATATOOLS_CLIENT_PARAMS plus endpoint and verify.

        ``endpoint_url`` comes from S3_ENDPOINT_URL unless the params set it; ``verify`` from
        S3_VERIFY_CERTIFICATE when set. A new plain dict each call: no setting is changed.
        """
        params: dict[str, Any] = thaw(self.client_params_setting)
        if self._values["S3_ENDPOINT_URL"]:
            params.setdefault("endpoint_url", self._values["S3_ENDPOINT_URL"])
        if self._values["S3_VERIFY_CERTIFICATE"] is not None:
            params["verify"] = self._values["S3_VERIFY_CERTIFICATE"]
        return params


class Service(Section):
    """The Metaflow metadata service."""

    url: str | None = setting("SERVICE_URL", URL, "URL of the metadata service.")
    internal_url: str | None = setting(
        "SERVICE_INTERNAL_URL",
        URL,
        "Metadata service URL as seen from remote containers.",
        derive=Derive(
            ("SERVICE_URL", "AWS_SANDBOX_ENABLED", "AWS_SANDBOX_INTERNAL_SERVICE_URL"),
            _internal_url,
            f"<{PREFIX}SERVICE_URL> (<{PREFIX}AWS_SANDBOX_INTERNAL_SERVICE_URL> in the sandbox)",
        ),
    )
    retry_count: int = setting(
        "SERVICE_RETRY_COUNT", NONNEG_INT, "Retries of metadata service calls.", default=5
    )
    auth_key: str | None = setting(
        "SERVICE_AUTH_KEY", STR, "API key sent as x-api-key to the metadata service.", secret=True
    )
    headers: Mapping[str, str] = setting(
        "SERVICE_HEADERS",
        STR_DICT,
        "Extra HTTP headers for the metadata service.",
        default={},
        secret=True,
    )
    version_check: bool = setting(
        "SERVICE_VERSION_CHECK", BOOL, "Check the metadata service version.", default=True
    )

    @property
    def effective_headers(self) -> dict[str, str]:
        """SERVICE_HEADERS plus ``x-api-key`` (SERVICE_AUTH_KEY, or the sandbox key); a new dict."""
        headers = dict(self.headers)
        if self.auth_key is not None:
            headers["x-api-key"] = self.auth_key
        sandbox_key = self._values["AWS_SANDBOX_API_KEY"]
        if self._values["AWS_SANDBOX_ENABLED"] and sandbox_key is not None:
            headers["x-api-key"] = sandbox_key
        return headers


class Batch(Section):
    """AWS Batch compute (the @batch decorator)."""

    job_role: str | None = setting(
        "ECS_S3_ACCESS_IAM_ROLE",
        IAM_ROLE_ARN,
        "IAM role of Batch containers (S3 access, and DynamoDB for Step Functions).",
    )
    fargate_execution_role: str | None = setting(
        "ECS_FARGATE_EXECUTION_ROLE", IAM_ROLE_ARN, "Execution role of Batch jobs on Fargate."
    )
    job_queue: str | None = setting(
        "BATCH_JOB_QUEUE",
        STR,
        "AWS Batch job queue jobs are submitted to.",
        aliases=("JOB_QUEUE_NAME",),
    )
    container_image: str | None = setting(
        "BATCH_CONTAINER_IMAGE",
        STR,
        "Container image of Batch jobs.",
        derive=same_as("DEFAULT_CONTAINER_IMAGE"),
    )
    container_registry: str | None = setting(
        "BATCH_CONTAINER_REGISTRY",
        STR,
        "Registry Batch images are pulled from.",
        derive=same_as("DEFAULT_CONTAINER_REGISTRY"),
    )
    emit_tags: bool = setting(
        "BATCH_EMIT_TAGS", BOOL, "Tag Batch jobs (needs batch:TagResource).", default=False
    )
    default_tags: Mapping[str, str] = setting(
        "BATCH_DEFAULT_TAGS",
        TAGS,
        "Extra AWS tags for Batch jobs (with BATCH_EMIT_TAGS).",
        default={},
    )

    #: the Settings this section belongs to (set by Settings; ``Any`` so that
    #: ``typing.get_type_hints`` resolves without importing ``_settings`` here)
    _snapshot: Any

    # -- for the Batch launcher --

    @property
    def image(self) -> str:
        """The image of a Batch job without its own: see :meth:`image_for`."""
        return self.image_for(None)

    def image_for(self, requested: str | None = None) -> str:
        """The image a Batch job runs, with its registry.

        ``requested`` (a step's ``@batch(image=...)``), else BATCH_CONTAINER_IMAGE, else
        ``python:<major>.<minor>`` of this interpreter; prefixed with BATCH_CONTAINER_REGISTRY
        unless the image names a registry of its own.
        """
        return _consumers.batch_image(requested, self.container_image, self.container_registry)

    @property
    def job_tags(self) -> dict[str, str]:
        """The AWS tags to put on Batch jobs: BATCH_DEFAULT_TAGS when BATCH_EMIT_TAGS is on.

        When tags are configured but BATCH_EMIT_TAGS is off, the jobs get none, and this warns
        (``ConfigWarning``) instead of dropping them silently.
        """
        if self.emit_tags:
            return dict(self.default_tags)
        if self.default_tags:
            warnings.warn(
                f"{PREFIX}BATCH_DEFAULT_TAGS sets {len(self.default_tags)} tag(s) but "
                f"{PREFIX}BATCH_EMIT_TAGS is off, so Batch jobs get no tags: set "
                f"{PREFIX}BATCH_EMIT_TAGS=true (the launching role needs batch:TagResource) "
                f"or unset {PREFIX}BATCH_DEFAULT_TAGS",
                ConfigWarning,
                stacklevel=2,
            )
        return {}

    def container_environment(self, extra: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """The ``environment`` of a Batch job's container: ``[{"name": ..., "value": ...}]``.

        ``to_env("batch")`` of this snapshot, then ``extra`` (the launcher's own variables,
        e.g. ``METAFLOW_CODE_URL``; they win). Holds secrets: never print it.
        """
        snapshot: Settings = self._snapshot
        env = {**snapshot.to_env("batch"), **(extra or {})}
        return [{"name": key, "value": value} for key, value in env.items()]


class StepFunctions(Section):
    """AWS Step Functions scheduling (step-functions create)."""

    iam_role: str | None = setting(
        "SFN_IAM_ROLE", IAM_ROLE_ARN, "IAM role of the state machines (Batch, DynamoDB access)."
    )
    dynamo_db_table: str | None = setting(
        "SFN_DYNAMO_DB_TABLE", STR, "DynamoDB table for foreach (hash key 'pathspec')."
    )
    events_role: str | None = setting(
        "EVENTS_SFN_ACCESS_IAM_ROLE",
        IAM_ROLE_ARN,
        "IAM role EventBridge uses to start scheduled state machines.",
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
    )
    execution_log_group_arn: str | None = setting(
        "SFN_EXECUTION_LOG_GROUP_ARN", LOG_GROUP_ARN, "CloudWatch log group of execution history."
    )
    s3_distributed_map_output_path: str | None = setting(
        "SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH",
        S3_URL,
        "S3 path of distributed map results.",
        derive=under("DATASTORE_SYSROOT_S3", suffix="sfn_distributed_map_output"),
    )
    compress_state_machine: bool = setting(
        "SFN_COMPRESS_STATE_MACHINE",
        BOOL,
        "Offload step commands to S3 to shrink definitions.",
        default=False,
    )

    #: the Settings this section belongs to (set by Settings; ``Any`` so that
    #: ``typing.get_type_hints`` resolves without importing ``_settings`` here)
    _snapshot: Any

    # -- for the Step Functions deployer --

    def state_machine_name(self, flow_name: str) -> str:
        """The state machine of ``flow_name``: ``<SFN_STATE_MACHINE_PREFIX>_<flow_name>``.

        The prefix is not repeated when the name starts with it (as Metaflow). Raises
        ``ConfigError`` if the name breaks the AWS rules (1-80 characters, no whitespace or
        ``<>{}[]?*"#%^|~`$&,;:/`` or backslash), naming the prefix setting when it is at fault.
        """
        return _consumers.state_machine_name(self.state_machine_prefix, flow_name)

    @property
    def distributed_map_output(self) -> tuple[str, str] | None:
        """SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH as ``(bucket, prefix)`` for a ``ResultWriter``."""
        path = self.s3_distributed_map_output_path
        return None if path is None else _consumers.split_s3_url(path)

    def logging_configuration(self, log_execution_history: bool) -> dict[str, Any]:
        """The ``loggingConfiguration`` of CreateStateMachine.

        ``{"level": "OFF"}``, or with ``log_execution_history`` every event with its data to
        SFN_EXECUTION_LOG_GROUP_ARN (``:*`` appended, as Step Functions wants it). Raises
        ``ConfigError`` when the history is asked for and the log group is not set.
        """
        if not log_execution_history:
            return {"level": "OFF"}
        arn = self.execution_log_group_arn
        if arn is None:
            from ._require import Need, RequirementError, missing

            what = "logging Step Functions executions"
            need = Need("SFN_EXECUTION_LOG_GROUP_ARN", "the log group the histories go to")
            snapshot: Settings = self._snapshot
            raise RequirementError("", what, [missing(snapshot, need, what)])
        if not arn.endswith(":*"):
            arn += ":*"
        return {
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
        }

    def container_environment(self, extra: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """``ContainerOverrides.Environment`` of a Batch task: ``[{"Name": ..., "Value": ...}]``.

        ``to_env("sfn")`` of this snapshot, then ``extra`` (the deployer's own variables; they
        win); the whole is checked against the 8,192-character limit. Holds secrets.
        """
        from ._settings import check_sfn_size

        snapshot: Settings = self._snapshot
        env = {**snapshot.to_env("sfn"), **(extra or {})}
        check_sfn_size(env)
        return [{"Name": key, "Value": value} for key, value in env.items()]
