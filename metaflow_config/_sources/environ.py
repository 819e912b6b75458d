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

__all__ = ["metaflow_items", "own", "own_flag"]

_ENCODING = sys.getfilesystemencoding()  # what os.environ decodes with, on POSIX


#: The prefixed names among NUL-joined names: ``str`` ones (``load(env=...)``), or ``bytes``
#: (POSIX's ``os.environ``). Compiled by ``re`` on first use: a process compiles the one it needs.
_FIND_STR = "\0(" + PREFIX + "[^\0]*)"
_FIND_BYTES = _FIND_STR.encode()

_Getter = Callable[[Any], tuple[Any, ...]]
#: (whether from os.environ, the raw names last searched, (raw name, name) of those found, and
#: the function reading their raw values out of the dict in one C call)
_last: tuple[bool, list[Any], tuple[tuple[Any, str], ...], _Getter] = (
    False,
    [],
    (),
    lambda _: (),
)
#: (the raw values last found in os.environ, the items made of them): unchanged values give the
#: same list object back, which a caller may compare by identity
_last_items: tuple[tuple[Any, ...], list[tuple[str, str]]] = ((), [])


def _getter(keys: list[Any]) -> _Getter:
    """``d -> (d[k] for k in keys)`` as a tuple, read by ``operator.itemgetter`` (in C)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    return (lambda d: (d[keys[0]],)) if keys else (lambda _: ())


def metaflow_items(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(name, value)`` of each variable in ``env`` whose name starts with ``METAFLOW_``.

    In the order ``env`` iterates them, exactly as ``[(k, env[k]) for k in env if
    k.startswith("METAFLOW_")]``.
    """
    global _last  # noqa: PLW0603 - one remembered search, replaced whole: thread-safe
    native = env is os.environ
    raw: Any = getattr(env, "_data", None) if native else env  # os.environ's own dict
    if type(raw) is not dict:
        return [(key, env[key]) for key in env if key.startswith(PREFIX)]
    names = list(raw)
    was_native, seen, found, getter = _last
    if not (native is was_native and names == seen):
        searched = _search(names, raw)
        if searched is None:  # a name holding NUL: the plain loop
            return [(key, env[key]) for key in env if key.startswith(PREFIX)]
        found = searched
        getter = _getter([key for key, _ in found])
        _last = (native, names, found, getter)
    values = getter(raw)
    if not native:
        return [(name, value) for (_, name), value in zip(found, values)]
    global _last_items  # noqa: PLW0603 - replaced whole: thread-safe
    if values == _last_items[0]:
        return _last_items[1]
    if found and isinstance(found[0][0], bytes):
        items = [
            (name, value.decode(_ENCODING, "surrogateescape"))
            for (_, name), value in zip(found, values)
        ]
    else:
        items = [(name, value) for (_, name), value in zip(found, values)]
    _last_items = (values, items)
    return items


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
