"""The plugin names Metaflow knows: its datastores, metadata providers and conda resolvers.

``DEFAULT_DATASTORE``, ``DEFAULT_METADATA`` and ``CONDA_DEPENDENCY_RESOLVER`` take a plugin's
name, and extensions add plugins of their own, so the table's kind takes any name. A resolution
compares a name with ``CORE_PLUGINS`` (``_model.metaflow_names``: what Metaflow 2.19 registers
itself) first, before this module is imported: a core name costs a set lookup. Only another
name makes it look at what the installed Metaflow and its extensions register
(:func:`installed`): their sources are read, never imported (importing Metaflow would
run this package's extension and cost every resolution a fifth of a second), as text: the
``*_DESC`` lists of ``metaflow/plugins/__init__.py`` and of each ``metaflow_extensions`` package's
``plugins`` modules, and the ``ENABLED_*`` and ``TOGGLE_*`` lists there, each a literal list
evaluated alone (``ast.literal_eval``; a module is never parsed whole). A list built by code
cannot be read so: then only the names it can read count.

:func:`judge` says what a name is: known (nothing to say), a case variant or near miss of a
known name (an error with the did-you-mean: Metaflow would refuse it far from the cause), or a
name nobody here knows (a warning: an extension not installed here may provide it).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .._model.metaflow_names import CORE_PLUGINS
from .._model.record import Record
from .._model.table import BY_NAME

if TYPE_CHECKING:
    from typing_extensions import TypeGuard

__all__ = ["Declared", "Verdict", "installed", "judge"]

_DESC = {"datastore": "DATASTORES_DESC", "metadata_provider": "METADATA_PROVIDERS_DESC"}
_WHAT = {
    "datastore": "datastore",
    "metadata_provider": "metadata provider",
    "conda_resolver": "conda dependency resolver",
}


class Verdict(Record):
    """What :func:`judge` says of a name that is not a known plugin's.

    ``kind``: ``near`` a known one (an error: ``close`` is the did-you-mean) or ``unknown`` (a
    warning); ``text`` says what was expected. A record, not a dataclass: every task imports
    this module (``_model.record`` says why).
    """

    __slots__ = ("close", "kind", "text")
    __match_args__ = ("kind", "text", "close")
    kind: str
    text: str
    close: str

    def __init__(self, kind: str, text: str, close: str = "") -> None:
        self.kind = kind
        self.text = text
        self.close = close

    def __hash__(self) -> int:
        return hash(self._fields())


def judge(setting: str, value: str) -> Verdict | None:
    """What the plugin name ``value`` of ``setting`` is; ``None``: a name Metaflow knows."""
    category = BY_NAME[setting].plugin
    if value in CORE_PLUGINS[category]:
        return None
    found = installed().get(category, frozenset())
    if value in found:
        return None
    known = sorted(CORE_PLUGINS[category] | found)
    what = _WHAT[category]
    close = _near(value, known)
    if getattr(found, "complete", True):
        if close is not None:
            return Verdict("near", f"a {what} Metaflow knows ({', '.join(known)})", close)
        return Verdict(
            "unknown",
            f"{value!r} is not a {what} the installed Metaflow or its extensions register "
            f"({', '.join(known)}): Metaflow refuses it when a flow runs unless an extension "
            "provides it there",
        )
    # an extension registers some in code: the name may be one of them, near a known one or not
    maybe = f" (did you mean {close}?)" if close is not None else ""
    return Verdict(
        "unknown",
        f"{value!r} is not a {what} the installed Metaflow or its extensions register as text "
        f"({', '.join(known)}){maybe}: an extension registers its own in code, which is not "
        "read here; Metaflow refuses the name when a flow runs unless one of them is it",
    )


def _near(value: str, known: Iterable[str]) -> str | None:
    """The known name ``value`` is a case variant or a near miss of (one or two edits)."""
    lowered = value.lower()
    for name in known:
        if name.lower() == lowered:
            return name
    best = min(known, key=lambda name: (_distance(lowered, name.lower()), name), default=None)
    if best is None:
        return None
    allowed = 1 if len(best) <= 4 else 2
    return best if _distance(lowered, best.lower()) <= allowed else None


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``a`` to ``b``: short names."""
    if abs(len(a) - len(b)) > 2:
        return 3
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


@functools.lru_cache(maxsize=1)
def installed() -> Mapping[str, frozenset[str]]:
    """The names the installed Metaflow and its extensions register, read from their sources.

    Empty where Metaflow is not installed; once per process. What reads the sources is
    imported here: a task naming a core plugin (``s3``) imports this module alone.
    """
    from .extensions import point_files
    from .sections import outside_working_directory

    try:
        spec = importlib.util.find_spec("metaflow")
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    locations = outside_working_directory(spec.submodule_search_locations)
    if not locations:  # the working directory's own metaflow folder: a repository's
        return {}
    names: dict[str, set[str]] = {category: set() for category in _DESC}
    enabled: dict[str, list[str] | None] = dict.fromkeys(_DESC)
    toggles: dict[str, list[str]] = {category: [] for category in _DESC}
    unread: set[str] = set()
    core = os.path.join(locations[0], "plugins", "__init__.py")
    for path in [core, *(path for _, path in point_files("plugins"))]:
        unread |= _read(path, names, enabled, toggles)
    result = {}
    for category, declared in names.items():
        chosen = enabled[category]
        # an explicit list: only those, toggles ignored (as Metaflow does)
        found = declared if chosen is None else {n for n in chosen if n in declared}
        for toggle in toggles[category]:
            if toggle.startswith("-"):
                found.discard(toggle[1:])
        result[category] = Declared(found, complete=category not in unread)
    return result


class Declared(frozenset[str]):
    """The names of a category read from the sources; ``complete``: every list was read.

    A list built by code (``[(n, ...) for n in STORES]``, an ``.append``) cannot be read as
    text: its names are unknown here, and a name near a known one may be one of them.
    """

    complete: bool

    def __new__(cls, names: Iterable[str] = (), *, complete: bool = True) -> Declared:
        made = super().__new__(cls, names)
        made.complete = complete
        return made


def _read(
    path: str,
    names: dict[str, set[str]],
    enabled: dict[str, list[str] | None],
    toggles: dict[str, list[str]],
) -> set[str]:
    """Add what the module at ``path`` declares (literal lists only; anything else is skipped).

    The module is not parsed whole (a hostile one, a cloned repository's, can crash the parser
    of Python 3.9 and 3.10 with a deep expression): each top-level assignment of a list is read
    as text, and only a list of string literals, tuples and lists, nested a few levels at most,
    is evaluated (``ast.literal_eval``); a list built by code is passed over. Returns the
    categories of the lists it declares that could not be read so.
    """
    import ast  # on the rare path only: a name that is not Metaflow's own

    from .extensions import MOST_BYTES
    from .jsonfile import read_regular

    data = read_regular(path, MOST_BYTES)[0]  # a FIFO, a device, a huge file: nothing
    if data is None:
        return set()

    text = data.decode("utf-8", "replace")
    read: set[int] = set()  # where the assignments read as literals begin
    for head in re.finditer(_HEAD, text, re.MULTILINE):
        literal = _bracketed(text, head.end())
        if literal is None:
            continue
        try:
            value = ast.literal_eval(literal)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        _declared(head.group(1), value, names, enabled, toggles)
        read.add(head.start())
    return {
        _LISTS[change.group(1)]
        for change in re.finditer(_CHANGED, text, re.MULTILINE)
        if change.group(1) in _LISTS and (change.start() not in read or change.group(2))
    }


#: A top-level assignment of a list: ``NAME = [``, ``NAME += [``, ``NAME: list = [`` (the
#: patterns are compiled where a module is read: a task never reads one).
_HEAD = r"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?\+?=[ \t]*(?=\[)"
#: The lists that declare a category's plugins, by name: ``*_DESC``, ``ENABLED_*``, ``TOGGLE_*``.
_LISTS = {
    name: category
    for category, desc in _DESC.items()
    for name in (desc, f"ENABLED_{category.upper()}", f"TOGGLE_{category.upper()}")
}
#: A top-level assignment of any value, or a list method's call (group 2): ``NAME = ...``,
#: ``NAME += ...``, ``NAME.append(...)``.
_CHANGED = r"^([A-Za-z_]\w*)[ \t]*(?:(\.[ \t]*(?:append|extend|insert)\b)|(?::[^=\n]*)?\+?=)"
#: The deepest nesting of brackets read (Metaflow's lists hold tuples: two levels).
_MOST_DEPTH = 8


def _bracketed(text: str, start: int) -> str | None:  # noqa: PLR0911, PLR0912 - a scanner
    """The list literal at ``text[start]`` (a ``[``), or None if it holds anything but literals.

    Strings (single-line, not prefixed), brackets, commas, blanks and comments only.
    """
    depth, i, size = 0, start, len(text)
    while i < size:
        char = text[i]
        if char in "'\"":
            if text.startswith(char * 3, i):
                return None
            i += 1
            while i < size and text[i] != char:
                if text[i] == "\n":
                    return None
                i += 2 if text[i] == "\\" else 1
            if i >= size:
                return None
        elif char == "#":
            newline = text.find("\n", i)
            if newline < 0:
                return None
            i = newline
        elif char in "[(":
            depth += 1
            if depth > _MOST_DEPTH:
                return None
        elif char in "])":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
        elif char not in ", \t\r\n":
            return None  # a name, a call, an operator: a list built by code
        i += 1
    return None


def _declared(
    name: str,
    value: object,
    names: dict[str, set[str]],
    enabled: dict[str, list[str] | None],
    toggles: dict[str, list[str]],
) -> None:
    category = _LISTS.get(name)
    if category is None:
        return
    if name == _DESC[category]:
        if isinstance(value, list):
            for element in value:
                if isinstance(element, tuple) and element and isinstance(element[0], str):
                    names[category].add(element[0])
    elif _strings(value):
        if name.startswith("ENABLED_"):
            enabled[category] = value
        else:
            toggles[category].extend(value)


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)
