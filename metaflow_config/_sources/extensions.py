"""What the installed Metaflow extensions declare, read from their sources, never imported.

An organisation's Metaflow extension is a ``metaflow_extensions.<org>`` package; Metaflow imports
its extension points, each a folder of modules (``config/mfextinit_<org>.py``,
``plugins/__init__.py``, ...). This package must know some of what they declare without importing
Metaflow (which would run this package's own extension and cost a resolution a fifth of a second)
and without running their code: :func:`point_files` lists an extension point's modules, which
their readers read as text, bounded (``jsonfile.read_regular``). The ``config`` modules are
parsed (``ast``, never run: :func:`_declared`): :func:`config_names` gives the configuration
names they read with Metaflow's ``from_conf`` (a variable such as ``METAFLOW_ACME_ENDPOINT`` is
then the extension's, not an unknown name), :func:`config_settings` the settings they bind in
Metaflow's module, :func:`config_literals` the strings they bind some to; the ``plugins``
modules are read by ``plugins`` (the plugin names).

The working directory's own ``metaflow_extensions`` (a cloned repository's) counts for none of it
(``sections.outside_working_directory``). Each is read once per process, at the first name that
needs it: a process that meets no unknown name reads none of this.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from typing import Any, Protocol

from .jsonfile import read_regular
from .profiles import listed
from .sections import on_reset, outside_working_directory

__all__ = [
    "MOST_BYTES",
    "OWN_ORG",
    "config_literals",
    "config_names",
    "config_settings",
    "decospecs_toggled_by",
    "point_files",
    "set_by_extensions",
]

#: The organisation name of this package's own extension (``metaflow_extensions.metaflow_config``):
#: Metaflow imports one package of a name, so any folder of this name is this package's.
OWN_ORG = "metaflow_config"

#: The most of an extension's module read (Metaflow's own plugins module is 10 KB).
MOST_BYTES = 1 << 20


def point_files(point: str) -> list[tuple[str, str]]:
    """The modules of extension point ``point`` of every ``metaflow_extensions`` package.

    Each as (the organisation's package name, the module's path), in Metaflow's order of names:
    the point's ``__init__.py`` and its ``mfextinit_*.py`` modules. This package's own extension
    (:data:`OWN_ORG`) is not listed: it declares nothing a reader here reads, and a process
    meeting an unknown name would pay for reading it.
    """
    found: list[tuple[str, str]] = []
    for root in outside_working_directory(_roots()):
        for org in listed(root):
            if org == OWN_ORG:
                continue
            folder = os.path.join(root, org, point)
            found.extend(
                (org, os.path.join(folder, f))
                for f in listed(folder)
                if f == "__init__.py" or (f.startswith("mfextinit_") and f.endswith(".py"))
            )
    return found


def _roots() -> list[str]:
    """The ``metaflow_extensions`` folders of the ``sys.path`` entries, in their order.

    Where the namespace package's portions are (as ``importlib`` finds them: a folder of that
    name in an entry), without ``importlib.util`` (a process that meets an unknown name and has
    not imported it would pay more for it than for the whole look).
    """
    roots: list[str] = []
    for entry in list(sys.path):
        if not isinstance(entry, str):
            continue
        root = os.path.join(entry or os.curdir, "metaflow_extensions")
        if root not in roots and os.path.isdir(root):
            roots.append(root)
    return roots


@functools.lru_cache(maxsize=1)
def _config_sources() -> tuple[tuple[str, str, str], ...]:
    """Each installed extension's ``config`` module: its organisation, path and text."""
    sources = []
    for org, path in point_files("config"):
        data = read_regular(path, MOST_BYTES)[0]  # a FIFO, a device, a huge file: nothing
        if data is not None:
            sources.append((org, path, _source_text(data)))
    return tuple(sources)


def _config_texts() -> list[tuple[str, str]]:
    """The text of each installed extension's ``config`` module, with its organisation."""
    return [(org, text) for org, _, text in _config_sources()]


def _metaflow_order(sources: tuple[tuple[str, str, str], ...]) -> list[tuple[str, str, str]]:
    """``sources`` in the order Metaflow's loader applies the extensions, each over the last.

    Installed distributions first, by their names (``extension_support``: in their
    dependencies' order, alphabetical at each step; a dependency between two extensions is
    not looked for here), then the packages of no distribution (a ``PYTHONPATH`` folder), by
    their folder's path. A distribution owns a package where its ``RECORD`` lists the
    package's files, in the ``sys.path`` entry holding it.
    """
    owners: dict[tuple[str, str], str | None] = {}

    def key(source: tuple[str, str, str]) -> tuple[int, str, str]:
        org, path = source[0], source[1]
        root = path[: path.rfind(os.sep + org + os.sep)]  # .../metaflow_extensions
        if (root, org) not in owners:
            owners[(root, org)] = _owner(os.path.dirname(root), org)
        owner = owners[(root, org)]
        return (0, owner, org) if owner is not None else (1, root, org)

    return sorted(sources, key=key)


def _owner(entry: str, org: str) -> str | None:
    """The distribution in ``entry`` that installed ``metaflow_extensions/<org>``, if one did.

    As Metaflow's loader tells one: its ``top_level.txt`` names ``metaflow_extensions`` and its
    ``RECORD`` lists the package's files (a wheel without ``top_level.txt``, an editable
    install, is a package of no distribution to Metaflow too; its ``.pth`` is not followed).
    """
    listed = f"metaflow_extensions/{org}/".encode()
    try:  # a sys.path entry, whole, as the section scan lists it (not a bounded look)
        names = sorted(os.listdir(entry))
    except (OSError, ValueError):
        return None
    for name in names:
        if not name.endswith(".dist-info"):
            continue
        folder = os.path.join(entry, name)
        top = read_regular(os.path.join(folder, "top_level.txt"), MOST_BYTES)[0]
        if top is None or b"metaflow_extensions" not in top.split():
            continue
        record = read_regular(os.path.join(folder, "RECORD"), MOST_BYTES)[0]
        if record is not None and listed in record:
            return name[: -len(".dist-info")].rpartition("-")[0].lower() or name.lower()
    return None


def _source_text(data: bytes) -> str:
    """A module's bytes decoded as Python decodes its source.

    UTF-8 unless a ``# coding:`` line says otherwise, a byte-order mark dropped; a module
    whose encoding Python would refuse is no text (it declares nothing: Metaflow fails to
    import it).
    """
    import io
    import tokenize

    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        return data.decode(encoding, "replace")
    except (SyntaxError, LookupError):
        return ""


class _Declared:
    """What one ``config`` module declares, read from its syntax tree: see :func:`_declared`.

    ``bound``: each name it binds at module level, with the string its last binding gives it
    where that binding is a plain string literal at the top level (else ``None``: a value built
    by code, or one bound inside an ``if``, ``try``, ``for`` or ``with``, which may not run).
    ``read``: the literal names of its ``from_conf`` calls. ``debug``: the options its
    ``DEBUG_OPTIONS`` lists name.
    """

    __slots__ = ("bound", "debug", "read")

    def __init__(self) -> None:
        self.bound: dict[str, str | None] = {}
        self.read: list[str] = []
        self.debug: list[str] = []


#: The fields of a statement holding the statements of its blocks (``if``, ``try``, ``match``).
_BLOCKS = ("body", "orelse", "handlers", "finalbody", "cases")


@functools.cache
def _declared(text: str) -> _Declared:
    """What the ``config`` module of ``text`` declares, parsed (``ast``), never run.

    Metaflow copies every module-level name of a config module (but a module or a dunder) over
    its own: whatever binds it, an assignment (a tuple's, an annotated or augmented one), a
    ``from ... import``, a ``def``, a ``for`` or ``with`` target, at the top level or in a
    block (an ``if``, a ``try``). A name set through ``globals()`` or ``setattr`` is not read
    so. A module that is no Python declares nothing (Metaflow fails to import it). The parse
    costs about a millisecond for a module of a few KB, paid once per process and only by one
    that needs what the extensions declare.
    """
    import ast

    found = _Declared()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return found
    called = {"from_conf"}  # and the names it is imported as
    calls = []
    for node in ast.walk(tree):  # one walk: the tree of a 30 KB module has 10,000 nodes
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, ast.ImportFrom):
            called.update(a.asname for a in node.names if a.name == "from_conf" and a.asname)
    for call in calls:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in called or (isinstance(func, ast.Attribute) and name != "from_conf"):
            continue
        given = next((k.value for k in call.keywords if k.arg == "name"), None)
        given = call.args[0] if call.args else given
        if (
            isinstance(given, ast.Constant)
            and isinstance(given.value, str)
            and given.value.isascii()  # a name Metaflow reads (METAFLOW_<name>): an identifier
            and given.value.isidentifier()
        ):
            found.read.append(given.value)
    try:
        _bind(tree.body, found, top=True)
    except RecursionError:  # a target nested past the limit (a parse took it): as no Python
        return _Declared()
    return found


def _bind(statements: list[Any], found: _Declared, *, top: bool) -> None:
    """Record in ``found`` what ``statements`` bind at module level, their blocks' included."""
    import ast

    clauses = (ast.ExceptHandler, *(getattr(ast, "match_case", ()),))  # blocks of their own
    # in the module's order, each statement before its blocks' (a loop: an `elif` chain of a
    # thousand branches nests a thousand deep, which a recursion could not walk)
    pending = [(node, top) for node in reversed(statements)]
    while pending:
        node, outer = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.bound[node.name] = None  # its body is its own scope
            continue
        _bind_one(node, found, top=outer)
        inner = [
            statement
            for field in _BLOCKS
            for block in getattr(node, field, None) or ()
            for statement in (block.body if isinstance(block, clauses) else [block])
        ]
        pending.extend((statement, False) for statement in reversed(inner))


def _bind_one(node: Any, found: _Declared, *, top: bool) -> None:
    """Record in ``found`` what the statement ``node`` binds itself (not in its blocks)."""
    import ast

    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
        literal = top and not isinstance(node, ast.AugAssign)  # ``NAME: str`` binds nothing
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            found.bound.update(_pairs(target, node.value if literal else None))
            if isinstance(target, ast.Name) and target.id == "DEBUG_OPTIONS":
                found.debug.extend(_strings(node.value))
    elif isinstance(node, ast.ImportFrom):  # ``import x`` binds a module: Metaflow skips it
        found.bound.update((a.asname or a.name, None) for a in node.names if a.name != "*")
    elif isinstance(node, ast.Delete):
        for target in node.targets:
            for name, _ in _pairs(target, None):
                found.bound.pop(name, None)
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func  # DEBUG_OPTIONS.append("x"), DEBUG_OPTIONS.extend([...])
        if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "DEBUG_OPTIONS":
            for arg in node.value.args:
                found.debug.extend(_strings(arg if func.attr == "extend" else ast.List([arg])))
    for target in _block_targets(node):
        found.bound.update(_pairs(target, None))


def _block_targets(node: Any) -> list[Any]:
    """What a ``for`` or ``with`` statement binds (its target, its ``as`` names)."""
    import ast

    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [item.optional_vars for item in node.items if item.optional_vars is not None]
    return []


def _pairs(target: Any, value: Any) -> list[tuple[str, str | None]]:
    """The names ``target`` binds, each with its string where ``value`` gives one literally.

    ``NAME = "text"``, ``A, B = "a", "b"``; a starred target, a value built by code, or
    ``value`` ``None`` (not a top-level assignment): ``None``.
    """
    import ast

    if isinstance(target, ast.Name):
        literal = isinstance(value, ast.Constant) and isinstance(value.value, str)
        return [(target.id, value.value if literal else None)]
    if isinstance(target, ast.Starred):
        return _pairs(target.value, None)
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = target.elts
        values: list[Any] | None = None
        if isinstance(value, (ast.Tuple, ast.List)):
            values = value.elts
        if (
            values is None
            or len(values) != len(parts)
            or any(isinstance(v, ast.Starred) for v in [*parts, *values])
        ):
            values = [None] * len(parts)
        return [pair for part, v in zip(parts, values) for pair in _pairs(part, v)]
    return []  # an attribute or a subscript: no module-level name


def _strings(value: Any) -> list[str]:
    """The string literals of a list or tuple display (``["acmeclient", "acmetrace"]``)."""
    import ast

    if not isinstance(value, (ast.List, ast.Tuple)):
        return []
    return [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


@functools.lru_cache(maxsize=1)
def config_names() -> Mapping[str, str]:
    """The variables the installed extensions' ``config`` modules read: name -> organisation.

    A name is ``METAFLOW_`` and what a ``from_conf`` call names as a literal (as Metaflow reads
    it: the environment variable, and the key of a profile or project file), ``from_conf``
    imported under another name too, and ``METAFLOW_DEBUG_<OPTION>`` of each option a
    ``DEBUG_OPTIONS`` list names (Metaflow reads those with ``from_conf`` too). A name built by
    code cannot be read so. Only a module that mentions ``from_conf`` or ``DEBUG_OPTIONS`` is
    parsed: a process meeting an unknown name pays for no more.
    """
    names: dict[str, str] = {}
    for org, text in _config_texts():
        if "from_conf" not in text and "DEBUG_OPTIONS" not in text:
            continue
        declared = _declared(text)
        for option in declared.debug:  # Metaflow reads DEBUG_<OPTION> of each with from_conf
            names.setdefault("METAFLOW_DEBUG_" + option.upper(), org)
        for name in declared.read:
            names.setdefault("METAFLOW_" + name, org)
    return names


def _last_bindings() -> dict[str, tuple[str, str | None]]:
    """Each setting the ``config`` modules bind: the organisation whose value runs, its string.

    Metaflow applies the extensions in order, each over the last: the last to bind a name wins.
    """
    from .._model.table import BY_NAME

    last: dict[str, tuple[str, str | None]] = {}
    for org, _, text in _ordered_sources():
        for name, value in _declared(text).bound.items():
            if name in BY_NAME:
                last[name] = (org, value)
    return last


def _ordered_sources() -> tuple[tuple[str, str, str], ...]:
    """The ``config`` modules' sources in the order Metaflow applies them."""
    sources = _config_sources()
    if len({org for org, _, _ in sources}) > 1:  # which comes last matters: Metaflow's order
        sources = tuple(_metaflow_order(sources))
    return sources


@functools.lru_cache(maxsize=1)
def decospecs_toggled_by() -> str | None:
    """The last extension listing decorators in ``TOGGLE_DECOSPECS``, if any does.

    Metaflow joins them into ``DEFAULT_DECOSPECS`` where that is empty once every extension is
    applied: every step gets those decorators (a value built by code, not a literal). A
    resolution that sets ``DEFAULT_DECOSPECS`` keeps its own (:func:`set_by_extensions`).
    """
    toggled = None
    for org, _, text in _ordered_sources():
        if "TOGGLE_DECOSPECS" in _declared(text).bound:
            toggled = org
    return toggled


class _Resolved(Protocol):
    """A resolution's values by environment name (a ``Settings`` snapshot)."""

    def __getitem__(self, name: str, /) -> Any: ...


def set_by_extensions(snapshot: _Resolved | None) -> dict[str, str]:
    """The settings (by short name) Metaflow's module holds an installed extension's value of.

    :func:`config_settings`, and ``DEFAULT_DECOSPECS`` where an extension's ``TOGGLE_DECOSPECS``
    fills it: neither ``snapshot`` nor an extension sets it (no ``snapshot``, as where the
    resolution failed: not said).
    """
    names = dict(config_settings())
    org = decospecs_toggled_by()
    if org is None or snapshot is None or "DEFAULT_DECOSPECS" in names:
        return names
    if not snapshot["METAFLOW_DEFAULT_DECOSPECS"]:
        names["DEFAULT_DECOSPECS"] = org
    return names


@functools.lru_cache(maxsize=1)
def config_settings() -> Mapping[str, str]:
    """The settings (by short name) that installed extensions' ``config`` modules bind.

    Metaflow copies a config extension's module-level names over its module's, so for these
    Metaflow runs on the extension's value (its ``from_conf`` default, say), not on this
    resolution's: name -> the organisation whose value runs (of two binding a name, the later
    in Metaflow's order). Read by :func:`_declared`: every binding, in a block too.
    """
    return {name: org for name, (org, _) in _last_bindings().items()}


@functools.lru_cache(maxsize=1)
def config_literals() -> Mapping[str, str]:
    """The settings installed extensions' ``config`` modules assign a plain string literal.

    ``KUBERNETES_SECRETS = "acme-secrets"`` at a module's top level: short name -> the string,
    where the binding whose value runs (:func:`config_settings`) is such an assignment. A value
    built by code, or bound in a block (an ``if``, a ``try``: it may not run), is not read so:
    :func:`config_settings` still names the setting.
    """
    return {n: v for n, (_, v) in _last_bindings().items() if v is not None}


def _forget() -> None:
    for cached in (
        _config_sources,
        _declared,
        config_names,
        config_settings,
        config_literals,
        decospecs_toggled_by,
    ):
        cached.cache_clear()


on_reset(_forget)  # a test that adds an extension reads them again
