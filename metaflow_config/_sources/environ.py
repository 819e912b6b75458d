"""The ``METAFLOW_*`` variables of an environment, and the library's own variables in it.

The library's own variables (``METAFLOW_HOME``, ``METAFLOW_PROFILE``, ``METAFLOW_CONFIG_*``) are
read with :func:`own` and :func:`own_flag`: empty means unset, as for every setting.

The ``METAFLOW_*`` variables are found without a Python loop over every name
(:func:`metaflow_items`). Reporting unknown ``METAFLOW_*`` variables means looking at every
variable name, and iterating ``os.environ`` decodes each name in a Python generator: about
0.13 µs a name, 1.3 ms for a process with 10,000 variables (ten times a whole resolution).
Instead:

* the names of a ``dict`` (and the raw names ``os.environ`` keeps in its own dict) are joined with
  NUL and the prefixed names are found with one regular-expression search, in C;
* the names found are remembered with the list of names they came from, and the next resolution
  over the same names (entering an ``override``, ``settings.reload()``) compares that list (a C
  loop of identity checks) instead of searching again. Adding or removing any variable changes
  the list, so the answer is always exact. Values are read afresh every time.

:func:`metaflow_found` gives that remembered search itself (:class:`Found`): the same object
while the names are unchanged, so that a caller can tell an unchanged list of names by
identity and read only the values it needs (the environment layer: ``layers.EnvLayer``).

For ``os.environ`` the values are read from the same dict and decoded as ``os.environ`` decodes
them (one C call for them all where the encoding allows, else one each). Any other mapping is
iterated.

A caller may pass over whole families of names (:class:`Skip`: Metaflow's runtime variables,
thousands in some tasks) in the same search: the names under its prefixes are neither decoded
nor returned, except those its pattern keeps. A family absent from the environment costs one
substring test; so a task that carries 5,000 of them pays for none, in a fresh process as in a
long one.
"""

from __future__ import annotations

import operator
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._model.fields import PREFIX, is_unset
from .._model.kinds import BOOL, parse_bool
from ..errors import Problem

__all__ = [
    "SLIP",
    "Found",
    "Skip",
    "getter",
    "metaflow_found",
    "metaflow_items",
    "own",
    "own_flag",
]

_ENCODING = sys.getfilesystemencoding()  # what os.environ decodes with, on POSIX


#: The prefixed names among NUL-joined names: ``str`` ones (``load(env=...)``), or ``bytes``
#: (POSIX's ``os.environ``). Compiled by ``re`` on first use: a process compiles the one it needs.
_FIND_STR = "\0(" + PREFIX + "[^\0]*)"
_FIND_BYTES = _FIND_STR.encode()

#: ``metaflow_`` in lower case: a slip Metaflow passes over in silence (environment names are
#: case-sensitive on POSIX), found too so that the layer reports it (one substring test where
#: there is none)
SLIP = PREFIX.lower()
_SLIPS_STR = "\0(" + SLIP + "[^\0]*)"
_SLIPS_BYTES = _SLIPS_STR.encode()


#: the size of the names (in characters) from which one search for any of a Skip's prefixes,
#: compiled on first use, costs less than a substring test for each: below it (about 4,000
#: names), compiling the search (about 0.5 ms) alone costs more than the tests do
_LARGE = 1 << 17


class Skip:
    """Names a search passes over: those under ``prefixes``, but for those ``keep`` finds.

    ``keep()`` gives, for some of the prefixes, two regular expressions (text, alternations):
    the first matches a kept name from its start; the second matches a kept name reversed,
    from its start (its last characters first) to its end. It is called when a name under one
    of the prefixes is first met. A search compiles what it needs on first use, once per
    process; a prefix absent from the environment costs a substring test.
    """

    __slots__ = ("_keep", "_kept", "_patterns", "prefixes")

    def __init__(
        self, prefixes: tuple[str, ...], keep: Callable[[], Mapping[str, tuple[str, str]]]
    ) -> None:
        self.prefixes = prefixes
        self._keep = keep
        self._kept: Mapping[str, tuple[str, str]] | None = None
        self._patterns: dict[tuple[bool, tuple[str, ...]], tuple[Any, ...]] = {}

    @property
    def keep(self) -> Mapping[str, tuple[str, str]]:
        """What ``keep()`` gave (called once; a race calls it twice, harmlessly)."""
        if self._kept is None:
            self._kept = self._keep()
        return self._kept

    def find(self, text: bool, blob: Any) -> list[Any]:
        """The prefixed names of ``blob`` but for those passed over, in its order.

        ``blob`` holds the names, each after a NUL: ``str`` if ``text``, else ``bytes``.
        """
        sep: Any = "\0" if text else b"\0"
        present: tuple[str, ...] = ()
        # a few substring tests in a small environment; one compiled pass over a large one
        if len(blob) < _LARGE or self._any(text).search(blob) is not None:
            present = tuple(p for p in self.prefixes if (sep + (p if text else p.encode())) in blob)
        if not present:
            return re.findall(_FIND_STR if text else _FIND_BYTES, blob)
        main, backward = self._compiled(text, present)
        if backward is None:
            found: list[Any] = main.findall(blob)
            return found
        # a name under a runtime family's prefix kept by its end (the first part misspelled) is
        # found in the names reversed: each reversed name after the NUL that ended it (one
        # more at the end, for the last name). Where there is one, each name found takes its
        # place in the blob, and the environment's order is theirs (the names found are sorted,
        # not the environment)
        end = len(blob) + 1
        kept = {end - m.end(1): m.group(1)[::-1] for m in backward.finditer((blob + sep)[::-1])}
        if not kept:
            found = main.findall(blob)
            return found
        places = {m.start(1): m.group(1) for m in main.finditer(blob)}
        places.update(kept)
        return [places[place] for place in sorted(places)]

    def _any(self, text: bool) -> Any:
        """The search for a name under any of the prefixes."""
        found = self._patterns.get((text, ()))
        if found is None:
            source = "\0(?:" + "|".join(re.escape(p) for p in self.prefixes) + ")"
            found = self._patterns[(text, ())] = (re.compile(source if text else source.encode()),)
        return found[0]

    def _compiled(self, text: bool, present: tuple[str, ...]) -> tuple[Any, Any]:
        """The search of the names not passed over, and of those kept by their end (or None).

        One pass finds the names in order: a name under a prefix present is passed over unless
        ``keep`` finds it from its start (``(?!(?!kept)prefix)``); those it finds from their end
        take a second pass, over the names reversed.
        """
        cached = self._patterns.get((text, present))
        if cached is not None:
            return cached[0], cached[1]
        keep = self.keep
        kept = [keep[p] for p in present if p in keep]
        skipped = "|".join(re.escape(p) for p in present)
        if kept:
            skipped = f"(?!{'|'.join(f for f, _ in kept)})(?:{skipped})"
        sources = [f"\0((?!{skipped}){PREFIX}[^\0]*)"]
        if kept:
            sources.append(f"\0((?:{'|'.join(b for _, b in kept)})(?![^\0]))")
        compiled = [re.compile(x if text else x.encode()) for x in sources]
        found = (compiled[0], compiled[1] if kept else None)
        self._patterns[(text, present)] = found
        return found


_Getter = Callable[[Any], tuple[Any, ...]]


def getter(keys: list[Any]) -> _Getter:
    """``d -> (d[k] for k in keys)`` as a tuple, read by ``operator.itemgetter`` (in C)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    return (lambda d: (d[keys[0]],)) if keys else (lambda _: ())


#: encodings in which NUL is one byte of its own: bytes joined with NUL decode as each alone
_NUL_SAFE = _ENCODING.lower().replace("-", "").replace("_", "") in ("utf8", "ascii", "latin1")


def _decoded(raws: Sequence[bytes]) -> list[str]:
    """Each of ``raws`` decoded as ``os.environ`` decodes it (in one C call where that can be)."""
    if _NUL_SAFE and raws:
        return b"\0".join(raws).decode(_ENCODING, "surrogateescape").split("\0")
    return [raw.decode(_ENCODING, "surrogateescape") for raw in raws]


class Found:
    """The ``METAFLOW_*`` variables one search found among the names of an environment.

    ``pairs``: ``(raw name, name)`` of each, in the environment's order (the raw name is the
    key of the dict holding the values: ``bytes`` in POSIX's ``os.environ``); ``native``:
    whether that dict is ``os.environ``'s own, whose values are decoded as it decodes them;
    ``skip``: what the search passed over.
    """

    __slots__ = ("_bytes", "_names", "_values", "native", "pairs", "skip")

    def __init__(
        self, pairs: tuple[tuple[Any, str], ...], *, native: bool, skip: Skip | None = None
    ) -> None:
        self.pairs = pairs
        self.native = native
        self.skip = skip
        self._bytes = native and bool(pairs) and isinstance(pairs[0][0], bytes)
        self._values = getter([key for key, _ in pairs])
        self._names = [name for _, name in pairs]

    def read(self, raw: dict[Any, Any]) -> dict[str, str]:
        """Each variable's value (by name, in the environment's order), read from ``raw`` now."""
        values = self._values(raw)
        return dict(zip(self._names, _decoded(values) if self._bytes else values))


#: (the raw names last searched, what the search found in them)
_last: tuple[list[Any], Found] = ([], Found((), native=False))


def metaflow_found(
    env: Mapping[str, str], skip: Skip | None = None
) -> tuple[Found, dict[Any, Any]] | None:
    """What the search of ``env``'s names found, and the dict holding their raw values.

    The same :class:`Found` object while ``env``'s names (all of them, in order) are the ones
    last searched with the same ``skip``: a caller may compare it by identity. ``None`` where
    ``env`` is not backed by a plain ``dict``, or a name holds NUL: iterate ``env`` instead.
    """
    global _last  # noqa: PLW0603 - one remembered search, replaced whole: thread-safe
    native = env is os.environ
    raw: Any = getattr(env, "_data", None) if native else env  # os.environ's own dict
    if type(raw) is not dict:
        return None
    names = list(raw)
    seen, found = _last
    if found.native is not native or found.skip is not skip or names != seen:
        searched = _search(names, raw, skip)
        if searched is None:  # a name holding NUL: the plain loop
            return None
        found = Found(searched, native=native, skip=skip)
        _last = (names, found)
    return found, raw


def metaflow_items(env: Mapping[str, str], skip: Skip | None = None) -> list[tuple[str, str]]:
    """``(name, value)`` of each variable in ``env`` whose name starts with ``METAFLOW_``.

    In the order ``env`` iterates them, exactly as ``[(k, env[k]) for k in env if
    k.startswith("METAFLOW_")]``, then those starting with :data:`SLIP` (``metaflow_``) likewise;
    with ``skip``, some of the names under its prefixes may be left out (those its ``keep`` does
    not match; a mapping that is not a ``dict`` keeps all).
    """
    scanned = metaflow_found(env, skip)
    if scanned is None:
        items = [(key, env[key]) for key in env if key.startswith((PREFIX, SLIP))]
        return sorted(items, key=lambda item: item[0].startswith(SLIP))  # stable: slips last
    found, raw = scanned
    return list(found.read(raw).items())


def _search(
    names: list[Any], raw: dict[Any, Any], skip: Skip | None
) -> tuple[tuple[Any, str], ...] | None:
    """``(raw name, name)`` of the prefixed names, searched in C; ``None`` if that cannot work."""
    if not names:
        return ()
    text = isinstance(names[0], str)
    sep: Any = "\0" if text else b"\0"
    try:
        blob = sep + sep.join(names)
    except TypeError:  # names of mixed or other types
        return None
    if skip is None:
        found: list[Any] = re.findall(_FIND_STR if text else _FIND_BYTES, blob)
    else:
        found = skip.find(text, blob)
    if (sep + (SLIP if text else SLIP.encode())) in blob:  # after the others: reported only
        found += re.findall(_SLIPS_STR if text else _SLIPS_BYTES, blob)
    # A name holding NUL would be cut in pieces: a piece that is no name, or one found twice.
    unique = set(found)
    if len(unique) != len(found) or not raw.keys() >= unique:
        return None
    return tuple(zip(found, found if text else _decoded(found)))


def own(env: Mapping[str, str], name: str) -> str | None:
    """The library's own variable ``name`` in ``env``; ``None`` when it is unset or empty.

    Empty means unset (``is_unset``), for these variables as for every setting: an exported
    ``METAFLOW_PROFILE=`` selects the default profile, as no variable does.
    """
    value = env.get(name)
    return None if is_unset(value) else value


def own_flag(env: Mapping[str, str], name: str, fix: str) -> tuple[bool | None, Problem | None]:
    """The boolean variable ``name`` of ``env``: ``None`` when unset or empty, else its value.

    A word that is not a boolean (``BOOL``'s) is a problem instead, fixed by ``fix``.
    """
    text = own(env, name)
    if text is None:
        return None, None
    try:
        return parse_bool(text), None
    except ValueError:
        problem = Problem.bad_value(
            name, "env", name, value=repr(text), expected=BOOL.expected, fix=fix
        )
        return None, problem
