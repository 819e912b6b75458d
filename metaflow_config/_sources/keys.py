"""What a key of a layer is, decided in one place, and the one way each kind is told.

Every layer records its keys through :func:`take_all`; the resolution's reports, ``check``,
``show``, ``explain``, ``import`` and ``migrate`` ask :func:`classify`, whose answer
(``keykind.Key``) words the key as its kind does. A key is, first match wins:

========== =========================================================== ===================
kind       what                                                        in a layer
========== =========================================================== ===================
setting    a setting of the table, or one of its aliases               applied
cli        a variable of Metaflow's command line (environment only)    left to Metaflow
old        an old name of a setting (``Renamed``)                      applied, one warning
runtime    a variable Metaflow sets at run time (``RUNTIME_VARS``, or  ignored
           in the environment a runtime family's: ``METAFLOW_CONDA_*``)
metaflow   a plugin list Metaflow reads itself (``ENABLED_*``)         left to Metaflow
retired    a name Metaflow no longer reads                             not applied: warned
env-only   a command-line variable in a file (click reads no file)     not applied: warned
parameter  a flow's parameter or flow decorator option (env)           left to Metaflow
section    a key of a registered section                               applied by its model
extension  a name an installed Metaflow extension's ``config`` reads   left to Metaflow
           (``from_conf``: ``extensions.config_names``)
typo       near a setting (``near``'s measure)                         not applied: warned
foreign    near nothing: another program's key                         not applied: warned
========== =========================================================== ===================

except that a name of a runtime family or of a command's parameters that is near a setting is
a typo (``METAFLOW_DEBUG_S3CLEINT``, ``METAFLOW_RUN_TIME_CARD_RENDER_INTERVAL``). A name
Metaflow's command line reads is known exactly (``_model.metaflow_cli``), before any nearness.

Which of the keys not applied are errors (``keykind.STRICTNESS``): none at run time (``lenient``,
the default: each a ``ConfigWarning``); typos and command-line variables in files for
``check`` and ``import`` (``typos``: a setting the user meant and that is not applied); every
one of them with ``METAFLOW_CONFIG_STRICT=1``, ``load(strict=True)`` or ``--strict``
(``strict``). An old name is applied, so it is never an error.

Costs: a ``METAFLOW_*`` name the table does not declare is looked up among registered sections
(``sections.registry``, discovered once per process) only when nothing else knows it. Which
setting a key is near is found only for the keys a report words (:func:`classify`), and for
names of runtime families and parameters in the environment, each name once per process;
those of the runtime families in ``os.environ`` are mostly passed over unread
(:data:`ENV_SKIP`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._display import short_name, show_value
from .._model import metaflow_names as mf
from .._model.fields import PREFIX, Renamed, Setting, is_unset
from .._model.kinds import unicode_problem
from .._model.table import BY_ENV, OLD_NAMES
from .._model.values import TooDeep, freeze
from ..errors import ConfigError, Problem
from .data import LayerData, Loose, Raw
from .environ import SLIP, Skip
from .keykind import (
    CLI,
    ENV_ONLY,
    EXTENSION,
    FOREIGN,
    METAFLOW,
    OLD,
    PARAMETER,
    QUIET,
    RETIRED,
    RUNTIME,
    SECTION,
    SETTING,
    TYPO,
    UNKNOWN,
    Key,
)
from .sections import is_secret, on_reset, registry

if TYPE_CHECKING:
    from .near import Index

__all__ = [
    "ENV_SKIP",
    "applied_in_env",
    "classify",
    "count_keys",
    "is_section_key",
    "keys_said",
    "misspelled",
    "put",
    "put_extra",
    "read_keys",
    "section_key",
    "sensitive_key",
    "suggest",
    "take_all",
]

_ENABLED = frozenset(mf.ENABLED)
#: names a layer leaves alone, whatever else: Metaflow reads or sets them itself
_QUIET_IN_ENV = frozenset({*mf.CLI_VARIABLES, *mf.RUNTIME_VARS, *_ENABLED}) - set(BY_ENV)
_QUIET_IN_FILES = frozenset({*mf.RUNTIME_VARS, *_ENABLED}) - mf.SELECTORS
#: names :func:`_kind` tells apart by name (the others are unknown, or a section's)
_SPECIAL_IN_ENV = frozenset({*OLD_NAMES, *mf.RETIRED})
_SPECIAL_IN_FILES = frozenset({*OLD_NAMES, *mf.RETIRED, *mf.CLI_VARIABLES, *mf.SELECTORS})
#: the prefixes :func:`_kind` tells names of the environment apart by (in files, no prefix
#: tells anything)
_PREFIXES = (*mf.RUNTIME_PREFIXES, *mf.PARAMETER_PREFIXES)


def take_all(
    data: LayerData,
    source: Mapping[str, Any],
    *,
    file: str | None,
    fix: Callable[[str], str],
) -> None:
    """Record the keys of a layer, ``source`` (key -> value, in the layer's order): applied, or not.

    ``file``: the path of the file the keys are of (a key's location is ``<file>:<key>``), or
    None for the environment (a key's location is its name). Applied: a setting (or alias), an
    old name (also recorded in ``renamed``), a registered section's key (in ``extra``). Not
    applied: the names Metaflow reads or sets itself, left alone, and every other key, held in
    ``loose`` with its value, where a model resolved from the layers reads its keys, registered
    or not. ``fix`` says how to fix a bad value at a location of this layer.

    The keys are told apart by set operations, and the keys nothing knows are held in bulk (as
    ``source`` holds them: no object a key), so that thousands of them cost little more than
    parsing them: only the settings and the keys told apart by name take a step of Python each.
    """
    keys = source.keys()
    names = keys - BY_ENV.keys()
    in_file = file is not None
    special: set[str] = set()
    registered: set[str] = set()
    if names:
        names -= _QUIET_IN_FILES if in_file else _QUIET_IN_ENV
        if in_file:
            names.discard("$schema")  # an editor's pointer to `metaflow-config schema` output
        special = names & (_SPECIAL_IN_FILES if in_file else _SPECIAL_IN_ENV)
        if not in_file:
            special.update(name for name in names if name.startswith(_PREFIXES))
        if any(key.startswith(PREFIX) for key in names):
            try:
                registered = names & registry().keys()
            except ConfigError as exc:  # a broken section: a problem of this read, said once
                data.problems.extend(p for p in exc.problems if p not in data.problems)
            special |= registered
    where = "" if file is None else file + ":"
    get, new = BY_ENV.get, tuple.__new__  # Raw(...) without its Python-level __new__
    stepped = keys & BY_ENV.keys()
    stepped |= special
    for key in filter(stepped.__contains__, source) if len(stepped) < len(keys) else source:
        value, field = source[key], get(key)
        if field is not None:
            if not is_unset(value):  # JSON null or "" in a file: unset, as an empty variable
                put(data, field, key, new(Raw, (value, where + key)))
        else:
            kind = SECTION if key in registered else _kind(key, in_file)
            if _take_other(data, kind, key, Raw(value, where + key), fix):
                names.add(key)  # kept with the keys nothing knows, in the layer's order
            else:
                names.discard(key)
    if names:  # what is left: the keys not applied, held as the layer read them
        data.loose = Loose(names, source, where)


def _take_other(data: LayerData, kind: str, key: str, raw: Raw, fix: Callable[[str], str]) -> bool:
    """Record ``key``, of ``kind``, that is not a setting's own name (see :func:`take_all`).

    Whether the key is one not applied (the caller holds those in ``loose``, in bulk).
    """
    if kind in QUIET:
        return False
    if kind == OLD:
        data.renamed.append((key, raw.location))
        if not is_unset(raw.value):
            put(data, OLD_NAMES[key][0], key, raw)
        return False
    if kind != SECTION:
        return True  # its value is kept with those of the other keys not applied
    if not is_unset(raw.value):
        put_extra(data, key, raw, fix=fix)
    return False


def _kind(key: str, file: bool) -> str:  # noqa: PLR0911 - the rules in order, first match wins
    """The kind of a key no setting declares, as far as exact names and families tell it.

    ``UNKNOWN`` for what only a registered section, or nearness, can tell (:func:`classify`).
    """
    if not file and key in mf.CLI_VARIABLES:
        return CLI  # METAFLOW_DECOSPECS: `--with` in the environment, an old name in a file
    old = OLD_NAMES.get(key)
    if old is not None and old[1].applied:
        return OLD
    if file and key in mf.SELECTORS:
        return ENV_ONLY  # `"METAFLOW_PROFILE": "prod"` in a file selects nothing
    if key in mf.RUNTIME_VARS:
        return RUNTIME
    if key in _ENABLED:
        return METAFLOW
    if key in mf.RETIRED:
        return RETIRED
    if file:
        return ENV_ONLY if key in mf.CLI_VARIABLES else UNKNOWN
    if key.startswith(mf.RUNTIME_PREFIXES):
        return UNKNOWN if _family_typo(key) is not None else RUNTIME
    if key.startswith(mf.PARAMETER_PREFIXES):
        return UNKNOWN if _indexes.near(key, registered=False) is not None else PARAMETER
    return UNKNOWN


def classify(key: str, *, file: bool) -> Key:
    """What ``key`` is, in a file (``file``) or in the environment, with its wording.

    Remembered per name for the process (up to a bound; past it, computed each time).
    """
    cache = _classified[file]
    found = cache.get(key)
    if found is None:
        found = _classify(key, file)
        if len(cache) < _CACHE_BOUND:
            cache[key] = found
    return found


def _classify(key: str, file: bool) -> Key:  # noqa: PLR0911 - a return per kind
    field = BY_ENV.get(key)
    if field is not None:
        return Key(key, SETTING, field)
    kind = _kind(key, file)
    if kind == OLD:
        field, old = OLD_NAMES[key]
        return Key(key, OLD, field, old=old)
    if kind == PARAMETER:
        return Key(
            key, PARAMETER, detail=next(p for p in mf.PARAMETER_PREFIXES if key.startswith(p))
        )
    if kind in (CLI, ENV_ONLY, RUNTIME, METAFLOW, RETIRED):
        return Key(key, kind)
    if key.startswith(PREFIX) and _registered_quietly(key):
        return Key(key, SECTION)
    org = _read_by_extension(key)
    if org is not None:
        return Key(key, EXTENSION, detail=org)
    if key.startswith(SLIP):  # read by no one: the name in capitals, if that one is known
        upper = _classify(key.upper(), file)
        if upper.kind in (SETTING, OLD) and upper.field is not None:  # its setting's own name
            return Key(key, TYPO, upper.field, upper.field.env)
        if upper.kind not in (FOREIGN, TYPO):
            return Key(key, TYPO, None, upper.key)
    near = _family_typo(key) if not file and key.startswith(mf.RUNTIME_PREFIXES) else None
    if near is None:
        near = _indexes.near(key, registered=True)
    if near is None:
        return Key(key, FOREIGN)
    return Key(key, TYPO, near[1], near[0], near[2])


def _read_by_extension(key: str) -> str | None:
    """The installed Metaflow extension whose ``config`` reads ``key``, if one does.

    Asked only of a name nothing else knows (its sources are read once per process then).
    """
    if not key.startswith(PREFIX):
        return None
    from .extensions import config_names

    return config_names().get(key)


def suggest(key: str) -> str:
    """What to say of a name given where a setting's name is expected: a did-you-mean, or why.

    Short names count (``BATCH_JOB_QEUE``), and so do lower case and a missing prefix. A
    ``NAME=VALUE`` pasted whole (a line of ``env`` output) is told by its name, never its value.
    """
    name, equals, _ = key.partition("=")
    if equals:
        name = name.strip()
        if not name:
            return "give a setting's name alone, without '=' and a value"
        named = classify(name if name.startswith(PREFIX) else PREFIX + name.upper(), file=True)
        hint = f"did you mean {named.key}?" if named.kind in (SETTING, SECTION) else suggest(name)
        return f"{hint} (the name alone: what follows '=' is a value)"
    full = key.upper() if key.upper().startswith(PREFIX) else PREFIX + key.upper()
    found = classify(key if key.startswith(PREFIX) else full, file=True)
    if found.kind in (SETTING, SECTION) and key != found.key:
        return f"did you mean {found.key}?"
    return found.hint()


# -- nearness --------------------------------------------------------------------------------

#: A name's nearest (the name, its setting, the old name matched): ``None`` for a registered key
_Near = tuple[str, "Setting | None", "Renamed | None"]


class _Indexes:
    """The names a key may be near, built on first use: built-in, then with registered keys."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built_in: Index[_Near] | None = None
        self._all: Index[_Near] | None = None
        self._seen: dict[tuple[bool, str], _Near | None] = {}

    def near(self, key: str, *, registered: bool) -> _Near | None:
        """The name ``key`` is near, among the table's (and registered keys, if ``registered``)."""
        seen = self._seen.get((registered, key), self)
        if seen is not self:
            return seen  # type: ignore[return-value]
        index = self._index(registered)
        found = index.nearest(key)
        if len(self._seen) < _CACHE_BOUND:
            self._seen[(registered, key)] = found
        return found

    def _index(self, registered: bool) -> Index[_Near]:
        from .near import Index  # the did-you-mean's: loaded when a name is first unknown

        with self._lock:
            if self._built_in is None:
                self._built_in = Index(_built_in_names())
            if not registered:
                return self._built_in
            if self._all is None:
                try:
                    keys = sorted(registry())
                except ConfigError:  # a broken section: said by the read that met it
                    keys = []
                self._all = self._built_in
                if keys:
                    extra: list[tuple[str, _Near]] = [(k, (k, None, None)) for k in keys]
                    self._all = Index([*_built_in_names(), *extra])
            return self._all

    def reset(self) -> None:
        with self._lock:
            self._all = None
            self._seen = {}


def _built_in_names() -> Iterable[tuple[str, _Near]]:
    """Every name of the table, each with the setting it stands for.

    The settings' own names, then aliases, then old names (applied or not), then the library's
    own variables (no setting's: ``None``).
    """
    for key, field in BY_ENV.items():
        yield key, (field.env, field, None)
    for key, (field, old) in OLD_NAMES.items():
        yield key, (field.env, field, old)
    for key in sorted(mf.SELECTORS):  # this library's own: METAFLOW_PROFLE is METAFLOW_PROFILE's
        yield key, (key, None, None)


_indexes = _Indexes()
on_reset(_indexes.reset)  # the nearest names include registered keys


@functools.cache
def _families() -> dict[str, list[str]]:
    """The settings of each runtime family (``METAFLOW_CONDA_`` ...) that has any.

    What a name of the family may be a typo of, one edit away (``near.FAMILY_EDITS``); a typo
    across families is left to the general did-you-mean. Worked out when a name of a runtime
    family is first met (a task whose names the table knows never does).
    """
    families: dict[str, list[str]] = {p: [] for p in mf.RUNTIME_PREFIXES}
    for name in BY_ENV:
        if name.startswith(mf.RUNTIME_PREFIXES):
            families[next(p for p in mf.RUNTIME_PREFIXES if name.startswith(p))].append(name)
    return {p: names for p, names in families.items() if names}


@functools.cache
def _family_indexes() -> dict[str, Index[_Near]]:
    from .near import FAMILY_EDITS, Index

    return {
        p: Index(
            [(name, (BY_ENV[name].env, BY_ENV[name], None)) for name in names],
            lambda _: FAMILY_EDITS,
        )
        for p, names in _families().items()
    }


_family_seen: dict[str, _Near | None] = {}


def _family_typo(key: str) -> _Near | None:
    """The setting of its family that a runtime-family name is near, if any."""
    if key in _family_seen:
        return _family_seen[key]
    index = next((i for p, i in _family_indexes().items() if key.startswith(p)), None)
    found = None if index is None else index.nearest(key)
    if len(_family_seen) < _CACHE_BOUND:
        _family_seen[key] = found
    return found


def _family_keep() -> dict[str, tuple[str, str]]:
    """What an environment scan keeps of each runtime family (``near.family_patterns``)."""
    from .near import family_patterns

    return {p: family_patterns(p, names) for p, names in _families().items()}


#: The runtime families an environment scan passes over (``environ.Skip``): every name of them
#: but those that may be near one of their settings (:func:`_family_keep`), which
#: :func:`take_all` then tells apart exactly.
ENV_SKIP = Skip(mf.RUNTIME_PREFIXES, _family_keep)

#: How many names each remembered answer keeps, at most: past it, a name is worked out each
#: time (linear in the names, never a cliff).
_CACHE_BOUND = 1 << 16
_classified: dict[bool, dict[str, Key]] = {False: {}, True: {}}


def _forget_classified() -> None:
    for cache in _classified.values():
        cache.clear()


on_reset(_forget_classified)  # whether a key is a section's depends on the registry


# -- registered sections ---------------------------------------------------------------------


def section_key(key: str, data: LayerData) -> str | None:
    """The full key of a registered section's ``key`` (full or short name), or None."""
    full = key.upper() if key.upper().startswith(PREFIX) else PREFIX + key.upper()
    return full if _registered(full, data) else None


def _registered(key: str, data: LayerData, *, exact: bool = False) -> bool:
    """Whether ``key`` is a key of a registered section (looking them up if need be).

    ``exact``: spelled as the key is (upper case), as a file or the environment must spell it;
    otherwise in any case, as ``override()`` takes names.
    """
    try:
        return (key if exact else key.upper()) in registry()
    except ConfigError as exc:  # a broken section: a problem of this read, said once
        for problem in exc.problems:
            if problem not in data.problems:
                data.problems.append(problem)
        return False


def applied_in_env(key: str) -> bool:
    """Whether the environment layer applies the variable ``key``'s value.

    A setting's name or alias, an old name it applies (``METAFLOW_JOB_QUEUE_NAME``), a
    registered section's key: what a child process given ``key`` would read as a value.
    """
    if key in BY_ENV:
        return True
    kind = _kind(key, False)
    return kind == OLD or (kind == UNKNOWN and key.startswith(PREFIX) and _registered_quietly(key))


def _registered_quietly(key: str) -> bool:
    """Whether ``key`` is a registered key (a broken registry: no; its read says why)."""
    try:
        return key in registry()
    except ConfigError:
        return False


def put_extra(data: LayerData, key: str, raw: Raw, *, fix: Callable[[str], str]) -> None:
    """Record ``raw`` for ``key``, a registered section's key (see ``LayerData.extra``).

    Its value is bounded as every JSON value is: nested deeper than ``MAX_JSON_DEPTH`` (text is
    decoded, and bounded, when its model is built), or holding a lone surrogate, it is a problem
    of this layer, not a value that nothing downstream (export, ``show``) could carry.
    """
    expected = None
    try:
        freeze(raw.value)  # only to bound the nesting
    except TooDeep as exc:
        expected = str(exc)
    expected = expected or unicode_problem(raw.value)
    if expected is None:
        data.extra[key] = raw
        return
    data.problems.append(
        Problem.bad_value(
            key,
            data.layer,
            raw.location,
            value=show_value(raw.value, secret=is_secret(key)),
            expected=expected,
            fix=fix(raw.location),
        )
    )


def put(data: LayerData, field: Setting, key: str, raw: Raw) -> None:
    """Record ``raw`` for ``field``, read under the name ``key``.

    An alias or an old name never beats the setting's own name in the same layer, in whatever
    order they come.
    """
    if key in (field.env, field.name) or field.name not in data.values:
        data.values[field.name] = raw


def is_section_key(key: str) -> bool:
    """Whether ``key`` is a registered section's key (a broken registry: no).

    A section's keys are under ``METAFLOW_``: no other key costs the registry's lookup.
    """
    if not key.startswith(PREFIX):
        return False
    try:
        return key in registry()
    except ConfigError:
        return False


def misspelled(key: str) -> bool:
    """Whether the file key ``key`` is a misspelling (of a setting, or of a selector).

    Nothing reads it, trusted or not. Another key no setting declares may be read by Metaflow
    or an extension (``ACME_ENDPOINT``).
    """
    from .keykind import ENV_ONLY, TYPO

    return classify(key, file=True).kind in (TYPO, ENV_ONLY)


def read_keys(keys: Iterable[str], most: int) -> tuple[list[str], int]:
    """Of the first ``most`` of ``keys``, those that are no misspelling; how many keys follow.

    Those that follow are not told apart (:func:`misspelled`: a did-you-mean each). What a
    report names of keys that something may read: a file of thousands of keys costs a few
    did-you-means, not one each (a misspelling among the first is reported by its own warning).
    """
    named: list[str] = []
    more = 0
    for seen, key in enumerate(keys):
        if seen >= most:
            more += 1
        elif not misspelled(key):
            named.append(key)
    return named, more


def keys_said(named: list[str], more: int) -> str:
    """What :func:`read_keys` gave, in words: ``A, B and 3 more keys``, or ``3 keys``."""
    if not named:
        return count_keys(more)
    listed = ", ".join(map(short_name, named))
    return listed + (f" and {count_keys(more, 'more ')}" if more else "")


def count_keys(count: int, what: str = "") -> str:
    """``1 key``, ``3 keys`` (``what`` before the noun: ``3 more unknown keys``)."""
    return f"{count} {what}key{'' if count == 1 else 's'}"


def sensitive_key(key: str) -> bool:
    """Whether ``key`` is a registered section's sensitive key (a broken registry: yes)."""
    try:
        found = registry().get(key)
    except ConfigError:
        return True
    return found is not None and key in found.sensitive
