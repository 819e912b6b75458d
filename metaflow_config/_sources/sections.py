"""Settings users add: pydantic-settings models registered by installed packages.

A package registers a :class:`~metaflow_config.pydantic.MetaflowBaseSettings` subclass with the
entry point group ``metaflow_config.sections`` (``acme = "acme_mf.config:Acme"``). Its keys
(``env_prefix`` + field name, upper case) are then known to every layer: not reported as
unknown, accepted by ``override()``, read by ``settings[...]``, ``explain`` and ``to_env``.

Discovery scans the installed distributions (milliseconds), so it runs only when it can matter:
the first time a ``METAFLOW_*`` key is not in the built-in table, or a name is looked up that is
not. Importing this module imports neither pydantic-settings nor any registered package.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .._model.fields import PREFIX
from ..errors import ConfigError, Problem

__all__ = ["GROUP", "Registered", "find_key", "is_secret", "registry", "reset"]

#: The entry point group of the sections packages add.
GROUP = "metaflow_config.sections"


@dataclass(frozen=True)
class Registered:
    """A registered section: its model, and its keys by full environment name."""

    cls: Any
    origin: str  # "<distribution>: <entry point>"
    keys: dict[str, str]  # METAFLOW_ACME_GPU_QUEUE -> gpu_queue
    secret: frozenset[str]  # the keys whose values are masked
    sensitive: frozenset[str] = frozenset()  # the keys only a trusted source may set


_LOCK = threading.Lock()
_found: tuple[dict[str, Registered], tuple[Problem, ...]] | None = None


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
    from .._model.table import BY_ENV

    keys: dict[str, Registered] = {}
    problems: list[Problem] = []
    for ep, dist in _entry_points():
        origin = f"{dist}: entry point {ep.name} = {ep.value}"

        def problem(expected: str, fix: str, origin: str = origin) -> None:
            problems.append(Problem.bad_argument(f"section {origin}", "", expected, fix))

        try:
            cls = ep.load()
        except Exception as exc:  # any failure of a package's import is reported
            problem(
                f"an importable section ({type(exc).__name__}: {exc})",
                "fix or uninstall the package that declares it",
            )
            continue
        from ..pydantic import MetaflowBaseSettings

        if not (isinstance(cls, type) and issubclass(cls, MetaflowBaseSettings)):
            problem(
                "a subclass of metaflow_config.pydantic.MetaflowBaseSettings",
                "point the entry point at such a class",
            )
            continue
        prefix = str(cls.model_config.get("env_prefix") or "")
        if not prefix.upper().startswith(PREFIX) or prefix.upper() == PREFIX:
            problem(
                f"an env_prefix of its own under METAFLOW_ (e.g. METAFLOW_ACME_), not {prefix!r}",
                "set model_config = SettingsConfigDict(env_prefix='METAFLOW_<NAME>_')",
            )
            continue
        section = Registered(
            cls, origin, {}, frozenset(cls.secret_keys()), frozenset(cls.sensitive_keys())
        )
        for name in cls.model_fields:
            key = (prefix + name).upper()
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


def reset() -> None:
    """Forget what was discovered, and what was read knowing it (tests that add packages)."""
    global _found  # noqa: PLW0603
    from . import layers as _layers

    with _LOCK:
        _found = None
        _layers._last_env = None
        _layers.suggest.cache_clear()
