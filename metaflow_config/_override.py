r"""``override()``: scopes of injected values, as context managers and decorators.

An entered scope is a link (``_scope.Frame``) in the chain its context holds; reads of
``settings`` in that context see the innermost link's snapshot. This module holds the public
``Override``/``override`` and the machinery that keeps a decorated generator's own scopes across
its ``yield``\ s; the process-wide state (the chain, the live links, the fast path's cache) is
owned by ``_scope``, used here through its API only.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from contextvars import Token
from typing import Any, TypeVar, cast

from ._display import show_value
from ._model.fields import is_unset
from ._model.table import find
from ._scope import Frame, chain, install, leave, link, restore
from ._snapshot.settings import Settings, resolution_of
from ._sources.inputs import Inputs, check_arguments, switched
from ._sources.layers import OverrideLayer
from ._sources.sections import is_secret
from .errors import ConfigError, Problem, keeps_no_locals

__all__ = ["Override", "override"]

F = TypeVar("F", bound=Callable[..., Any])


class _Chain:
    """The scopes of one decorated generator, installed during its steps and kept aside between.

    Why not run each step in a ``contextvars.copy_context()`` of its own: an awaitable (the step
    of an async generator) cannot be driven through ``Context.run``, and a copied context would
    freeze every other context variable too. Only the chain is swapped, the same way for
    generators and async generators (an async generator's step runs in its consumer's context):

    - ``enter`` installs the generator's chain with ``_scope.install`` (the token restores the
      caller's chain exactly in ``leave``, whatever the step entered or left). The first step
      links the decorating override on top of the caller's scopes.
    - ``leave`` keeps the chain as the step left it (a ``with override()`` of the generator that
      spans a ``yield`` stays open in it, for its next steps only), and resets the token: the
      caller never holds a value in the generator's scopes.
    - The generator's own links are those above ``outer``, the caller's chain they sit on. When
      the next step comes from under other scopes (the caller entered or left one, or another
      task drives it), they are re-linked in order on top of those (``_rebase``), so each step
      sees its caller's scopes under its own, as an undecorated generator would.

    While the generator is suspended its links stay alive (in ``_LIVE``), like those of a
    copied context; they go when it finishes or is closed (``done``).
    """

    __slots__ = ("outer", "owner", "started", "top")

    def __init__(self, owner: Override) -> None:
        self.owner = owner
        self.started = False
        self.outer: Frame | None = None
        self.top: Frame | None = None

    def enter(self) -> Token[Frame | None]:
        outer = chain()
        if not self.started:
            self.top = link(self.owner, outer)  # a bad value raises here, before the step
            self.started = True
        elif outer is not self.outer:
            self.top = _rebase(self.top, self.outer, outer)
        self.outer = outer
        return install(self.top)

    def leave(self, token: Token[Frame | None], done: bool) -> None:
        top = chain()
        restore(token)
        if done:  # finished or closed: its links can go now, not with the wrapper's frame
            self.top = self.outer = None
        else:
            self.top = top


def _rebase(top: Frame | None, old: Frame | None, new: Frame | None) -> Frame | None:
    """The links above ``old`` in ``top``'s chain, linked again in order on top of ``new``."""
    owners: list[Any] = []
    frame = top
    while frame is not old:
        if frame is None:  # the generator left a scope of its caller: keep its chain as it is
            return top
        owners.append(frame.owner)
        frame = frame.parent
    for owner in reversed(owners):
        new = link(owner, new)
    return new


def _name_of(key: str) -> str:
    field = find(key)
    return key if field is None else field.name


def _shown(key: str, value: Any) -> str:
    field = find(key)
    if field is not None:
        return field.show(value)
    return show_value(value, secret=is_secret(key))


class _Given:
    """What a scope was given: its values, and the inputs it switches (``env=`` whole).

    Held where ``vars()``, ``pprint`` and a ``repr`` of the scope's internals show none of it.
    """

    __slots__ = ("mine", "switch", "values")

    def __init__(
        self, values: dict[str, Any], mine: dict[str, Any], switch: dict[str, Any]
    ) -> None:
        self.values = values
        self.mine = mine
        self.switch = switch

    def __repr__(self) -> str:
        env = self.switch.get("env")
        said = "" if env is None else f", an environment of {len(env)} variables"
        return f"<what override() was given: {len(self.values)} value(s){said}>"


class Override:
    """A scope of injected values: a context manager and a decorator (see :func:`override`).

    One instance may be entered any number of times, nested, and from any number of threads and
    asyncio tasks at once: each entry is private to the context it was made in.
    """

    def __init__(
        self,
        values: Mapping[str, Any],
        env: Mapping[str, str] | None,
        home: str | os.PathLike[str] | None,
        profile: str | None,
        cwd: str | os.PathLike[str] | None,
    ) -> None:
        check_arguments(
            "override",
            env=env,
            home=home,
            profile=profile,
            cwd=cwd,
            values=values,
            values_label="override(...)",
        )
        given = dict(values)
        if "strict" in given:  # load()'s argument, no setting's name
            raise ConfigError(
                [
                    Problem.bad_argument(
                        "override(strict=...)",
                        repr(given["strict"]),
                        "no such argument: a scope resolves as strictly as the resolution under it",
                        "pass strict= to load(), or set METAFLOW_CONFIG_STRICT=1",
                    )
                ]
            )
        #: this scope's own values, read once: its layer, laid over the outer scope's on entry
        self._layer = OverrideLayer(given).read()
        if self._layer.problems:  # with what is wrong with the values named right, all at once
            from ._resolve.plugins import PLUGIN_SETTINGS, plugin_problems
            from ._resolve.validate import validate

            values = self._layer.values
            winners = {name: (self._layer, raw) for name, raw in values.items()}
            problems = [*self._layer.problems, *validate(winners)[1]]
            named = [n for n in PLUGIN_SETTINGS if n in values]
            plugin_problems(
                ((n, values[n].value, "override", values[n].location) for n in named), problems, []
            )
            raise ConfigError(problems)
        mine = {k: v for k, v in given.items() if not is_unset(v)}
        self._names = {_name_of(k) for k in mine}
        #: the values, and the inputs the scope switches (``env=``, ``home=``, ``profile=``,
        #: ``cwd=``) as given now: held out of sight (``vars()`` of the scope shows none)
        self._held = _Given(
            given,
            mine,
            switched(env=None if env is None else dict(env), home=home, profile=profile, cwd=cwd),
        )
        #: what the repr shows of them: the variables counted, the rest as given (paths absolute)
        inputs = {"home": home, "profile": profile, "cwd": cwd}
        self._given = {
            k: profile if k == "profile" else self._held.switch[k]
            for k, v in inputs.items()
            if v is not None
        }
        self._env_size = None if env is None else len(self._held.switch["env"])
        self._cache: tuple[Settings, Settings] | None = None

    def _changes(self, inputs: Inputs) -> dict[str, Any]:
        held = self._held
        changes = dict(held.switch)
        if held.mine:  # merged by setting: this scope's value beats an outer one however spelled
            names = self._names
            kept = {k: v for k, v in inputs.overrides.items() if _name_of(k) not in names}
            changes["overrides"] = {**kept, **held.mine}
        return changes

    def resolve_under(self, parent: Settings) -> Settings:
        """The scope's snapshot on top of ``parent`` (cached for the last parent)."""
        cached = self._cache
        if cached is not None and cached[0] is parent:
            return cached[1]
        # The changes (an environment, values) are handed on, never a local of this frame: a
        # traceback of the resolution's error shows the locals of the frames it passes through.
        snapshot = parent._replace(layer=self._layer, **self._changes(resolution_of(parent).inputs))
        self._cache = (parent, snapshot)
        return snapshot

    @keeps_no_locals
    def __enter__(self) -> Settings:
        frame = link(self, chain())
        install(frame)
        return frame.memo[1]

    def __exit__(self, *exc_info: object) -> None:
        leave(self)

    def __repr__(self) -> str:
        if not hasattr(self, "_cache"):  # its __init__ raised: a traceback shows it anyway
            return "override(<not made: invalid arguments>)"
        shown = {k: _shown(k, v) for k, v in self._held.values.items()}
        parts = [f"{k}={v}" for k, v in shown.items()]
        if self._env_size is not None:
            parts.append(f"env=<{self._env_size} variables>")
        parts.extend(f"{k}={v!r}" for k, v in self._given.items())
        return f"override({', '.join(parts)})"

    def __call__(self, fn: F) -> F:
        """Decorate a function, generator function, coroutine or async generator function.

        The values apply while the function's own code runs: for generators, during each step
        (not while the caller holds a yielded value), so they never leak into the caller.
        """
        import inspect  # here, not at import: decorating is rarer than reading

        if inspect.isclass(fn):
            msg = "override() cannot decorate a class; decorate its methods"
            raise TypeError(msg)
        if inspect.isasyncgenfunction(fn):
            return cast(F, self._wrap_async_gen(fn))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await fn(*args, **kwargs)

            return cast(F, run_async)
        if inspect.isgeneratorfunction(fn):
            return cast(F, self._wrap_gen(fn))

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return cast(F, run)

    def _wrap_gen(self, fn: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run_gen(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            gen = fn(*args, **kwargs)
            chain = _Chain(self)  # the generator's scopes, in force during its steps only
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                done = True  # unless the step yields: any exception out of it ends the generator
                token = chain.enter()
                try:
                    if thrown is None:
                        item = gen.send(sent)
                    else:
                        exc, thrown = thrown, None
                        item = gen.throw(exc)
                    done = False
                except StopIteration as stop:
                    return stop.value
                finally:
                    chain.leave(token, done)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = chain.enter()
                    try:
                        gen.close()
                    finally:
                        chain.leave(token, done=True)
                    raise
                except BaseException as exc:  # passed on to the generator
                    sent, thrown = None, exc

        return run_gen

    def _wrap_async_gen(self, fn: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def run_async_gen(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            agen = fn(*args, **kwargs)
            chain = _Chain(self)  # as in _wrap_gen: a step awaits in its consumer's context
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                done = True
                token = chain.enter()
                try:
                    if thrown is None:
                        item = await agen.asend(sent)
                    else:
                        exc, thrown = thrown, None
                        item = await agen.athrow(exc)
                    done = False
                except StopAsyncIteration:
                    return
                finally:
                    chain.leave(token, done)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = chain.enter()
                    try:
                        await agen.aclose()
                    finally:
                        chain.leave(token, done=True)
                    raise
                except BaseException as exc:  # passed on to the generator
                    sent, thrown = None, exc

        return run_async_gen


@keeps_no_locals
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

    ``with override(BATCH_JOB_QUEUE="q"): ...`` or ``@override(METAFLOW_SFN_IAM_ROLE="arn:...")``
    (on functions, generators, coroutines and async generators). An unknown name raises
    ``ConfigError`` here, at the call (with the bad values beside it); a bad value raises it on
    entry, naming the override.
    Scopes nest (the innermost wins, the outer is back on exit, also after an exception) and are
    private to their thread or asyncio task. Derived defaults follow the overridden values.

    ``env=`` re-resolves as if the process had that environment (``METAFLOW_HOME`` and
    ``METAFLOW_PROFILE`` included: pass ``home=`` to keep a home); ``home=``, ``profile=`` (``""``
    for the default ``config.json``) and ``cwd=`` switch one input. ``os.environ`` is never
    touched. A value of ``None`` (or ``""``) means "not set by this scope": the layers below apply.
    ``settings.reload()`` inside the scope re-reads the files and environment under it.
    """
    return Override({**(values or {}), **kwargs}, env, home, profile, cwd)
