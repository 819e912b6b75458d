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

For ``os.environ`` the values are read from the same dict and decoded as ``os.environ`` decodes
them (one C call each instead of two Python functions). Any other mapping is iterated.

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

__all__ = ["Skip", "metaflow_items", "own", "own_flag"]

_ENCODING = sys.getfilesystemencoding()  # what os.environ decodes with, on POSIX


#: The prefixed names among NUL-joined names: ``str`` ones (``load(env=...)``), or ``bytes``
#: (POSIX's ``os.environ``). Compiled by ``re`` on first use: a process compiles the one it needs.
_FIND_STR = "\0(" + PREFIX + "[^\0]*)"
_FIND_BYTES = _FIND_STR.encode()


#: the size of the names (in characters) from which one search for any of a Skip's prefixes
#: costs less than a substring test for each
_LARGE = 1 << 15


class Skip:
    """Names a search passes over: those under ``prefixes``, but for those ``keep`` finds.

    ``keep`` holds, for some of the prefixes, two regular expressions (text, alternations):
    the first matches a kept name from its start; the second matches a kept name reversed,
    from its start (its last characters first) to its end. A search compiles what it needs on
    first use, once per process; a prefix absent from the environment costs a substring test.
    """

    __slots__ = ("_patterns", "keep", "prefixes")

    def __init__(self, prefixes: tuple[str, ...], keep: Mapping[str, tuple[str, str]]) -> None:
        self.prefixes = prefixes
        self.keep = keep
        self._patterns: dict[tuple[bool, tuple[str, ...]], tuple[Any, ...]] = {}

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
        main, forward, backward = self._compiled(text, present)
        found: list[Any] = main.findall(blob)
        if forward is None:
            return found
        kept = set(forward.findall(blob))
        kept.update(name[::-1] for name in backward.findall(blob[::-1]))
        if not kept:
            return found
        order = blob.split(sep)  # rare: a name near a setting of a runtime family
        return sorted({*found, *kept}, key=order.index)

    def _any(self, text: bool) -> Any:
        """The search for a name under any of the prefixes."""
        found = self._patterns.get((text, ()))
        if found is None:
            source = "\0(?:" + "|".join(re.escape(p) for p in self.prefixes) + ")"
            found = self._patterns[(text, ())] = (re.compile(source if text else source.encode()),)
        return found[0]

    def _compiled(self, text: bool, present: tuple[str, ...]) -> tuple[Any, Any, Any]:
        cached = self._patterns.get((text, present))
        if cached is not None:
            return cached[0], cached[1], cached[2]
        skipped = "|".join(re.escape(p) for p in present)
        sources = [f"\0((?!{skipped}){PREFIX}[^\0]*)"]
        kept = [self.keep[p] for p in present if p in self.keep]
        if kept:
            sources.append(f"\0((?:{'|'.join(f for f, _ in kept)})[^\0]*)")
            sources.append(f"\0((?:{'|'.join(b for _, b in kept)})(?![^\0]))")
        compiled = [re.compile(x if text else x.encode()) for x in sources]
        found = (compiled[0], compiled[1], compiled[2]) if kept else (compiled[0], None, None)
        self._patterns[(text, present)] = found
        return found


_Getter = Callable[[Any], tuple[Any, ...]]
#: (whether from os.environ, the Skip, the raw names last searched, the raw names found, their
#: names as ``str``, and the function reading their raw values out of the dict in one C call)
_last: tuple[bool, Skip | None, list[Any], list[Any], list[str], _Getter] = (
    False,
    None,
    [],
    [],
    [],
    lambda _: (),
)
#: (the raw values last found in os.environ, the items made of them, the names they are of):
#: unchanged values of the same names give the same list object back, which a caller may
#: compare by identity
_last_items: tuple[tuple[Any, ...], list[tuple[str, str]], list[str]] = ((), [], [])


def _getter(keys: list[Any]) -> _Getter:
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


def metaflow_items(env: Mapping[str, str], skip: Skip | None = None) -> list[tuple[str, str]]:
    """``(name, value)`` of each variable in ``env`` whose name starts with ``METAFLOW_``.

    In the order ``env`` iterates them, exactly as ``[(k, env[k]) for k in env if
    k.startswith("METAFLOW_")]``; with ``skip``, some of the names under its prefixes may be
    left out (those its ``keep`` does not match; a mapping that is not a ``dict`` keeps all).
    """
    global _last  # noqa: PLW0603 - one remembered search, replaced whole: thread-safe
    native = env is os.environ
    raw: Any = getattr(env, "_data", None) if native else env  # os.environ's own dict
    if type(raw) is not dict:
        return [(key, env[key]) for key in env if key.startswith(PREFIX)]
    names = list(raw)
    was_native, skipped, seen, raws, found, getter = _last
    if not (native is was_native and skip is skipped and names == seen):
        searched = _search(names, raw, skip)
        if searched is None:  # a name holding NUL: the plain loop
            return [(key, env[key]) for key in env if key.startswith(PREFIX)]
        raws, found = searched
        getter = _getter(raws)
        _last = (native, skip, names, raws, found, getter)
    values = getter(raw)
    if not native:
        return list(zip(found, values))
    global _last_items  # noqa: PLW0603 - replaced whole: thread-safe
    if values == _last_items[0] and found is _last_items[2]:
        return _last_items[1]
    texts = _decoded(values) if raws and isinstance(raws[0], bytes) else values
    items = list(zip(found, texts))
    _last_items = (values, items, found)
    return items


def _search(
    names: list[Any], raw: dict[Any, Any], skip: Skip | None
) -> tuple[list[Any], list[str]] | None:
    """The raw prefixed names and the same as ``str``, searched in C; None if that cannot be."""
    if not names:
        return [], []
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
    # A name holding NUL would be cut in pieces: a piece that is no name, or one found twice.
    unique = set(found)
    if len(unique) != len(found) or not raw.keys() >= unique:
        return None
    return found, (found if text else _decoded(found))


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
