"""override() as a decorator: functions, generators, coroutines, async generators, classes."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import metaflow_config.compat as mc
from metaflow_config import ConfigError, override, settings
from tests._override_helpers import ROLE, TIMEOUT, fast_path_cached

# --- decorators -------------------------------------------------------------------------------


def test_decorated_function_runs_inside_the_scope() -> None:
    """A decorated function reads the values; its caller does not, before or after."""

    @override(BATCH_JOB_QUEUE="q")
    def step(suffix: str) -> str:
        """Doc of the step."""
        return f"{settings.batch.job_queue}-{suffix}"

    assert settings.batch.job_queue is None
    assert step("a") == "q-a"
    assert settings.batch.job_queue is None
    assert (step.__name__, step.__doc__) == ("step", "Doc of the step.")


def test_decorated_function_exception_restores() -> None:
    """An exception from a decorated function propagates and the scope is left."""

    @override(BATCH_JOB_QUEUE="q")
    def step() -> None:
        raise ValueError(settings.batch.job_queue)

    with pytest.raises(ValueError, match=r"^q$"):
        step()
    assert settings.batch.job_queue is None


def test_decorated_recursion_and_callers_scope_combine() -> None:
    """A decorated function nests in itself and on top of the caller's scope."""

    @override(BATCH_JOB_QUEUE="q")
    def depth(n: int) -> list[Any]:
        here = [settings.batch.job_queue, settings.sfn.iam_role]
        return [here, *depth(n - 1)] if n else [here]

    with override(SFN_IAM_ROLE=ROLE):
        assert depth(3) == [["q", ROLE]] * 4
    assert settings.sfn.iam_role is None


def test_decorated_bad_value_raises_when_called() -> None:
    """A bad value in a decorator is a ConfigError at the call; the body does not run."""
    ran: list[bool] = []

    @override(BATCH_EMIT_TAGS="maybe")
    def step() -> None:  # pragma: no cover - the scope refuses to open
        ran.append(True)

    with pytest.raises(ConfigError, match="BATCH_EMIT_TAGS"):
        step()
    assert ran == []


def test_decorated_generator_sees_values_in_each_step_only() -> None:
    """Each step of a decorated generator sees the values; the caller between steps does not."""
    log: list[Any] = []

    @override(BATCH_JOB_QUEUE="gen")
    def produce() -> Iterator[Any]:
        try:
            got = yield settings.batch.job_queue
            log.append((got, settings.batch.job_queue))
            try:
                yield "second"
            except ValueError:
                log.append(("thrown", settings.batch.job_queue))
                yield "recovered"
            yield "last"
        finally:
            log.append(("closed", settings.batch.job_queue))

    assert inspect.isgeneratorfunction(produce)
    gen = produce()
    assert next(gen) == "gen"
    assert settings.batch.job_queue is None
    assert gen.send("hello") == "second"
    assert gen.throw(ValueError("x")) == "recovered"
    assert settings.batch.job_queue is None
    gen.close()
    assert log == [("hello", "gen"), ("thrown", "gen"), ("closed", "gen")]
    assert settings.batch.job_queue is None


def test_decorated_generator_return_value_and_errors() -> None:
    """``yield from`` gets a decorated generator's return value; its exceptions propagate."""

    @override(BATCH_JOB_QUEUE="gen")
    def sub() -> Iterator[int]:
        yield 1
        return settings.batch.job_queue

    def outer() -> Iterator[Any]:
        result = yield from sub()
        yield result

    assert list(outer()) == [1, "gen"]

    @override(BATCH_JOB_QUEUE="gen")
    def broken() -> Iterator[int]:
        yield 1
        raise LookupError(settings.batch.job_queue)

    with pytest.raises(LookupError, match="gen"):
        list(broken())
    assert settings.batch.job_queue is None


def test_decorated_coroutine_function() -> None:
    """A decorated async function reads the values across awaits; the caller does not."""

    @override(BATCH_JOB_QUEUE="async")
    async def step() -> list[Any]:
        first = settings.batch.job_queue
        await asyncio.sleep(0)
        return [first, mc.BATCH_JOB_QUEUE]

    async def main() -> list[Any]:
        result = await step()
        return [*result, settings.batch.job_queue]

    assert inspect.iscoroutinefunction(step)
    assert asyncio.run(main()) == ["async", "async", None]


def test_decorated_async_generator() -> None:
    """A decorated async generator sees the values in each step and while closing."""
    log: list[Any] = []

    @override(BATCH_JOB_QUEUE="agen")
    async def produce() -> AsyncIterator[Any]:
        try:
            while True:
                await asyncio.sleep(0)
                yield settings.batch.job_queue
        finally:
            log.append(("closed", settings.batch.job_queue))

    async def main() -> list[Any]:
        agen = produce()
        seen = [await agen.__anext__(), settings.batch.job_queue, await agen.__anext__()]
        await agen.aclose()
        return seen

    assert inspect.isasyncgenfunction(produce)
    assert asyncio.run(main()) == ["agen", None, "agen"]
    assert log == [("closed", "agen")]


def _views() -> tuple[Any, Any]:
    return settings.batch.job_queue, settings.sfn.iam_role


def test_decorated_generator_inner_scope_spans_yields() -> None:
    """A generator's own ``with override`` around yields holds in its steps, never in the caller."""

    @override(BATCH_JOB_QUEUE="gen")
    def produce() -> Iterator[Any]:
        yield _views()
        with override(SFN_IAM_ROLE=ROLE):
            yield _views()
            with override(BATCH_JOB_QUEUE="inner"):
                yield _views()
            yield _views()
        yield _views()

    seen: list[Any] = []
    callers: list[Any] = []
    for item in produce():
        seen.append(item)
        callers.append(_views())
    assert seen == [("gen", None), ("gen", ROLE), ("inner", ROLE), ("gen", ROLE), ("gen", None)]
    assert callers == [(None, None)] * 5
    assert settings.batch.job_queue is None
    assert fast_path_cached()  # the finished generator holds no link any more


def test_decorated_generator_steps_under_the_callers_scope_of_each_step() -> None:
    """Between steps the caller sees its own scopes; each step sees them under the generator's."""

    @override(BATCH_JOB_QUEUE="gen")
    def produce() -> Iterator[Any]:
        with override(KUBERNETES_PORT=8080):
            while True:
                yield (*_views(), settings.kubernetes.port)

    gen = produce()
    assert next(gen) == ("gen", None, 8080)
    with override(SFN_IAM_ROLE=ROLE, BATCH_JOB_QUEUE="caller"):
        assert _views() == ("caller", ROLE)
        assert next(gen) == ("gen", ROLE, 8080)
        assert (*_views(), settings.kubernetes.port) == ("caller", ROLE, None)
    assert next(gen) == ("gen", None, 8080)
    seen: list[Any] = []
    with override(SFN_IAM_ROLE=ROLE):  # another thread drives the next step, in its context
        worker = threading.Thread(target=lambda: seen.append(next(gen)))
        worker.start()
        worker.join(TIMEOUT)
    assert seen == [("gen", None, 8080)]
    gen.close()
    assert (*_views(), settings.kubernetes.port) == (None, None, None)


def test_decorated_generator_throw_and_close_inside_an_inner_scope() -> None:
    """throw and close reach the generator inside its open inner scope; the caller stays clean."""
    log: list[Any] = []

    @override(BATCH_JOB_QUEUE="gen")
    def produce() -> Iterator[Any]:
        with override(SFN_IAM_ROLE=ROLE):
            try:
                yield "first"
            except KeyError:
                log.append(("thrown", *_views()))
            try:
                yield "second"
            finally:
                log.append(("closed", *_views()))

    gen = produce()
    assert next(gen) == "first"
    assert gen.throw(KeyError("k")) == "second"
    assert _views() == (None, None)
    gen.close()
    assert log == [("thrown", "gen", ROLE), ("closed", "gen", ROLE)]
    assert _views() == (None, None)
    assert fast_path_cached()  # the closed generator holds no link any more

    @override(BATCH_JOB_QUEUE="gen")
    def uncaught() -> Iterator[Any]:
        with override(SFN_IAM_ROLE=ROLE):
            yield "only"

    gen = uncaught()
    next(gen)
    with pytest.raises(KeyError):
        gen.throw(KeyError("k"))
    assert _views() == (None, None)


def test_decorated_generator_returns_from_an_inner_scope_through_yield_from() -> None:
    """A return inside an inner scope reaches ``yield from`` as for an undecorated generator."""

    @override(BATCH_JOB_QUEUE="gen")
    def sub() -> Iterator[Any]:
        with override(SFN_IAM_ROLE=ROLE):
            got = yield _views()
            return got, _views()

    def outer() -> Iterator[Any]:
        result = yield from sub()
        yield result, _views()

    gen = outer()
    assert next(gen) == ("gen", ROLE)
    assert gen.send("sent") == (("sent", ("gen", ROLE)), (None, None))


def test_decorated_async_generator_inner_scope_spans_yields() -> None:
    """An async generator's own scope spans yields and awaits; the caller sees its own values."""
    log: list[Any] = []

    @override(BATCH_JOB_QUEUE="agen")
    async def produce() -> AsyncIterator[Any]:
        with override(SFN_IAM_ROLE=ROLE):
            await asyncio.sleep(0)
            yield _views()
            try:
                await asyncio.sleep(0)
                yield _views()
            except KeyError:
                log.append(("thrown", *_views()))
            try:
                yield "last"
            finally:
                await asyncio.sleep(0)
                log.append(("closed", *_views()))

    async def main() -> list[Any]:
        agen = produce()
        seen = [await agen.__anext__(), _views()]
        with override(BATCH_JOB_QUEUE="caller"):
            seen += [await agen.__anext__(), _views()]
        seen.append(await agen.athrow(KeyError("k")))
        await agen.aclose()
        return [*seen, _views()]

    assert asyncio.run(main()) == [
        ("agen", ROLE),
        (None, None),
        ("agen", ROLE),
        ("caller", None),
        "last",
        (None, None),
    ]
    assert log == [("thrown", "agen", ROLE), ("closed", "agen", ROLE)]


def test_decorated_async_generators_in_concurrent_tasks_keep_their_inner_scopes() -> None:
    """Tasks stepping their own decorated async generators, inner scopes open, see only theirs."""

    @override(SFN_IAM_ROLE=ROLE)
    async def produce(i: int) -> AsyncIterator[Any]:
        with override(BATCH_JOB_QUEUE=f"q-{i}"):
            for _ in range(10):
                await asyncio.sleep(0)
                yield _views()

    async def consume(i: int) -> list[Any]:
        seen = []
        async for item in produce(i):
            seen.append((item, _views()))
            await asyncio.sleep(0)
        return seen

    async def main() -> list[list[Any]]:
        return list(await asyncio.gather(*(consume(i) for i in range(20))))

    results = asyncio.run(main())
    assert results == [[((f"q-{i}", ROLE), (None, None))] * 10 for i in range(20)]


def test_decorating_a_class_is_refused() -> None:
    """override() as a class decorator raises TypeError pointing at methods."""
    with pytest.raises(TypeError, match="methods"):

        @override(BATCH_JOB_QUEUE="q")
        class Flow:  # pragma: no cover - never defined
            pass
