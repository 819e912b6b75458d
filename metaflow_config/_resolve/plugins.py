"""Plugin names checked at resolution: a near miss of a known name is an error, else a warning.

A name Metaflow registers itself (``CORE_PLUGINS``) costs one set lookup; only another name
imports ``_sources.plugins``, which looks at what the installed Metaflow and its extensions
register.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._model.kinds import is_plugin_name
from .._model.metaflow_names import CORE_PLUGINS
from .._model.table import BY_NAME, FIELDS
from .._sources.layers import BY_LAYER
from ..errors import Problem

__all__ = ["PLUGIN_SETTINGS", "plugin_problems"]

#: The settings whose value names a plugin (their ``plugin`` says of what category), in
#: table order: their problems are said in that order, whatever the hash seed.
PLUGIN_SETTINGS = tuple(f.name for f in FIELDS if f.plugin)


def plugin_problems(
    values: Iterable[tuple[str, object, str, str]], problems: list[Problem], notes: list[str]
) -> None:
    """Judge each ``(setting, value, layer, location)`` of a plugin setting a layer set.

    A case variant or near miss of a known name is added to ``problems`` (with the
    did-you-mean); a name nobody here knows to ``notes`` (a warning).
    """
    for name, value, layer, location in values:
        if not isinstance(value, str) or not is_plugin_name(value):
            continue  # a value the kind refuses is reported by validation, not here
        if value in CORE_PLUGINS[BY_NAME[name].plugin]:
            continue  # Metaflow's own
        from .._sources.plugins import judge  # loaded when a layer names another plugin

        verdict = judge(name, value)
        if verdict is None:
            continue
        field = BY_NAME[name]
        if verdict.kind == "near":
            problems.append(
                Problem.bad_value(
                    field.env,
                    layer,
                    location,
                    value=field.show(value),
                    expected=verdict.text,
                    fix=f"did you mean {verdict.close}? {_fix(layer, location)}",
                )
            )
        else:
            notes.append(f"{field.env} ({layer}: {location}): {verdict.text}")


def _fix(layer: str, location: str) -> str:
    """How to fix a value at ``location`` of ``layer``, as the layer's other problems say it."""
    source = BY_LAYER.get(layer)
    return source.fix(location) if source else f"correct the value given in {location}"
