"""Names Metaflow uses that are not settings of the table: what each is, to tell it from a typo.

- :data:`RUNTIME_VARS` and :data:`RUNTIME_PREFIXES`: variables Metaflow (or this package) sets in
  a process's environment at run time, never configuration;
- the variables of Metaflow's command line (``metaflow_cli``, generated from its click tree):
  :data:`CLI_VARIABLES` by name, the prefixes of the commands taking a flow's parameters and the
  options of flow decorators (:data:`PARAMETER_PREFIXES`);
- :data:`RETIRED`: configuration names Metaflow once read and no longer does, with no successor
  (a renamed one is declared on its setting in the table: ``Renamed``);
- :data:`STANDS_FOR`: command-line variables whose option defaults to a setting (what a file
  that holds one of them means);
- :data:`CORE_PLUGINS`: the plugins Metaflow registers itself, by the category a setting's
  ``plugin`` names (``_sources.plugins`` reads what else is installed).

Data only; ``_sources.keys`` classifies a key with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .fields import PREFIX
from .metaflow_cli import COMMANDS, ENABLED, FLOW_OPTIONS, PARAMETER_COMMANDS

__all__ = [
    "CLI_VARIABLES",
    "COPIED_TO_TASKS",
    "CORE_PLUGINS",
    "ENABLED",
    "FLOW_OPTION_PREFIX",
    "PARAMETER_COMMANDS",
    "PARAMETER_PREFIXES",
    "RETIRED",
    "RUNTIME_PREFIXES",
    "RUNTIME_VARS",
    "SELECTORS",
    "STANDS_FOR",
]

#: This library's own variables: where the configuration is read from and how (read from the
#: environment only; in a file they select nothing).
SELECTORS = frozenset(
    PREFIX + n
    for n in (
        "HOME",
        "PROFILE",
        "CONFIG_STRICT",
        "CONFIG_EXTENSION",
        "CONFIG_WARNED",
        "CONFIG_PROJECT",
    )
)

#: The families of names Metaflow's launchers copy into every remote task themselves, of what
#: its ``from_conf`` read (``config_values()``): an extension's name under them is passed.
COPIED_TO_TASKS = ("METAFLOW_CONDA_", "METAFLOW_DEBUG_")

#: ``METAFLOW_*`` variables that are not settings but are legitimately present: the selectors of
#: this library and the variables Metaflow itself sets in task environments. Never "unknown".
RUNTIME_VARS = frozenset(
    PREFIX + n
    for n in [
        "HOME",
        "PROFILE",
        "CONFIG_STRICT",
        "CONFIG_EXTENSION",  # the Metaflow extension's off switch
        "CONFIG_WARNED",  # the warnings the launching process has shown (see ``_metaflow``)
        "CONFIG_PROJECT",  # PROJECT_VAR: where the search for the project file starts
        "AIRFLOW_DAG_RUN_ID",
        "AIRFLOW_JOB_ID",
        "AIRFLOW_TASK_ID",
        "ARGO_ERROR",
        "ARGO_WORKFLOW_FAILURES",
        "ATTEMPT_NUMBER",
        "CODE_DS",
        "CODE_METADATA",
        "CODE_SHA",
        "CODE_URL",
        "DEFAULT_PARAMETERS",
        "EXTENSIONS_SEARCH_DIRS",
        "EXTRACTED_ROOT",
        "FLOW_FILENAME",
        "FLOW_NAME",
        "INIT_SCRIPT",
        "INPUT_PATHS",
        "KUBERNETES_JOBSET_NAME",
        "KUBERNETES_NODE_IP",
        "KUBERNETES_POD_ID",
        "KUBERNETES_POD_NAME",
        "KUBERNETES_POD_NAMESPACE",
        "KUBERNETES_SERVICE_ACCOUNT_NAME",
        "KUBERNETES_WORKLOAD",
        "OWNER",
        "PACKAGE_POLICY",
        "PARAMETERS",
        "PARENT_TASK_ID",
        "PARENT_TASK_IDS",
        "PATH_TO_MICROMAMBA",
        "PRODUCTION_TOKEN",
        "RETRY_COUNT",
        "R_VERSION",
        "RUNTIME_ENVIRONMENT",
        "RUNTIME_NAME",
        "RUN_ID",
        "S3_TEST_RETRYABLE_FAILURES",
        "SKIP_INSTALL_DEPENDENCIES",
        "SFN_WORKFLOW_TIMEOUT",
        "SPLIT_INDEX",
        "SPLIT_PARENT_TASK_ID",
        "SPLIT_PARENT_TASK_ID_FOR_FOREACH_JOIN",
        "STEP_NAME",
        "STUBGEN",
        "TASK_ID",
        "TOKEN_HOME",
        "VERSION",
        "WORKFLOW_NAME",
        "WORKFLOW_NAMESPACE",
        "BATCH_WORKLOAD",
    ]
)

#: Families of variables Metaflow sets at run time, by prefix. A family may hold settings too
#: (``METAFLOW_CONDA_PACKAGE_S3ROOT``, ``METAFLOW_DEBUG_S3CLIENT``): a name close to one of
#: those is a typo of it, any other a variable of the family.
RUNTIME_PREFIXES = (
    "METAFLOW_ARGO_EVENT_PAYLOAD_",
    "METAFLOW_CONDA_",
    "METAFLOW_DEBUG_",
    "METAFLOW_ENV_ESCAPE_",
    "METAFLOW_INPUT_PATHS_",  # a Batch task's input paths, split in chunks
    "METAFLOW_PARENT_",  # a Step Functions join's parents (METAFLOW_PARENT_<n>_TASK_ID, _STEP)
)

#: Where any flow decorator's option is read from (``METAFLOW_FLOW_<OPTION>``, extensions'
#: decorators included); core decorators' options are in :data:`CLI_VARIABLES` too.
FLOW_OPTION_PREFIX = PREFIX + "FLOW_"

#: Prefixes of names Metaflow's command line takes as free-form: the flow's parameters of the
#: commands taking them (``METAFLOW_RUN_<PARAMETER>``), and any flow decorator's option.
PARAMETER_PREFIXES: tuple[str, ...] = (*PARAMETER_COMMANDS, FLOW_OPTION_PREFIX)


def _cli_variables() -> dict[str, tuple[str, str]]:
    """Every fixed variable of the command line: name -> (command, option)."""
    found: dict[str, tuple[str, str]] = {}
    for command, (prefix, options) in COMMANDS.items():
        for suffix, option in options:
            found.setdefault(prefix + suffix, (command, option))
    for suffix, (option, adds) in FLOW_OPTIONS.items():
        for name in (PREFIX + suffix, FLOW_OPTION_PREFIX + suffix):
            found.setdefault(name, ("", f"{option} (added by {adds})"))
    return found


#: The fixed variables of Metaflow's command line, by name: (the command, ``""`` for the top
#: level of ``python flow.py``; the option it gives the value of).
CLI_VARIABLES: dict[str, tuple[str, str]] = _cli_variables()

#: Names Metaflow once read and no longer does, with no setting taking their place: name ->
#: (the release that stopped reading it, what it was).
RETIRED: dict[str, tuple[str, str]] = {
    PREFIX + "SKIP_CARD_DUALWRITE": (
        "2.15.18",
        "read by Metaflow 2.7.10 to 2.15.17: whether to stop also writing cards where Metaflow "
        "before 2.7.10 kept them",
    ),
}

#: Command-line variables whose option defaults to a setting: in a file (which the command line
#: never reads) such a name means that setting.
STANDS_FOR: dict[str, str] = {
    PREFIX + "DATASTORE": "DEFAULT_DATASTORE",
    PREFIX + "METADATA": "DEFAULT_METADATA",
    PREFIX + "ENVIRONMENT": "DEFAULT_ENVIRONMENT",
    PREFIX + "EVENT_LOGGER": "DEFAULT_EVENT_LOGGER",
    PREFIX + "MONITOR": "DEFAULT_MONITOR",
    PREFIX + "PACKAGE_SUFFIXES": "DEFAULT_PACKAGE_SUFFIXES",
    PREFIX + "DATASTORE_ROOT": "DATASTORE_SYSROOT_S3",
    PREFIX + "RUN_DECOSPECS": "DEFAULT_DECOSPECS",
    PREFIX + "RESUME_DECOSPECS": "DEFAULT_DECOSPECS",
    PREFIX + "STEP_FUNCTIONS_CREATE_COMPRESS_STATE_MACHINE": "SFN_COMPRESS_STATE_MACHINE",
}


#: What Metaflow registers itself, by category (a plugin setting's ``plugin``;
#: ``conda_resolver``: the resolvers Metaflow's ``@conda`` took by name, and Netflix's extension
#: takes; no registry of them exists).
CORE_PLUGINS: Mapping[str, frozenset[str]] = {
    "datastore": frozenset({"local", "spin", "s3", "azure", "gs"}),
    "metadata_provider": frozenset({"local", "service", "spin"}),
    "conda_resolver": frozenset({"conda", "mamba", "micromamba"}),
}
