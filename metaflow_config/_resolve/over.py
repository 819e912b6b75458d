"""The incremental pass of an ``override`` scope: its values over the snapshot it is entered in.

:func:`resolve_over` gives what :func:`~.resolve.resolve` would give for the scope's inputs,
validating only what the scope changed and deriving again only what depends on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from .._model.fields import Context
from .._model.references import MARK
from .._model.table import BY_NAME
from .._sources.data import LayerData, Raw
from .._sources.inputs import Inputs
from .._sources.layers import BY_LAYER
from ..errors import ConfigWarning
from .derive import DEFAULTS, NO_NAMES, derive_values, derived_problems, rederived
from .plugins import PLUGIN_SETTINGS, plugin_problems
from .resolution import Resolution
from .resolve import _caller_level, failure
from .validate import SECRET, TEXT, hold, validate, validator_for

__all__ = ["resolve_over"]


def resolve_over(parent: Resolution, inputs: Inputs, fresh: LayerData | None = None) -> Resolution:
    """``parent`` with the override layer read from ``inputs`` (which differ in it alone).

    What an ``override`` scope costs on entry: its values are validated, the settings derived
    from them derived again, and everything else is ``parent``'s, as :func:`resolve` would give.
    ``fresh`` is that override layer when the caller has it already (``layers.scope_layer``).
    A failure raises what :func:`~.resolve.failure` says, as :func:`~.resolve.resolve` does.
    """
    override = BY_LAYER["override"]
    fresh = override.read(inputs) if fresh is None else fresh
    layers = {**parent.layers, override.name: fresh}
    problems = list(fresh.problems)  # a name that is no setting: said with every other problem
    before = parent.layers[override.name].values
    # What the scope sets differently (outside any other scope, ``before`` is empty: each of
    # its values), then what it no longer sets: a lower layer may set that.
    winners = {n: (fresh, raw) for n, raw in fresh.values.items() if before.get(n) != raw}
    changed = set(winners)
    for name in before.keys() - fresh.values.keys():
        changed.add(name)
        for data in layers.values():  # lowest first: the last one holding it wins
            if name in data.values:
                winners[name] = (data, data.values[name])
    named = [name for name in PLUGIN_SETTINGS if name in winners]
    if named:  # a name Metaflow does not know: an error if near one it does, else a warning
        notes: list[str] = []
        plugin_problems(
            ((n, winners[n][1].value, winners[n][0].layer, winners[n][1].location) for n in named),
            problems,
            notes,
        )
        for text in notes:
            warnings.warn(text, ConfigWarning, stacklevel=_caller_level())
    if not problems:
        resolution = _over_at_once(parent, inputs, layers, winners, changed)
        if resolution is not None:
            return resolution
    validated, invalid = validate(winners)
    problems.extend(invalid)
    if not problems:
        validated, problems = hold(validated, winners)
    if problems:
        # validated values are not concealed until held: no local of a frame the error passes
        # through (a traceback shows its frames' locals: pytest -l, Sentry, rich)
        validated = {}
        raise failure(problems, layers)
    resolution, derived = _rebase(
        parent, inputs, layers=layers, winners=winners, changed=changed, held=validated
    )
    underived = derived_problems(derived, resolution.origins)
    if underived:
        raise failure(underived, layers)
    return resolution


def _over_at_once(
    parent: Resolution,
    inputs: Inputs,
    layers: dict[str, LayerData],
    winners: dict[str, tuple[LayerData, Raw]],
    changed: set[str],
) -> Resolution | None:
    """:func:`resolve_over` in one pydantic-core call, where the changed values allow it.

    When every changed value is text of a text kind (``Kind.text``: a valid one is its own
    validated value), the settings derived from them derive from the raw text exactly as from
    the validated values, and the changed and the derived values are validated together.
    ``None`` where that does not apply (another kind, a secret reference, a value that is not
    ``str``) or anything is invalid: the two-step path then gives the answer, and every message.
    """
    raw: dict[str, str] = {}
    plain = True  # no value to conceal: none secret, none a URL that may hold a password
    for name, (_, given) in winners.items():
        value = given.value
        if type(value) is not str or name not in TEXT or MARK in value:
            return None
        raw[name] = value
        plain = plain and name not in SECRET and "@" not in value
    held = raw if plain else hold(dict(raw), winners)[0]  # text: nothing to freeze
    resolution, derived = _rebase(
        parent, inputs, layers=layers, winners=winners, changed=changed, held=held
    )
    batch = {**raw, **derived}
    validator, validation_error = validator_for(batch)
    try:
        validated = validator.validate_python(batch)
    except validation_error:
        return None
    if not raw.items() <= validated.items():  # a value validation changed: not text after all
        return None
    return resolution


def _rebase(
    parent: Resolution,
    inputs: Inputs,
    *,
    layers: dict[str, LayerData],
    winners: Mapping[str, tuple[LayerData, Raw]],
    changed: set[str],
    held: Mapping[str, Any],
) -> tuple[Resolution, dict[str, Any]]:
    """``parent`` with the ``changed`` settings' ``held`` values, and what derives from them.

    A changed setting missing from ``held`` is set by no layer any more: its default is back.
    Returns the resolution and the derived values it holds that are still to be validated.
    """
    # dict.copy: a block copy in C (dict() inserts item by item on Python 3.9)
    values = parent.values.copy()
    origins = parent.origins.copy()
    for name in changed:
        if name in held:
            values[name] = held[name]
            layer, raw = winners[name]
            origins[name] = (layer.layer, raw.location)
        else:  # no layer sets it any more
            values[name] = DEFAULTS[name]
            origins.pop(name, None)
    unset = (
        NO_NAMES
        if changed <= held.keys()
        else frozenset(n for n in changed if n not in held and BY_NAME[n].derive)
    )
    only = rederived(frozenset(changed), unset)  # what to derive again, in DERIVED order
    derived: dict[str, Any] = {}
    if only:
        derived = derive_values(values, origins, Context(inputs.env, inputs.cwd), only)
    return Resolution(inputs, values, origins, layers, ()), derived
