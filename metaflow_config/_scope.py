"""The one owner of the process-wide ``settings``, ``current()``, reloads and ``override`` scopes.

Everything about process-wide state lives here, behind a small internal API that ``_override``
(the public ``Override`` and its decorators) and ``testing`` use: :func:`chain`, :func:`install`
and :func:`restore` (the chain of scopes of this context), :func:`link` (a new scope on top of
a chain), :func:`leave` (the end of a ``with`` block) and :func:`reset` (test isolation). A
scope is anything with ``resolve_under(parent) -> Settings`` (:class:`Scope`).

``settings`` resolves lazily on first use. While no override is alive anywhere in the process,
each section it hands out is cached as a plain attribute, so ``settings.batch.job_queue`` costs two
attribute lookups. Entering an ``override`` drops that cache (under a lock), and reads go through
the context-aware path: every thread and asyncio task sees exactly its own overrides.

Each entered override is a link (:class:`Frame`) in the chain its context holds. A context copied
inside an override (an asyncio task created there, ``contextvars.copy_context()``) keeps the link
after the ``with`` block ends, so "no override anywhere" means "no link alive", not "no ``with``
block open": the cache comes back only when the last link is garbage. A started generator
decorated with ``override`` holds its links the same way while it is suspended (see
``_override._Chain``). ``Override`` itself lives in ``_override``.

Why the class switch and the liveness tracking: they keep ``settings.batch.job_queue`` at the
cost of a module attribute read (see ``_ProcessSettings``); the plain path (``_Unresolved``, its
``__getattr__``) is always correct, and the fast one is used only while no scope is alive.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._model.table import SECTIONS
from ._resolve.resolve import resolve
from ._snapshot.settings import Settings, changed_in_place
from ._sources.inputs import (
    Inputs,
)
from .errors import keeps_no_locals

__all__ = [
    "Frame",
    "chain",
    "current",
    "install",
    "leave",
    "link",
    "load",
    "reset",
    "restore",
    "settings",
]


if TYPE_CHECKING:  # a Protocol class costs every process to make: for mypy only

    class Scope(Protocol):
        """What a link of the chain is made from: ``Override``, as ``_scope`` sees it."""

        def resolve_under(self, parent: Settings) -> Settings:
            """The snapshot of this scope entered under ``parent``."""
            ...


_SECTION_NAMES = frozenset(attr for attr, _ in SECTIONS)
_LOCK = threading.RLock()
_put = object.__setattr__  # past the read-only __setattr__ of _ProcessSettings
#: ids of the override links alive anywhere (in any thread's, task's or copied context)
_LIVE: set[int] = set()
_MAIN = threading.main_thread()


@keeps_no_locals
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
    inputs = Inputs.from_world(
        env=env, home=home, profile=profile, cwd=cwd, overrides=overrides, strict=strict
    )
    # A traceback shows its frames' locals (pytest -l, Sentry, rich): the caller's environment
    # (credentials, tokens) and values are no locals of this frame when the resolution raises;
    # the inputs hold them, and their repr shows neither.
    del env, overrides
    return Settings(resolve(inputs))


class _ProcessSettings:
    """The process-wide settings (see the module docstring); typed as :class:`Settings`.

    ``settings`` starts as an :class:`_Unresolved`: this class plus ``__getattr__``, which
    resolves and reads names off the snapshot in force. While no override is alive the sections
    are cached in slots and the object's class becomes this one, which has no ``__getattr__``:
    only then does CPython 3.11 specialize ``settings.batch`` into a direct slot load (7 ns, not
    20-40 ns). Slots survive the class switch (a plain attribute would not stay compact, see
    ``Section`` in ``_model.fields``); ``vars(settings)`` lists the cached sections.
    Every other name of :class:`Settings` is forwarded to the snapshot in force (see below).
    """

    __slots__ = ("__dict__", "__weakref__", *sorted(_SECTION_NAMES))
    _base: Settings | None  # the process snapshot (None: not resolved yet)

    def __init__(self) -> None:
        _put(self, "_base", None)

    def _base_snapshot(self) -> Settings:
        base: Settings | None = self._base
        if base is None:
            with _LOCK:
                base = self._base
                if base is None:
                    base = load()
                    _put(self, "_base", base)
        return base

    def _snapshot(self) -> Settings:
        frame = _STACK.get()
        return self._base_snapshot() if frame is None else frame.snapshot()

    def __getitem__(self, name: str) -> Any:
        return self._snapshot()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._snapshot()

    def __eq__(self, other: object) -> bool:
        return self._snapshot() == other

    __hash__ = None  # type: ignore[assignment]
    __iter__ = None  # as Settings'

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (and copied), the process-wide settings are the snapshot in force here.

        A process pool pickles its arguments in a thread of its own, where no ``override()``
        is in force: pickled in a thread other than the main one, with none in force here and
        one alive elsewhere, the process's snapshot is sent with a warning to pass
        :func:`current` (the snapshot where the call is made) instead.
        """
        if _LIVE and _STACK.get() is None and threading.current_thread() is not _MAIN:
            import warnings  # the rare path

            from .errors import ConfigWarning

            warnings.warn(
                ConfigWarning(
                    "settings pickled in a thread where no override() is in force, while one "
                    "is in force elsewhere (a process pool pickles its arguments in a thread of "
                    "its own): the process-wide values are sent, not the override's; pass "
                    "metaflow_config.current(), the snapshot in force where you call it"
                ),
                stacklevel=2,
            )
        return self._snapshot().__reduce__()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(changed_in_place(name))

    def __setitem__(self, name: str, value: Any) -> None:
        raise TypeError(changed_in_place(name, key=True))

    def __delitem__(self, name: str) -> None:
        raise TypeError(changed_in_place(name, key=True))

    def __repr__(self) -> str:
        try:
            return repr(self._snapshot())
        except Exception as exc:
            return f"<settings: unresolved ({type(exc).__name__})>"

    @keeps_no_locals
    def reload(self) -> Settings:
        """Re-read the environment and the files for the whole process.

        Overrides stay in force on top of what was re-read; returns the snapshot in force here.
        """
        with _LOCK:  # reloads in turn: a later reload never installs older contents
            fresh = load()
            self._drop_cache()
            _put(self, "_base", fresh)
        return self._snapshot()

    def _reset(self) -> None:
        """Forget the process snapshot: the next read resolves again (used by test isolation)."""
        with _LOCK:
            self._drop_cache()
            _put(self, "_base", None)

    def _fill_cache(self, base: Settings) -> None:
        """Hold the sections of ``base`` as plain attributes, and drop ``__getattr__``."""
        state = self.__dict__
        for name in _SECTION_NAMES:
            section = getattr(base, name)
            _put(self, name, section)  # the slot, which reads use
            state[name] = section  # what vars(settings) shows
        _put(self, "__class__", _ProcessSettings)

    def _drop_cache(self) -> None:
        if type(self) is _ProcessSettings:
            _put(self, "__class__", _Unresolved)  # first: from here on, reads take __getattr__
            state = self.__dict__
            for name in _SECTION_NAMES:
                object.__delattr__(self, name)
                state.pop(name, None)


class _Unresolved(_ProcessSettings):
    """The process-wide settings while their sections are not cached (see _ProcessSettings)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        frame = _STACK.get()
        if frame is not None:
            return getattr(frame.snapshot(), name)
        base = self._base_snapshot()
        value = getattr(base, name)
        if name in _SECTION_NAMES and not _LIVE:
            with _LOCK:
                if not _LIVE and self._base is base and type(self) is _Unresolved:
                    self._fill_cache(base)
        return value


def _forward(name: str) -> Any:
    """The accessor of ``Settings.<name>`` on the snapshot in force here.

    A method is forwarded as a method of the same signature and docstring (``help(settings)``
    shows Settings' own); anything else as a property with the docstring of Settings'.
    """
    held = next((vars(k)[name] for k in Settings.__mro__ if name in vars(k)), None)
    if callable(held) and not isinstance(held, (property, staticmethod, classmethod)):

        def method(self: _ProcessSettings, *args: Any, **kwargs: Any) -> Any:
            return getattr(self._snapshot(), name)(*args, **kwargs)

        return functools.wraps(held)(method)

    def get(self: _ProcessSettings) -> Any:
        return getattr(self._snapshot(), name)

    doc = getattr(held, "__doc__", None) if isinstance(held, property) else None
    return property(get, doc=doc or f"``Settings.{name}`` of the snapshot in force here.")


# Without __getattr__, every name Settings answers (but the sections) needs an accessor here.
for _name in {*dir(Settings), *vars(Settings).get("__annotations__", {})}:
    if not (_name.startswith("__") or _name in _SECTION_NAMES or hasattr(_ProcessSettings, _name)):
        setattr(_ProcessSettings, _name, _forward(_name))
del _name

# Named as what they stand for: an unknown attribute of the cached settings is Python's own
# error (no __getattr__ there, see above), which names the type ("'Settings' object has no
# attribute 'btach'"; Python 3.10+ adds its did-you-mean in the traceback).
_ProcessSettings.__name__ = _Unresolved.__name__ = "Settings"
# what help(settings) shows: Settings' own words (the docstrings above are the implementation's)
_ProcessSettings.__doc__ = _Unresolved.__doc__ = Settings.__doc__

_process = _Unresolved()
#: The process-wide settings: resolved on first use, re-read by ``settings.reload()``.
settings: Settings = cast(Settings, _process)


def current() -> Settings:
    """The snapshot in force here: the innermost ``override`` of this context, or the process's."""
    return _process._snapshot()


class Frame:
    """One entered override in one context, linked to the scope it was entered under.

    ``memo`` is (process snapshot, this scope's snapshot): a read checks one identity. When the
    process snapshot changed (``settings.reload()``), the stale links are re-derived, outermost
    first, so overrides keep applying on top of the re-read environment and files.
    """

    __slots__ = ("memo", "owner", "parent")

    def __init__(self, owner: Scope, parent: Frame | None, memo: tuple[Settings, Settings]) -> None:
        self.owner = owner
        self.parent = parent
        self.memo = memo
        _LIVE.add(id(self))

    def __del__(self, _discard: Callable[[int], None] = _LIVE.discard) -> None:
        _discard(id(self))  # set.discard is atomic: safe from any thread, at any moment

    def snapshot(self) -> Settings:
        base = _process._base_snapshot()
        memo = self.memo
        if memo[0] is base:
            return memo[1]
        stale: list[Frame] = []
        frame: Frame | None = self
        while frame is not None and frame.memo[0] is not base:
            stale.append(frame)
            frame = frame.parent
        under = base if frame is None else frame.memo[1]
        for stale_link in reversed(stale):
            under = stale_link.owner.resolve_under(under)
            stale_link.memo = (base, under)
        return under


_STACK: ContextVar[Frame | None] = ContextVar("metaflow_config_overrides", default=None)


def chain() -> Frame | None:
    """The innermost scope entered in this context (``None``: the process snapshot applies)."""
    return _STACK.get()


def install(frame: Frame | None) -> Token[Frame | None]:
    """Make ``frame`` the chain of this context; the token restores the one before."""
    return _STACK.set(frame)


def restore(token: Token[Frame | None]) -> None:
    """Put back the chain that :func:`install` replaced."""
    _STACK.reset(token)


def link(owner: Scope, outer: Frame | None) -> Frame:
    """A new link of ``owner`` on top of ``outer`` (not installed: see :func:`install`).

    The scope's snapshot is resolved now, so a bad value raises here, before anything changes;
    the fast path's cache is dropped once the link is alive.
    """
    base = _process._base_snapshot()
    parent = base if outer is None else outer.snapshot()
    try:
        snapshot = owner.resolve_under(parent)
    except BaseException:
        # A caller that keeps the error (``pytest.raises(...) as info``, a logged exc_info) keeps
        # this frame's locals through the traceback: not the outer link, or the fast path of
        # ``settings`` would stay off until a garbage collection.
        outer = None
        raise
    frame = Frame(owner, outer, (base, snapshot))  # alive before the cache is dropped
    with _LOCK:
        _process._drop_cache()
    return frame


def leave(owner: Scope) -> None:
    """End ``owner``'s innermost link in this context, and the scopes entered inside it."""
    frame = _STACK.get()
    while frame is not None and frame.owner is not owner:
        frame = frame.parent  # scopes entered inside and left open end with this one
    if frame is None:
        msg = (
            "override exited in a context where it is not active "
            "(entered in another thread or asyncio task?)"
        )
        raise RuntimeError(msg)
    _STACK.set(frame.parent)


def reset() -> None:
    """Forget the process snapshot: the next read resolves again (test isolation)."""
    _process._reset()
