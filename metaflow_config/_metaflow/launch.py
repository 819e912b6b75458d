"""A launch in this process: the task environment's rules as Metaflow's launchers read them.

The rules themselves (what a task of each target is given, how its values are carried) are the
snapshot's (``_snapshot.taskenv``); here they meet Metaflow: :func:`task_env` takes what
Metaflow's module holds for the settings that decide what pods are given, and the settings in
force; :func:`metaflows_headers_text` is the ``METAFLOW_SERVICE_HEADERS`` Metaflow writes;
:func:`as_metaflow_error` is a ``ConfigError`` as Metaflow's command line prints it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .._snapshot.taskenv import DECIDING, TaskEnv, exposed_text
from ..errors import ConfigError

__all__ = ["as_metaflow_error", "metaflows_headers_text", "task_env"]


def task_env(target: str) -> TaskEnv:
    """The rules of a launch of ``target`` in this process, as Metaflow's launcher reads them.

    The settings in force, and the names of ``_snapshot.taskenv.DECIDING`` as Metaflow's
    module holds them, which its launchers read (an organisation's config extension may set
    them there; so may a flow's own code). Without a launch in this process, ``require`` and
    ``show --target`` take ``_snapshot.taskenv.launcher_values``. A secret its tasks would be
    given as text that Metaflow alone would not write is warned about, once
    (``TaskEnv.exposed_secrets``).
    """
    from .._scope import current
    from .._snapshot.settings import resolution_of

    module = sys.modules.get("metaflow.metaflow_config")
    held = {name: getattr(module, name) for name in DECIDING if hasattr(module, name)}
    task = TaskEnv(resolution_of(current()), target, launcher=held)
    exposed = task.exposed_secrets()
    if exposed:  # said once in the process tree, as every ConfigWarning
        from . import show_once

        show_once(exposed_text(exposed, target))
    return task


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
