"""Metaflow's registry of what ``from_conf`` read, holding this resolution's values.

Metaflow's launchers copy the ``METAFLOW_CONDA_*`` and ``METAFLOW_DEBUG_*`` entries of
``metaflow_config_funcs.config_values()`` into every task (AWS Batch, hence Step Functions;
Kubernetes, Argo Workflows, Airflow): :func:`pin_metaflows_registry` puts this resolution there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._model.values import thaw

if TYPE_CHECKING:
    from .._snapshot.settings import Settings

__all__ = ["pin_metaflows_registry"]


def _metaflow_text(value: Any) -> str:
    """A value as Metaflow's ``from_conf`` serializes it (JSON for lists and dicts)."""
    import json

    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _exported(text: str) -> Callable[[Any], str]:
    return lambda _value: text


class _PinnedRegistry(dict[str, Any]):
    """Metaflow's ``_all_configs`` with the extension's entries kept.

    ``from_conf`` records every value it reads here, and ``config_values()`` yields from here:
    a name the extension resolves keeps the extension's entry, whatever Metaflow reads of it
    later (the ``DEBUG_*`` flags of options only the extension has, another extension's
    ``from_conf`` of the same name).
    """

    def __init__(self, entries: Mapping[str, Any], pinned: dict[str, Any]) -> None:
        super().__init__(entries)
        self.pinned = pinned
        self.update(pinned)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, self.pinned.get(key, value))


def pin_metaflows_registry(snapshot: Settings) -> None:
    """Make ``metaflow_config_funcs.config_values()`` yield this resolution, for every setting.

    Metaflow's launchers copy the ``METAFLOW_CONDA_*`` and ``METAFLOW_DEBUG_*`` entries of
    ``config_values()`` into a task's environment (AWS Batch, hence Step Functions; Kubernetes,
    Argo Workflows, Airflow) before anything else: left as Metaflow read them ("off" is true
    there), they would override ``to_env``. Each setting's entry is its value here, non-default
    exactly when a layer set it (as Metaflow's own reading tells it), serialized as ``to_env``
    does.
    """
    from .._model.table import FIELDS
    from .._snapshot.settings import resolution_of

    funcs = sys.modules.get("metaflow.metaflow_config_funcs")
    registry = getattr(funcs, "_all_configs", None)
    entry = getattr(funcs, "ConfigValue", None)
    if not isinstance(registry, dict) or entry is None:
        return  # not a Metaflow whose registry this knows: nothing to keep in line
    resolution = resolution_of(snapshot)
    values, origins = resolution.values, resolution.origins
    pinned: dict[str, Any] = {}
    for field in FIELDS:
        value = thaw(values[field.name])
        origin = origins.get(field.name)
        text = None
        # set in a layer, as Metaflow's registry tells it: a value derived here (from this
        # machine's user or working directory too) is a default there, which no launcher that
        # copies the registry's values into a task takes from this machine
        if origin is not None and origin[0] != "derived":
            text = field.export_text(values[field.name])
        if text is None:  # a default, or derived here: Metaflow's registry calls it a default
            pinned[field.env] = entry(value=value, serializer=_metaflow_text, is_default=True)
        else:
            pinned[field.env] = entry(value=value, serializer=_exported(text), is_default=False)
    if isinstance(registry, _PinnedRegistry):
        registry.pinned = pinned
        dict.update(registry, pinned)
    else:
        funcs._all_configs = _PinnedRegistry(registry, pinned)  # type: ignore[union-attr]
