"""Derived defaults: computed from the resolved values wherever no layer set the setting.

:func:`derive` computes every derivation of a resolution (or those that depend on what an
``override`` scope changed: :func:`rederived`) and validates what it derived like any value.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from .._model.fields import Context, Setting
from .._model.references import MARK
from .._model.table import DERIVED, FIELDS
from .._model.values import freeze
from .._sources.data import Raw
from ..errors import Problem
from .validate import DERIVED_LAYER, valid, validate

__all__ = ["DEFAULTS", "NO_NAMES", "derive", "derive_values", "derived_problems", "rederived"]

#: The table's defaults (JSON values frozen): the values of a resolution before any layer
DEFAULTS = {f.name: freeze(f.default) for f in FIELDS}

NO_NAMES: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=256)
def rederived(changed: frozenset[str], unset: frozenset[str]) -> tuple[Setting, ...]:
    """The derived settings to derive again when ``changed`` changed, in DERIVED order.

    Those that depend on any of them, and those of them that no layer sets any more (``unset``):
    their derived default is back. Kept by name set: a scope's names are the same every entry.
    """
    dependents = _dependents()
    again = {d.name for name in changed for d in dependents[name]} | unset
    return tuple(d for d in DERIVED if d.name in again)


@functools.lru_cache(maxsize=1)
def _dependents() -> dict[str, tuple[Setting, ...]]:
    """For each setting, the derived settings that depend on it (directly or not), in order.

    Computed on the first ``override`` scope, not at import.
    """
    found: dict[str, set[str]] = {f.name: set() for f in FIELDS}
    for setting in DERIVED:
        assert setting.derive is not None  # noqa: S101 - DERIVED holds only derived settings
        for base in setting.derive.bases:
            found[base].add(setting.name)
            for dependents in found.values():
                if base in dependents:
                    dependents.add(setting.name)
    return {name: tuple(d for d in DERIVED if d.name in names) for name, names in found.items()}


def derive(
    values: dict[str, Any],
    origins: dict[str, tuple[str, str]],
    ctx: Context,
    only: Iterable[Setting] = DERIVED,
) -> list[Problem]:
    """Compute the derived defaults no layer set; the problems of those that are not valid.

    ``only`` (in DERIVED order) restricts it to those derivations: the ones that depend on what
    changed since ``values`` were derived; where one has nothing to derive from any more, its
    default is back.

    A derived value is only as good as what it derives from: ``DATATOOLS_SUFFIX="a b"`` or a
    ``$USER`` holding a newline would give a value no layer could set, so it is an error naming
    the derivation and its bases.
    """
    return derived_problems(derive_values(values, origins, ctx, only), origins)


def derive_values(
    values: dict[str, Any],
    origins: dict[str, tuple[str, str]],
    ctx: Context,
    only: Iterable[Setting],
) -> dict[str, Any]:
    """Compute the derived defaults (see :func:`derive`); the values to validate, by name.

    A setting a layer set (``origins`` names a layer, not ``derived``) keeps its value. No
    derivation reads a secret setting (a test of the table holds it), so none reads a secret
    reference: references are honoured in secret settings only.
    """
    derived: dict[str, Any] = {}
    for setting in only:
        derive = setting.derive
        assert derive is not None  # noqa: S101 - DERIVED holds only derived settings
        name = setting.name
        origin = origins.get(name)
        if origin is not None and origin[0] != "derived":  # set explicitly: it wins
            continue
        value, location = derive.fn(values, ctx)
        if value is not None:
            values[name] = value
            origins[name] = ("derived", location)
            derived[name] = value
        elif only is not DERIVED:  # nothing to derive from any more: the default again
            values[name] = DEFAULTS[name]
            origins.pop(name, None)
    return derived


def derived_problems(
    derived: dict[str, Any], origins: Mapping[str, tuple[str, str]]
) -> list[Problem]:
    """The problem of each invalid derived value (one call when all are valid: none)."""
    # '{{' begins a secret reference in any layer (a task would refuse the exported value):
    # a derived one holding it is refused here, as a layer's would be
    marked = any(isinstance(v, str) and MARK in v for v in derived.values())
    if derived and (marked or not valid(derived)):  # the messages are built on this path only
        raws = {n: (DERIVED_LAYER, Raw(v, origins[n][1])) for n, v in derived.items()}
        return validate(raws)[1]
    return []
