"""A broken configuration, looked at anyway: what resolves once the invalid values are set aside.

``settings`` in code raises on a bad value; the diagnostic commands (``show``, ``explain``,
``check``) still show everything else, and mark each invalid value in place. Each problem is
said once: the resolution's error, and the warnings it did not turn into errors.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

from .._model.table import BY_NAME
from .._resolve.resolve import report_keys, report_untrusted, resolve, strict_mode
from .._resolve.validate import check_layer
from .._snapshot.sections import problems_by_key
from .._snapshot.settings import Settings, resolution_of
from .._sources.inputs import Inputs
from .._sources.layers import LAYERS
from ..errors import ConfigError, ConfigWarning, Problem
from ._common import load_settings, print_warnings

__all__ = ["Diagnosis", "diagnose", "not_in_the_error", "without_invalid"]


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """The settings with every invalid value set aside, and what was set aside.

    Attributes:
        snapshot: the settings in force with each invalid value unset (a lower layer's value or
            the default takes its place, as if it were unset).
        in_force: the problem of each setting whose value in force is invalid (from the highest
            layer that sets it), by environment name.
        invalid: every setting with an invalid value in some layer (in force or shadowed).
        error: the ConfigError a resolution raised (``None`` when nothing is invalid).
        warnings: what the resolution warns of (unknown keys, untrusted project keys, a file's
            mode), without what ``error`` holds already.

    """

    snapshot: Settings
    in_force: Mapping[str, Problem]
    invalid: frozenset[str]
    error: ConfigError | None = None
    warnings: tuple[str, ...] = ()


def without_invalid(profile: str | None) -> Diagnosis | None:
    """The settings in force with each invalid value set aside (see :class:`Diagnosis`).

    Every layer is read as ``load`` reads it and validated on its own (``check_layer``). None
    when a layer could not be read at all (a missing profile, malformed JSON): what it holds
    is unknown. The snapshot keeps each layer's unknown keys, untrusted keys and warnings
    (:func:`diagnose` says them).
    """
    inputs = Inputs.from_world(profile=profile, strict=False)
    layers = [layer.read(inputs) for layer in LAYERS]
    if any(layer.problems for layer in layers):
        return None
    invalid: set[str] = set()
    in_force: dict[str, Problem] = {}
    kept = {}
    for layer in layers:  # lowest first: the highest layer setting a value decides
        bad = {problem.setting: problem for problem in check_layer(layer)}
        invalid |= bad.keys()
        for name in layer.values:
            env_name = BY_NAME[name].env
            if env_name in bad:
                in_force[env_name] = bad[env_name]
            else:
                in_force.pop(env_name, None)
        values = {name: raw for name, raw in layer.values.items() if BY_NAME[name].env not in bad}
        kept[layer.layer] = layer.replace(values=values)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConfigWarning)
            snapshot = Settings(resolve(inputs, kept))
    except ConfigError:  # pragma: no cover - every invalid value was dropped
        return None
    return Diagnosis(snapshot, in_force, frozenset(invalid))


def not_in_the_error(
    snapshot: Settings, profile: str | None, strict: bool | str | None = None
) -> list[str]:
    """The warnings of a broken configuration that its error does not hold already.

    As the resolution words them, from the layers ``snapshot`` (from :func:`without_invalid`)
    was resolved from, under ``strict`` (as ``load()``'s, or a word of ``keys.STRICTNESS``;
    None: ``$METAFLOW_CONFIG_STRICT``): the keys that are errors there are problems of the
    error, and the rest (old names, the layers' own warnings, ...) are left.
    """
    inputs = Inputs.from_world(profile=profile)
    strictness = strict_mode(strict if strict is not None else inputs.strict, inputs.env, [])
    notes: list[str] = []
    for data in resolution_of(snapshot).layers.values():
        report_keys(data, strictness, [], notes)
        report_untrusted(data, strictness, [], notes)
        notes.extend(data.warnings)
    return notes


def diagnose(profile: str | None) -> Diagnosis:
    """The settings in force; when they do not resolve, what does with the invalid set aside.

    The invalid values of registered sections are in ``in_force`` and ``error`` too.

    Raises:
        ConfigError: the configuration cannot be looked at (a file unreadable or not JSON, a
            missing profile): nothing can be shown but the error.

    """
    try:
        snapshot = load_settings(profile)
        found = Diagnosis(snapshot, {}, frozenset(), warnings=snapshot.warnings)
    except ConfigError as exc:
        broken = without_invalid(profile)
        if broken is None:
            raise
        notes = not_in_the_error(broken.snapshot, profile)
        print_warnings(notes)
        found = dataclasses.replace(broken, error=exc, warnings=tuple(notes))
    # the registered sections' models are built from the snapshot, each problem in place too
    sections = problems_by_key(resolution_of(found.snapshot))
    if not sections:
        return found
    problems = [*(found.error.problems if found.error else ()), *sections.values()]
    return dataclasses.replace(
        found, in_force={**found.in_force, **sections}, error=ConfigError(problems)
    )
