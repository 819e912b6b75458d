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

from .._snapshot.export import check_batch_overrides
from .._snapshot.taskenv import HEADERS
from ..errors import ConfigError
from .launch import as_metaflow_error, metaflows_headers_text, say_not_given, task_env

__all__ = ["create_job", "fill_environment", "state_machine_task"]

#: Whether the job being built is a state machine's task (its limit is said as Step Functions')
_STATE_MACHINE: ContextVar[bool] = ContextVar("metaflow_config_state_machine", default=False)


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
    for name, value in task.missing(present).items():
        job.environment_variable(name, value)


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
