"""Settings users add: section classes registered by installed packages, as plug-ins.

A package registers a class with the entry point group ``metaflow_config.sections`` (``acme =
"acme_mf.config:Acme"``). Its keys (``env_prefix`` + field name, upper case) are then known to
every layer: not reported as unknown, accepted by ``override()``, read by ``settings[...]``,
``explain`` and ``to_env``.

A class qualifies by the small protocol :class:`SectionModel`, which
``metaflow_config.pydantic.MetaflowBaseSettings`` implements: it says its keys, resolves itself
from the layers of a resolution, describes a field and exports itself. The package calls the
class through it, so nothing below the class's own module knows how a section is built (neither
this module nor the snapshot imports pydantic).

Discovery scans the installed distributions (milliseconds), so it runs only when it can matter:
the first time a ``METAFLOW_*`` key is not in the built-in table, or a name is looked up that is
not. Importing this module imports neither pydantic-settings nor any registered package.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._model.fields import PREFIX
from .._model.metaflow_names import (
    CLI_VARIABLES,
    ENABLED,
    PARAMETER_PREFIXES,
    RETIRED,
    RUNTIME_PREFIXES,
    RUNTIME_VARS,
)
from .._model.record import Record
from .._model.table import BY_ENV, OLD_NAMES
from ..errors import ConfigError, Problem

if TYPE_CHECKING:
    from typing import Protocol

    from .data import LayerData

__all__ = [
    "Registered",
    "find_key",
    "is_secret",
    "is_section_class",
    "on_reset",
    "problems_in",
    "registry",
]

#: The entry point group of the sections packages add.
GROUP = "metaflow_config.sections"


if TYPE_CHECKING:  # a protocol class costs a process to make at import: it is for mypy only

    class SectionModel(Protocol):
        """What a registered section's class provides (``MetaflowBaseSettings`` implements it)."""

        @classmethod
        def _metaflow_keys(cls) -> tuple[str, dict[str, str], frozenset[str], frozenset[str]]:
            """Its ``env_prefix``, its keys (full names) by field, its secret and sensitive keys."""
            ...

        @classmethod
        def _metaflow_resolve(cls, layers: Mapping[str, LayerData]) -> Any:
            """The model resolved from these layers (by layer name); ConfigError when it refuses."""
            ...

        @classmethod
        def _metaflow_field(cls, name: str) -> tuple[Any, str]:
            """The default of the field ``name``, and its one-line description (``""``: none)."""
            ...

        @classmethod
        def _metaflow_export(
            cls, layers: Mapping[str, LayerData], model: Any
        ) -> tuple[dict[str, str], list[str]]:
            """The environment that rebuilds ``model``; the keys whose values cannot travel."""
            ...


class Registered(Record):
    """A registered section: its class, and its keys by full environment name.

    ``origin`` is ``"<distribution>: entry point <name> = <value>"``; ``keys`` maps a key
    (``METAFLOW_ACME_GPU_QUEUE``) to its field (``gpu_queue``); ``secret`` holds the keys whose
    values are masked, ``sensitive`` those only a trusted source may set.
    """

    __slots__ = ("cls", "keys", "origin", "secret", "sensitive")
    __match_args__ = ("cls", "origin", "keys", "secret", "sensitive")
    cls: Any
    origin: str
    keys: dict[str, str]
    secret: frozenset[str]
    sensitive: frozenset[str]

    def __init__(
        self,
        cls: Any,
        origin: str,
        keys: dict[str, str],
        secret: frozenset[str],
        sensitive: frozenset[str] = frozenset(),
    ) -> None:
        self.cls = cls
        self.origin = origin
        self.keys = keys
        self.secret = secret
        self.sensitive = sensitive

    def __repr__(self) -> str:
        return f"Registered({self.origin!r}, {len(self.keys)} keys)"


_LOCK = threading.Lock()
_found: tuple[dict[str, Registered], tuple[Problem, ...]] | None = None
#: what forgets something read knowing the registry (see :func:`on_reset`)
_RESETS: list[Callable[[], None]] = []


def is_section_class(cls: object) -> bool:
    """Whether ``cls`` is a class that implements :class:`SectionModel`."""
    return isinstance(cls, type) and callable(getattr(cls, "_metaflow_keys", None))


def outside_working_directory(locations: Iterable[str]) -> list[str]:
    """The ``locations`` (a package's folders) that are not in the working directory.

    The rule of :func:`_path_entries` for a package found on the import path: what a cloned
    repository holds where it is run registers nothing (its ``metaflow_extensions`` folder).
    """
    try:
        here = os.stat(".")
    except OSError:
        return list(locations)
    kept = []
    for location in locations:
        try:
            there = os.stat(os.path.dirname(os.path.abspath(location)) or ".")
        except (OSError, ValueError):
            continue
        if (there.st_dev, there.st_ino) != (here.st_dev, here.st_ino):
            kept.append(location)
    return kept


def _path_entries() -> list[str]:
    """The entries of ``sys.path`` a scan reads: text, and not the working directory.

    The working directory by what it is, not how it is spelled: ``""``, ``.``, its path, or a
    path through a link to it (``$PWD`` on ``PYTHONPATH``; ``/tmp`` is a link on macOS).
    """
    try:
        here = os.stat(".")
    except OSError:  # the working directory is gone: none of sys.path can be it
        return [entry for entry in sys.path if isinstance(entry, str)]
    entries = []
    for entry in list(sys.path):
        if not isinstance(entry, str):
            continue
        try:
            there = os.stat(entry or ".")
        except (OSError, ValueError):
            entries.append(entry)  # missing, unreadable: the scan skips it as before
            continue
        if (there.st_dev, there.st_ino) != (here.st_dev, here.st_ino):
            entries.append(entry)
    return entries


def _entry_points(broken: list[tuple[str, str]] | None = None) -> list[tuple[Any, str]]:
    """The entry points of the group, each with the name of its distribution.

    The distributions are those ``importlib.metadata`` finds, in its order (a finder of
    ``sys.meta_path`` that finds its own, then each ``sys.path`` entry), a distribution found
    twice counted once, the first. But a directory of ``sys.path`` is read cheaply: of each
    ``*.dist-info``/``*.egg-info`` folder, only ``entry_points.txt``, and only one that names
    the group is parsed (``importlib.metadata`` itself, about 50 ms to import, is loaded then):
    an image of hundreds of distributions costs a task a few milliseconds, not tens. Any other
    entry (a zip file) goes through ``importlib.metadata`` as it is.

    A distribution whose ``entry_points.txt`` names the group but that ``importlib.metadata``
    cannot read (a malformed file, or a ``METADATA``, ``PKG-INFO`` or ``entry_points.txt`` that
    is not a regular file: a named pipe would block the read forever, so it is not read)
    declares no entry point: the distribution and what it should hold are said in ``broken``,
    if given (a ``sys.path`` directory may be a cloned repository's).

    The working directory is not read (``python -c``, ``python -m``, a notebook put it on
    ``sys.path``): a cloned repository one runs in registers no section, so that its
    ``*.dist-info`` cannot have its own module imported; a section's package is installed.
    """
    from .jsonfile import holds  # the bounded reader: imported by a search only

    broken = [] if broken is None else broken
    found: list[tuple[Any, str]] = []
    seen: set[str] = set()  # the distributions found so far, normalized
    pending: list[str] = []  # folders found since, not normalized yet (only if it matters)
    for dist in _other_finders():
        _take_entry_points(dist, found, seen, broken)
    for entry in _path_entries():
        root = entry or "."
        try:
            names = os.listdir(root)
        except NotADirectoryError:  # a zip file, or another kind of entry
            from importlib import metadata

            seen.update(map(_folder_key, pending))
            pending.clear()
            for dist in metadata.distributions(path=[entry]):
                _take_entry_points(dist, found, seen, broken)
            continue
        except (OSError, ValueError):  # missing, unreadable: importlib.metadata skips it too
            continue
        for name in names:
            if not name.endswith(_METADATA_FOLDERS):
                continue
            points = f"{root}{os.sep}{name}{os.sep}entry_points.txt"
            if not holds(points, _GROUP_BYTES, _MOST_BYTES):  # no such file, or not of the group
                pending.append(name)
                continue
            seen.update(map(_folder_key, pending))
            pending.clear()
            key = _folder_key(name)
            if key in seen:
                continue  # another distribution of the name came first
            seen.add(key)
            folder = f"{root}{os.sep}{name}"
            expected = _unreadable(folder)
            if expected:  # importlib.metadata would read it whole: a pipe blocks that forever
                broken.append((f"{name} ({folder})", expected))
                continue
            import pathlib
            from importlib import metadata

            dist = metadata.PathDistribution(pathlib.Path(folder))
            found.extend(_group_of(dist, broken, where=folder))
    return found


#: what ``importlib.metadata`` reads of a metadata folder to list its entry points
_READ_FILES = ("METADATA", "PKG-INFO", "entry_points.txt")


def _unreadable(folder: str) -> str:
    """What the first file ``importlib.metadata`` would read in ``folder`` should be, if it is not.

    Each is read whole: a named pipe, a device or a directory where the file would be, or a
    file over ``_MOST_BYTES`` (a link to a huge one), is not read. ``""`` when all may be.
    """
    for file in _READ_FILES:
        try:
            info = os.stat(f"{folder}{os.sep}{file}")
        except (OSError, ValueError):
            continue  # not there (or unreadable: importlib.metadata finds it so too)
        if not stat.S_ISREG(info.st_mode):
            return f"a regular file as its {file}"
        if info.st_size > _MOST_BYTES:
            return f"its {file} within {_MOST_BYTES >> 20} MiB, found {info.st_size} bytes"
    return ""


#: the folders holding an installed distribution's metadata
_METADATA_FOLDERS = (".dist-info", ".egg-info")


def _folder_key(name: str) -> str:
    """The distribution a metadata folder (``name-1.0.dist-info``) is of, normalized."""
    stem = name.rpartition(".")[0]
    return stem.partition("-")[0].lower().replace(".", "_")


#: What names the group in an ``entry_points.txt`` (read raw, bounded: a ``sys.path`` entry may
#: be a directory anyone wrote, a cloned repository's, where what is not a regular file, a named
#: pipe that would block the read forever or a device, is no distribution's, nor is a file of
#: more than :data:`_MOST_BYTES`).
_GROUP_BYTES = GROUP.encode()
#: the most of an ``entry_points.txt`` read
_MOST_BYTES = 1 << 20


def _other_finders() -> list[Any]:
    """The distributions that finders of ``sys.meta_path`` other than the path finder find."""
    import importlib.machinery

    finders = [
        f
        for f in sys.meta_path
        if f is not importlib.machinery.PathFinder and hasattr(f, "find_distributions")
    ]
    if not finders:
        return []
    from importlib import metadata

    context = metadata.DistributionFinder.Context()
    return [dist for finder in finders for dist in finder.find_distributions(context)]


def _take_entry_points(
    dist: Any, found: list[tuple[Any, str]], seen: set[str], broken: list[tuple[str, str]]
) -> None:
    """The group's entry points of ``dist`` into ``found``, unless its name was ``seen``."""
    try:
        name = str(dist.metadata["Name"] or "a distribution")
    except Exception:  # unreadable metadata: its entry points may still say
        name = "a distribution"
    key = name.lower().replace("-", "_").replace(".", "_")
    if key in seen:
        return
    seen.add(key)
    found.extend(_group_of(dist, broken, name=name))


def _group_of(
    dist: Any, broken: list[tuple[str, str]], where: str = "", name: str = ""
) -> list[tuple[Any, str]]:
    """The entry points of the group that ``dist`` declares, each with its distribution's name.

    None where ``importlib.metadata`` cannot read them (a malformed ``entry_points.txt``, which
    it raises on): said in ``broken`` if the file names the group (``where``: the folder of a
    ``sys.path`` directory whose file was found to name it), else passed over as another
    program's business. ``name``: the distribution's, if read already.
    """
    try:
        name = name or str(dist.metadata["Name"] or "a distribution")
        return [(ep, name) for ep in dist.entry_points if ep.group == GROUP]
    except Exception as exc:  # importlib.metadata's parsers raise anything
        reason = f"{type(exc).__name__}: {exc}"
        name = name or "a distribution"
    if not where:  # found by importlib.metadata: ours if its text names the group
        try:
            text = dist.read_text("entry_points.txt") or ""
        except Exception:  # unreadable: nothing tells that it is ours
            text = ""
        if GROUP not in text:
            return []
        where = str(getattr(dist, "_path", "")) or name
    broken.append((f"{name} ({where})", f"an entry_points.txt importlib.metadata reads ({reason})"))
    return []


def _discover() -> tuple[dict[str, Registered], tuple[Problem, ...]]:
    keys: dict[str, Registered] = {}
    problems: list[Problem] = []
    broken: list[tuple[str, str]] = []
    found = _entry_points(broken)
    problems.extend(
        Problem.bad_argument(
            f"section {origin}", "", expected, "fix or uninstall the package that declares it"
        )
        for origin, expected in broken
    )
    for ep, dist in found:
        origin = f"{dist}: entry point {ep.name} = {ep.value}"

        def problem(expected: str, fix: str, origin: str = origin) -> None:
            problems.append(Problem.bad_argument(f"section {origin}", "", expected, fix))

        try:
            cls: Any = ep.load()
        except Exception as exc:  # any failure of a package's import is reported
            where = _raised_at(exc, str(ep.value).partition(":")[0])
            problem(
                f"an importable section ({type(exc).__name__}: {exc}{where})",
                "fix or uninstall the package that declares it",
            )
            continue
        if not is_section_class(cls):
            problem(
                "a subclass of metaflow_config.pydantic.MetaflowBaseSettings",
                "point the entry point at such a class",
            )
            continue
        prefix, fields, secret, sensitive = cls._metaflow_keys()
        upper = prefix.upper()
        metaflows = next((p for p in _METAFLOWS_PREFIXES if upper.startswith(p)), None)
        if not upper.startswith(PREFIX) or upper == PREFIX or metaflows is not None:
            mine = f", not under Metaflow's own {metaflows}" if metaflows else ""
            problem(
                f"an env_prefix of its own under METAFLOW_ (e.g. METAFLOW_ACME_){mine}, not "
                f"{prefix!r}",
                "set model_config = SettingsConfigDict(env_prefix='METAFLOW_<NAME>_')",
            )
            continue
        section = Registered(cls, origin, {}, secret, sensitive)
        for key, name in fields.items():
            other = _taken(key) or (keys[key].origin if key in keys else None)
            if other is not None:
                problem(f"keys of its own, but {key} is also {other}", "rename the field")
                continue
            section.keys[key] = name
        for key in section.keys:
            keys[key] = section
    return keys, tuple(problems)


def _raised_at(exc: BaseException, module: str) -> str:
    """Where in the section's own package ``exc`` was raised (`` at path:line``), or ``""``.

    The deepest frame of the traceback in the entry point's top-level package (a section
    module's ``str | None`` on Python 3.9 raises in its class body); else the deepest frame
    outside the import machinery. A traceback is never shown: this line finds it.
    """
    top = module.strip().partition(".")[0]
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_globals))
        tb = tb.tb_next
    own = [f for f in frames if str(f[2].get("__name__", "")).partition(".")[0] == top]
    others = [f for f in frames if not f[0].startswith("<")]
    found = (own or others)[-1:] if top else others[-1:]
    return f" at {found[0][0]}:{found[0][1]}" if found else ""


#: Prefixes of names that Metaflow uses for itself: a section's keys cannot be under them
#: (its runtime families, and the free-form names of its command line).
_METAFLOWS_PREFIXES = (*RUNTIME_PREFIXES, *PARAMETER_PREFIXES)


def _taken(key: str) -> str | None:
    """What else ``key`` is, when it is a name of the table's or of Metaflow's own; else None."""
    if key in BY_ENV:
        return "a built-in setting"
    if key in OLD_NAMES:
        return f"an old name of {OLD_NAMES[key][0].env}"
    if key in CLI_VARIABLES:
        return "a variable of Metaflow's command line"
    if key in RUNTIME_VARS or key in RETIRED or key in ENABLED:
        return "a name Metaflow uses itself"
    return None


def registry() -> dict[str, Registered]:
    """Every registered key, by full name (discovered once per process).

    Raises:
        ConfigError: a registered section is broken (naming the distribution and entry point).

    """
    global _found  # noqa: PLW0603 - discovered once, replaced whole
    found = _found
    if found is None:
        with _LOCK:
            found = _found
            if found is None:
                found = _found = _discover()
    if found[1]:
        raise ConfigError(found[1])
    return found[0]


def find_key(name: str) -> tuple[Registered, str] | None:
    """The registered section and full key of ``name`` (``METAFLOW_ACME_X`` or ``ACME_X``)."""
    key = name.upper()
    key = key if key.startswith(PREFIX) else PREFIX + key
    section = registry().get(key)
    return None if section is None else (section, key)


def is_secret(name: str) -> bool:
    """Whether ``name`` (full or short) is a registered section's secret key.

    A section that does not load counts as holding secrets: what cannot be told apart is masked.
    """
    try:
        found = find_key(name)
    except ConfigError:
        return True
    return found is not None and found[1] in found[0].secret


def problems_in(layers: Mapping[str, LayerData]) -> list[Problem]:
    """The problems of the registered sections whose keys ``layers`` set, each class asked once.

    What a resolution that fails adds to its own problems, so that one ``ConfigError`` lists
    those of the sections too (a resolution that succeeds leaves a section to be built when
    read). Nothing is discovered when no layer holds a key the table does not declare; a broken
    registry was reported by the read that looked a key up.
    """
    held = {key for data in layers.values() for key in data.extra}
    if not held:
        return []
    try:
        known = registry()
    except ConfigError:
        return []
    classes = {id(known[k].cls): known[k].cls for k in sorted(held) if k in known}
    return [p for cls in classes.values() for p in _refused(cls, layers)]


def _refused(cls: Any, layers: Mapping[str, LayerData]) -> tuple[Problem, ...]:
    """The problems of resolving ``cls`` from ``layers`` (none: it resolves)."""
    try:
        cls._metaflow_resolve(layers)
    except ConfigError as exc:
        return exc.problems
    return ()


def on_reset(forget: Callable[[], None]) -> None:
    """Have :func:`reset` call ``forget``: a cache of what was read knowing the registry."""
    _RESETS.append(forget)


def reset() -> None:
    """Forget what was discovered, and what was read knowing it (tests that add packages)."""
    global _found  # noqa: PLW0603
    with _LOCK:
        _found = None
        for forget in _RESETS:
            forget()
