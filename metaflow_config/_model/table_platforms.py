"""The settings table, continued: Kubernetes, Argo, Airflow, Conda, debug, sandbox, tracing."""

from __future__ import annotations

from .fields import Section, old_attribute, same_as, setting, under
from .kinds import (
    AZURE_ROOT,
    BOOL,
    COMMA_NAMES,
    GS_URL,
    KEY_VALUE_LIST,
    NAME_LIST,
    NONNEG_INT,
    PATH,
    PLUGIN_NAME,
    QOS_CLASS,
    QUANTITY,
    S3_URL,
    SFN_NAME_PREFIX,
    STR,
    TOLERATIONS,
    URL,
    VOLUME_CLAIMS,
    choice,
)

__all__ = [
    "DEBUG_OPTIONS",
    "Airflow",
    "Argo",
    "Conda",
    "Debug",
    "Kubernetes",
    "Sandbox",
    "Tracing",
]

DEBUG_OPTIONS = (
    "subcommand",
    "sidecar",
    "s3client",
    "tracing",
    "stubgen",
    "userconf",
    "conda",
    "package",
)


class Kubernetes(Section):
    """Kubernetes compute (the @kubernetes decorator)."""

    namespace: str = setting(
        "KUBERNETES_NAMESPACE",
        STR,
        "Namespace of every object Metaflow creates.",
        default="default",
        sensitive=True,
    )
    service_account: str | None = setting(
        "KUBERNETES_SERVICE_ACCOUNT", STR, "Service account of Metaflow pods.", sensitive=True
    )
    node_selector: str = setting(
        "KUBERNETES_NODE_SELECTOR",
        KEY_VALUE_LIST,
        "Node selectors, foo=bar,baz=bab.",
        default="",
        sensitive=True,  # the node, and so its instance role
    )
    tolerations: str = setting(
        "KUBERNETES_TOLERATIONS", TOLERATIONS, "Pod tolerations (JSON).", default="", sensitive=True
    )
    persistent_volume_claims: str = setting(
        "KUBERNETES_PERSISTENT_VOLUME_CLAIMS",
        VOLUME_CLAIMS,
        "Persistent volume claims (JSON).",
        default="",
        sensitive=True,
    )
    secrets: str = setting(
        "KUBERNETES_SECRETS",
        COMMA_NAMES,
        "Names of Kubernetes secrets mounted into pods, comma-separated.",
        default="",
        sensitive=True,
    )
    labels: str = setting(
        "KUBERNETES_LABELS", STR, "Default pod labels.", default="", sensitive=True
    )
    annotations: str = setting(
        "KUBERNETES_ANNOTATIONS", STR, "Default pod annotations.", default="", sensitive=True
    )
    gpu_vendor: str = setting(
        "KUBERNETES_GPU_VENDOR",
        choice("nvidia", "amd"),
        "GPU vendor of GPU pods.",
        default="nvidia",
    )
    container_image: str | None = setting(
        "KUBERNETES_CONTAINER_IMAGE",
        STR,
        "Container image of Kubernetes pods.",
        derive=same_as("DEFAULT_CONTAINER_IMAGE"),
        sensitive=True,
    )
    image_pull_policy: str | None = setting(
        "KUBERNETES_IMAGE_PULL_POLICY",
        choice("Always", "IfNotPresent", "Never"),
        "imagePullPolicy of Kubernetes pods.",
    )
    image_pull_secrets: str = setting(
        "KUBERNETES_IMAGE_PULL_SECRETS",
        NAME_LIST,
        "Image pull secrets of Kubernetes pods.",
        default="",
        sensitive=True,
    )
    container_registry: str | None = setting(
        "KUBERNETES_CONTAINER_REGISTRY",
        STR,
        "Registry Kubernetes images are pulled from.",
        derive=same_as("DEFAULT_CONTAINER_REGISTRY"),
        sensitive=True,
    )
    fetch_ec2_metadata: bool = setting(
        "KUBERNETES_FETCH_EC2_METADATA",
        BOOL,
        "Fetch EC2 instance metadata in pods.",
        default=False,
    )
    shared_memory: int | None = setting(
        "KUBERNETES_SHARED_MEMORY", NONNEG_INT, "Shared memory of a step, in MB."
    )
    port: int | None = setting("KUBERNETES_PORT", NONNEG_INT, "Port opened on pods.")
    cpu: str | None = setting("KUBERNETES_CPU", QUANTITY, "Default CPU request (cores).")
    memory: str | None = setting("KUBERNETES_MEMORY", QUANTITY, "Default memory request, in MB.")
    disk: str | None = setting("KUBERNETES_DISK", QUANTITY, "Default disk request, in MB.")
    qos: str = setting("KUBERNETES_QOS", QOS_CLASS, "QoS class of pods.", default="burstable")
    conda_arch: str | None = setting(
        "KUBERNETES_CONDA_ARCH", STR, "Node architecture for @conda/@pypi."
    )
    jobset_group: str = setting(
        "KUBERNETES_JOBSET_GROUP",
        STR,
        "API group of JobSets.",
        default="jobset.x-k8s.io",
        sensitive=True,
    )
    jobset_version: str = setting(
        "KUBERNETES_JOBSET_VERSION",
        STR,
        "API version of JobSets.",
        default="v1alpha2",
        sensitive=True,
    )
    job_terminate_mode: str = setting(
        "KUBERNETES_JOB_TERMINATE_MODE",
        choice("stop", "delete"),
        "How Kubernetes jobs are terminated.",
        default="stop",
    )
    job_ttl_seconds_after_finished: int = setting(
        "KUBERNETES_JOB_TTL_SECONDS_AFTER_FINISHED",
        NONNEG_INT,
        "Seconds completed jobs are kept (7 days).",
        default=7 * 24 * 60 * 60,
    )
    sandbox_init_script: str | None = setting(
        "KUBERNETES_SANDBOX_INIT_SCRIPT", STR, "Init script of sandbox pods.", sensitive=True
    )


class Argo(Section):
    """Argo Workflows and Argo Events."""

    workflows_capture_error_script: str | None = setting(
        "ARGO_WORKFLOWS_CAPTURE_ERROR_SCRIPT",
        STR,
        "Script capturing Argo error logs.",
        sensitive=True,
    )
    workflows_kubernetes_secrets: str = setting(
        "ARGO_WORKFLOWS_KUBERNETES_SECRETS",
        COMMA_NAMES,
        "Secrets mounted into Argo pods, comma-separated.",
        default="",
        sensitive=True,
    )
    workflows_env_vars_to_skip: str = setting(
        "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP",
        COMMA_NAMES,
        "Variables not passed to Argo pods, comma-separated.",
        default="",
        sensitive=True,  # it strips any setting from the pods (the encryption, the datastore)
    )
    workflows_ui_url: str | None = setting(
        "ARGO_WORKFLOWS_UI_URL", URL, "URL of the Argo Workflows UI.", sensitive=True
    )
    workflows_use_schedules: bool = setting(
        "ARGO_WORKFLOWS_USE_SCHEDULES", BOOL, "Use `schedules` (Argo >= 3.6).", default=False
    )
    events_service_account: str | None = setting(
        "ARGO_EVENTS_SERVICE_ACCOUNT",
        STR,
        "Service account of Argo Events sensors.",
        sensitive=True,
    )
    events_event_bus: str = setting(
        "ARGO_EVENTS_EVENT_BUS", STR, "Argo Events event bus.", default="default", sensitive=True
    )
    events_event_source: str | None = setting(
        "ARGO_EVENTS_EVENT_SOURCE", STR, "Argo Events event source.", sensitive=True
    )
    events_event: str | None = setting(
        "ARGO_EVENTS_EVENT", STR, "Argo Events event name.", sensitive=True
    )
    events_webhook_url: str | None = setting(
        "ARGO_EVENTS_WEBHOOK_URL", URL, "Argo Events webhook URL.", sensitive=True
    )
    events_internal_webhook_url: str | None = setting(
        "ARGO_EVENTS_INTERNAL_WEBHOOK_URL",
        URL,
        "Argo Events webhook URL seen from pods.",
        derive=same_as("ARGO_EVENTS_WEBHOOK_URL"),
        sensitive=True,
    )
    events_webhook_auth: str = setting(
        "ARGO_EVENTS_WEBHOOK_AUTH",
        STR,
        "Authentication mode of the webhook.",
        default="none",
        sensitive=True,
    )
    events_sensor_namespace: str = setting(
        "ARGO_EVENTS_SENSOR_NAMESPACE",
        STR,
        "Namespace of Argo Events sensors.",
        derive=same_as("KUBERNETES_NAMESPACE"),
        sensitive=True,
    )
    namespaced_events_prefix: str = setting(
        "NAMESPACED_EVENTS_PREFIX",
        STR,
        "Prefix of namespaced events.",
        default="mfns",
        sensitive=True,
    )


class Airflow(Section):
    """Apache Airflow."""

    kubernetes_startup_timeout_seconds: int = setting(
        "AIRFLOW_KUBERNETES_STARTUP_TIMEOUT_SECONDS",
        NONNEG_INT,
        "startup_timeout_seconds of KubernetesPodOperator.",
        default=60 * 60,
        renamed=(old_attribute("AIRFLOW_KUBERNETES_STARTUP_TIMEOUT"),),
    )
    kubernetes_conn_id: str | None = setting(
        "AIRFLOW_KUBERNETES_CONN_ID",
        STR,
        "kubernetes_conn_id of KubernetesPodOperator.",
        sensitive=True,
    )
    kubernetes_kubeconfig_file: str | None = setting(
        "AIRFLOW_KUBERNETES_KUBECONFIG_FILE",
        PATH,
        "kubeconfig file for Airflow.",
        local=True,
        sensitive=True,
    )
    kubernetes_kubeconfig_context: str | None = setting(
        "AIRFLOW_KUBERNETES_KUBECONFIG_CONTEXT",
        STR,
        "kubeconfig context for Airflow.",
        sensitive=True,
    )


class Conda(Section):
    """@conda / @pypi environments."""

    package_s3root: str | None = setting(
        "CONDA_PACKAGE_S3ROOT",
        S3_URL,
        "S3 root of conda packages (defaults under the sysroot).",
        derive=under("DATASTORE_SYSROOT_S3", suffix="conda"),
        sensitive=True,
    )
    package_azureroot: str | None = setting(
        "CONDA_PACKAGE_AZUREROOT",
        AZURE_ROOT,
        "Azure root of conda packages (container/prefix).",
        sensitive=True,
    )
    package_gsroot: str | None = setting(
        "CONDA_PACKAGE_GSROOT", GS_URL, "GCS root of conda packages.", sensitive=True
    )
    dependency_resolver: str = setting(
        "CONDA_DEPENDENCY_RESOLVER",
        PLUGIN_NAME,
        "Resolver of conda dependencies (conda, mamba, micromamba, ...; read by extensions).",
        default="conda",
        plugin="conda_resolver",
    )
    use_fast_init: bool = setting(
        "CONDA_USE_FAST_INIT",
        BOOL,
        "Use the fast init binary.",
        default=False,
        # a task then runs `fast-initializer` from its PATH or its code package, else one it
        # downloads (unpinned), to install its packages: what chooses the code that runs
        sensitive=True,
    )


class Debug(Section):
    """Debug output switches (``DEBUG_*``).

    Sensitive: Metaflow then prints command lines, parameter and config values and storage
    requests to the terminal and the runs' logs, which others may read.
    """

    subcommand: bool = setting(
        "DEBUG_SUBCOMMAND", BOOL, "Debug subcommands.", default=False, sensitive=True
    )
    sidecar: bool = setting("DEBUG_SIDECAR", BOOL, "Debug sidecars.", default=False, sensitive=True)
    s3client: bool = setting(
        "DEBUG_S3CLIENT", BOOL, "Debug the S3 client.", default=False, sensitive=True
    )
    tracing: bool = setting("DEBUG_TRACING", BOOL, "Debug tracing.", default=False, sensitive=True)
    stubgen: bool = setting(
        "DEBUG_STUBGEN", BOOL, "Debug stub generation.", default=False, sensitive=True
    )
    userconf: bool = setting(
        "DEBUG_USERCONF", BOOL, "Debug user configs.", default=False, sensitive=True
    )
    conda: bool = setting("DEBUG_CONDA", BOOL, "Debug conda.", default=False, sensitive=True)
    package: bool = setting(
        "DEBUG_PACKAGE", BOOL, "Debug code packaging.", default=False, sensitive=True
    )


class Sandbox(Section):
    """The Metaflow AWS sandbox."""

    enabled: bool = setting(
        "AWS_SANDBOX_ENABLED", BOOL, "Use the Metaflow AWS sandbox.", default=False, sensitive=True
    )
    api_key: str | None = setting(
        "AWS_SANDBOX_API_KEY", STR, "API key of the sandbox.", secret=True
    )
    internal_service_url: str | None = setting(
        "AWS_SANDBOX_INTERNAL_SERVICE_URL",
        URL,
        "Metadata service URL inside the sandbox.",
        sensitive=True,
    )
    region: str | None = setting(
        "AWS_SANDBOX_REGION", STR, "AWS region of the sandbox.", sensitive=True
    )
    stack_name: str | None = setting(
        "AWS_SANDBOX_STACK_NAME",
        SFN_NAME_PREFIX,
        "Stack name (state machine prefix) of the sandbox.",
        sensitive=True,
    )


class Tracing(Section):
    """OpenTelemetry / Zipkin tracing."""

    otel_endpoint: str | None = setting(
        "OTEL_ENDPOINT", URL, "OpenTelemetry collector endpoint.", sensitive=True
    )
    zipkin_endpoint: str | None = setting(
        "ZIPKIN_ENDPOINT", URL, "Zipkin endpoint.", sensitive=True
    )
    console_trace_enabled: bool = setting(
        "CONSOLE_TRACE_ENABLED",
        BOOL,
        "Print traces to the console.",
        default=False,
        sensitive=True,  # the traces hold command lines, as the DEBUG_* output does
    )
    otel_service_name: str = setting(
        "OTEL_SERVICE_NAME", STR, "Service name of traces.", default="metaflow"
    )
