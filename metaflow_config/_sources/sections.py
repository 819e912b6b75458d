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

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._model.fields import PREFIX
from .._model.record import Record
from .._model.table import BY_ENV
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


def _entry_points() -> list[tuple[Any, str]]:
    """The entry points of the group, each with the name of its distribution.

    Walked distribution by distribution, on every Python the same way (3.9's ``EntryPoint``
    does not know its distribution); a distribution found twice on ``sys.path`` counts once,
    the first, as ``importlib.metadata.entry_points()`` does.
    """
    from importlib import metadata

    found: list[tuple[Any, str]] = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        name = str(dist.metadata["Name"] or "a distribution")
        key = name.lower().replace("-", "_").replace(".", "_")
        if key in seen:
            continue
        seen.add(key)
        found.extend((ep, name) for ep in dist.entry_points if ep.group == GROUP)
    return found


def _discover() -> tuple[dict[str, Registered], tuple[Problem, ...]]:
    keys: dict[str, Registered] = {}
    problems: list[Problem] = []
    for ep, dist in _entry_points():
        origin = f"{dist}: entry point {ep.name} = {ep.value}"

        def problem(expected: str, fix: str, origin: str = origin) -> None:
            problems.append(Problem.bad_argument(f"section {origin}", "", expected, fix))

        try:
            cls: Any = ep.load()
        except Exception as exc:  # any failure of a package's import is reported
            problem(
                f"an importable section ({type(exc).__name__}: {exc})",
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
        if not prefix.upper().startswith(PREFIX) or prefix.upper() == PREFIX:
            problem(
                f"an env_prefix of its own under METAFLOW_ (e.g. METAFLOW_ACME_), not {prefix!r}",
                "set model_config = SettingsConfigDict(env_prefix='METAFLOW_<NAME>_')",
            )
            continue
        section = Registered(cls, origin, {}, secret, sensitive)
        for key, name in fields.items():
            if key in BY_ENV or key in keys:
                other = "a built-in setting" if key in BY_ENV else keys[key].origin
                problem(f"keys of its own, but {key} is also {other}", "rename the field")
                continue
            section.keys[key] = name
        for key in section.keys:
            keys[key] = section
    return keys, tuple(problems)


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
