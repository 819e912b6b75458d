"""One resolution pass: read the layers, merge with provenance, validate at once, derive.

``resolve(inputs)`` is pure: it reads only the environment mapping, home, profile and working
directory in ``inputs`` and writes nothing. All problems of one pass come back together in one
:class:`~metaflow_config.errors.ConfigError`, those of registered sections whose keys a layer
sets among them.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from .._display import printable, short_location, short_name, show_value
from .._model.fields import Context
from .._model.table import BY_ENV
from .._sources.data import LayerData, Raw
from .._sources.environ import own, own_flag
from .._sources.inputs import Inputs
from .._sources.keykind import LENIENT, QUIET, STRICT
from .._sources.keys import classify, count_keys, keys_said, read_keys, sensitive_key
from .._sources.layers import LAYERS
from .._sources.profiles import (
    PROJECT_VAR,
    find_local_config,
    linked_entries,
    others_can_swap,
    others_can_write,
)
from .._sources.sections import on_reset, problems_in
from ..errors import ConfigError, ConfigWarning, Problem
from .derive import DEFAULTS, derive
from .plugins import PLUGIN_SETTINGS, plugin_problems
from .resolution import Resolution
from .validate import hold, validate

__all__ = [
    "failure",
    "report_keys",
    "report_untrusted",
    "resolve",
    "strict_mode",
    "untrusted_keys",
]


def strict_mode(strict: bool | str | None, env: Mapping[str, str], problems: list[Problem]) -> str:
    """How strictly keys that are not applied are reported (``keys.STRICTNESS``).

    ``strict``: ``True`` is ``strict``, ``False`` ``lenient``, a word of ``STRICTNESS`` itself
    (``typos``: ``check``'s default); ``None``: ``$METAFLOW_CONFIG_STRICT`` of ``env`` (true:
    ``strict``, else ``lenient``). An invalid ``METAFLOW_CONFIG_STRICT`` is added to
    ``problems``.
    """
    if isinstance(strict, str):
        return strict
    if strict is not None:
        return STRICT if strict else LENIENT
    flag, problem = own_flag(env, "METAFLOW_CONFIG_STRICT", "set METAFLOW_CONFIG_STRICT to 1 or 0")
    if problem is not None:
        problems.append(problem)
    return STRICT if flag else LENIENT


#: Keys not applied reported one by one per layer; the rest are counted in one line.
MAX_UNKNOWN_REPORTED = 10
#: Keys not applied that a command (``check``, ``import``) tells apart per layer, a did-you-mean
#: each: the errors among them are reported first; past them, the keys are counted.
TOLD_APART = 200


def report_keys(
    layer: LayerData, strictness: str, problems: list[Problem], notes: list[str]
) -> None:
    """Report a layer's old names and the keys it holds that are not applied (``keys``).

    Each as its kind words it (``keys.Key``): a warning, or a problem where ``strictness``
    makes its kind an error. The first ``MAX_UNKNOWN_REPORTED`` keys not applied are told one
    by one; the rest in one line each for the errors and the warnings among them.
    """
    last = _last_reports.get(layer.layer)
    if last is not None and last[0] is layer and last[1] == strictness:  # reported again
        problems.extend(last[2])
        notes.extend(last[3])
        return
    mine: list[Problem] = []
    said: list[str] = []
    _report_keys(layer, strictness, mine, said)
    _last_reports[layer.layer] = (layer, strictness, mine, said)
    problems.extend(mine)
    notes.extend(said)


#: By layer name, (the layer read, the strictness, its problems, its notes) of its last report:
#: a process resolving again over the same environment (whose read is reused) words its keys
#: once. Each entry is replaced whole (thread-safe).
_last_reports: dict[str, tuple[LayerData, str, list[Problem], list[str]]] = {}


def _forget_report() -> None:
    _last_reports.clear()


on_reset(_forget_report)  # the words of a key name registered keys (a did-you-mean)


def _report_keys(
    layer: LayerData, strictness: str, problems: list[Problem], notes: list[str]
) -> None:
    file = layer.layer != "env"
    for key, location in layer.renamed:
        notes.append(classify(key, file=file).note(layer, location))
    loose = layer.loose
    # at run time the first keys, in the layer's order; a command's check tells apart up to
    # TOLD_APART keys, and says the errors among them first (harmless keys hide no misspelling)
    told = MAX_UNKNOWN_REPORTED if strictness == LENIENT else TOLD_APART
    found = [(classify(key, file=file), location) for key, location in loose.located(told)]
    found = [(key, location) for key, location in found if key.kind not in QUIET]
    errors = [(key, location) for key, location in found if key.error(strictness)]
    others = [(key, location) for key, location in found if not key.error(strictness)]
    problems.extend(key.problem(layer, location) for key, location in errors[:MAX_UNKNOWN_REPORTED])
    room = max(MAX_UNKNOWN_REPORTED - len(errors), 0)
    notes.extend(key.note(layer, location) for key, location in others[:room])
    more_errors = max(len(errors) - MAX_UNKNOWN_REPORTED, 0)
    more_others = len(others) - min(len(others), room)
    untold = len(loose) - min(len(loose), told)
    if strictness == STRICT:
        more_errors, untold = more_errors + untold, 0
    if more_errors:
        problems.append(
            Problem.bad_value(
                count_keys(more_errors, "more unknown ")
                + (" in the environment" if layer.layer == "env" else ""),
                "" if layer.layer == "env" else layer.layer,
                layer.path or "",
                value="",
                expected="known settings only",
                fix=_more_fix(layer, more_errors),
            )
        )
    if more_others:
        notes.append(_counted(layer, more_others, _more_fix(layer, more_others)))
    if untold:  # past what is told apart: a misspelling among them is not looked for
        them = "it" if untold == 1 else "them"
        told_how = (
            f"`metaflow-config check` tells {them} apart (a misspelling is an error there)"
            if strictness == LENIENT
            else f"not told apart past the first {TOLD_APART} (no misspelling is looked for)"
        )
        notes.append(_counted(layer, untold, f"{told_how}; else {_more_fix(layer, untold)}"))


def _counted(layer: LayerData, count: int, fix: str) -> str:
    """The note of ``count`` keys of ``layer`` not said one by one."""
    where = "the environment" if layer.layer == "env" else f"{layer.path} ({layer.layer})"
    return f"{count_keys(count, 'more unknown ')} in {where}; {fix}"


def _more_fix(layer: LayerData, count: int) -> str:
    gone = "unset" if layer.layer == "env" else "remove"
    return f"{gone} {'it' if count == 1 else 'them'}; `metaflow-config docs` lists every setting"


def untrusted_note(layer: LayerData) -> str:
    """The one sentence of a project file whose keys are not applied (see ``trust``)."""
    steering, foreign, more = _untrusted_kinds(layer)
    said = []
    if steering:
        decide = "decides" if len(steering) == 1 else "decide"
        said.append(f"{', '.join(steering)}, which {decide} where data or credentials go")
    if foreign or more:
        one = len(foreign) + more == 1
        it, what = ("it", "is no setting") if one else ("them", "are no settings")
        said.append(
            f"{keys_said(foreign, more)}, which {what} of metaflow-config (Metaflow or an "
            f"extension may read {it} to choose what runs or where data goes)"
        )
    return f"{layer.path} ({layer.layer}) sets {', and '.join(said)}; not applied: {layer.distrust}"


def untrusted_keys(layer: LayerData) -> tuple[list[str], int]:
    """The keys of the untrusted ``layer`` that trusting it would apply, as its warning names them.

    A misspelled key is not among them: trusted or not, nothing reads it. Of the keys no setting
    declares, the first few are named (``MAX_UNKNOWN_REPORTED``) and the rest counted.
    """
    steering, foreign, more = _untrusted_kinds(layer)
    return [*steering, *foreign], more


def _untrusted_kinds(layer: LayerData) -> tuple[list[str], list[str], int]:
    """The untrusted keys of ``layer`` to report: the sensitive settings', others, how many more.

    The other keys are named, the first few, and the rest counted. A misspelled key is left out: its
    own report says that it is not applied and what to fix, and nothing reads it, trusted or not. A
    key near nothing is not: an extension may read it (an endpoint of its own), and Metaflow's own
    reading would pass it on. Only the first few other keys are told apart (``keys.read_keys``): a
    file of thousands costs no more.
    """
    steering, other = [], []
    for key in layer.untrusted:
        if key in BY_ENV or sensitive_key(key):
            steering.append(key)
        else:
            other.append(key)
    foreign, more = read_keys(other, MAX_UNKNOWN_REPORTED)
    return steering, foreign, more


def report_untrusted(
    layer: LayerData, strictness: str, problems: list[Problem], notes: list[str]
) -> None:
    """Report the keys an untrusted project file set that it may not decide.

    One warning when ``strictness`` is lenient, else an error per key named, and one for the
    keys counted (:func:`_untrusted_kinds`).
    """
    steering, foreign, more = _untrusted_kinds(layer)
    if not steering and not foreign and not more:
        return
    if strictness == LENIENT:
        notes.append(untrusted_note(layer))
        return
    why, _, advice = layer.distrust.partition("; ")
    for key in [*steering, *foreign]:
        raw = layer.untrusted[key]
        field = BY_ENV.get(key)
        shown = field.show(raw.value) if field else show_value(raw.value, secret=True)
        what = (
            "it decides where data or credentials go"
            if key in steering
            else "it is no setting of metaflow-config: Metaflow or an extension may read it"
        )
        problems.append(
            Problem.bad_value(
                short_name(key),
                layer.layer,
                short_location(raw.location, layer.path),
                value=shown,
                expected=f"a value from a trusted source ({what}), but {layer.path} is a "
                f"project file and {why}",
                fix=advice,
            )
        )
    if more:
        problems.append(
            Problem.bad_value(
                f"{count_keys(more, 'more ')} of {layer.path}",
                layer.layer,
                layer.path or layer.layer,
                value="",
                expected=f"values from a trusted source, but {layer.path} is a project file "
                f"and {why}",
                fix=advice,
            )
        )


def _shared_local_root(inputs: Inputs, local: LayerData, values: Mapping[str, Any]) -> list[str]:
    """The warning of a ``.metaflow`` directory another user can steer, where Metaflow uses it.

    Without ``DATASTORE_SYSROOT_LOCAL``, Metaflow keeps what it writes locally in the nearest
    ``.metaflow`` directory at or above the working directory: the local datastore's and
    metadata's runs, and ``@pypi``/``@conda``'s cached environments whatever the datastore. In
    one that another user can write to (a shared ``/tmp`` checkout), or can swap (its parent is
    theirs to write), or whose entries link elsewhere (a cloned repository's committed
    ``.metaflow/<Flow> -> /tmp/x``), they read the user's artifacts and can plant what a run
    loads (a pickled artifact, an environment's package list).
    """
    if values["DATASTORE_SYSROOT_LOCAL"] is not None:
        return []
    from_cwd = not own(inputs.env, PROJECT_VAR)  # else the project file is found elsewhere
    found = local.path if from_cwd else find_local_config(inputs.cwd)
    if not found:
        return []
    directory = os.path.dirname(found)
    why = others_can_write(directory) or others_can_swap(directory) or linked_entries(directory)
    if not why:
        return []
    return [
        f"{directory} {why}: Metaflow keeps your local runs and cached environments there "
        "(METAFLOW_DATASTORE_SYSROOT_LOCAL is not set), where another user could read your "
        "artifacts and plant what your runs load; set METAFLOW_DATASTORE_SYSROOT_LOCAL to a "
        "directory of your own, or run from a folder of your own"
    ]


def failure(
    problems: list[Problem], layers: Mapping[str, LayerData], also: Sequence[str] = ()
) -> ConfigError:
    """The error of a resolution that fails: its problems, then its registered sections'.

    ``also``: the notes of what a project file holds that is withheld, said with them.

    The sections whose keys a layer sets are built from the same layers on this path only, so
    that one error lists every problem of the configuration (a resolution that succeeds leaves
    a section to be built when read: a good configuration costs nothing more).
    """
    return ConfigError([*problems, *problems_in(layers)], also=also)


def resolve(inputs: Inputs, reuse: Mapping[str, LayerData] | None = None) -> Resolution:
    """Resolve every setting from ``inputs``; raise ConfigError with every problem found.

    ``reuse`` holds layers already read (by layer name) by a resolution that succeeded, to be
    used instead of reading them again: an ``override`` scope layers its values on the snapshot
    it was entered from, and what that snapshot already reported is not reported twice.
    """
    reuse = reuse or {}
    layers = {
        layer.name: reuse[layer.name] if layer.name in reuse else layer.read(inputs)
        for layer in LAYERS
    }
    fresh = tuple(data for name, data in layers.items() if name not in reuse)
    problems = [p for layer in fresh for p in layer.problems]

    winners: dict[str, tuple[LayerData, Any]] = {}
    for layer in layers.values():
        for name, raw in layer.values.items():
            winners[name] = (layer, raw)
    validated, invalid = validate(winners)
    problems.extend(invalid)
    validated, unheld = hold(validated, winners)
    problems.extend(unheld)

    strictness = strict_mode(inputs.strict, inputs.env, problems)
    notes: list[str] = []
    plugin_problems(
        (
            (name, validated[name], winners[name][0].layer, winners[name][1].location)
            for name in PLUGIN_SETTINGS
            if name in validated
            if winners[name][0] in fresh
        ),
        problems,
        notes,
    )
    withheld: list[str] = []
    for layer in fresh:
        report_keys(layer, strictness, problems, notes)
        said = len(notes)
        report_untrusted(layer, strictness, problems, notes)
        withheld.extend(notes[said:])
        notes.extend(layer.warnings)
    steered: list[str] = []  # said with an error too: a link a repository planted
    if layers["local"] in fresh:
        steered = _shared_local_root(inputs, layers["local"], {**DEFAULTS, **validated})
    if problems:
        raise failure(problems, layers, [*withheld, *steered])
    notes.extend(_shadowed_problems(fresh, winners))

    values = DEFAULTS.copy()
    origins = {name: (w[0].layer, w[1].location) for name, w in winners.items()}
    values.update(validated)
    underived = derive(values, origins, Context(inputs.env, inputs.cwd))
    if underived:
        raise failure(underived, layers, [*withheld, *steered])
    notes.extend(steered)
    if notes:
        if not all(map(str.isprintable, notes)):  # keys and paths of input: no escapes
            notes = [printable(text) for text in notes]
        level = _caller_level()
        for text in notes:
            warnings.warn(text, ConfigWarning, stacklevel=level)
    return Resolution(inputs, values, origins, layers, tuple(notes))


#: the package's folder (this module's is one below it)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller_level() -> int:
    """The ``stacklevel`` that attributes a warning to the first caller outside this package."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _shadowed_problems(
    fresh: tuple[LayerData, ...], winners: Mapping[str, tuple[LayerData, Raw]]
) -> list[str]:
    """Warnings for invalid values that a higher layer hides: latent, not yet in force."""
    notes: list[str] = []
    for layer in fresh:
        hidden = {
            name: (layer, raw) for name, raw in layer.values.items() if winners[name][1] is not raw
        }
        for problem in validate(hidden)[1] if hidden else ():
            above = winners[BY_ENV[problem.setting].name][0].layer
            notes.append(f"{problem} (not in force: the {above} layer sets it)")
    return notes
