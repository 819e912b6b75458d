"""The process-wide ``settings``, ``load()``, and ``override()`` scoped by contextvars.

``settings`` resolves lazily on first use. While no override is active anywhere in the process,
each section it hands out is cached as a plain attribute, so ``settings.batch.job_queue`` costs two
attribute lookups. Entering an ``override`` drops that cache (under a lock) until the last override
in the process exits, and reads go through the context-aware path: every thread and asyncio task
sees exactly its own overrides.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable, Generator, Mapping
from contextvars import ContextVar, Token
from typing import Any, TypeVar, cast

from ._resolve import Inputs, default_home, resolve
from ._settings import Settings
from ._table import SECTIONS

__all__ = ["Override", "current", "load", "override", "settings"]

F = TypeVar("F", bound=Callable[..., Any])

_SECTION_NAMES = frozenset(attr for attr, _ in SECTIONS)
_STACK: ContextVar[tuple[Settings, ...]] = ContextVar("metaflow_config_overrides", default=())
_LOCK = threading.RLock()
_active = 0  # override scopes alive in the whole process


def load(
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    strict: bool | None = None,
) -> Settings:
    """Resolve the configuration from exactly what is given, and return a snapshot.

    Args:
        env: the environment (default ``os.environ``).
        home: the METAFLOW_HOME directory (default ``$METAFLOW_HOME`` from ``env``, else
            ``~/.metaflowconfig``).
        profile: the named profile (default ``$METAFLOW_PROFILE`` from ``env``; ``""`` for the
            default ``config.json``).
        cwd: where the search for the local ``.metaflow/config.json`` starts (default: the
            current directory).
        overrides: values injected by code, the highest layer (short or full names).
        strict: unknown ``METAFLOW_*`` keys are errors (default ``$METAFLOW_CONFIG_STRICT``).

    Raises:
        ConfigError: listing every problem of the resolution.

    ``load`` never writes anything.

    """
    env = os.environ if env is None else env
    inputs = Inputs(
        env=env,
        home=default_home(env) if home is None else os.path.expanduser(os.fspath(home)),
        profile=(env.get("METAFLOW_PROFILE") or None) if profile is None else (profile or None),
        cwd=os.getcwd() if cwd is None else os.fspath(cwd),
        overrides=dict(overrides or {}),
        strict=strict,
    )
    return Settings(resolve(inputs))


class _ProcessSettings:
    """The process-wide settings (see the module docstring); typed as :class:`Settings`."""

    def __init__(self) -> None:
        self.__dict__["_base"] = None

    def _snapshot(self) -> Settings:
        stack = _STACK.get()
        if stack:
            return stack[-1]
        base: Settings | None = self.__dict__["_base"]
        if base is None:
            with _LOCK:
                base = self.__dict__["_base"]
                if base is None:
                    base = load()
                    self.__dict__["_base"] = base
        return base

    def __getattr__(self, name: str) -> Any:
        snapshot = self._snapshot()
        value = getattr(snapshot, name)
        if name in _SECTION_NAMES and not _STACK.get():
            with _LOCK:
                if _active == 0 and self.__dict__["_base"] is snapshot:
                    self.__dict__[name] = value
        return value

    def __getitem__(self, name: str) -> Any:
        return self._snapshot()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._snapshot()

    def __eq__(self, other: object) -> bool:
        return self._snapshot() == other

    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"settings are read-only: use metaflow_config.override({name}=...) instead"
        raise AttributeError(msg)

    def __repr__(self) -> str:
        try:
            return repr(self._snapshot())
        except Exception as exc:
            return f"<settings: unresolved ({type(exc).__name__})>"

    def reload(self) -> Settings:
        """Re-read the environment and the files for the whole process; return the new snapshot."""
        with _LOCK:
            fresh = load()
            self._drop_cache()
            self.__dict__["_base"] = fresh
        return fresh

    def _drop_cache(self) -> None:
        for name in _SECTION_NAMES:
            self.__dict__.pop(name, None)


_process = _ProcessSettings()
#: The process-wide settings: resolved on first use, re-read by ``settings.reload()``.
settings: Settings = cast(Settings, _process)


def current() -> Settings:
    """The snapshot in force here: the innermost ``override`` of this context, or the process's."""
    return _process._snapshot()


def _activate(delta: int) -> None:
    global _active  # noqa: PLW0603 - the process-wide count of live override scopes
    with _LOCK:
        _active += delta
        if delta > 0:
            _process._drop_cache()


class Override:
    """A scope of injected values: a context manager and a decorator (see :func:`override`)."""

    def __init__(
        self,
        values: Mapping[str, Any],
        env: Mapping[str, str] | None,
        home: str | os.PathLike[str] | None,
        profile: str | None,
        cwd: str | os.PathLike[str] | None,
    ) -> None:
        self._values = dict(values)
        self._env = env
        self._home = home
        self._profile = profile
        self._cwd = cwd
        self._tokens: list[Token[tuple[Settings, ...]]] = []
        self._cache: tuple[Settings, Settings] | None = None

    def _resolve_under(self, parent: Settings) -> Settings:
        cached = self._cache
        if cached is not None and cached[0] is parent:
            return cached[1]
        inputs = parent._resolution.inputs
        changes: dict[str, Any] = {}
        if self._env is not None:
            changes["env"] = self._env
            changes["home"] = default_home(self._env)
            changes["profile"] = self._env.get("METAFLOW_PROFILE") or None
        if self._home is not None:
            changes["home"] = os.path.expanduser(os.fspath(self._home))
        if self._profile is not None:
            changes["profile"] = self._profile or None
        if self._cwd is not None:
            changes["cwd"] = os.fspath(self._cwd)
        if self._values:
            changes["overrides"] = {**inputs.overrides, **self._values}
        snapshot = parent._replace(**changes)
        self._cache = (parent, snapshot)
        return snapshot

    def __enter__(self) -> Settings:
        snapshot = self._resolve_under(current())
        self._tokens.append(_STACK.set((*_STACK.get(), snapshot)))
        _activate(+1)
        return snapshot

    def __exit__(self, *exc_info: object) -> None:
        _STACK.reset(self._tokens.pop())
        _activate(-1)

    def _fresh(self) -> Override:
        twin = Override(self._values, self._env, self._home, self._profile, self._cwd)
        twin._cache = self._cache
        return twin

    def __call__(self, fn: F) -> F:
        """Decorate a function, generator function or coroutine function."""
        if inspect.isasyncgenfunction(fn):
            msg = "override() cannot decorate async generators; use `with override(...)` inside"
            raise TypeError(msg)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await fn(*args, **kwargs)

            return cast(F, run_async)
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def run_gen(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
                scope = self._fresh()
                with scope:
                    gen = fn(*args, **kwargs)
                    sent: Any = None
                    thrown: BaseException | None = None
                while True:
                    with scope:
                        try:
                            item = gen.throw(thrown) if thrown is not None else gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
                    try:
                        sent, thrown = (yield item), None
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as exc:
                        sent, thrown = None, exc

            return cast(F, run_gen)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return cast(F, run)


def override(
    values: Mapping[str, Any] | None = None,
    /,
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> Override:
    """Inject values (short or full names) for the enclosed code, or switch env/home/profile.

    ``with override(BATCH_JOB_QUEUE="q"): ...`` or ``@override(METAFLOW_SFN_IAM_ROLE="arn:...")``.
    Values validate like any layer: a bad value or an unknown name raises ``ConfigError`` on
    entry. Scopes nest (the innermost wins) and are private to their thread or asyncio task.
    """
    return Override({**(values or {}), **kwargs}, env, home, profile, cwd)
