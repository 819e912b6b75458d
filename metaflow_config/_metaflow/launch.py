"""A launch in this process: the task environment's rules as Metaflow's launchers read them.

The rules themselves (what a task of each target is given, how its values are carried) are the
snapshot's (``_snapshot.taskenv``); here they meet Metaflow: :func:`task_env` takes what
Metaflow's module holds for the settings that decide what pods are given, and the settings in
force; :func:`metaflows_headers_text` is the ``METAFLOW_SERVICE_HEADERS`` Metaflow writes;
:func:`as_metaflow_error` is a ``ConfigError`` as Metaflow's command line prints it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .._snapshot.taskenv import (
    TaskEnv,
    exposed_text,
    held_by_metaflow,
    left_to_secrets_text,
)
from ..errors import ConfigError

if TYPE_CHECKING:
    from .._snapshot.settings import Settings

__all__ = ["as_metaflow_error", "in_scope", "metaflows_headers_text", "say_not_given", "task_env"]


def task_env(target: str) -> TaskEnv:
    """The rules of a launch of ``target`` in this process, as Metaflow's launcher reads them.

    The settings in force, and the names of ``_snapshot.taskenv.DECIDING`` as Metaflow's
    module holds them, which its launchers read (an organisation's config extension may set
    them there; so may a flow's own code). Without a launch in this process, ``require`` and
    ``show --target`` take ``_snapshot.taskenv.launcher_values``. A secret its tasks would be
    given as text that Metaflow alone would not write is warned about, once
    (``TaskEnv.exposed_secrets``).
    """
    from .._scope import chain, current
    from .._snapshot.settings import resolution_of

    held = held_by_metaflow()
    snapshot = current()
    task = TaskEnv(resolution_of(snapshot), target, launcher=held)
    exposed = task.exposed_secrets()
    said = [exposed_text(exposed, target)] if exposed else []
    if task.left_to_secrets():  # where the Secrets must hold what the task is not given
        said.append(left_to_secrets_text(task))
    if held is not None and chain() is not None:  # an override() in force at the launch
        said.extend(_scope_apart(sys.modules["metaflow.metaflow_config"], snapshot, target))
    if said:  # each once in the process tree, as every ConfigWarning
        from . import show_once

        for text in said:
            show_once(text)
    return task


def say_not_given(task: TaskEnv, present: Iterable[str]) -> None:
    """Say once which extensions' names set here no task of the launch is given.

    Metaflow passes none of them (but its own ``DEBUG_``/``CONDA_`` families); a step's
    ``@environment`` may give them. ``present``: the names the launch's tasks hold, together
    (a deployment's containers, a local run's steps: :func:`run_execute`). A task process of
    a run whose parent has looked at the launch already says nothing.
    """
    from . import show_once, was_said

    if was_said(_NOT_GIVEN + task.target):
        return
    text = task.not_given(present)
    if text:
        show_once(text)


#: The topic recorded (``mark_said``) once a run has said what its launches are not given
_NOT_GIVEN = "not-given:"


def in_scope(original: Any, api: Any, *args: Any, **kwargs: Any) -> Any:
    """``Runner(...)`` or a ``Deployer``'s implementation made inside an ``override()``.

    Their flow's processes are children of this one: they inherit ``os.environ``, not the
    scopes in force, so a test's ``with override(...): Runner("flow.py").run()`` ran the flow
    with what the scope overrode. Inside a scope, the ``env`` they are given starts with what
    the scope resolved (``settings.child_variables``: ``to_env("local")``, the profile's home
    and name, and ``""`` for each setting of ``os.environ`` the scope left out, as
    ``testing.child_env``); what the caller passes in ``env`` wins where it differs from
    ``os.environ`` (:func:`_passed`: ``NBRunner`` and ``NBDeployer`` pass a copy of
    ``os.environ``, which the scope overrides as it overrides the inherited environment), and a
    profile it asks for
    (``profile=``, or ``METAFLOW_PROFILE``/``METAFLOW_HOME`` in ``env``) and a working
    directory (``cwd=``, whose project file the flow reads) are resolved under the scope in
    place of the scope's own: the scope's values over that profile's and that project's.
    """
    from .._scope import chain, current

    if chain() is None:
        return original(api, *args, **kwargs)
    import inspect  # a Runner's first call only; Metaflow has imported it

    from .._snapshot.settings import child_variables

    bound = inspect.signature(original).bind(api, *args, **kwargs)
    given = _passed(bound.arguments.get("env"), os.environ)
    # the profile the flow is asked to run with (Metaflow sets `profile=` over `env`'s), and
    # where (`cwd=`, whose project file the flow reads): the scope resolved again with them, so
    # that its values over those are given, not over the scope's own profile and project
    profile = bound.arguments.get("profile") or given.get("METAFLOW_PROFILE")
    home = given.get("METAFLOW_HOME") or None
    cwd = bound.arguments.get("cwd") or None
    snapshot = current()
    if profile is not None or home is not None or cwd is not None:
        from .._override import override

        with override(home=home, profile=profile, cwd=cwd) as switched:
            snapshot = switched
    # laid over os.environ by the Runner: what the scope left out is said unset ("")
    env = child_variables(snapshot, os.environ, cwd_known=True)
    env.update(given)
    bound.arguments["env"] = env
    return original(*bound.args, **bound.kwargs)


def _passed(env: Mapping[str, str] | None, environ: Mapping[str, str]) -> dict[str, str]:
    """What a caller's ``env`` sets over ``environ``, the environment a Runner lays it on.

    A copy of the process environment passed back (``NBRunner`` and ``NBDeployer`` pass
    ``os.environ.copy()`` updated with their own ``env``; so does ``env={**os.environ, ...}``):
    its entries equal to ``environ``'s are the process's, which a scope overrides, not values
    the caller chose over the scope's. A copy holds every variable of ``environ``; an ``env``
    made by hand (``{"METAFLOW_BATCH_JOB_QUEUE": "q"}``) does not, and each of its entries is
    the caller's, even where the shell exports the same value.
    """
    given = dict(env or {})
    if not given.keys() >= environ.keys():  # made by hand: all of it is the caller's
        return given
    return {key: value for key, value in given.items() if environ.get(key) != value}


#: The step decorators a local run launches a step elsewhere with: each named as its target.
_LAUNCHED_BY = frozenset({"kubernetes", "batch"})


def run_execute(original: Any, runtime: Any, *args: Any, **kwargs: Any) -> Any:
    """A local run's ``NativeRuntime.execute``: its launches' warnings said once, here, first.

    Each task of ``run --with kubernetes`` (or ``batch``) is launched by a process of its own,
    a child of the run's: said by each, a warning would repeat once per task (siblings do not
    see what the others said). Said here first, its record is in the environment every task's
    process inherits (``show_once``), so none says it again. A launch that cannot be made is
    left to the task that makes it, which says why.
    """
    flow = getattr(runtime, "_flow", None)
    targets = {
        deco.name
        for node in getattr(runtime, "_graph", ())
        for deco in getattr(getattr(flow, node.name, None), "decorators", ())
        if getattr(deco, "name", None) in _LAUNCHED_BY
    }
    for target in sorted(targets):
        try:
            task = task_env(target)
        except ConfigError:
            continue
        say_not_given(task, _environment_names(flow, getattr(runtime, "_graph", ())))
        from . import mark_said

        mark_said(_NOT_GIVEN + target)  # the tasks' processes need not look again
    return original(runtime, *args, **kwargs)


def _environment_names(flow: Any, graph: Iterable[Any]) -> set[str]:
    """The names the flow's steps give their tasks with ``@environment``, together."""
    names: set[str] = set()
    for node in graph:
        for deco in getattr(getattr(flow, node.name, None), "decorators", ()):
            if getattr(deco, "name", None) == "environment":
                names.update(getattr(deco, "attributes", {}).get("vars") or {})
    return names


#: How many names a message of an override apart from Metaflow's module names.
_NAMED = 5


def _scope_apart(module: ModuleType, snapshot: Settings, target: str) -> list[str]:
    """What is said of an ``override()`` in force at a launch where it differs from Metaflow's.

    Metaflow builds what it submits (the pod's service account, the job queue, the image) from
    its own module, read at import, which no scope changes; the tasks are given the scope's
    values: the task's settings would describe what was not launched. Names an installed
    extension sets in Metaflow's module are the extension's (not said).
    """
    from .. import compat
    from .._sources.extensions import set_by_extensions
    from .._sources.keys import keys_said

    theirs = set(set_by_extensions(snapshot))
    apart = [
        name
        for name, value in compat.module_values(snapshot).items()
        if name not in theirs and hasattr(module, name) and getattr(module, name) != value
    ]
    if not apart:
        return []
    named = keys_said(apart[:_NAMED], len(apart[_NAMED:]))
    return [
        f"an override() is in force at this launch ({target}) and differs from Metaflow's "
        f"configuration ({named}): Metaflow builds what it submits from its own, read at "
        "import, while the tasks are given the override's values, so a task's settings would "
        "describe what was not launched; set these before Metaflow is imported (the "
        "environment, a profile), or launch outside the override"
    ]


def metaflows_headers_text() -> str | None:
    """The text Metaflow's launchers write as ``METAFLOW_SERVICE_HEADERS``: its module's.

    ``json.dumps(SERVICE_HEADERS)``, as Metaflow's AWS Batch launcher writes it (``None``:
    Metaflow's module is not imported). A step's own ``@environment`` entry of the same name
    holds another text.
    """
    module = sys.modules.get("metaflow.metaflow_config")
    headers = getattr(module, "SERVICE_HEADERS", None)
    return None if headers is None else json.dumps(headers)


def as_metaflow_error(exc: ConfigError) -> Exception:
    """``exc`` as an exception Metaflow's command line prints as a message (no traceback)."""
    from metaflow.exception import MetaflowException

    error: Any = MetaflowException(msg=str(exc))  # type: ignore[no-untyped-call]
    error.headline = "metaflow-config"
    return error  # type: ignore[no-any-return]
