"""Export: the environment that makes a fresh process resolve a snapshot again (``to_env``).

Every value a layer set travels, as text that validates back to the same value; derived values
stay behind to re-derive. A target may limit what its containers take: AWS Batch starts no job
(from ``--with batch`` or a state machine) whose container overrides exceed
:data:`OVERRIDES_LIMIT` characters (:func:`check_overrides_size`); a Linux
process does not start with a variable of :data:`ENTRY_LIMIT` bytes or more (checked for every
remote target); Kubernetes stores no object over :data:`KUBERNETES_OBJECT_LIMIT` bytes, Argo
Workflows runs no workflow over :data:`ARGO_WORKFLOW_LIMIT` and Step Functions takes no state
machine over :data:`SFN_DEFINITION_LIMIT` (:func:`check_object_size`, called where the object
is built). What is exported holds secrets (the container needs them):
:class:`ExportedEnv` masks them in its ``repr``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from .._display import MASK, has_url_password
from .._model.fields import PREFIX, Setting
from .._model.metaflow_names import SELECTORS
from .._model.table import BY_ENV, FIELDS
from .._model.values import conceal
from .._resolve.resolution import Resolution
from .._sources.sections import find_key
from ..errors import ConfigError, Problem

__all__ = [
    "ARGO_WORKFLOW_LIMIT",
    "ELSEWHERE",
    "KUBERNETES_OBJECT_LIMIT",
    "METAFLOW_SETS",
    "POD_DATASTORES",
    "POD_TARGETS",
    "REMOTE",
    "SFN_DEFINITION_LIMIT",
    "TARGETS",
    "ExportedEnv",
    "bears_secret",
    "check_batch_overrides",
    "check_object_size",
    "check_overrides_size",
    "metaflow_sets",
    "pod_datastore",
    "stays_elsewhere",
    "to_env",
]

#: Where an exported environment goes: this machine, an AWS Batch job, a Step Functions task, a
#: Kubernetes pod (``--with kubernetes``, ``@kubernetes``), an Argo Workflows task, an Airflow
#: task. Every remote target exports the same variables; what differs is what Metaflow sets
#: there itself and each platform's limits.
TARGETS = ("local", "batch", "sfn", "kubernetes", "argo", "airflow")
#: The targets whose tasks run in a container, not on this machine.
REMOTE = TARGETS[1:]
#: The targets whose tasks are Kubernetes pods (Argo's and Airflow's run on Kubernetes too)
POD_TARGETS = ("kubernetes", "argo", "airflow")

#: What Metaflow itself sets in a task of each target, whatever the launcher resolved (a
#: production run's user; Airflow's tasks always record to the metadata service). What it sets
#: from the launch itself is :func:`metaflow_sets`'s.
METAFLOW_SETS: dict[str, dict[str, str]] = {
    "batch": {"METAFLOW_DEFAULT_DATASTORE": "s3"},  # batch.py: every Batch job's
    "sfn": {"METAFLOW_USER": "SFN", "METAFLOW_DEFAULT_DATASTORE": "s3"},
    "argo": {"METAFLOW_USER": "argo-workflows"},
    "airflow": {"METAFLOW_DEFAULT_METADATA": "service"},
}

#: The datastores a pod runs on: Metaflow's ``@kubernetes`` (which Argo Workflows and Airflow
#: attach to every step) refuses any other ``--datastore``, ``local`` first.
POD_DATASTORES = ("s3", "azure", "gs")


def metaflow_sets(values: Mapping[str, Any], target: str) -> dict[str, str]:
    """What Metaflow itself sets in a task of ``target`` (:data:`METAFLOW_SETS`), as text.

    Given the resolved ``values``, with what depends on them: a pod of Kubernetes or Argo
    Workflows gets the internal webhook URL as its ``ARGO_EVENTS_WEBHOOK_URL``; every pod
    (Kubernetes, Argo Workflows, Airflow) gets the run's datastore as its
    ``DEFAULT_DATASTORE`` (Metaflow writes ``flow_datastore.TYPE``, not its module's value):
    :func:`pod_datastore`.
    """
    sets = dict(METAFLOW_SETS.get(target, {}))
    internal = values.get("ARGO_EVENTS_INTERNAL_WEBHOOK_URL")
    if target in ("kubernetes", "argo") and internal:
        sets["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"] = str(internal)
    if target in POD_TARGETS:
        sets["METAFLOW_DEFAULT_DATASTORE"] = pod_datastore(values)
    return sets


def pod_datastore(values: Mapping[str, Any]) -> str:
    """The datastore of a run whose tasks are pods, launched with the resolved ``values``.

    ``DEFAULT_DATASTORE`` where a pod runs on it (:data:`POD_DATASTORES`); otherwise (``local``,
    the default) the launch is given ``--datastore``, the cloud whose root is set here
    (``DATASTORE_SYSROOT_S3``, ``_AZURE``, ``_GS``, in that order), ``s3`` where none is.
    """
    chosen = values.get("DEFAULT_DATASTORE")
    if chosen in POD_DATASTORES:
        return str(chosen)
    rooted = (name for name in POD_DATASTORES if values.get(f"DATASTORE_SYSROOT_{name.upper()}"))
    return next(rooted, POD_DATASTORES[0])


#: The settings of other platforms' launchers, by target and by their names' prefixes: what
#: Metaflow's Kubernetes, Argo Workflows and Airflow launchers read to build a pod spec, a
#: template or a DAG. A task on AWS Batch (or on Step Functions, which runs it there) builds
#: none, and its container overrides hold at most :data:`OVERRIDES_LIMIT` characters for all it
#: is given (Metaflow alone gives it none of them). Argo Events' settings travel: a task
#: publishes events (``ArgoEvent``, ``NAMESPACED_EVENTS_PREFIX``).
ELSEWHERE: dict[str, tuple[str, ...]] = dict.fromkeys(
    ("batch", "sfn"), ("KUBERNETES_", "ARGO_WORKFLOWS_", "AIRFLOW_")
)


def stays_elsewhere(field: Setting, target: str) -> bool:
    """Whether ``field`` is another platform's launcher's, left out of ``target``'s tasks."""
    prefixes = ELSEWHERE.get(target)
    return prefixes is not None and field.name.startswith(prefixes)


#: Linux refuses to start a process with one ``NAME=value`` environment string of this many
#: bytes or more (``MAX_ARG_STRLEN``, 32 pages, the terminating NUL counted): the container of
#: any remote target would fail to start.
ENTRY_LIMIT = 131_072
#: etcd's default request limit (1.5 MiB): Kubernetes stores no larger object (Job, JobSet, Pod,
#: WorkflowTemplate).
KUBERNETES_OBJECT_LIMIT = 1_572_864
#: Argo Workflows' default ``MAX_WORKFLOW_SIZE`` (1 MiB of JSON): a run of a WorkflowTemplate
#: stores the template's spec in the workflow, which the controller refuses over this size.
ARGO_WORKFLOW_LIMIT = 1_048_576
#: Step Functions' hard quota on a state machine's definition (1 MB, as UTF-8 JSON): every
#: state of a state machine carries its task's variables.
SFN_DEFINITION_LIMIT = 1_048_576


#: AWS Batch starts no job whose container overrides exceed this many characters (as JSON): ECS,
#: which runs the job, takes no more ("Container Overrides length must be at most 8192").
OVERRIDES_LIMIT = 8192
#: How each AWS Batch target's limit is said: what is measured, and when AWS refuses it.
_BATCH_TARGETS = {
    "batch": ("AWS Batch", "when the job starts"),
    "sfn": ("Step Functions", "when the state machine runs"),
}


class ExportedEnv(dict[str, str]):
    """What :meth:`Settings.to_env` returns: a ``dict[str, str]`` whose ``repr`` masks secrets."""

    if sys.version_info < (3, 10):  # pragma: no cover - Python 3.9 only

        def __new__(cls, *args: Any, **kwargs: Any) -> ExportedEnv:
            _mask_in_pprint()
            return super().__new__(cls, *args, **kwargs)

    def __repr__(self) -> str:
        shown = (f"{key!r}: {self._shown(key, value)}" for key, value in self.items())
        return "{" + ", ".join(shown) + "}"

    def _shown(self, key: str, value: str) -> str:
        """How ``repr`` shows the variable ``key``'s value: masked where it bears a secret."""
        return _shown(key, value)


class ChildEnv(ExportedEnv):
    """An environment for a child process (``testing.child_env``), its ``repr`` masked.

    The settings' variables, and the machine's others, whose values its ``repr`` never shows.
    Those are the machine's (``AWS_SECRET_ACCESS_KEY``, a ``GITHUB_TOKEN``): which of them is a
    secret, nothing here can know.
    """

    def _shown(self, key: str, value: str) -> str:
        # a setting's (or a registered key's) as to_env shows it; any other, an extension's
        # METAFLOW_MYORG_API_TOKEN included, by name only
        if not key.startswith(PREFIX):  # the machine's own (find_key takes a short name)
            return MASK
        try:
            known = key in BY_ENV or key in SELECTORS or find_key(key) is not None
            return _shown(key, value) if known else MASK
        except ConfigError:  # a registry that does not load: nothing told apart is shown
            return MASK


def _mask_in_pprint() -> None:  # pragma: no cover - Python 3.9 only
    """Make Python 3.9's pprint show an ExportedEnv by its masking repr.

    pprint of 3.9 prints a long dict subclass item by item, bypassing its ``__repr__`` (3.10 asks
    the class first), so secrets would show: the masking repr is registered where that pprint
    looks, when the first ExportedEnv is made (made or unpickled: ``__new__``), so that a
    process that never exports does not import pprint.
    """
    import pprint

    dispatch = pprint.PrettyPrinter._dispatch  # type: ignore[attr-defined]
    if ExportedEnv.__repr__ not in dispatch:

        def _pprint_masked(printer: Any, obj: Any, stream: Any, *args: Any) -> None:
            stream.write(repr(obj))

        dispatch[ExportedEnv.__repr__] = _pprint_masked


def to_env(resolution: Resolution, target: str = "local") -> ExportedEnv:
    """The ``METAFLOW_*`` environment that makes a fresh process resolve this resolution again.

    What :meth:`Settings.to_env` gives for its snapshot (see there).
    """
    if not isinstance(target, str) or target not in TARGETS:
        raise ConfigError([Problem.not_one_of("to_env(target)", target, TARGETS, "to_env(target)")])
    remote = target in REMOTE
    values, origins = resolution.values, resolution.origins
    env = ExportedEnv()
    problems: list[Problem] = []
    for field in FIELDS:
        origin = origins.get(field.name)
        if origin is None or (remote and field.local) or stays_elsewhere(field, target):
            continue
        if origin[0] == "derived" and not (field.derive and field.derive.machine):
            continue
        text = field.export_text(values[field.name])
        if text is None:
            problems.append(_unexportable(field, values[field.name], origin))
        else:  # held masked: a test's failed comparison of it (pytest's diff) shows no secret
            env[field.env] = conceal(text, secret=field.secret)
    text = None  # a secret's text is no local of a frame the checks below may raise through
    from .sections import section_env  # registered sections: on the first export

    env.update(section_env(resolution, problems))
    if problems:
        raise ConfigError(problems)
    internal = values["SERVICE_INTERNAL_URL"]
    if remote and internal is not None:
        # The container talks to the service through the internal URL. An explicitly set
        # SERVICE_INTERNAL_URL travels too: in the sandbox it would re-derive differently.
        env["METAFLOW_SERVICE_URL"] = conceal(str(internal), secret=False)  # a reference: its text
    if remote:
        _check_entries(env, origins)
    if target in _BATCH_TARGETS:
        check_overrides_size(env, target)
    return env


def _check_entries(env: Mapping[str, str], origins: Mapping[str, tuple[str, str]]) -> None:
    """Refuse a variable a Linux process cannot be started with (values never shown)."""
    problems = []
    for key, value in env.items():
        size = len(key.encode()) + len(value.encode()) + 2  # "=" and the NUL
        if size < ENTRY_LIMIT:
            continue
        field = BY_ENV.get(key)
        layer, location = origins.get(field.name, ("", "")) if field else ("", "")
        problems.append(
            Problem.bad_value(
                key,
                layer,
                location,
                value=f"{size} bytes as the environment string {key}=...",
                expected=f"less than {ENTRY_LIMIT} bytes (Linux's MAX_ARG_STRLEN): a container "
                "with a longer variable does not start",
                fix=f"shorten {key}, or set it in a profile file baked into the container image",
            )
        )
    if problems:
        raise ConfigError(problems)


def _shown(key: str, value: str) -> str:
    if bears_secret(key, value):
        field = BY_ENV.get(key)
        return repr(field.show_text(value)) if field and not field.secret else MASK
    return repr(value)


def bears_secret(key: str, text: str) -> bool:
    """Whether the exported variable ``key`` holding ``text`` would show a secret.

    A secret setting's (a registered section's secret field too), or a URL with a password.
    """
    field = BY_ENV.get(key)
    if field is not None:
        return field.bears_secret(text)
    section = find_key(key)
    return (section is not None and key in section[0].secret) or has_url_password(text)


def _unexportable(field: Setting, value: Any, origin: tuple[str, str]) -> Problem:
    return Problem.bad_value(
        field.env,
        origin[0],
        origin[1],
        value=field.show(value),
        expected=f"{field.kind.expected} that reads back unchanged from an environment variable "
        "(plain JSON: no NaN, tuples, objects or non-string keys)",
        fix=f"give {field.env} a plain value in {origin[1] or origin[0]}",
    )


def environment_sizes(env: Mapping[str, str]) -> dict[str, int]:
    """Characters each variable adds to a container override's ``environment`` list (as JSON)."""
    return {
        key: len(
            json.dumps({"name": key, "value": value}, ensure_ascii=False, separators=(",", ":"))
        )
        + 1  # the comma
        for key, value in env.items()
    }


def _largest(sizes: Mapping[str, int]) -> str:
    """The five largest variables of ``sizes`` as a message lists them (``none``: no variable)."""
    largest = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return ", ".join(f"{key} ({size} chars)" for key, size in largest) or "none"


def check_overrides_size(env: Mapping[str, str], target: str) -> None:
    """Refuse an environment AWS Batch would refuse; name the variables that make it large.

    AWS Batch starts no job (``target``: ``batch``, ``sfn``) whose ``containerOverrides`` exceed
    :data:`OVERRIDES_LIMIT` characters, and says so only when the job starts. The environment
    list is measured as the JSON it becomes; values are never shown (secrets travel).
    """
    sizes = environment_sizes(env)
    total = sum(sizes.values()) + len('{"environment":[]}') - (1 if sizes else 0)
    if total <= OVERRIDES_LIMIT:
        return
    platform, when = _BATCH_TARGETS[target]
    raise ConfigError(
        [
            Problem.bad_argument(
                f"container environment for {platform}",
                f"{total} characters in {len(sizes)} variables",
                f"at most {OVERRIDES_LIMIT} characters of container overrides, which AWS Batch "
                f"enforces {when} (largest: {_largest(sizes)})",
                _SHORTEN[target],
            )
        ]
    )


#: How to make a task's container overrides shorter, by target.
_SHORTEN = {
    "batch": "shorten or unset the largest values, or set them in a profile file baked into "
    "the container image instead",
    "sfn": "shorten or unset the largest values, or set them in a profile file baked into "
    "the container image instead; METAFLOW_SFN_COMPRESS_STATE_MACHINE=true also shrinks the "
    "rest of the overrides (the step command)",
}


def check_batch_overrides(overrides: Mapping[str, Any], target: str) -> None:
    """Refuse an AWS Batch task's whole container overrides over AWS Batch's limit.

    ``overrides`` is the job's ``containerOverrides`` as ``--with batch`` submits it or the
    state machine passes it (``target``: ``batch``, ``sfn``): the step's command, its
    environment list and its resource requirements, all counted (as compact JSON) against
    :data:`OVERRIDES_LIMIT`. The largest variables are named; values are never shown.
    """
    total = len(json.dumps(overrides, ensure_ascii=False, separators=(",", ":"), default=str))
    if total <= OVERRIDES_LIMIT:
        return
    entries = overrides.get("environment") or []
    env = {e.get("name", ""): e.get("value", e.get("value.$", "")) for e in entries}
    sizes = environment_sizes(env)
    command = len(json.dumps(overrides.get("command") or [], ensure_ascii=False))
    platform, when = _BATCH_TARGETS[target]
    raise ConfigError(
        [
            Problem.bad_argument(
                f"container overrides for {platform}",
                f"{total} characters: the step's command {command}, the environment "
                f"{sum(sizes.values())} in {len(sizes)} variables",
                f"at most {OVERRIDES_LIMIT} characters of container overrides, which AWS Batch "
                f"enforces {when} (largest variables: {_largest(sizes)})",
                _SHORTEN[target],
            )
        ]
    )


def check_object_size(what: str, size: int, limit: int, env: Mapping[str, str], why: str) -> None:
    """Refuse ``what`` of ``size`` bytes over ``limit``; name the largest of ``env``'s variables.

    ``env`` is what a task of the object gets from this package; ``why`` says which platform
    enforces ``limit`` and when. Values are never shown (secrets travel).
    """
    if size <= limit:
        return
    listed = _largest(environment_sizes(env))
    raise ConfigError(
        [
            Problem.bad_argument(
                what,
                f"{size} bytes",
                f"at most {limit} bytes, which {why} (largest variables added: {listed})",
                "shorten or unset the largest values, or set them in a profile file baked into "
                "the container image instead",
            )
        ]
    )
