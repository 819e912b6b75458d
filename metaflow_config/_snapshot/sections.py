"""A snapshot's registered sections: their models, their problems, their export, their keys.

Each model is built once per snapshot (kept in its resolution) by asking its class, through the
``SectionModel`` protocol of ``_sources.sections``, to resolve itself from the snapshot's
layers: nothing here knows how a section is built (no pydantic import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._display import show_value
from .._model.values import MAX_JSON_DEPTH, conceal
from .._resolve.resolution import Resolution
from .._sources.sections import Registered, is_section_class, registry
from ..errors import ConfigError, Problem

if TYPE_CHECKING:
    from .explanation import Explanation

__all__ = [
    "explain_key",
    "held_keys",
    "model",
    "model_problems",
    "problems_by_key",
    "section_env",
]


def model(resolution: Resolution, cls: Any) -> Any:
    """The model ``cls`` resolved from ``resolution``'s layers (built once, then kept).

    Raises:
        ConfigError: a value the model refuses; ``cls`` is not a section class.

    """
    cache = resolution.sections
    made = cache.get(cls) if isinstance(cls, type) else None
    if made is None:
        if not is_section_class(cls):
            given = cls.__name__ if isinstance(cls, type) else type(cls).__name__
            raise ConfigError(
                [
                    Problem.bad_argument(
                        "section(cls)",
                        given,
                        "a subclass of metaflow_config.pydantic.MetaflowBaseSettings",
                        "pass the model class (settings.section(Acme))",
                    )
                ]
            )
        made = cache[cls] = cls._metaflow_resolve(resolution.layers)
    return made


def model_problems(resolution: Resolution, cls: Any) -> list[Problem]:
    """The problems of building the registered model ``cls`` from ``resolution`` (none: [])."""
    try:
        model(resolution, cls)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def problems_by_key(resolution: Resolution) -> dict[str, Problem]:
    """The problem of each registered key whose value does not validate, by key.

    Each registered model is built; the problems of one that fails are kept by setting, for
    ``show`` to mark in place (the built-in settings are diagnosed by the resolution itself).

    Raises:
        ConfigError: a registered section is broken.

    """
    found: dict[str, Problem] = {}
    for cls in {id(r.cls): r.cls for r in registry().values()}.values():
        found.update((p.setting, p) for p in model_problems(resolution, cls))
    return found


def held_keys(resolution: Resolution) -> dict[str, tuple[str, Any]]:
    """The registered sections' keys some layer sets: the layer and raw value in force.

    Sorted by key; nothing is looked up when no layer holds a key the table does not declare.
    """
    found: dict[str, tuple[str, Any]] = {}
    for data in resolution.layers.values():  # lowest first: the highest wins
        found.update((key, (data.layer, raw)) for key, raw in data.extra.items())
    if not found:
        return {}
    known = registry()
    return {key: found[key] for key in sorted(found) if key in known}


def section_env(resolution: Resolution, problems: list[Problem]) -> dict[str, str]:
    """The keys of registered sections that a layer set, as environment text (``to_env``).

    Each model they belong to is built first: an invalid value does not travel, its problem
    is added to ``problems`` (a container would only fail on it later).
    """
    found = held_keys(resolution)
    if not found:
        return {}
    known = registry()
    env: dict[str, str] = {}
    for cls in {id(known[k].cls): known[k].cls for k in found}.values():
        invalid = model_problems(resolution, cls)
        if invalid:
            problems.extend(invalid)
            continue
        texts, refused = cls._metaflow_export(resolution.layers, model(resolution, cls))
        env.update((k, conceal(v, secret=k in known[k].secret)) for k, v in texts.items())
        for key in refused:
            layer, raw = found[key]
            problems.append(
                Problem.bad_value(
                    key,
                    layer,
                    raw.location,
                    value=show_value(raw.value, secret=key in known[key].secret),
                    expected="a value that reads back unchanged from an environment "
                    "variable (text, or plain JSON: no NaN, tuples, objects, non-string "
                    f"keys, or nesting deeper than {MAX_JSON_DEPTH} levels)",
                    fix=f"give {key} a plain value in {raw.location or layer}",
                )
            )
    return env


def explain_key(
    resolution: Resolution, registered: Registered, key: str, *, typed: bool = True
) -> Explanation:
    """What ``explain`` says of a registered section's key, from the layers that hold it.

    ``typed=False``: the value as the layer holds it (the field's default when none does),
    without building the model: how ``show`` lists the keys of a model that does not build.
    """
    from .explanation import Explanation, Shadowed, not_applied

    secret = key in registered.secret
    held = [
        (data.layer, data.extra[key]) for data in resolution.layers.values() if key in data.extra
    ]
    name = registered.keys[key]
    default, doc = registered.cls._metaflow_field(name)
    if typed:
        value = getattr(model(resolution, registered.cls), name)
    elif held:
        value = held[-1][1].value
    else:
        value = default
    source, location = ("default", "") if not held else (held[-1][0], held[-1][1].location)
    shadowed = tuple(
        Shadowed(layer, raw.location, show_value(raw.value, secret=secret))
        for layer, raw in held[:-1]
    )
    ignored, why = not_applied(resolution, key, secret=secret)
    return Explanation(key, value, source, location, shadowed, "", doc, secret, None, ignored, why)
