"""THE settings table: one declaration per setting, grouped in sections.

Every setting Metaflow's ``metaflow/metaflow_config.py`` reads with ``from_conf`` is declared here
once, plus ``USER``'s fallback chain. Everything else (validation, derived defaults, ``explain``,
export, the compat module, the CLI, the JSON Schema, the docs) is read off this table.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _consumers
from ._fields import PREFIX, Context, Derive, Section, Setting, same_as, setting, times, under
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
    STR,
    STR_DICT,
    STR_LIST,
    TAGS,
    URL,
    VERIFY,
    choice,
)
from .errors import ConfigWarning

if TYPE_CHECKING:
    from ._settings import Settings

# --- derivation rules -------------------------------------------------------------------------


def _internal_url(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    if values["AWS_SANDBOX_ENABLED"]:
        name = "AWS_SANDBOX_INTERNAL_SERVICE_URL"
        return values[name], PREFIX + name
    return values["SERVICE_URL"], PREFIX + "SERVICE_URL"


def _state_machine_prefix(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    if values["AWS_SANDBOX_ENABLED"]:
        return values["AWS_SANDBOX_STACK_NAME"], PREFIX + "AWS_SANDBOX_STACK_NAME"
    return None, PREFIX + "AWS_SANDBOX_ENABLED"


_USER_VARS = ("SUDO_USER", "USERNAME", "USER")


def _user(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    for var in _USER_VARS:
        name = ctx.env.get(var)
        if name and name != "root":
            return name, var
    return None, " > ".join(_USER_VARS)


def _cwd(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    return ctx.cwd, "the working directory"


# --- sections ---------------------------------------------------------------------------------


class Defaults(Section):
    """Default implementations Metaflow picks when a flow does not say (``DEFAULT_*``)."""

    datastore: str = setting(
        "DEFAULT_DATASTORE",
        choice("local", "s3", "azure", "gs"),
        "Datastore used when --datastore is not given.",
        default="local",
    )
    environment: str = setting(
        "DEFAULT_ENVIRONMENT",
        STR,
        "Execution environment (local, conda, pypi, ...).",
        default="local",
    )
    event_logger: str = setting(
        "DEFAULT_EVENT_LOGGER", STR, "Event logger sidecar.", default="nullSidecarLogger"
    )
    metadata: str = setting(
        "DEFAULT_METADATA",
        choice("local", "service"),
        "Metadata provider used when --metadata is not given.",
        default="local",
    )
    monitor: str = setting("DEFAULT_MONITOR", STR, "Monitor sidecar.", default="nullSidecarMonitor")
    package_suffixes: str = setting(
        "DEFAULT_PACKAGE_SUFFIXES",
        STR,
        "Comma-separated file suffixes included in the code package.",
        default=".py,.R,.RDS",
    )
    aws_client_provider: str = setting(
        "DEFAULT_AWS_CLIENT_PROVIDER", STR, "Provider of AWS clients.", default="boto3"
    )
    azure_client_provider: str = setting(
        "DEFAULT_AZURE_CLIENT_PROVIDER",
        STR,
        "Provider of Azure credentials.",
        default="azure-default",
    )
    gcp_client_provider: str = setting(
        "DEFAULT_GCP_CLIENT_PROVIDER", STR, "Provider of GCP credentials.", default="gcp-default"
    )
    from_deployment_impl: str = setting(
        "DEFAULT_FROM_DEPLOYMENT_IMPL",
        STR,
        "Default deployer for from_deployment.",
        default="argo-workflows",
    )
    decospecs: str = setting(
        "DEFAULT_DECOSPECS", STR, "Space-separated decorators applied as with --with.", default=""
    )
    runtime_limit: int = setting(
        "DEFAULT_RUNTIME_LIMIT",
        NONNEG_INT,
        "Default runtime limit of remote jobs, in seconds (5 days).",
        default=5 * 24 * 60 * 60,
    )
    container_image: str | None = setting(
        "DEFAULT_CONTAINER_IMAGE", STR, "Container image for all remote compute providers."
    )
    container_registry: str | None = setting(
        "DEFAULT_CONTAINER_REGISTRY", STR, "Container registry for all remote compute providers."
    )


class Spin(Section):
    """The ``spin`` command."""

    allowed_decorators: list[str] = setting(
        "SPIN_ALLOWED_DECORATORS",
        STR_LIST,
        "Decorators allowed in spin steps.",
        default=[
            "conda",
            "pypi",
            "conda_base",
            "pypi_base",
            "environment",
            "project",
            "timeout",
            "conda_env_internal",
            "card",
        ],
    )
    disallowed_decorators: list[str] = setting(
        "SPIN_DISALLOWED_DECORATORS",
        STR_LIST,
        "Decorators refused in spin steps.",
        default=["parallel"],
    )
    persist: bool = setting("SPIN_PERSIST", BOOL, "Default of spin's --persist.", default=False)


class Runtime(Section):
    """The user, the runtime and miscellaneous behaviour."""

    user: str | None = setting(
        "USER",
        STR,
        "User name recorded on runs; falls back to $SUDO_USER, $USERNAME, $USER (not root).",
        derive=Derive((), _user, "$SUDO_USER > $USERNAME > $USER (first that is set and not root)"),
    )
    tempdir: str = setting(
        "TEMPDIR", PATH, "Directory for temporary files.", default=".", local=True
    )
    artifact_localroot: str = setting(
        "ARTIFACT_LOCALROOT",
        PATH,
        "Where artifact pulls from S3 or Azure are saved.",
        derive=Derive((), _cwd, "the working directory"),
        local=True,
    )
    ui_url: str | None = setting("UI_URL", URL, "URL of the Metaflow UI.")
    contact_info: dict[str, str] = setting(
        "CONTACT_INFO",
        STR_DICT,
        "Contact information shown by the metaflow command.",
        default={
            "Read the documentation": "http://docs.metaflow.org",
            "Chat with us": "http://chat.metaflow.org",
            "Get help by email": "help@metaflow.org",
        },
    )
    include_foreach_stack: bool = setting(
        "INCLUDE_FOREACH_STACK", BOOL, "Record the foreach stack in metadata.", default=True
    )
    maximum_foreach_value_chars: int = setting(
        "MAXIMUM_FOREACH_VALUE_CHARS",
        NONNEG_INT,
        "Longest foreach value string stored per frame.",
        default=30,
    )
    escape_hatch_warning: bool = setting(
        "ESCAPE_HATCH_WARNING", BOOL, "Warn when the escape hatch is not used.", default=True
    )
    feat_always_upload_code_package: bool = setting(
        "FEAT_ALWAYS_UPLOAD_CODE_PACKAGE",
        BOOL,
        "Upload the code package for local runs too.",
        default=False,
    )
    profile_from_start: bool = setting(
        "PROFILE_FROM_START", BOOL, "Profile Metaflow from process start.", default=False
    )
    click_api_process_config: bool = setting(
        "CLICK_API_PROCESS_CONFIG",
        BOOL,
        "Process configs with the Runner/Deployer API.",
        default=True,
    )


class Datastore(Section):
    """Where Metaflow stores artifacts and code packages (``DATASTORE_SYSROOT_*``)."""

    sysroot_local: str | None = setting(
        "DATASTORE_SYSROOT_LOCAL", PATH, "Root of the local datastore.", local=True
    )
    sysroot_spin: str | None = setting(
        "DATASTORE_SYSROOT_SPIN", PATH, "Root of the spin datastore.", local=True
    )
    sysroot_s3: str | None = setting(
        "DATASTORE_SYSROOT_S3",
        S3_URL,
        "S3 bucket and prefix for artifacts and code packages (the S3 datastore).",
    )
    sysroot_azure: str | None = setting(
        "DATASTORE_SYSROOT_AZURE", STR, "Azure Blob container and prefix (container/prefix)."
    )
    sysroot_gs: str | None = setting(
        "DATASTORE_SYSROOT_GS", GS_URL, "Google Cloud Storage bucket and prefix."
    )


class ClientCache(Section):
    """The client-side datastore cache."""

    path: str = setting(
        "CLIENT_CACHE_PATH",
        PATH,
        "Directory of the client cache.",
        default="/tmp/metaflow_client",  # noqa: S108 - Metaflow's own default
        local=True,
    )
    max_size: int = setting(
        "CLIENT_CACHE_MAX_SIZE", NONNEG_INT, "Maximum size of the cache.", default=10000
    )
    max_flowdatastore_count: int = setting(
        "CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT", NONNEG_INT, "Cached flow datastores.", default=50
    )
    max_taskdatastore_count: int = setting(
        "CLIENT_CACHE_MAX_TASKDATASTORE_COUNT",
        NONNEG_INT,
        "Cached task datastores.",
        derive=times("CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT", 100),
    )


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
    client_retry_config: dict[str, Any] = setting(
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
    client_params_setting: dict[str, Any] = setting(
        "DATATOOLS_CLIENT_PARAMS",
        JSON_OBJECT,
        "Extra keyword arguments for the datatools S3 client.",
        default={},
        secret=True,
    )
    session_vars: dict[str, Any] = setting(
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
        S3_VERIFY_CERTIFICATE when set. A new dict each call: neither setting is mutated.
        """
        params = dict(self.client_params_setting)
        if self._values["S3_ENDPOINT_URL"]:
            params.setdefault("endpoint_url", self._values["S3_ENDPOINT_URL"])
        if self._values["S3_VERIFY_CERTIFICATE"] is not None:
            params["verify"] = self._values["S3_VERIFY_CERTIFICATE"]
        return params


class Secrets(Section):
    """The @secrets decorator backends."""

    backend_type: str | None = setting(
        "DEFAULT_SECRETS_BACKEND_TYPE", STR, "Default secrets backend (aws-secrets-manager, ...)."
    )
    role: str | None = setting("DEFAULT_SECRETS_ROLE", STR, "Role assumed to read secrets.")
    aws_secrets_manager_default_region: str | None = setting(
        "AWS_SECRETS_MANAGER_DEFAULT_REGION", STR, "AWS region of Secrets Manager."
    )
    aws_secrets_manager_default_role: str | None = setting(
        "AWS_SECRETS_MANAGER_DEFAULT_ROLE", IAM_ROLE_ARN, "IAM role assumed for Secrets Manager."
    )
    gcp_secret_manager_prefix: str | None = setting(
        "GCP_SECRET_MANAGER_PREFIX", STR, "Prefix of GCP Secret Manager secret names."
    )
    azure_key_vault_prefix: str | None = setting(
        "AZURE_KEY_VAULT_PREFIX", STR, "Azure Key Vault URL prefix."
    )


class Cards(Section):
    """Where cards are stored (``CARD_*``)."""

    localroot: str | None = setting("CARD_LOCALROOT", PATH, "Local root of cards.", local=True)
    s3root: str | None = setting(
        "CARD_S3ROOT",
        S3_URL,
        "S3 root of cards.",
        derive=under("DATASTORE_SYSROOT_S3", suffix="mf.cards"),
    )
    azureroot: str | None = setting(
        "CARD_AZUREROOT",
        STR,
        "Azure root of cards.",
        derive=under("DATASTORE_SYSROOT_AZURE", suffix="mf.cards"),
    )
    gsroot: str | None = setting(
        "CARD_GSROOT",
        GS_URL,
        "GCS root of cards.",
        derive=under("DATASTORE_SYSROOT_GS", suffix="mf.cards"),
    )
    no_warning: bool = setting("CARD_NO_WARNING", BOOL, "Silence card warnings.", default=False)
    runtime_render_interval: int = setting(
        "RUNTIME_CARD_RENDER_INTERVAL",
        NONNEG_INT,
        "Seconds between runtime card renders.",
        default=60,
    )


class Azure(Section):
    """Azure Blob Storage."""

    storage_blob_service_endpoint: str | None = setting(
        "AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", URL, "Azure storage account URL."
    )
    storage_workload_type: str = setting(
        "AZURE_STORAGE_WORKLOAD_TYPE",
        choice("general", "high_throughput"),
        "Thread- or process-based Azure transfers.",
        default="general",
    )


class GS(Section):
    """Google Cloud Storage."""

    storage_workload_type: str = setting(
        "GS_STORAGE_WORKLOAD_TYPE",
        choice("general", "high_throughput"),
        "Thread- or process-based GCS transfers.",
        default="general",
    )


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
    headers: dict[str, str] = setting(
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
        if self._values["AWS_SANDBOX_ENABLED"]:
            headers["x-api-key"] = self._values["AWS_SANDBOX_API_KEY"]
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
    default_tags: dict[str, str] = setting(
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
        STR,
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


# --- the root and the indexes -----------------------------------------------------------------

from ._table_platforms import (  # noqa: E402 - the continuation of this table
    DEBUG_OPTIONS,
    Airflow,
    Argo,
    Conda,
    Debug,
    Kubernetes,
    Sandbox,
    Tracing,
)


class Sections:
    """The root of the table: one attribute per section, in display order."""

    defaults: Defaults
    runtime: Runtime
    datastore: Datastore
    datatools: Datatools
    s3: S3
    cards: Cards
    client_cache: ClientCache
    service: Service
    batch: Batch
    sfn: StepFunctions
    secrets: Secrets
    azure: Azure
    gs: GS
    kubernetes: Kubernetes
    argo: Argo
    airflow: Airflow
    conda: Conda
    spin: Spin
    debug: Debug
    sandbox: Sandbox
    tracing: Tracing


#: (attribute, section class), in display order
SECTIONS: tuple[tuple[str, type[Section]], ...] = tuple(
    (attr, globals()[cls_name]) for attr, cls_name in Sections.__annotations__.items()
)
#: every setting, in display order
FIELDS: tuple[Setting, ...] = tuple(f for _, cls in SECTIONS for f in cls.fields)
#: by short name (``BATCH_JOB_QUEUE``)
BY_NAME: dict[str, Setting] = {f.name: f for f in FIELDS}
#: by every environment name a setting answers to (its own first, then its aliases)
BY_ENV: dict[str, Setting] = {f.env: f for f in FIELDS}
BY_ENV.update({alias: f for f in FIELDS for alias in f.aliases})


def _derivation_order() -> tuple[Setting, ...]:
    done: set[str] = set()
    order: list[Setting] = []

    def visit(field: Setting) -> None:
        if field.name in done:
            return
        done.add(field.name)
        for base in field.derive.bases if field.derive else ():
            visit(BY_NAME[base])
        if field.derive:
            order.append(field)

    for field in FIELDS:
        visit(field)
    return tuple(order)


#: the derived settings, each after everything it derives from
DERIVED: tuple[Setting, ...] = _derivation_order()

__all__ = ["BY_ENV", "BY_NAME", "DEBUG_OPTIONS", "DERIVED", "FIELDS", "SECTIONS", "Sections"]
