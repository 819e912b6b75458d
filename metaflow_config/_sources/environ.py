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
them (one C call each instead of two Python functions). Any other mapping is iterated.
"""

from __future__ import annotations

import operator
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .._model.fields import PREFIX, is_unset
from .._model.kinds import BOOL, parse_bool
from ..errors import Problem

__all__ = ["Found", "getter", "metaflow_found", "metaflow_items", "own", "own_flag"]

_ENCODING = sys.getfilesystemencoding()  # what os.environ decodes with, on POSIX


#: The prefixed names among NUL-joined names: ``str`` ones (``load(env=...)``), or ``bytes``
#: (POSIX's ``os.environ``). Compiled by ``re`` on first use: a process compiles the one it needs.
_FIND_STR = "\0(" + PREFIX + "[^\0]*)"
_FIND_BYTES = _FIND_STR.encode()

_Getter = Callable[[Any], tuple[Any, ...]]


def getter(keys: list[Any]) -> _Getter:
    """``d -> (d[k] for k in keys)`` as a tuple, read by ``operator.itemgetter`` (in C)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    return (lambda d: (d[keys[0]],)) if keys else (lambda _: ())


class Found:
    """The ``METAFLOW_*`` variables one search found among the names of an environment.

    ``pairs``: ``(raw name, name)`` of each, in the environment's order (the raw name is the
    key of the dict holding the values: ``bytes`` in POSIX's ``os.environ``); ``native``:
    whether that dict is ``os.environ``'s own, whose values are decoded as it decodes them.
    """

    __slots__ = ("_values", "native", "pairs")

    def __init__(self, pairs: tuple[tuple[Any, str], ...], *, native: bool) -> None:
        self.pairs = pairs
        self.native = native
        self._values = getter([key for key, _ in pairs])

    def items(self, raw: dict[Any, Any]) -> list[tuple[str, str]]:
        """``(name, value)`` of each variable, its value read from ``raw`` now."""
        values = self._values(raw)
        if self.native and self.pairs and isinstance(self.pairs[0][0], bytes):
            return [
                (name, value.decode(_ENCODING, "surrogateescape"))
                for (_, name), value in zip(self.pairs, values)
            ]
        return [(name, value) for (_, name), value in zip(self.pairs, values)]


#: (the raw names last searched, what the search found in them)
_last: tuple[list[Any], Found] = ([], Found((), native=False))


def metaflow_found(env: Mapping[str, str]) -> tuple[Found, dict[Any, Any]] | None:
    """What the search of ``env``'s names found, and the dict holding their raw values.

    The same :class:`Found` object while ``env``'s names (all of them, in order) are the ones
    last searched: a caller may compare it by identity. ``None`` where ``env`` is not backed by
    a plain ``dict``, or a name holds NUL: iterate ``env`` instead.
    """
    global _last  # noqa: PLW0603 - one remembered search, replaced whole: thread-safe
    native = env is os.environ
    raw: Any = getattr(env, "_data", None) if native else env  # os.environ's own dict
    if type(raw) is not dict:
        return None
    names = list(raw)
    seen, found = _last
    if found.native is not native or names != seen:
        searched = _search(names, raw)
        if searched is None:  # a name holding NUL: the plain loop
            return None
        found = Found(searched, native=native)
        _last = (names, found)
    return found, raw


def metaflow_items(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(name, value)`` of each variable in ``env`` whose name starts with ``METAFLOW_``.

    In the order ``env`` iterates them, exactly as ``[(k, env[k]) for k in env if
    k.startswith("METAFLOW_")]``.
    """
    scanned = metaflow_found(env)
    if scanned is None:
        return [(key, env[key]) for key in env if key.startswith(PREFIX)]
    found, raw = scanned
    return found.items(raw)


def _search(names: list[Any], raw: dict[Any, Any]) -> tuple[tuple[Any, str], ...] | None:
    """``(raw name, name)`` of the prefixed names, searched in C; ``None`` if that cannot work."""
    if not names:
        return ()
    text = isinstance(names[0], str)
    sep: Any = "\0" if text else b"\0"
    try:
        blob = sep + sep.join(names)
    except TypeError:  # names of mixed or other types
        return None
    found: list[Any] = re.findall(_FIND_STR if text else _FIND_BYTES, blob)
    # A name holding NUL would be cut in pieces: a piece that is no name, or one found twice.
    unique = set(found)
    if len(unique) != len(found) or not raw.keys() >= unique:
        return None
    if text:
        return tuple(zip(found, found))
    return tuple((key, key.decode(_ENCODING, "surrogateescape")) for key in found)


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
