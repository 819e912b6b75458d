"""What a key of a layer is: a setting, a registered key, a runtime variable, or unknown.

A setting (or one of its aliases), a registered section's key, a variable Metaflow sets at run
time, or unknown (with a did-you-mean). :func:`take` records one key of a layer's read in its
``LayerData``: the table's settings by short name, registered sections' keys in ``extra``,
runtime variables not at all, anything else as unknown. A ``METAFLOW_*`` name the table does not
declare is looked up among registered sections only then (``sections.registry``, discovered once
per process).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._display import show_value
from .._model.fields import PREFIX, Setting, is_unset
from .._model.kinds import unicode_problem
from .._model.table import BY_ENV
from .._model.values import TooDeep, freeze
from ..errors import ConfigError, Problem
from .data import LayerData, Raw
from .sections import is_secret, on_reset, registry

__all__ = ["put", "put_extra", "section_key", "sensitive_key", "suggest", "take"]


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
        "FLOW_CONFIG",
        "FLOW_CONFIG_VALUE",
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


_RUNTIME_PREFIXES = (
    "METAFLOW_ARGO_EVENT_PAYLOAD_",
    "METAFLOW_CONDA_",
    "METAFLOW_DEBUG_",
    "METAFLOW_ENV_ESCAPE_",
    "METAFLOW_INIT_",  # a parameter's value for `init` (METAFLOW_INIT_<PARAMETER>)
    "METAFLOW_INPUT_PATHS_",  # a Batch task's input paths, split in chunks
    "METAFLOW_PARENT_",  # a Step Functions join's parents (METAFLOW_PARENT_<n>_TASK_ID, _STEP)
)


def take(
    data: LayerData, key: str, value: Any, location: str, *, file: bool, fix: Callable[[str], str]
) -> None:
    """Record one key of a layer: a setting (or alias), a registered key, runtime, or unknown.

    ``fix`` says how to fix a bad value at a location of this layer.
    """
    field = BY_ENV.get(key)
    if field is None:
        if key in RUNTIME_VARS or (
            not file and key.startswith(_RUNTIME_PREFIXES) and not _close_to_a_setting(key)
        ):
            return
        if file and key == "$schema":
            return  # an editor's pointer to `metaflow-config schema` output, not a setting
        if file or key.startswith(PREFIX):
            registered = _registered(key, data, exact=True)  # else unknown: a did-you-mean
            if not is_unset(value):
                put_extra(data, key, Raw(value, location), registered=registered, fix=fix)
            if not registered:
                data.unknown.append((key, location))
        return
    if not is_unset(value):  # JSON null or "" in a file: unset, as an empty variable is
        put(data, field, key, Raw(value, location))


def section_key(key: str, data: LayerData) -> str | None:
    """The full key of a registered section's ``key`` (full or short name), or None."""
    full = key.upper() if key.upper().startswith(PREFIX) else PREFIX + key.upper()
    return full if _registered(full, data) else None


def _registered(key: str, data: LayerData, *, exact: bool = False) -> bool:
    """Whether ``key`` is a key of a registered section (looking them up if need be).

    ``exact``: spelled as the key is (upper case), as a file or the environment must spell it;
    otherwise in any case, as ``override()`` takes names.
    """
    try:
        return (key if exact else key.upper()) in registry()
    except ConfigError as exc:  # a broken section: a problem of this read, said once
        for problem in exc.problems:
            if problem not in data.problems:
                data.problems.append(problem)
        return False


def put_extra(
    data: LayerData, key: str, raw: Raw, *, registered: bool, fix: Callable[[str], str]
) -> None:
    """Record ``raw`` for ``key``, a key the table does not declare (see ``LayerData.extra``).

    A registered section's value is bounded as every JSON value is: nested deeper than
    ``MAX_JSON_DEPTH`` (text is decoded, and bounded, when its model is built), or holding a
    lone surrogate, it is a problem of this layer, not a value that nothing downstream (export,
    ``show``) could carry.
    """
    if registered:
        expected = None
        try:
            freeze(raw.value)  # only to bound the nesting
        except TooDeep as exc:
            expected = str(exc)
        expected = expected or unicode_problem(raw.value)
        if expected is not None:
            data.problems.append(
                Problem.bad_value(
                    key,
                    data.layer,
                    raw.location,
                    value=show_value(raw.value, secret=is_secret(key)),
                    expected=expected,
                    fix=fix(raw.location),
                )
            )
            return
    data.extra[key] = raw


def put(data: LayerData, field: Setting, key: str, raw: Raw) -> None:
    """Record ``raw`` for ``field``, read under the name ``key``.

    An alias never beats the setting's own name in the same layer, in whatever order they come.
    """
    if key in (field.env, field.name) or field.name not in data.values:
        data.values[field.name] = raw


def sensitive_key(key: str) -> bool:
    """Whether ``key`` is a registered section's sensitive key (a broken registry: yes)."""
    try:
        found = registry().get(key)
    except ConfigError:
        return True
    return found is not None and key in found.sensitive


#: The settings of each runtime family (``METAFLOW_CONDA_`` ...): what a family name may be a
#: typo of. A typo across families is left to the general did-you-mean.
_FAMILY_SETTINGS = {p: [name for name in BY_ENV if name.startswith(p)] for p in _RUNTIME_PREFIXES}


@functools.lru_cache(maxsize=4096)
def _close_to_a_setting(key: str) -> bool:
    """Whether ``key`` looks like a misspelled setting, not a runtime variable sharing its prefix.

    ``METAFLOW_DEBUG_S3CLEINT`` is a typo of a setting; ``METAFLOW_CONDA_ENVS_DIRNAME`` is one of
    Metaflow's own variables. Compared with the settings of its own family only (a few), and
    remembered per name: a task carries hundreds of these, and every process resolves.
    """
    import difflib

    family = next(_FAMILY_SETTINGS[p] for p in _RUNTIME_PREFIXES if key.startswith(p))
    return bool(family and difflib.get_close_matches(key, family, n=1, cutoff=0.9))


@functools.lru_cache(maxsize=1024)
def suggest(key: str) -> str:
    """A did-you-mean for an unknown key (lower case or no METAFLOW_ prefix count as near).

    Remembered per name for the process: the same unknown key is reported at each resolution.
    """
    import difflib

    key = key.upper()
    full = key if key.startswith(PREFIX) else PREFIX + key
    try:
        names = [*BY_ENV, *registry()]
    except ConfigError:
        names = list(BY_ENV)
    close = difflib.get_close_matches(full, names, n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]}?"
    return "remove it, or see `metaflow-config docs` for the names of all settings"


on_reset(suggest.cache_clear)  # a did-you-mean names registered keys
