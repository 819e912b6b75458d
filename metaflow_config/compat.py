"""Metaflow's module-level configuration names, resolved live.

A drop-in for ``from metaflow.metaflow_config import X``:
``import metaflow_config.compat as mc; mc.BATCH_JOB_QUEUE`` reads the snapshot in force (the
innermost ``override`` of this context, else the process-wide ``settings``). Names that Metaflow
computes by mutation hold the effective value here, built fresh on every read:
``SERVICE_HEADERS`` includes ``x-api-key``, ``DATATOOLS_CLIENT_PARAMS`` includes ``endpoint_url``
and ``verify``. Mutable values are copies: changing one never changes the settings. A secret
setting's value is masked in every ``repr`` and ``str`` of it: text is a ``SecretText``, an object
a ``SecretDict`` (a mutable ``dict`` whose strings are ``SecretText``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ._display import no_attribute
from ._model import table as _table
from ._model.table import BY_NAME
from ._model.values import thaw
from ._scope import current
from ._snapshot.settings import Settings, resolution_of

#: Metaflow's constants that are not configurable.
CONSTANTS: dict[str, Any] = {
    "DATASTORE_LOCAL_DIR": ".metaflow",
    "DATASTORE_SPIN_LOCAL_DIR": ".metaflow_spin",
    "LOCAL_CONFIG_FILE": "config.json",
    "RETRY_WARNING_THRESHOLD": 3,
    "CARD_SUFFIX": "mf.cards",
    "MAX_ATTEMPTS": 6,
    "DEBUG_OPTIONS": list(_table.DEBUG_OPTIONS),
}

_EFFECTIVE: dict[str, Callable[[Settings], Any]] = {
    "SERVICE_HEADERS": lambda s: s.service.effective_headers,  # fresh SecretDicts
    "DATATOOLS_CLIENT_PARAMS": lambda s: s.datatools.client_params,
    "AWS_SANDBOX_STS_ENDPOINT_URL": lambda s: s.service.url,
    # DISABLE_TRACING is one of _table.MACHINE_VARIABLES (kept when a snapshot is pickled)
    "DISABLE_TRACING": lambda s: bool(resolution_of(s).inputs.env.get("DISABLE_TRACING")),
}

#: Every name this module answers, as Metaflow's module spells them.
NAMES: tuple[str, ...] = tuple(sorted({*BY_NAME, *CONSTANTS, *_EFFECTIVE}))


def _value(snapshot: Settings, name: str) -> Any:
    if name in _EFFECTIVE:
        return _EFFECTIVE[name](snapshot)
    if name in BY_NAME:
        return thaw(snapshot._value(name))  # plain dicts and lists, as Metaflow (secrets masked)
    return copy.copy(CONSTANTS[name])


def module_values(snapshot: Settings | None = None) -> dict[str, Any]:
    """Every name of :data:`NAMES` with its value in ``snapshot`` (default: the one in force).

    What Metaflow's module holds when the Metaflow extension is active; each value is a fresh
    copy, as a read of the attribute gives.
    """
    snapshot = current() if snapshot is None else snapshot
    return {name: _value(snapshot, name) for name in NAMES}


def __getattr__(name: str) -> Any:
    if name in _EFFECTIVE or name in BY_NAME or name in CONSTANTS:
        return _value(current(), name)
    raise AttributeError(no_attribute("module 'metaflow_config.compat'", name, NAMES))


def __dir__() -> list[str]:
    return [*NAMES, "CONSTANTS", "NAMES", "module_values"]
