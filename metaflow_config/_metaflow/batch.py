"""Settings into AWS Batch jobs (``--with batch``, ``@batch``) and Step Functions tasks.

``Batch.create_job`` returns Metaflow's ``BatchJob`` builder, whose container overrides'
``environment`` list holds what Metaflow and the step's ``@environment`` set; the handler adds
``to_env("batch")`` (``_snapshot.taskenv``'s rules). ``StepFunctions._batch`` builds each
state's job through it, then adds what ``to_env("sfn")`` has beyond. Each checks AWS Batch's
limit on the job's whole container overrides, in the words of its target.
:mod:`.hooks` calls the handlers from the wrapped methods.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from .._snapshot.export import SFN_DEFINITION_LIMIT, check_batch_overrides, check_object_size
from .._snapshot.taskenv import HEADERS
from ..errors import ConfigError, Problem
from .launch import as_metaflow_error, metaflows_headers_text, say_not_given, task_env

__all__ = ["create_job", "fill_environment", "state_machine", "state_machine_task"]

#: Whether the job being built is a state machine's task (its limit is said as Step Functions')
_STATE_MACHINE: ContextVar[bool] = ContextVar("metaflow_config_state_machine", default=False)
#: What the states of the state machine being compiled were given here (see :func:`state_machine`)
_ADDED: ContextVar[dict[str, str] | None] = ContextVar("metaflow_config_sfn_added", default=None)


def fill_environment(job: Any, target: str) -> None:
    """Add to an AWS Batch job builder the ``to_env(target)`` variables it does not set yet.

    ``job`` is Metaflow's ``BatchJob``: its container overrides' ``environment`` list already
    holds what Metaflow and the step's ``@environment`` set, and those keep their values, but
    for a fetched secret in Metaflow's own ``METAFLOW_SERVICE_HEADERS`` (see ``_snapshot.taskenv``),
    told from a step's entry of the same name by its text. Called again on the same job, it
    adds nothing.
    """
    task = task_env(target)
    entries = _environment(job)
    present = [entry["name"] for entry in entries]
    say_not_given(task, present)
    replace, headers = task.service_headers(present)
    written = metaflows_headers_text() if replace else None
    if written is not None:  # Metaflow's own entry goes, by its text: the step's stays
        kept = [e for e in entries if e["name"] != HEADERS or e.get("value") != written]
        if len(kept) < len(entries):
            entries[:] = kept
            if headers is not None and HEADERS not in (e["name"] for e in kept):
                entries.append({"name": HEADERS, "value": headers})
    added = task.missing(present)
    for name, value in added.items():
        job.environment_variable(name, value)
    collected = _ADDED.get()
    if collected is not None:
        collected.update(added)


def _environment(job: Any) -> list[dict[str, str]]:
    overrides = job.payload["containerOverrides"]
    if "environment" not in overrides:
        return []
    entries: list[dict[str, str]] = overrides["environment"]
    return entries


def create_job(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    """``Batch.create_job`` of ``metaflow.plugins.aws.batch.batch``, then ``to_env("batch")``."""
    job = original(self, *args, **kwargs)
    machine = _STATE_MACHINE.get()  # a state machine's task: its target's, checked once built
    try:
        fill_environment(job, "sfn" if machine else "batch")
        if not machine:
            check_batch_overrides(job.payload["containerOverrides"], "batch")
    except ConfigError as exc:
        raise as_metaflow_error(exc) from exc
    return job


def state_machine_task(original: Callable[..., Any], self: Any, node: Any) -> Any:
    """``StepFunctions._batch`` (``...step_functions.step_functions``), then ``to_env("sfn")``."""
    token = _STATE_MACHINE.set(True)
    try:
        job = original(self, node)  # Batch.create_job has added to_env("sfn") already
    finally:
        _STATE_MACHINE.reset(token)
    try:
        fill_environment(job, "sfn")  # adds nothing to a job built by Batch.create_job
        check_batch_overrides(job.payload["containerOverrides"], "sfn")
    except ConfigError as exc:
        raise as_metaflow_error(exc) from exc
    return job


def state_machine(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    """``StepFunctions._compile``, then the whole definition checked against Step Functions' limit.

    Each state's overrides are checked as it is built (:func:`state_machine_task`); every state
    carries them, and Step Functions takes no definition over :data:`SFN_DEFINITION_LIMIT`
    bytes: ``step-functions create`` is refused before anything is printed or deployed, naming
    the largest variables given here, as an Argo WorkflowTemplate over its limit is (or saying
    that the flow's own states pass it, where Metaflow alone would be refused too).
    """
    added: dict[str, str] = {}
    token = _ADDED.set(added)
    try:
        workflow = original(self, *args, **kwargs)
    finally:
        _ADDED.reset(token)
    size = len(workflow.to_json(pretty=True).encode())  # the text deploy() sends
    if size > SFN_DEFINITION_LIMIT:
        try:
            _refuse_definition(workflow.payload, size, added)
        except ConfigError as exc:
            raise as_metaflow_error(exc) from exc
    return workflow


def _refuse_definition(payload: Any, size: int, added: dict[str, str]) -> None:
    """Refuse a definition of ``size`` bytes, over the limit: what passes it, said."""
    what = "Step Functions state machine definition"
    why = (
        "Step Functions takes in a state machine's definition (a hard quota: "
        "CreateStateMachine and UpdateStateMachine refuse more)"
    )
    own = _pretty_size(_without(payload, added))
    if own > SFN_DEFINITION_LIMIT:  # the flow's own states pass it: Metaflow alone's too
        raise ConfigError(
            [
                Problem.bad_argument(
                    what,
                    f"{size} bytes, of which Metaflow's own states take {own}",
                    f"at most {SFN_DEFINITION_LIMIT} bytes, which {why}",
                    "deploy fewer steps to Step Functions (split the flow), or deploy the flow "
                    "to Argo Workflows",
                )
            ]
        )
    check_object_size(what, size, SFN_DEFINITION_LIMIT, added, why + "; every state carries them")


def _without(payload: Any, added: dict[str, str]) -> Any:
    """``payload`` (a state machine's) without the ``Environment`` entries of ``added``."""
    if isinstance(payload, dict):
        return {
            key: (
                [e for e in value if not _is_added(e, added)]
                if key == "Environment" and isinstance(value, list)
                else _without(value, added)
            )
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [_without(item, added) for item in payload]
    return payload


def _is_added(entry: Any, added: dict[str, str]) -> bool:
    name = entry.get("Name") if isinstance(entry, dict) else None
    return name in added and entry.get("Value") == added[name]


def _pretty_size(payload: Any) -> int:
    """The bytes of ``payload`` as Metaflow's ``Workflow.to_json(pretty=True)`` writes it."""
    import json

    return len(json.dumps(payload, indent=4).encode())
