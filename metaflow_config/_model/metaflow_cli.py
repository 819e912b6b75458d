"""The environment variables Metaflow's command line reads (generated: do not edit).

Metaflow starts a flow's command line with click's ``auto_envvar_prefix="METAFLOW"``: every
option of every command reads ``<prefix><OPTION>`` from the environment (the top level's prefix
is ``METAFLOW_``, a command's its parent's plus ``<COMMAND>_``). Walked from Metaflow 2.19.39's
click tree by ``tests/_metaflow_cli.py``, which regenerates it (``python tests/_metaflow_cli.py >
metaflow_config/_model/metaflow_cli.py``); ``tests/test_metaflow_cli.py`` compares it with the
installed Metaflow.
"""

from __future__ import annotations

#: The Metaflow release these names were read from.
METAFLOW_VERSION = "2.19.39"

#: Each command of ``python flow.py`` that has options (``""``: the top level): the
#: prefix of its variables, and each option as (the variable's suffix, the option).
COMMANDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "": (
        "METAFLOW_",
        (
            ("QUIET", "--quiet"),
            ("METADATA", "--metadata"),
            ("ENVIRONMENT", "--environment"),
            ("FORCE_REBUILD_ENVIRONMENTS", "--force-rebuild-environments"),
            ("DATASTORE", "--datastore"),
            ("DATASTORE_ROOT", "--datastore-root"),
            ("PACKAGE_SUFFIXES", "--package-suffixes"),
            ("DECOSPECS", "--with"),
            ("PYLINT", "--pylint"),
            ("EVENT_LOGGER", "--event-logger"),
            ("MONITOR", "--monitor"),
            ("LOCAL_CONFIG_FILE", "--local-config-file"),
            ("MODE", "--mode"),
        ),
    ),
    "airflow": (
        "METAFLOW_AIRFLOW_",
        (("NAME", "--name"),),
    ),
    "airflow create": (
        "METAFLOW_AIRFLOW_CREATE_",
        (
            ("AUTHORIZE", "--authorize"),
            ("GENERATE_NEW_TOKEN", "--generate-new-token"),
            ("GIVEN_TOKEN", "--new-token"),
            ("TAGS", "--tag"),
            ("IS_PAUSED_UPON_CREATION", "--is-paused-upon-creation"),
            ("USER_NAMESPACE", "--namespace"),
            ("MAX_WORKERS", "--max-workers"),
            ("WORKFLOW_TIMEOUT", "--workflow-timeout"),
            ("WORKER_POOL", "--worker-pool"),
        ),
    ),
    "argo-workflows": (
        "METAFLOW_ARGO_WORKFLOWS_",
        (("NAME", "--name"),),
    ),
    "argo-workflows create": (
        "METAFLOW_ARGO_WORKFLOWS_CREATE_",
        (
            ("AUTHORIZE", "--authorize"),
            ("GENERATE_NEW_TOKEN", "--generate-new-token"),
            ("GIVEN_TOKEN", "--new-token"),
            ("TAGS", "--tag"),
            ("USER_NAMESPACE", "--namespace"),
            ("ONLY_JSON", "--only-json"),
            ("MAX_WORKERS", "--max-workers"),
            ("WORKFLOW_TIMEOUT", "--workflow-timeout"),
            ("WORKFLOW_PRIORITY", "--workflow-priority"),
            ("AUTO_EMIT_ARGO_EVENTS", "--auto-emit-argo-events"),
            ("NOTIFY_ON_ERROR", "--notify-on-error"),
            ("NOTIFY_ON_SUCCESS", "--notify-on-success"),
            ("NOTIFY_SLACK_WEBHOOK_URL", "--notify-slack-webhook-url"),
            ("NOTIFY_PAGER_DUTY_INTEGRATION_KEY", "--notify-pager-duty-integration-key"),
            ("NOTIFY_INCIDENT_IO_API_KEY", "--notify-incident-io-api-key"),
            ("INCIDENT_IO_ALERT_SOURCE_CONFIG_ID", "--incident-io-alert-source-config-id"),
            ("INCIDENT_IO_METADATA", "--incident-io-metadata"),
            ("ENABLE_HEARTBEAT_DAEMON", "--enable-heartbeat-daemon"),
            ("DEPLOYER_ATTRIBUTE_FILE", "--deployer-attribute-file"),
            ("ENABLE_ERROR_MSG_CAPTURE", "--enable-error-msg-capture"),
            ("WORKFLOW_TITLE", "--workflow-title"),
            ("WORKFLOW_DESCRIPTION", "--workflow-description"),
        ),
    ),
    "argo-workflows delete": (
        "METAFLOW_ARGO_WORKFLOWS_DELETE_",
        (("AUTHORIZE", "--authorize"),),
    ),
    "argo-workflows heartbeat": (
        "METAFLOW_ARGO_WORKFLOWS_HEARTBEAT_",
        (("RUN_ID", "--run_id"), ("TAGS", "--tag")),
    ),
    "argo-workflows list-workflow-templates": (
        "METAFLOW_ARGO_WORKFLOWS_LIST_WORKFLOW_TEMPLATES_",
        (("ALL", "--all"),),
    ),
    "argo-workflows suspend": (
        "METAFLOW_ARGO_WORKFLOWS_SUSPEND_",
        (("AUTHORIZE", "--authorize"),),
    ),
    "argo-workflows terminate": (
        "METAFLOW_ARGO_WORKFLOWS_TERMINATE_",
        (("AUTHORIZE", "--authorize"),),
    ),
    "argo-workflows trigger": (
        "METAFLOW_ARGO_WORKFLOWS_TRIGGER_",
        (
            ("RUN_ID_FILE", "--run-id-file"),
            ("DEPLOYER_ATTRIBUTE_FILE", "--deployer-attribute-file"),
        ),
    ),
    "argo-workflows unsuspend": (
        "METAFLOW_ARGO_WORKFLOWS_UNSUSPEND_",
        (("AUTHORIZE", "--authorize"),),
    ),
    "batch kill": (
        "METAFLOW_BATCH_KILL_",
        (("MY_RUNS", "--my-runs"), ("USER", "--user"), ("RUN_ID", "--run-id")),
    ),
    "batch list": (
        "METAFLOW_BATCH_LIST_",
        (("MY_RUNS", "--my-runs"), ("USER", "--user"), ("RUN_ID", "--run-id")),
    ),
    "batch step": (
        "METAFLOW_BATCH_STEP_",
        (
            ("EXECUTABLE", "--executable"),
            ("IMAGE", "--image"),
            ("IAM_ROLE", "--iam-role"),
            ("EXECUTION_ROLE", "--execution-role"),
            ("CPU", "--cpu"),
            ("GPU", "--gpu"),
            ("MEMORY", "--memory"),
            ("QUEUE", "--queue"),
            ("RUN_ID", "--run-id"),
            ("TASK_ID", "--task-id"),
            ("INPUT_PATHS", "--input-paths"),
            ("SPLIT_INDEX", "--split-index"),
            ("CLONE_PATH", "--clone-path"),
            ("CLONE_RUN_ID", "--clone-run-id"),
            ("TAG", "--tag"),
            ("NAMESPACE", "--namespace"),
            ("RETRY_COUNT", "--retry-count"),
            ("MAX_USER_CODE_RETRIES", "--max-user-code-retries"),
            ("RUN_TIME_LIMIT", "--run-time-limit"),
            ("SHARED_MEMORY", "--shared-memory"),
            ("MAX_SWAP", "--max-swap"),
            ("SWAPPINESS", "--swappiness"),
            ("INFERENTIA", "--inferentia"),
            ("EFA", "--efa"),
            ("AWS_BATCH_TAGS", "--aws-batch-tag"),
            ("USE_TMPFS", "--use-tmpfs"),
            ("TMPFS_TEMPDIR", "--tmpfs-tempdir"),
            ("TMPFS_SIZE", "--tmpfs-size"),
            ("TMPFS_PATH", "--tmpfs-path"),
            ("UBF_CONTEXT", "--ubf-context"),
            ("HOST_VOLUMES", "--host-volumes"),
            ("EFS_VOLUMES", "--efs-volumes"),
            ("EPHEMERAL_STORAGE", "--ephemeral-storage"),
            ("LOG_DRIVER", "--log-driver"),
            ("LOG_OPTIONS", "--log-options"),
            ("NUM_PARALLEL", "--num-parallel"),
            ("PRIVILEGED", "--privileged"),
        ),
    ),
    "card create": (
        "METAFLOW_CARD_CREATE_",
        (
            ("TYPE", "--type"),
            ("OPTIONS", "--options"),
            ("TIMEOUT", "--timeout"),
            ("RENDER_ERROR_CARD", "--render-error-card"),
            ("ID", "--id"),
            ("COMPONENT_FILE", "--component-file"),
            ("MODE", "--mode"),
            ("DATA_FILE", "--data-file"),
            ("CARD_UUID", "--card-uuid"),
            ("DELETE_INPUT_FILES", "--delete-input-files"),
            ("SAVE_METADATA", "--save-metadata"),
        ),
    ),
    "card get": (
        "METAFLOW_CARD_GET_",
        (
            ("HASH", "--hash"),
            ("TYPE", "--type"),
            ("ID", "--id"),
            ("FOLLOW_RESUMED", "--follow-resumed"),
        ),
    ),
    "card list": (
        "METAFLOW_CARD_LIST_",
        (
            ("HASH", "--hash"),
            ("TYPE", "--type"),
            ("ID", "--id"),
            ("FOLLOW_RESUMED", "--follow-resumed"),
            ("AS_JSON", "--as-json"),
            ("FILE", "--file"),
        ),
    ),
    "card server": (
        "METAFLOW_CARD_SERVER_",
        (
            ("RUN_ID", "--run-id"),
            ("PORT", "--port"),
            ("USER_NAMESPACE", "--namespace"),
            ("POLL_INTERVAL", "--poll-interval"),
            ("MAX_CARDS", "--max-cards"),
        ),
    ),
    "card view": (
        "METAFLOW_CARD_VIEW_",
        (
            ("HASH", "--hash"),
            ("TYPE", "--type"),
            ("ID", "--id"),
            ("FOLLOW_RESUMED", "--follow-resumed"),
        ),
    ),
    "check": (
        "METAFLOW_CHECK_",
        (("WARNINGS", "--warnings"),),
    ),
    "dump": (
        "METAFLOW_DUMP_",
        (
            ("PRIVATE", "--private"),
            ("MAX_VALUE_SIZE", "--max-value-size"),
            ("INCLUDE", "--include"),
            ("FILE", "--file"),
        ),
    ),
    "init": (
        "METAFLOW_INIT_",
        (("RUN_ID", "--run-id"), ("TASK_ID", "--task-id"), ("TAGS", "--tag")),
    ),
    "kubernetes kill": (
        "METAFLOW_KUBERNETES_KILL_",
        (("MY_RUNS", "--my-runs"), ("USER", "--user"), ("RUN_ID", "--run-id")),
    ),
    "kubernetes list": (
        "METAFLOW_KUBERNETES_LIST_",
        (("MY_RUNS", "--my-runs"), ("USER", "--user"), ("RUN_ID", "--run-id")),
    ),
    "kubernetes step": (
        "METAFLOW_KUBERNETES_STEP_",
        (
            ("EXECUTABLE", "--executable"),
            ("IMAGE", "--image"),
            ("IMAGE_PULL_POLICY", "--image-pull-policy"),
            ("IMAGE_PULL_SECRETS", "--image-pull-secrets"),
            ("SERVICE_ACCOUNT", "--service-account"),
            ("SECRETS", "--secrets"),
            ("NODE_SELECTOR", "--node-selector"),
            ("K8S_NAMESPACE", "--k8s-namespace"),
            ("CPU", "--cpu"),
            ("DISK", "--disk"),
            ("MEMORY", "--memory"),
            ("GPU", "--gpu"),
            ("GPU_VENDOR", "--gpu-vendor"),
            ("RUN_ID", "--run-id"),
            ("TASK_ID", "--task-id"),
            ("INPUT_PATHS", "--input-paths"),
            ("SPLIT_INDEX", "--split-index"),
            ("CLONE_PATH", "--clone-path"),
            ("CLONE_RUN_ID", "--clone-run-id"),
            ("TAG", "--tag"),
            ("NAMESPACE", "--namespace"),
            ("RETRY_COUNT", "--retry-count"),
            ("MAX_USER_CODE_RETRIES", "--max-user-code-retries"),
            ("USE_TMPFS", "--use-tmpfs"),
            ("TMPFS_TEMPDIR", "--tmpfs-tempdir"),
            ("TMPFS_SIZE", "--tmpfs-size"),
            ("TMPFS_PATH", "--tmpfs-path"),
            ("RUN_TIME_LIMIT", "--run-time-limit"),
            ("PERSISTENT_VOLUME_CLAIMS", "--persistent-volume-claims"),
            ("TOLERATIONS", "--tolerations"),
            ("SHARED_MEMORY", "--shared-memory"),
            ("PORT", "--port"),
            ("UBF_CONTEXT", "--ubf-context"),
            ("NUM_PARALLEL", "--num-parallel"),
            ("QOS", "--qos"),
            ("LABELS", "--labels"),
            ("ANNOTATIONS", "--annotations"),
            ("EXTENDED_RESOURCES", "--extended-resources"),
            ("SECURITY_CONTEXT", "--security-context"),
        ),
    ),
    "logs scrub": (
        "METAFLOW_LOGS_SCRUB_",
        (
            ("STDOUT", "--stdout"),
            ("STDERR", "--stderr"),
            ("BOTH", "--both"),
            ("ATTEMPT", "--attempt"),
            ("LATEST", "--latest"),
            ("INCLUDE_NOT_DONE", "--include-not-done"),
        ),
    ),
    "logs show": (
        "METAFLOW_LOGS_SHOW_",
        (
            ("STDOUT", "--stdout"),
            ("STDERR", "--stderr"),
            ("BOTH", "--both"),
            ("TIMESTAMPS", "--timestamps"),
            ("ATTEMPT", "--attempt"),
        ),
    ),
    "output-raw": (
        "METAFLOW_OUTPUT_RAW_",
        (("JSON", "--json"),),
    ),
    "package": (
        "METAFLOW_PACKAGE_",
        (("TIMEOUT", "--timeout"),),
    ),
    "package list": (
        "METAFLOW_PACKAGE_LIST_",
        (("ARCHIVE", "--archive"),),
    ),
    "resume": (
        "METAFLOW_RESUME_",
        (
            ("TAGS", "--tag"),
            ("MAX_WORKERS", "--max-workers"),
            ("MAX_NUM_SPLITS", "--max-num-splits"),
            ("MAX_LOG_SIZE", "--max-log-size"),
            ("DECOSPECS", "--with"),
            ("RUN_ID_FILE", "--run-id-file"),
            ("RUNNER_ATTRIBUTE_FILE", "--runner-attribute-file"),
            ("RESUME_IDENTIFIER", "--resume-identifier"),
            ("REENTRANT", "--reentrant"),
            ("CLONE_ONLY", "--clone-only"),
            ("RUN_ID", "--run-id"),
            ("ORIGIN_RUN_ID", "--origin-run-id"),
        ),
    ),
    "run": (
        "METAFLOW_RUN_",
        (
            ("TAGS", "--tag"),
            ("MAX_WORKERS", "--max-workers"),
            ("MAX_NUM_SPLITS", "--max-num-splits"),
            ("MAX_LOG_SIZE", "--max-log-size"),
            ("DECOSPECS", "--with"),
            ("RUN_ID_FILE", "--run-id-file"),
            ("RUNNER_ATTRIBUTE_FILE", "--runner-attribute-file"),
            ("USER_NAMESPACE", "--namespace"),
        ),
    ),
    "spin": (
        "METAFLOW_SPIN_",
        (
            ("SKIP_DECORATORS", "--skip-decorators"),
            ("ARTIFACTS_MODULE", "--artifacts-module"),
            ("PERSIST", "--persist"),
            ("MAX_LOG_SIZE", "--max-log-size"),
            ("RUN_ID_FILE", "--run-id-file"),
            ("RUNNER_ATTRIBUTE_FILE", "--runner-attribute-file"),
        ),
    ),
    "spin-step": (
        "METAFLOW_SPIN_STEP_",
        (
            ("RUN_ID", "--run-id"),
            ("TASK_ID", "--task-id"),
            ("ORIG_FLOW_DATASTORE", "--orig-flow-datastore"),
            ("INPUT_PATHS", "--input-paths"),
            ("SPLIT_INDEX", "--split-index"),
            ("RETRY_COUNT", "--retry-count"),
            ("MAX_USER_CODE_RETRIES", "--max-user-code-retries"),
            ("OPT_NAMESPACE", "--namespace"),
            ("SKIP_DECORATORS", "--skip-decorators"),
            ("PERSIST", "--persist"),
            ("ARTIFACTS_MODULE", "--artifacts-module"),
        ),
    ),
    "spot-metadata record": (
        "METAFLOW_SPOT_METADATA_RECORD_",
        (
            ("RUN_ID", "--run-id"),
            ("STEP_NAME", "--step-name"),
            ("TASK_ID", "--task-id"),
            ("TERMINATION_NOTICE_TIME", "--termination-notice-time"),
            ("TAGS", "--tag"),
        ),
    ),
    "step": (
        "METAFLOW_STEP_",
        (
            ("RUN_ID", "--run-id"),
            ("TASK_ID", "--task-id"),
            ("INPUT_PATHS", "--input-paths"),
            ("INPUT_PATHS_FILENAME", "--input-paths-filename"),
            ("SPLIT_INDEX", "--split-index"),
            ("OPT_TAG", "--tag"),
            ("OPT_NAMESPACE", "--namespace"),
            ("RETRY_COUNT", "--retry-count"),
            ("MAX_USER_CODE_RETRIES", "--max-user-code-retries"),
            ("CLONE_ONLY", "--clone-only"),
            ("CLONE_RUN_ID", "--clone-run-id"),
            ("UBF_CONTEXT", "--ubf-context"),
            ("NUM_PARALLEL", "--num-parallel"),
        ),
    ),
    "step-functions": (
        "METAFLOW_STEP_FUNCTIONS_",
        (("NAME", "--name"),),
    ),
    "step-functions create": (
        "METAFLOW_STEP_FUNCTIONS_CREATE_",
        (
            ("AUTHORIZE", "--authorize"),
            ("GENERATE_NEW_TOKEN", "--generate-new-token"),
            ("GIVEN_TOKEN", "--new-token"),
            ("TAGS", "--tag"),
            ("AWS_BATCH_TAGS", "--aws-batch-tag"),
            ("USER_NAMESPACE", "--namespace"),
            ("ONLY_JSON", "--only-json"),
            ("MAX_WORKERS", "--max-workers"),
            ("WORKFLOW_TIMEOUT", "--workflow-timeout"),
            ("LOG_EXECUTION_HISTORY", "--log-execution-history"),
            ("USE_DISTRIBUTED_MAP", "--use-distributed-map"),
            ("COMPRESS_STATE_MACHINE", "--compress-state-machine"),
            ("DEPLOYER_ATTRIBUTE_FILE", "--deployer-attribute-file"),
        ),
    ),
    "step-functions delete": (
        "METAFLOW_STEP_FUNCTIONS_DELETE_",
        (("AUTHORIZE", "--authorize"),),
    ),
    "step-functions list-runs": (
        "METAFLOW_STEP_FUNCTIONS_LIST_RUNS_",
        (
            ("RUNNING", "--running"),
            ("SUCCEEDED", "--succeeded"),
            ("FAILED", "--failed"),
            ("TIMED_OUT", "--timed-out"),
            ("ABORTED", "--aborted"),
        ),
    ),
    "step-functions terminate": (
        "METAFLOW_STEP_FUNCTIONS_TERMINATE_",
        (("AUTHORIZE", "--authorize"),),
    ),
    "step-functions trigger": (
        "METAFLOW_STEP_FUNCTIONS_TRIGGER_",
        (
            ("RUN_ID_FILE", "--run-id-file"),
            ("DEPLOYER_ATTRIBUTE_FILE", "--deployer-attribute-file"),
        ),
    ),
    "tag add": (
        "METAFLOW_TAG_ADD_",
        (("RUN_ID", "--run-id"), ("USER_NAMESPACE", "--namespace")),
    ),
    "tag list": (
        "METAFLOW_TAG_LIST_",
        (
            ("RUN_ID", "--run-id"),
            ("LIST_ALL", "--all"),
            ("MY_RUNS", "--my-runs"),
            ("HIDE_SYSTEM_TAGS", "--hide-system-tags"),
            ("GROUP_BY_TAG", "--group-by-tag"),
            ("GROUP_BY_RUN", "--group-by-run"),
            ("FLAT", "--flat"),
        ),
    ),
    "tag remove": (
        "METAFLOW_TAG_REMOVE_",
        (("RUN_ID", "--run-id"), ("USER_NAMESPACE", "--namespace")),
    ),
    "tag replace": (
        "METAFLOW_TAG_REPLACE_",
        (
            ("RUN_ID", "--run-id"),
            ("USER_NAMESPACE", "--namespace"),
            ("TAGS_TO_ADD", "--add"),
            ("TAGS_TO_REMOVE", "--remove"),
        ),
    ),
}

#: The commands that take the flow's parameters as options, by prefix: a parameter
#: ``my-param`` of ``run`` is read from ``METAFLOW_RUN_MY_PARAM``.
PARAMETER_COMMANDS: dict[str, str] = {
    "METAFLOW_ARGO_WORKFLOWS_TRIGGER_": "argo-workflows trigger",
    "METAFLOW_INIT_": "init",
    "METAFLOW_RUN_": "run",
    "METAFLOW_STEP_FUNCTIONS_TRIGGER_": "step-functions trigger",
}

#: Top-level options that core flow decorators and a flow's ``Config`` add, by suffix:
#: (the option, what adds it); each reads ``METAFLOW_<SUFFIX>`` and, first,
#: ``METAFLOW_FLOW_<SUFFIX>`` (the explicit variable of every flow decorator's option).
FLOW_OPTIONS: dict[str, tuple[str, str]] = {
    "BRANCH": ("--branch", "@project"),
    "PRODUCTION": ("--production", "@project"),
    "TRIGGER": ("--trigger", "@trigger_on_finish"),
    "CONFIG": ("--config", "a flow's Config"),
    "CONFIG_VALUE": ("--config-value", "a flow's Config"),
}

#: The plugin lists Metaflow reads with its own ``from_conf`` (``ENABLED_<CATEGORY>``):
#: not settings of this package's table, which leaves them to Metaflow.
ENABLED: tuple[str, ...] = (
    "METAFLOW_ENABLED_AWS_CLIENT_PROVIDER",
    "METAFLOW_ENABLED_AZURE_CLIENT_PROVIDER",
    "METAFLOW_ENABLED_CLI",
    "METAFLOW_ENABLED_CMD",
    "METAFLOW_ENABLED_DATACLIENT",
    "METAFLOW_ENABLED_DATASTORE",
    "METAFLOW_ENABLED_DEPLOYER_IMPL_PROVIDER",
    "METAFLOW_ENABLED_ENVIRONMENT",
    "METAFLOW_ENABLED_FLOW_DECORATOR",
    "METAFLOW_ENABLED_GCP_CLIENT_PROVIDER",
    "METAFLOW_ENABLED_INTEGRATION_ALIAS",
    "METAFLOW_ENABLED_LOGGING_SIDECAR",
    "METAFLOW_ENABLED_METADATA_PROVIDER",
    "METAFLOW_ENABLED_MONITOR_SIDECAR",
    "METAFLOW_ENABLED_RUNNER_CLI",
    "METAFLOW_ENABLED_SECRETS_PROVIDER",
    "METAFLOW_ENABLED_SIDECAR",
    "METAFLOW_ENABLED_STEP_DECORATOR",
    "METAFLOW_ENABLED_TL_PLUGIN",
)
