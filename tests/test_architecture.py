"""The house in layers: every module has a level, imports only at or below it, and no cycle.

Levels, lowest first (README, "Design"):

0. ``errors``, ``_display``;
1. ``_model`` (fields, kinds, values, the table);
2. ``_sources`` (inputs from the world, the layers, the registry of sections);
3. ``_resolve`` (one resolution);
4. ``_snapshot`` (``Settings``, export, views, fetch);
5. ``_scope``, ``_override``;
6. the package itself (``__init__``), ``pydantic``, ``aws``, ``compat``, ``testing``,
   ``pytest_plugin``, ``_metaflow``, ``_checks``;
7. ``cli`` and ``__main__``;
8. ``metaflow_extensions`` (what Metaflow loads).

Every import counts, at module level and inside functions alike: an import moved into a
function hides the arrow from the interpreter, not from a reader. An import under ``if
TYPE_CHECKING:`` runs only for the type checker: it is held to the levels (no upward import,
not even for a type) but is exempt from the cycle check (two modules of one level may name each
other's types). ``from PACKAGE import name`` is an import of ``PACKAGE.name`` when that is a
module, else of ``PACKAGE``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = ("metaflow_config", "metaflow_extensions")

#: packages whose modules (and the package itself) share a level
PACKAGES = {
    "metaflow_config._model": 1,
    "metaflow_config._sources": 2,
    "metaflow_config._resolve": 3,
    "metaflow_config._snapshot": 4,
    "metaflow_config._checks": 6,
    "metaflow_config._metaflow": 6,
    "metaflow_config.cli": 7,
    "metaflow_extensions": 8,
}
#: single modules and their level
MODULES = {
    "metaflow_config.errors": 0,
    "metaflow_config._display": 0,
    "metaflow_config._scope": 5,
    "metaflow_config._override": 5,
    "metaflow_config": 6,
    "metaflow_config.pydantic": 6,
    "metaflow_config.aws": 6,
    "metaflow_config.compat": 6,
    "metaflow_config.testing": 6,
    "metaflow_config.pytest_plugin": 6,
    "metaflow_config.__main__": 7,
}
#: third-party libraries, and the only modules that may import them (prefixes)
CONFINED = {
    "click": ("metaflow_config.cli",),
    "boto3": ("metaflow_config.aws", "metaflow_config._snapshot.fetch"),
    "botocore": (
        "metaflow_config.aws",
        "metaflow_config._snapshot.fetch",
        "metaflow_config._checks",
    ),
    "pydantic_settings": ("metaflow_config.pydantic",),
    "pydantic": ("metaflow_config.pydantic", "metaflow_config.cli"),
}


class Import(NamedTuple):
    """One import of one module: what it imports, where, and whether only for the type checker."""

    source: str
    target: str
    line: int
    typing_only: bool


class Source(NamedTuple):
    """A module's text, and whether it is a package's ``__init__``."""

    text: str
    package: bool


def sources(root: Path = ROOT) -> dict[str, Source]:
    """Every module of the two top-level packages, by dotted name."""
    found = {}
    for top in TOP:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if package else parts)
            found[name] = Source(path.read_text(encoding="utf-8"), package)
    return found


@functools.cache
def _tree(text: str) -> ast.Module:
    return ast.parse(text)


def _typing_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (not its ``else``)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                found.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return found


def imports(modules: Mapping[str, Source]) -> list[Import]:
    """Every import between the modules, module level and inside functions alike."""
    found = []
    for name, (text, package) in modules.items():
        tree = _tree(text)
        typing_only = _typing_only(tree)
        base = name.split(".") if package else name.split(".")[:-1]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base[: len(base) - node.level + 1]
                    module = ".".join([*parts, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:
                    whole = f"{module}.{alias.name}"
                    targets.append(whole if whole in modules else module)
            found.extend(
                Import(name, target, node.lineno, id(node) in typing_only)
                for target in targets
                if target in modules and target != name
            )
    return found


def level(module: str) -> int | None:
    """The level of ``module`` (``None``: it has none yet)."""
    if module in MODULES:
        return MODULES[module]
    for package, number in PACKAGES.items():
        if module == package or module.startswith(package + "."):
            return number
    return None


def _where(modules: Mapping[str, Source], module: str) -> str:
    parts = module.split(".")
    suffix = "/__init__.py" if modules[module].package else ".py"
    return "/".join(parts) + suffix


def upward(modules: Mapping[str, Source]) -> list[str]:
    """Each import of a module of a higher level, as ``path:line: a (n) imports b (m)``."""
    return [
        f"{_where(modules, i.source)}:{i.line}: {i.source} (level {level(i.source)}) imports "
        f"{i.target} (level {level(i.target)})"
        for i in imports(modules)
        if (level(i.source) or 0) < (level(i.target) or 0)
    ]


def cycles(modules: Mapping[str, Source]) -> list[str]:
    """Each cycle between modules (typing-only imports aside), with the imports that close it."""
    edges: dict[str, list[Import]] = {name: [] for name in modules}
    for found in imports(modules):
        if not found.typing_only:
            edges[found.source].append(found)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in edges[node]:
            if edge.target not in index:
                connect(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for name in modules:
        if name not in index:
            connect(name)
    said = []
    for component in components:
        members = set(component)
        closing = [
            f"{_where(modules, e.source)}:{e.line} -> {e.target}"
            for name in component
            for e in edges[name]
            if e.target in members
        ]
        said.append(f"cycle of {', '.join(component)}: {'; '.join(closing)}")
    return said


def confined(modules: Mapping[str, Source]) -> list[str]:
    """Each import of a confined library (:data:`CONFINED`) outside the modules allowed it."""
    found = []
    for name, (text, _) in modules.items():
        for node in ast.walk(_tree(text)):
            if isinstance(node, ast.Import):
                names: Iterable[str] = (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = (node.module or "",)
            else:
                continue
            for imported in names:
                library = imported.split(".")[0]
                allowed = CONFINED.get(library)
                if allowed and not any(
                    name == place or name.startswith(place + ".") for place in allowed
                ):
                    found.append(
                        f"{_where(modules, name)}:{node.lineno}: {name} imports {imported}"
                    )
    return found


# --- the package as it is -------------------------------------------------------------------


MODULES_NOW = sources()


def test_every_module_has_a_level() -> None:
    """A new module is placed in the house (a level here, and in README's module map)."""
    assert [name for name in MODULES_NOW if level(name) is None] == []


def test_no_module_imports_from_a_higher_level() -> None:
    """Imports run downward only, inside functions and for the type checker too."""
    assert upward(MODULES_NOW) == []


def test_no_two_modules_import_each_other() -> None:
    """The import graph has no cycle, however long, inside functions included."""
    assert cycles(MODULES_NOW) == []


def test_heavy_libraries_are_imported_where_they_belong() -> None:
    """click only in the command line, boto3 only where AWS is called, pydantic-settings only in
    ``metaflow_config.pydantic``: ``import metaflow_config`` and a task's path never load them."""
    assert confined(MODULES_NOW) == []


# --- the checks can fail ----------------------------------------------------------------------


def _planted(module: str, code: str) -> dict[str, Source]:
    modules = dict(MODULES_NOW)
    text, package = modules[module]
    modules[module] = Source(text + "\n" + code + "\n", package)
    return modules


@pytest.mark.parametrize(
    ("module", "code", "at", "expected"),
    [
        pytest.param(
            "metaflow_config._model.fields",
            "def _late():\n    from ..cli import _common\n",
            2,
            "metaflow_config._model.fields (level 1) imports metaflow_config.cli._common (level 7)",
            id="inside-a-function",
        ),
        pytest.param(
            "metaflow_config._sources.data",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from .._snapshot.settings import Settings\n",
            3,
            "metaflow_config._sources.data (level 2) imports "
            "metaflow_config._snapshot.settings (level 4)",
            id="for-the-type-checker",
        ),
        pytest.param(
            "metaflow_config.errors",
            "import metaflow_config._scope\n",
            1,
            "metaflow_config.errors (level 0) imports metaflow_config._scope (level 5)",
            id="absolute",
        ),
    ],
)
def test_an_upward_import_is_named_with_its_line(
    module: str, code: str, at: int, expected: str
) -> None:
    """A planted upward import is reported: the file, the line, both modules and levels."""
    found = upward(_planted(module, code))
    line = len((MODULES_NOW[module].text + "\n").splitlines()) + at
    assert found == [f"{_where(MODULES_NOW, module)}:{line}: {expected}"]


def test_a_cycle_within_one_level_is_named() -> None:
    """Two modules of one level that import each other (one inside a function) form a cycle."""
    found = cycles(
        _planted("metaflow_config._sources.data", "def _late():\n    from . import keys\n")
    )
    assert len(found) == 1
    assert "metaflow_config._sources.data" in found[0]
    assert "metaflow_config._sources.keys" in found[0]
    assert "metaflow_config/_sources/data.py:" in found[0]


def test_types_named_both_ways_are_no_cycle() -> None:
    """An import for the type checker alone closes no cycle (it never runs)."""
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import keys\n"
    assert cycles(_planted("metaflow_config._sources.data", code)) == []


def test_a_module_without_a_level_is_found() -> None:
    """A module outside every package and module of the map has no level."""
    assert level("metaflow_config._somewhere_new") is None
    assert level("metaflow_config._model.anything") == 1


def test_a_confined_library_imported_elsewhere_is_named() -> None:
    """boto3 imported by the resolver is reported, with its line."""
    found = confined(_planted("metaflow_config._resolve.resolve", "def f():\n    import boto3\n"))
    assert len(found) == 1
    assert found[0].startswith("metaflow_config/_resolve/resolve.py:")
    assert found[0].endswith("imports boto3")
