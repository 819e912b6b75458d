"""Settings into AWS Batch jobs (``--with batch``, ``@batch``) and Step Functions tasks.

``Batch.create_job`` returns Metaflow's ``BatchJob`` builder, whose container overrides'
``environment`` list holds what Metaflow and the step's ``@environment`` set; the handler adds
``to_env("batch")`` (:mod:`.taskenv`'s rules). ``StepFunctions._batch`` builds each state's job
through it, then adds what ``to_env("sfn")`` has beyond and checks Step Functions' limit.
:mod:`.hooks` calls the handlers from the wrapped methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._snapshot.export import check_sfn_overrides
from ..errors import ConfigError
from .taskenv import HEADERS, TaskEnv, as_metaflow_error

__all__ = ["create_job", "fill_environment", "state_machine_task"]


def fill_environment(job: Any, target: str) -> None:
    """Add to an AWS Batch job builder the ``to_env(target)`` variables it does not set yet.

    ``job`` is Metaflow's ``BatchJob``: its container overrides' ``environment`` list already
    holds what Metaflow and the step's ``@environment`` set, and those keep their values, but
    for a fetched secret in Metaflow's ``METAFLOW_SERVICE_HEADERS`` (see :mod:`.taskenv`).
    """
    task = TaskEnv.launching(target)
    entries = _environment(job)
    present = [entry["name"] for entry in entries]
    replace, headers = task.service_headers(present)
    if replace:
        entries[:] = [e for e in entries if e["name"] != HEADERS]
        if headers is not None:
            entries.append({"name": HEADERS, "value": headers})
    for name, value in task.missing(present).items():
        job.environment_variable(name, value)


def _environment(job: Any) -> list[dict[str, str]]:
    overrides = job.payload["containerOverrides"]
    if "environment" not in overrides:
        return []
    entries: list[dict[str, str]] = overrides["environment"]
    return entries


def _check_state_machine_task(job: Any) -> None:
    """A state machine task's whole container overrides, against AWS Batch's limit.

    The command, the environment and the resources count (enforced when the state machine runs).
    """
    check_sfn_overrides(job.payload["containerOverrides"])


def create_job(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    """``Batch.create_job`` of ``metaflow.plugins.aws.batch.batch``, then ``to_env("batch")``."""
    job = original(self, *args, **kwargs)
    try:
        fill_environment(job, "batch")
    except ConfigError as exc:
        raise as_metaflow_error(exc) from exc
    return job


def state_machine_task(original: Callable[..., Any], self: Any, node: Any) -> Any:
    """``StepFunctions._batch`` (``...step_functions.step_functions``), then ``to_env("sfn")``."""
    job = original(self, node)  # Batch.create_job has added to_env("batch") already
    try:
        fill_environment(job, "sfn")  # the same names; to_env("sfn") checks its own size
        _check_state_machine_task(job)
    except ConfigError as exc:
        raise as_metaflow_error(exc) from exc
    return job
