"""Settings into Kubernetes pods: ``--with kubernetes``, JobSets, Argo Workflows, Airflow.

Each handler (:mod:`.hooks` calls it from the method it wraps) takes what Metaflow built for a
task (a ``KubernetesJob`` or ``JobSetSpec`` builder, the container templates of a
WorkflowTemplate, an Airflow task's operator arguments) and adds the launcher's
``to_env(target)`` by ``_snapshot.taskenv``'s rules, every value encoded for a pod's ``env[].value``
(``$`` doubled: Kubernetes expands ``$(NAME)``; for Airflow also kept out of
Jinja). The names Metaflow fills from the pod (the downward API, ``_snapshot.taskenv.DOWNWARD``) are
left to Kubernetes. The object built is then held to its platform's limit: a Kubernetes object
under 1.5 MiB, an Argo WorkflowTemplate under Argo's default 1 MiB.

Hooked methods (all present since Metaflow 2.12): ``Kubernetes.create_job_object`` and
``Kubernetes.create_jobset`` (``metaflow.plugins.kubernetes.kubernetes``),
``KubernetesArgoJobSet.dump`` (``...kubernetes_jobsets``: an Argo ``@parallel`` step's manifest,
which Metaflow writes as YAML), ``ArgoWorkflows._compile_workflow_template``
(``metaflow.plugins.argo.argo_workflows``: the template is built there, so ``create``,
``--only-json`` and the Deployer all get it), ``Airflow._to_job`` and
``Airflow._to_airflow_dag_file`` (``metaflow.plugins.airflow.airflow``), and ``Airflow.__init__``
with ``Airflow.compile``: ``airflow create`` opens its output for writing (emptying a deployed
DAG file) before it compiles, so the DAG is compiled as the ``Airflow`` object is made, and any
refusal (this package's, Metaflow's own) comes before the file is touched.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._snapshot.export import ARGO_WORKFLOW_LIMIT, KUBERNETES_OBJECT_LIMIT, check_object_size
from .._snapshot.taskenv import DOWNWARD, HEADERS, TaskEnv, left_to_step_secrets_text
from ..errors import ConfigError
from .launch import as_metaflow_error, say_not_given, task_env

__all__ = [
    "airflow_compile",
    "airflow_dag_file",
    "airflow_made",
    "airflow_task",
    "argo_jobset",
    "job_object",
    "jobset",
    "workflow_template",
]

_ETCD = "Kubernetes stores (etcd's default request limit of 1.5 MiB)"


def _size(body: Any) -> int:
    return len(json.dumps(body, separators=(",", ":"), default=str).encode())


def _guarded(fill: Callable[..., Any]) -> Callable[..., Any]:
    """``fill`` raising a ConfigError as Metaflow's command line prints it (no traceback)."""

    @functools.wraps(fill)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fill(*args, **kwargs)
        except ConfigError as exc:
            raise as_metaflow_error(exc) from exc

    return guarded


# -- --with kubernetes, @kubernetes, JobSets ------------------------------------------------------


def _say_step_secrets(task: TaskEnv) -> None:
    """Say once which secret settings the pods of steps mounting their own Secrets lack."""
    names = task.left_to_step_secrets()
    if names:
        from . import show_once

        show_once(left_to_step_secrets_text(task, names))


def _fill_spec(
    spec: Any, task: TaskEnv, later: Iterable[str] = (), *, say: bool = True
) -> dict[str, str]:
    """Add to a ``KubernetesJob`` or ``JobSetSpec`` builder what it lacks; what was added.

    ``later``: names the builder adds itself when it builds the container.
    """
    kwargs = spec._kwargs
    values: dict[str, Any] = kwargs.setdefault("environment_variables", {})
    for name, value in values.items():  # Metaflow's own, before any is added: as they read
        values[name] = task.literal(name, value)
    present = {*values, *kwargs.get("environment_variables_from_selectors", {}), *later}
    if say:  # not an Argo @parallel step's JobSet: its workflow says it, of every container
        say_not_given(task, present)
    replace, headers = task.service_headers(present)
    if replace:
        values.pop(HEADERS, None)
        if headers is not None:
            values[HEADERS] = task.encoded(HEADERS, headers)
    secrets = [s for s in kwargs.get("secrets") or () if s]
    mounted = bool(secrets or task.cluster_secrets)
    if say and secrets and not task.mounted_secrets:  # (an Argo JobSet's: its workflow says)
        _say_step_secrets(task)
    added = task.missing(present, mounted=mounted)
    for name, text in added.items():
        spec.environment_variable(name, task.encoded(name, text))
    return added


@_guarded
def _fill_job(job: Any) -> None:
    task = task_env("kubernetes")
    added = _fill_spec(job, task, DOWNWARD)  # KubernetesJob.create_job_spec adds them
    create = job.create

    def create_checked() -> Any:  # the V1Job exists once create() has run
        built = create()
        body = job._client.get().ApiClient().sanitize_for_serialization(job._job)
        size = _size(body)
        _guarded(check_object_size)("Kubernetes job", size, KUBERNETES_OBJECT_LIMIT, added, _ETCD)
        return built

    job.create = create_checked


@_guarded
def _fill_jobset(jobset: Any) -> None:
    task = task_env("kubernetes")
    added = _fill_spec(jobset.control, task)
    added.update(_fill_spec(jobset.worker, task))
    size = _size(jobset.dump())
    check_object_size("Kubernetes JobSet", size, KUBERNETES_OBJECT_LIMIT, added, _ETCD)


def job_object(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    """``Kubernetes.create_job_object``, then the job's environment filled."""
    job = original(self, *args, **kwargs)
    _fill_job(job)
    return job


def jobset(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    """``Kubernetes.create_jobset``, then both of the JobSet's containers filled."""
    built = original(self, *args, **kwargs)
    _fill_jobset(built)
    return built


# -- Argo Workflows -----------------------------------------------------------------------------


def argo_jobset(original: Callable[..., Any], self: Any) -> Any:
    """``KubernetesArgoJobSet.dump`` (an Argo ``@parallel`` step's manifest), filled first."""
    task = task_env("argo")
    _guarded(_fill_spec)(self.control, task, say=False)
    _guarded(_fill_spec)(self.worker, task, say=False)
    return original(self)


def _fill_entries(entries: list[dict[str, Any]], task: TaskEnv, *, mounted: bool) -> dict[str, str]:
    """Add to a container's ``env`` entries (Argo's, Airflow's) what it lacks; what was added.

    ``mounted``: the container mounts Kubernetes Secrets as environment variables.
    """
    for entry in entries:  # Metaflow's own, before any is added: as they read
        if "value" in entry:
            entry["value"] = task.literal(entry["name"], entry["value"])
    present = [entry["name"] for entry in entries]
    replace, headers = task.service_headers(present)
    if replace:
        entries[:] = [entry for entry in entries if entry["name"] != HEADERS]
        if headers is not None:
            entries.append({"name": HEADERS, "value": task.encoded(HEADERS, headers)})
    added = task.missing(present, mounted=mounted)
    entries.extend(
        {"name": name, "value": task.encoded(name, text)} for name, text in added.items()
    )
    return added


def _fill_container(container: dict[str, Any], task: TaskEnv) -> dict[str, str]:
    """Add to one container template's ``env`` what it lacks; what was added."""
    entries: list[dict[str, Any]] = container.get("env") or []
    container["env"] = entries
    # camelCase in step templates, snake_case in the heartbeat daemon's
    mounted = bool(container.get("envFrom") or container.get("env_from"))
    return _fill_entries(entries, task, mounted=mounted)


@_guarded
def _fill_workflow_template(template: Any) -> None:
    task = task_env("argo")
    added: dict[str, str] = {}
    given: set[str] = set()  # what the workflow's containers hold, together
    for each in template.payload["spec"]["templates"]:
        if "container" in each:  # `in`: the payloads are defaultdicts
            given.update(entry["name"] for entry in each["container"].get("env") or ())
            added.update(_fill_container(each["container"], task))
    say_not_given(task, given)
    check_object_size(
        "Argo WorkflowTemplate",
        _size(template.payload),
        ARGO_WORKFLOW_LIMIT,
        added,
        "Argo Workflows takes in a workflow by default (the controller's MAX_WORKFLOW_SIZE; "
        "every run stores the template's spec)",
    )


def workflow_template(original: Callable[..., Any], self: Any) -> Any:
    """``ArgoWorkflows._compile_workflow_template``, then every container template filled."""
    template = original(self)
    if template is not None:  # None where a test mocks the compilation away
        _fill_workflow_template(template)
    return template


# -- Airflow ------------------------------------------------------------------------------------


@_guarded
def _fill_operator(args: dict[str, Any]) -> None:
    task = task_env("airflow")
    entries: list[dict[str, Any]] = args.setdefault("env_vars", [])
    mounted = bool([s for s in args.get("secrets") or () if s])
    if mounted and not task.mounted_secrets:
        _say_step_secrets(task)
    added = _fill_entries(entries, task, mounted=mounted)
    check_object_size("Airflow task's pod", _size(args), KUBERNETES_OBJECT_LIMIT, added, _ETCD)


def airflow_task(original: Callable[..., Any], self: Any, node: Any) -> Any:
    """``Airflow._to_job``, then the operator's arguments filled."""
    args = original(self, node)
    _fill_operator(args)
    return args


def airflow_dag_file(original: Callable[..., Any], self: Any, json_dag: Any) -> Any:
    """``Airflow._to_airflow_dag_file`` of the DAG with every value as plain data.

    Metaflow writes the DAG into a Python file by ``str()`` of its dict, so each value by its
    ``repr``: a value of Metaflow's module that masks itself there (a URL's password, a
    secret's text) would be written masked, and every task would send ``****``. What its
    tasks are not given of an installed extension's names is said here, of them all.
    """
    dag = _plain(json_dag)
    states = dag.get("states", {}) if isinstance(dag, dict) else {}
    given = {
        str(entry.get("name"))
        for state in states.values()
        for entry in state.get("operator_args", {}).get("env_vars") or ()
        if isinstance(entry, dict)
    }
    _guarded(lambda: say_not_given(task_env("airflow"), given))()
    return original(self, dag)


#: Each ``Airflow`` object's DAG file text, compiled as it was made, until ``compile()`` takes it.
_COMPILED: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def airflow_made(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> None:
    """``Airflow.__init__``, then the DAG compiled: what refuses it, refuses it here.

    ``airflow create`` makes the ``Airflow`` object, then runs ``open(file, "w")`` and writes
    ``compile()`` into it: a compilation refused there (a value Airflow's Jinja would run, a
    pod over its limit, Metaflow's own refusals) has already emptied the deployed DAG file.
    Compiled here, before the file is opened, the refusal leaves it as it was; the text is
    kept for :func:`airflow_compile`.
    """
    original(self, *args, **kwargs)
    _COMPILED[self] = self.compile()  # nothing kept yet: Metaflow's compile, through the hooks


def airflow_compile(original: Callable[..., Any], self: Any) -> Any:
    """``Airflow.compile``: the text compiled as the object was made, once; after, compiled anew."""
    compiled = _COMPILED.pop(self, None)
    return original(self) if compiled is None else compiled


def _plain(value: Any) -> Any:
    """``value`` with its text as ``str``, its mappings as dicts, its lists and tuples as such."""
    if isinstance(value, str):
        return str(value)  # a str subclass (PasswordURL, SecretText) as its text
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value
