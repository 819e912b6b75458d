"""THE settings table: one declaration per setting, grouped in sections.

Every setting Metaflow's ``metaflow/metaflow_config.py`` reads with ``from_conf`` is declared here
once, plus ``USER``'s fallback chain. Everything else (validation, derived defaults, ``explain``,
export, the compat module, the CLI, the JSON Schema, the docs) is read off this table.
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
    Setting,
    old_attribute,
    setting,
    times,
    under,
)
from .kinds import (
    AZURE_ROOT,
    BOOL,
    COMMA_LIST,
    GS_URL,
    IAM_ROLE_ARN,
    NONNEG_INT,
    PATH,
    PLUGIN_NAME,
    S3_URL,
    SPACE_LIST,
    STR,
    STR_DICT,
    STR_LIST,
    URL,
    choice,
    plain_problem,
)
from .references import MARK

# --- derivation rules -------------------------------------------------------------------------


#: The login names ``USER`` derives from, in order (``root`` passed over), as Metaflow reads them.
USER_VARIABLES = ("SUDO_USER", "USERNAME", "USER")
#: The environment variables besides ``METAFLOW_*`` that a resolution reads: the login names
#: ``USER`` derives from, and ``DISABLE_TRACING`` (Metaflow's own switch, see compat). A snapshot
#: keeps only these and the ``METAFLOW_*`` ones when it is pickled.
MACHINE_VARIABLES = (*USER_VARIABLES, "DISABLE_TRACING")


def _user(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    for var in USER_VARIABLES:
        name = ctx.env.get(var)
        if name and name != "root":
            return name, var
    return None, " > ".join(USER_VARIABLES)


def _cwd(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
    """The working directory; as ``.`` where its path is not a value a layer could set.

    A directory's name may hold a line break (a cloned repository's may), or ``{{``, which
    begins a secret reference in any layer (a cookiecutter template's folder,
    ``{{cookiecutter.project_slug}}``): no layer could set such a value, and ``.`` names the
    same directory.
    """
    cwd = ctx.cwd
    if MARK in cwd:
        return ".", "the working directory, as '.' (its path holds '{{')"
    if cwd.isprintable() or plain_problem(cwd) is None:
        return cwd, "the working directory"
    return ".", "the working directory, as '.' (its path is not one line of plain text)"


# --- sections ---------------------------------------------------------------------------------


class Defaults(Section):
    """Default implementations Metaflow picks when a flow does not say (``DEFAULT_*``)."""

    datastore: str = setting(
        "DEFAULT_DATASTORE",
        PLUGIN_NAME,
        "Datastore used when --datastore is not given (local, s3, azure, gs, spin, or an "
        "extension's).",
        default="local",
        sensitive=True,
        plugin="datastore",
    )
    environment: str = setting(
        "DEFAULT_ENVIRONMENT",
        STR,
        "Execution environment (local, conda, pypi, ...).",
        default="local",
        sensitive=True,  # what installs the code a step runs with
    )
    event_logger: str = setting(
        "DEFAULT_EVENT_LOGGER",
        STR,
        "Event logger sidecar.",
        default="nullSidecarLogger",
        sensitive=True,
    )
    metadata: str = setting(
        "DEFAULT_METADATA",
        PLUGIN_NAME,
        "Metadata provider used when --metadata is not given (local, service, spin, or an "
        "extension's).",
        default="local",
        sensitive=True,
        plugin="metadata_provider",
    )
    monitor: str = setting(
        "DEFAULT_MONITOR", STR, "Monitor sidecar.", default="nullSidecarMonitor", sensitive=True
    )
    package_suffixes: str = setting(
        "DEFAULT_PACKAGE_SUFFIXES",
        COMMA_LIST,
        "Comma-separated file suffixes included in the code package.",
        default=".py,.R,.RDS",
        sensitive=True,  # `.pem,.env` would upload the working directory's secrets
    )
    aws_client_provider: str = setting(
        "DEFAULT_AWS_CLIENT_PROVIDER",
        STR,
        "Provider of AWS clients.",
        default="boto3",
        sensitive=True,
    )
    azure_client_provider: str = setting(
        "DEFAULT_AZURE_CLIENT_PROVIDER",
        STR,
        "Provider of Azure credentials.",
        default="azure-default",
        sensitive=True,
    )
    gcp_client_provider: str = setting(
        "DEFAULT_GCP_CLIENT_PROVIDER",
        STR,
        "Provider of GCP credentials.",
        default="gcp-default",
        sensitive=True,
    )
    from_deployment_impl: str = setting(
        "DEFAULT_FROM_DEPLOYMENT_IMPL",
        STR,
        "Default deployer for from_deployment.",
        default="argo-workflows",
        sensitive=True,
    )
    decospecs: str = setting(
        "DEFAULT_DECOSPECS",
        SPACE_LIST,
        "Space-separated decorators applied as with --with.",
        default="",
        renamed=(
            Renamed(
                "METAFLOW_DECOSPECS",
                "2.14.2",
                "read by Metaflow 2.12.1 to 2.14.1; renamed in 2.14.2",
            ),
        ),
        sensitive=True,
    )
    runtime_limit: int = setting(
        "DEFAULT_RUNTIME_LIMIT",
        NONNEG_INT,
        "Default runtime limit of remote jobs, in seconds (5 days).",
        default=5 * 24 * 60 * 60,
    )
    container_image: str | None = setting(
        "DEFAULT_CONTAINER_IMAGE",
        STR,
        "Container image for all remote compute providers.",
        sensitive=True,
    )
    container_registry: str | None = setting(
        "DEFAULT_CONTAINER_REGISTRY",
        STR,
        "Container registry for all remote compute providers.",
        sensitive=True,
    )


class Spin(Section):
    """The ``spin`` command."""

    allowed_decorators: tuple[str, ...] = setting(
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
    disallowed_decorators: tuple[str, ...] = setting(
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
        derive=Derive(
            (),
            _user,
            "$SUDO_USER > $USERNAME > $USER (first that is set and not root)",
            machine=True,
        ),
        sensitive=True,  # whose runs, and which namespace the client reads (and unpickles)
    )
    tempdir: str = setting(
        "TEMPDIR",
        PATH,
        "Directory for temporary files.",
        default=".",
        local=True,
        sensitive=True,
    )
    artifact_localroot: str = setting(
        "ARTIFACT_LOCALROOT",
        PATH,
        "Where artifact pulls from S3 or Azure are saved.",
        derive=Derive((), _cwd, "the working directory", machine=True),
        local=True,
        sensitive=True,
    )
    ui_url: str | None = setting(
        "UI_URL",
        URL,
        "URL of the Metaflow UI.",
        sensitive=True,  # the link a run prints
    )
    contact_info: Mapping[str, str] = setting(
        "CONTACT_INFO",
        STR_DICT,
        "Contact information shown by the metaflow command.",
        default={
            "Read the documentation": "http://docs.metaflow.org",
            "Chat with us": "http://chat.metaflow.org",
            "Get help by email": "help@metaflow.org",
        },
        sensitive=True,
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
        "DATASTORE_SYSROOT_LOCAL",
        PATH,
        "Root of the local datastore.",
        local=True,
        sensitive=True,
    )
    sysroot_spin: str | None = setting(
        "DATASTORE_SYSROOT_SPIN",
        PATH,
        "Root of the spin datastore.",
        local=True,
        sensitive=True,
    )
    sysroot_s3: str | None = setting(
        "DATASTORE_SYSROOT_S3",
        S3_URL,
        "S3 bucket and prefix for artifacts and code packages (the S3 datastore).",
        sensitive=True,
    )
    sysroot_azure: str | None = setting(
        "DATASTORE_SYSROOT_AZURE",
        AZURE_ROOT,
        "Azure Blob container and prefix (container/prefix).",
        sensitive=True,
    )
    sysroot_gs: str | None = setting(
        "DATASTORE_SYSROOT_GS", GS_URL, "Google Cloud Storage bucket and prefix.", sensitive=True
    )


class ClientCache(Section):
    """The client-side datastore cache."""

    path: str = setting(
        "CLIENT_CACHE_PATH",
        PATH,
        "Directory of the client cache.",
        default="/tmp/metaflow_client",  # noqa: S108 - Metaflow's own default
        local=True,
        sensitive=True,
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


class Secrets(Section):
    """The @secrets decorator backends."""

    backend_type: str | None = setting(
        "DEFAULT_SECRETS_BACKEND_TYPE",
        STR,
        "Default secrets backend (aws-secrets-manager, ...).",
        sensitive=True,
    )
    role: str | None = setting(
        "DEFAULT_SECRETS_ROLE", STR, "Role assumed to read secrets.", sensitive=True
    )
    aws_secrets_manager_default_region: str | None = setting(
        "AWS_SECRETS_MANAGER_DEFAULT_REGION", STR, "AWS region of Secrets Manager.", sensitive=True
    )
    aws_secrets_manager_default_role: str | None = setting(
        "AWS_SECRETS_MANAGER_DEFAULT_ROLE",
        IAM_ROLE_ARN,
        "IAM role assumed for Secrets Manager.",
        sensitive=True,
    )
    gcp_secret_manager_prefix: str | None = setting(
        "GCP_SECRET_MANAGER_PREFIX",
        STR,
        "Prefix of GCP Secret Manager secret names.",
        sensitive=True,
    )
    azure_key_vault_prefix: str | None = setting(
        "AZURE_KEY_VAULT_PREFIX", STR, "Azure Key Vault URL prefix.", sensitive=True
    )


class Cards(Section):
    """Where cards are stored (``CARD_*``)."""

    localroot: str | None = setting(
        "CARD_LOCALROOT",
        PATH,
        "Local root of cards.",
        local=True,
        renamed=(old_attribute("DATASTORE_CARD_LOCALROOT"),),
        sensitive=True,
    )
    s3root: str | None = setting(
        "CARD_S3ROOT",
        S3_URL,
        "S3 root of cards.",
        derive=under("DATASTORE_SYSROOT_S3", suffix="mf.cards"),
        sensitive=True,
        renamed=(old_attribute("DATASTORE_CARD_S3ROOT"),),
    )
    azureroot: str | None = setting(
        "CARD_AZUREROOT",
        AZURE_ROOT,
        "Azure root of cards.",
        derive=under("DATASTORE_SYSROOT_AZURE", suffix="mf.cards"),
        sensitive=True,
        renamed=(
            Renamed(
                "METAFLOW_DATASTORE_CARD_AZUREROOT",
                "2.7.15",
                "set by Metaflow 2.7.7 to 2.7.14 in the tasks of Argo Workflows and Airflow, never "
                "read; 2.7.15 sets the current name",
            ),
        ),
    )
    gsroot: str | None = setting(
        "CARD_GSROOT",
        GS_URL,
        "GCS root of cards.",
        derive=under("DATASTORE_SYSROOT_GS", suffix="mf.cards"),
        sensitive=True,
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
        "AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", URL, "Azure storage account URL.", sensitive=True
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


# --- the root and the indexes -----------------------------------------------------------------

from .table_aws import S3, Batch, Datatools, Service, StepFunctions  # noqa: E402
from .table_platforms import (  # noqa: E402 - the continuation of this table
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
#: every old name of a setting (``Renamed``), applied or not: name -> (the setting, the record)
OLD_NAMES: dict[str, tuple[Setting, Renamed]] = {
    old.name: (f, old) for f in FIELDS for old in f.renamed
}


def find(name: str) -> Setting | None:
    """The setting called ``name``: its environment name or an alias, with or without METAFLOW_."""
    return BY_ENV.get(name if name.startswith(PREFIX) else PREFIX + name)


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

__all__ = [
    "BY_ENV",
    "BY_NAME",
    "DEBUG_OPTIONS",
    "DERIVED",
    "FIELDS",
    "MACHINE_VARIABLES",
    "OLD_NAMES",
    "SECTIONS",
    "USER_VARIABLES",
    "Sections",
    "find",
]
