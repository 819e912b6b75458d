"""override(): scopes, nesting, decorators, isolation across threads and tasks, layer switching."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import metaflow_config.compat as mc
from metaflow_config import ConfigError, Settings, current, override, settings
from metaflow_config._table import SECTIONS
from metaflow_config.testing import write_local, write_profile

Q = "METAFLOW_BATCH_JOB_QUEUE"
ROLE = "arn:aws:iam::123456789012:role/sfn"
TIMEOUT = 60  # seconds a barrier waits before the test fails instead of hanging


def home() -> Path:
    """The test's METAFLOW_HOME (an empty temp directory, see conftest)."""
    return Path(os.environ["METAFLOW_HOME"])


def fast_path_cached() -> bool:
    """Whether ``settings.batch`` is currently a plain instance attribute (the fast path)."""
    return "batch" in vars(settings)


# --- the context manager ----------------------------------------------------------------------


def test_block_sets_value_and_restores_it() -> None:
    """Inside the block the override is read; after it, the value before is back."""
    assert settings.batch.job_queue is None
    with override(BATCH_JOB_QUEUE="q"):
        assert settings.batch.job_queue == "q"
        assert settings[Q] == "q"
    assert settings.batch.job_queue is None


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("BATCH_JOB_QUEUE", id="short"),
        pytest.param(Q, id="full"),
        pytest.param("JOB_QUEUE_NAME", id="alias"),
    ],
)
def test_keys_by_short_full_or_alias_name(key: str) -> None:
    """A setting is overridden by its short name, full name or alias; explain names the key."""
    with override({key: "q"}):
        info = settings.explain(Q)
    assert (info.value, info.source, info.location) == ("q", "override", f"override({key})")


def test_enter_returns_the_snapshot_in_force() -> None:
    """``with override(...) as s`` gives the snapshot that ``settings`` reads in the block."""
    with override(BATCH_JOB_QUEUE="q") as snapshot:
        assert isinstance(snapshot, Settings)
        assert snapshot.batch.job_queue == "q"
        assert current() is snapshot


def test_empty_override_changes_nothing() -> None:
    """``override()`` with nothing to change is the snapshot it was entered under."""
    outside = current()
    with override() as snapshot:
        assert snapshot is outside


def test_override_beats_profile_and_env_and_shows_them_shadowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The override layer wins over the profile and the environment, which explain lists."""
    write_profile(home(), {Q: "from-profile"})
    monkeypatch.setenv(Q, "from-env")
    with override(BATCH_JOB_QUEUE="from-code"):
        info = settings.explain(Q)
    assert info.value == "from-code"
    assert [s.source for s in info.shadowed] == ["profile", "env"]
    assert settings.batch.job_queue == "from-env"


# --- nesting and restoration ------------------------------------------------------------------


def test_nesting_innermost_wins_and_each_exit_restores_the_outer() -> None:
    """Nested scopes combine; the innermost wins; leaving one brings back exactly the outer."""
    with override(BATCH_JOB_QUEUE="outer", SFN_IAM_ROLE=ROLE):
        with override(BATCH_JOB_QUEUE="middle"):
            with override(BATCH_JOB_QUEUE="inner", BATCH_EMIT_TAGS=True):
                assert settings.batch.job_queue == "inner"
                assert settings.batch.emit_tags is True
                assert settings.sfn.iam_role == ROLE
            assert settings.batch.job_queue == "middle"
            assert settings.batch.emit_tags is False
        assert settings.batch.job_queue == "outer"
        assert settings.sfn.iam_role == ROLE
    assert settings.batch.job_queue is None
    assert settings.sfn.iam_role is None


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        pytest.param(Q, "BATCH_JOB_QUEUE", id="full-then-short"),
        pytest.param("BATCH_JOB_QUEUE", Q, id="short-then-full"),
        pytest.param("BATCH_JOB_QUEUE", "JOB_QUEUE_NAME", id="name-then-alias"),
    ],
)
def test_inner_wins_however_the_key_is_spelled(outer: str, inner: str) -> None:
    """Nested scopes merge by setting, so a different spelling of the key still wins inside."""
    with override({outer: "outer"}), override({inner: "inner"}):
        assert settings.batch.job_queue == "inner"
        assert settings.explain(Q).location == f"override({inner})"


@pytest.mark.parametrize("unset", [None, ""], ids=["none", "empty"])
def test_inner_none_leaves_the_outer_value(unset: Any) -> None:
    """None (or "") in a scope means "not set here": the outer scope's value stays in force."""
    with override(BATCH_JOB_QUEUE="outer"), override(BATCH_JOB_QUEUE=unset):
        assert settings.batch.job_queue == "outer"


def test_exception_in_block_restores_and_propagates() -> None:
    """An exception leaving nested blocks restores each outer scope and reaches the caller."""
    seen: list[Any] = []

    def fail_inside(*scopes: Any) -> None:
        with contextlib.ExitStack() as stack:
            for scope in scopes:
                stack.enter_context(scope)
            seen.append(_observed_queue())
            raise KeyError("boom")

    with override(BATCH_JOB_QUEUE="outer"):
        with pytest.raises(KeyError, match="boom"):
            fail_inside(override(BATCH_JOB_QUEUE="inner"))
        assert settings.batch.job_queue == "outer"
    with pytest.raises(KeyError, match="boom"):
        fail_inside(override(BATCH_JOB_QUEUE="x"), override(SFN_IAM_ROLE=ROLE))
    assert seen == [("inner", "inner"), ("x", "x")]
    assert (settings.batch.job_queue, settings.sfn.iam_role) == (None, None)


def test_same_instance_nests_and_restores() -> None:
    """One override object entered twice, nested, unwinds one level per exit."""
    scope = override(BATCH_JOB_QUEUE="q")
    with override(SFN_IAM_ROLE=ROLE):
        with scope:
            with scope:
                assert settings.batch.job_queue == "q"
            assert settings.batch.job_queue == "q"
        assert settings.batch.job_queue is None
        assert settings.sfn.iam_role == ROLE


def test_exit_where_it_was_not_entered_is_an_error() -> None:
    """Leaving a scope in a context that never entered it raises instead of corrupting state."""
    scope = override(BATCH_JOB_QUEUE="q")
    with pytest.raises(RuntimeError, match="not active"):
        scope.__exit__(None, None, None)


# --- validation -------------------------------------------------------------------------------


def test_bad_value_raises_on_entry_naming_the_override() -> None:
    """A value that does not validate raises ConfigError on entry; nothing is left in force."""
    scope = override(BATCH_EMIT_TAGS="maybe")
    with pytest.raises(ConfigError, match=r"override\(BATCH_EMIT_TAGS\)") as caught, scope:
        pytest.fail("the block must not run")
    (problem,) = caught.value.problems
    assert (problem.setting, problem.layer) == ("METAFLOW_BATCH_EMIT_TAGS", "override")
    assert "'maybe'" in problem.value
    assert current() == settings._snapshot()  # type: ignore[attr-defined]
    assert settings.batch.emit_tags is False


def test_every_bad_value_is_reported_together() -> None:
    """Two bad values in one scope come back as two problems of one ConfigError."""
    with pytest.raises(ConfigError) as caught, override(BATCH_EMIT_TAGS="maybe", SFN_IAM_ROLE="x"):
        pass
    assert {p.setting for p in caught.value.problems} == {
        "METAFLOW_BATCH_EMIT_TAGS",
        "METAFLOW_SFN_IAM_ROLE",
    }


def test_unknown_key_is_an_error_with_a_suggestion() -> None:
    """A misspelled name raises ConfigError at the call, with a did-you-mean."""
    with pytest.raises(ConfigError, match="did you mean METAFLOW_BATCH_JOB_QUEUE"):
        override(BATCH_JOB_QUEU="q")


def test_unknown_key_in_a_decorator_fails_at_decoration() -> None:
    """A decorator with a misspelled name fails where it is written, not when called."""
    with pytest.raises(ConfigError, match="BATCH_JOB_QUEU"):

        @override(BATCH_JOB_QUEU="q")
        def step() -> None:  # pragma: no cover - never defined
            pass


def test_typed_values_validate_like_any_layer() -> None:
    """Python values (bool, int, dict) and strings parse and validate as in files and env."""
    tags = {"team": "ml"}
    with override(BATCH_EMIT_TAGS="yes", KUBERNETES_PORT=8080, BATCH_DEFAULT_TAGS=tags):
        assert settings.batch.emit_tags is True
        assert settings.kubernetes.port == 8080
        assert settings.batch.default_tags == tags
    with pytest.raises(ConfigError, match="DATASTORE_SYSROOT_S3"):
        override(DATASTORE_SYSROOT_S3="not-a-url").__enter__()


def test_repr_masks_secrets() -> None:
    """The repr of a scope names its keys but never shows a secret value."""
    text = repr(override(SERVICE_AUTH_KEY="s3cr3t", BATCH_JOB_QUEUE="q"))
    assert "SERVICE_AUTH_KEY" in text
    assert "'q'" in text
    assert "s3cr3t" not in text


# --- derived defaults -------------------------------------------------------------------------


def test_derived_defaults_follow_an_overridden_base() -> None:
    """Overriding the sysroot moves every root derived from it, with source 'derived'."""
    with override(DATASTORE_SYSROOT_S3="s3://bucket/mf"):
        assert settings.datatools.s3root == "s3://bucket/mf/data"
        assert settings.explain("METAFLOW_DATATOOLS_S3ROOT").source == "derived"
        assert mc.CARD_S3ROOT == "s3://bucket/mf/mf.cards"
        assert mc.CONDA_PACKAGE_S3ROOT == "s3://bucket/mf/conda"
    assert settings.datatools.s3root is None


def test_derived_follows_inner_base_but_an_explicit_value_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An inner sysroot re-derives DATATOOLS_S3ROOT, unless an outer scope set it explicitly."""
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://env/mf")
    with override(DATASTORE_SYSROOT_S3="s3://aaa/mf"):
        assert settings.datatools.s3root == "s3://aaa/mf/data"
        with (
            override(DATATOOLS_S3ROOT="s3://pinned/data"),
            override(DATASTORE_SYSROOT_S3="s3://bbb/mf"),
        ):
            assert settings.datatools.s3root == "s3://pinned/data"
            assert settings.cards.s3root == "s3://bbb/mf/mf.cards"
    assert settings.datatools.s3root == "s3://env/mf/data"


# --- what reads through the override ----------------------------------------------------------


def test_compat_and_snapshot_methods_see_the_override() -> None:
    """compat names, lookup by name, explain and to_env all read the scope in force."""
    with override(BATCH_JOB_QUEUE="q", SERVICE_URL="https://mf.example.com/api"):
        assert mc.BATCH_JOB_QUEUE == "q"
        assert mc.SERVICE_INTERNAL_URL == "https://mf.example.com/api"
        assert settings.to_env("batch")[Q] == "q"
        assert "METAFLOW_BATCH_JOB_QUEUE='q'" in repr(settings)
    assert mc.BATCH_JOB_QUEUE is None
    assert Q not in settings.to_env("batch")


# --- the fast path ----------------------------------------------------------------------------


def test_fast_path_is_a_plain_attribute_off_inside_a_scope_and_back_after() -> None:
    """Without overrides a section is a plain instance attribute; a scope drops it until it ends."""
    sections = [attr for attr, _ in SECTIONS]
    for klass in type(settings).__mro__:
        assert not any(isinstance(vars(klass).get(name), property) for name in sections)
    batch = settings.batch
    assert vars(settings)["batch"] is batch
    with override(BATCH_JOB_QUEUE="q"):
        assert not fast_path_cached()
        assert settings.batch.job_queue == "q"
        assert not fast_path_cached()  # reads inside a scope never fill the cache
    assert settings.batch.job_queue is None
    assert fast_path_cached()


def test_fast_path_stays_off_while_a_copied_context_holds_a_scope() -> None:
    """A context copied inside a scope keeps the scope alive: no cache until it is gone."""
    with override(BATCH_JOB_QUEUE="kept"):
        ctx = contextvars.copy_context()
    assert settings.batch.job_queue is None
    assert not fast_path_cached()
    assert ctx.run(lambda: settings.batch.job_queue) == "kept"
    del ctx
    assert settings.batch.job_queue is None
    assert fast_path_cached()


def test_task_created_in_a_scope_keeps_it_after_the_block() -> None:
    """An asyncio task created inside a scope still reads it when it runs after the block."""

    async def main() -> tuple[Any, Any]:
        gate = asyncio.Event()

        async def child() -> Any:
            await gate.wait()
            return settings.batch.job_queue

        with override(BATCH_JOB_QUEUE="inner"):
            task = asyncio.ensure_future(child())
        outside = settings.batch.job_queue  # a read that could re-fill the cache
        gate.set()
        return outside, await task

    assert asyncio.run(main()) == (None, "inner")


def test_context_copied_in_a_scope_runs_it_in_another_thread_later() -> None:
    """A copied context run by another thread after the block sees the scope, not the cache."""
    with override(BATCH_JOB_QUEUE="inner"):
        ctx = contextvars.copy_context()
    assert settings.batch.job_queue is None
    seen: list[Any] = []
    worker = threading.Thread(target=lambda: seen.append(ctx.run(_observed_queue)))
    worker.start()
    worker.join(TIMEOUT)
    assert seen == [("inner", "inner")]


def _observed_queue() -> tuple[Any, Any]:
    return settings.batch.job_queue, mc.BATCH_JOB_QUEUE


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


# --- isolation across threads and tasks -------------------------------------------------------


def _expected(i: int) -> tuple[Any, Any, Any]:
    return f"q-{i}", f"s3://bucket-{i}/mf/data", f"q-{i}"


def _observed() -> tuple[Any, Any, Any]:
    return settings.batch.job_queue, settings.datatools.s3root, mc.BATCH_JOB_QUEUE


BASE = (None, None, None)


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, so that reads interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("frequent_switches")
def test_threads_each_see_only_their_own_override() -> None:
    """50 threads in different scopes and 10 without one read in a loop: zero cross-talk."""
    n_scoped, n_plain, rounds, reads = 50, 10, 5, 40
    barrier = threading.Barrier(n_scoped + n_plain, timeout=TIMEOUT)
    wrong: list[Any] = []
    counts: list[int] = []

    def scoped(i: int) -> None:
        barrier.wait()
        done = 0
        for _ in range(rounds):  # enter and leave repeatedly: the fast path turns on and off
            with override(BATCH_JOB_QUEUE=f"q-{i}", DATASTORE_SYSROOT_S3=f"s3://bucket-{i}/mf"):
                for _ in range(reads):
                    got = _observed()
                    done += 1
                    if got != _expected(i):
                        wrong.append((i, got))
            got = _observed()
            if got != BASE:
                wrong.append((i, "after", got))
        counts.append(done)

    def plain(i: int) -> None:
        barrier.wait()
        done = 0
        for _ in range(rounds * reads):
            got = _observed()
            done += 1
            if got != BASE:
                wrong.append((f"plain-{i}", got))
        counts.append(done)

    threads = [threading.Thread(target=scoped, args=(i,)) for i in range(n_scoped)]
    threads += [threading.Thread(target=plain, args=(i,)) for i in range(n_plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert wrong == []
    assert sum(counts) == (n_scoped + n_plain) * rounds * reads


def test_one_scope_object_shared_by_many_threads() -> None:
    """One override object entered by 20 threads at once works in each and leaves each clean."""
    scope = override(BATCH_JOB_QUEUE="shared")
    barrier = threading.Barrier(20, timeout=TIMEOUT)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with scope:
                barrier.wait()  # everyone inside at once
                inside = settings.batch.job_queue
                barrier.wait()
            results.append((inside, settings.batch.job_queue))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert errors == []
    assert results == [("shared", None)] * 20


def test_asyncio_tasks_each_see_only_their_own_override() -> None:
    """50 tasks in different scopes and 10 without one interleave reads: zero cross-talk."""
    n_scoped, n_plain, reads = 50, 10, 100
    wrong: list[Any] = []
    counts: list[int] = []

    async def scoped(i: int, start: asyncio.Event) -> None:
        await start.wait()
        done = 0
        with override(BATCH_JOB_QUEUE=f"q-{i}", DATASTORE_SYSROOT_S3=f"s3://bucket-{i}/mf"):
            for _ in range(reads):
                await asyncio.sleep(0)  # let every other task run in between
                got = _observed()
                done += 1
                if got != _expected(i):
                    wrong.append((i, got))
        if _observed() != BASE:
            wrong.append((i, "after", _observed()))
        counts.append(done)

    async def plain(i: int, start: asyncio.Event) -> None:
        await start.wait()
        for _ in range(reads):
            await asyncio.sleep(0)
            if _observed() != BASE:
                wrong.append((f"plain-{i}", _observed()))
        counts.append(reads)

    async def main() -> None:
        start = asyncio.Event()
        tasks = [asyncio.ensure_future(scoped(i, start)) for i in range(n_scoped)]
        tasks += [asyncio.ensure_future(plain(i, start)) for i in range(n_plain)]
        await asyncio.sleep(0)
        start.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert wrong == []
    assert sum(counts) == (n_scoped + n_plain) * reads


def test_decorated_coroutines_in_concurrent_tasks() -> None:
    """Tasks running differently decorated coroutines at once each read their own values."""

    def make(i: int) -> Any:
        @override(BATCH_JOB_QUEUE=f"q-{i}")
        async def step() -> list[Any]:
            seen = []
            for _ in range(20):
                await asyncio.sleep(0)
                seen.append(settings.batch.job_queue)
            return seen

        return step

    async def main() -> list[list[Any]]:
        return list(await asyncio.gather(*(make(i)() for i in range(50))))

    results = asyncio.run(main())
    assert results == [[f"q-{i}"] * 20 for i in range(50)]


# --- switching layers at run time -------------------------------------------------------------


def test_profile_switch_reads_that_profile_file() -> None:
    """override(profile=...) reads config_<profile>.json; the default file is back after."""
    write_profile(home(), {Q: "default-q"})
    write_profile(home(), {Q: "staging-q", "DATASTORE_SYSROOT_S3": "s3://stg/mf"}, profile="stg")
    assert settings.batch.job_queue == "default-q"
    with override(profile="stg"):
        assert settings.batch.job_queue == "staging-q"
        assert settings.datatools.s3root == "s3://stg/mf/data"
        assert settings.profile == "stg"
        assert settings.explain(Q).location == f"{home() / 'config_stg.json'}:{Q}"
    assert settings.batch.job_queue == "default-q"


def test_empty_profile_selects_the_default_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """override(profile="") reads config.json even when METAFLOW_PROFILE names another."""
    write_profile(home(), {Q: "default-q"})
    write_profile(home(), {Q: "prod-q"}, profile="prod")
    monkeypatch.setenv("METAFLOW_PROFILE", "prod")
    assert settings.batch.job_queue == "prod-q"
    with override(profile=""):
        assert settings.batch.job_queue == "default-q"
        assert settings.profile is None


def test_missing_profile_is_an_error_on_entry() -> None:
    """Switching to a profile that does not exist raises, listing the profiles that do."""
    write_profile(home(), {Q: "p"}, profile="prod")
    with pytest.raises(ConfigError, match="profiles there: prod"), override(profile="nope"):
        pass


def test_home_switch_reads_that_home(tmp_path: Path) -> None:
    """override(home=...) reads the profile of another METAFLOW_HOME; values stack on top."""
    other = tmp_path / "other-home"
    write_profile(other, {Q: "other-q"})
    with override(home=other):
        assert settings.batch.job_queue == "other-q"
        assert settings.home == str(other)
        with override(SFN_IAM_ROLE=ROLE):
            assert (settings.batch.job_queue, settings.sfn.iam_role) == ("other-q", ROLE)
    assert settings.batch.job_queue is None


def test_env_switch_does_not_touch_os_environ(tmp_path: Path) -> None:
    """override(env=...) resolves from that mapping (home and profile included) only."""
    other = tmp_path / "h"
    write_profile(other, {"SFN_IAM_ROLE": ROLE}, profile="p")
    env = {Q: "env-q", "METAFLOW_HOME": str(other), "METAFLOW_PROFILE": "p"}
    before = dict(os.environ)
    with override(env=env):
        env[Q] = "changed later"  # the scope keeps the mapping it was given
        assert settings.batch.job_queue == "env-q"
        assert settings.sfn.iam_role == ROLE
        assert settings.explain(Q).source == "env"
        assert dict(os.environ) == before
    assert settings.batch.job_queue is None


def test_env_switch_without_home_uses_that_envs_default_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An env without METAFLOW_HOME reads its ~/.metaflowconfig, as a process would; home= wins."""
    monkeypatch.setenv("HOME", str(tmp_path))
    write_profile(tmp_path / ".metaflowconfig", {Q: "tilde-q"})
    write_profile(tmp_path / "kept", {Q: "kept-q"})
    with override(env={}):
        assert settings.batch.job_queue == "tilde-q"
    with override(env={}, home=tmp_path / "kept"):
        assert settings.batch.job_queue == "kept-q"


def test_cwd_switch_reads_that_projects_local_config(tmp_path: Path) -> None:
    """override(cwd=...) reads the local config of the project around that directory."""
    write_local(tmp_path / "project", {Q: "local-q"})
    (tmp_path / "project" / "sub").mkdir()
    with override(cwd=tmp_path / "project" / "sub"):
        assert settings.batch.job_queue == "local-q"
        assert settings.explain(Q).source == "local"
    assert settings.batch.job_queue is None


# --- reload -----------------------------------------------------------------------------------


def test_reload_rereads_env_and_files_for_every_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.reload() picks up new variables and files, in this thread and the others."""
    assert settings.batch.job_queue is None
    monkeypatch.setenv(Q, "env-q")
    write_profile(home(), {"SFN_IAM_ROLE": ROLE})
    assert settings.batch.job_queue is None  # resolved once; not re-read behind the caller
    fresh = settings.reload()
    assert fresh.batch.job_queue == "env-q"
    seen: list[Any] = []
    worker = threading.Thread(
        target=lambda: seen.append((settings.batch.job_queue, settings.sfn.iam_role))
    )
    worker.start()
    worker.join(TIMEOUT)
    assert seen == [("env-q", ROLE)]


def test_reload_inside_a_scope_keeps_the_override_on_top(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reloading inside a scope re-reads the layers below it; the override stays in force."""
    with override(BATCH_JOB_QUEUE="code-q"):
        monkeypatch.setenv(Q, "env-q")
        monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", ROLE)
        assert settings.sfn.iam_role is None
        assert settings.reload().batch.job_queue == "code-q"
        assert (settings.batch.job_queue, settings.sfn.iam_role) == ("code-q", ROLE)
    assert settings.batch.job_queue == "env-q"


def test_reload_with_a_broken_file_raises_and_keeps_the_old_snapshot() -> None:
    """A reload that fails raises ConfigError and leaves the previous snapshot in force."""
    write_profile(home(), {Q: "good"})
    assert settings.batch.job_queue == "good"
    (home() / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="valid JSON"):
        settings.reload()
    assert settings.batch.job_queue == "good"


def test_reload_reaches_scopes_open_in_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread inside a scope sees what another thread's reload re-read, under its override."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    seen: list[Any] = []

    def worker() -> None:
        with override(BATCH_JOB_QUEUE="mine"):
            seen.append((settings.batch.job_queue, settings.sfn.iam_role))
            barrier.wait()  # main reloads now
            barrier.wait()
            seen.append((settings.batch.job_queue, settings.sfn.iam_role))

    thread = threading.Thread(target=worker)
    thread.start()
    barrier.wait()
    monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", ROLE)
    settings.reload()
    barrier.wait()
    thread.join(TIMEOUT)
    assert seen == [("mine", None), ("mine", ROLE)]


def test_reload_under_deeply_nested_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload under hundreds of nested scopes re-derives them all, without deep recursion."""
    depth = 300
    with contextlib.ExitStack() as stack:
        for i in range(depth):
            stack.enter_context(override(BATCH_JOB_QUEUE=f"q-{i}"))
        monkeypatch.setenv("METAFLOW_SFN_IAM_ROLE", ROLE)
        with contextlib.ExitStack() as tight:
            tight.callback(sys.setrecursionlimit, sys.getrecursionlimit())
            here = len(inspect.stack(0))
            sys.setrecursionlimit(here + 150)  # room to resolve, not to recurse over the scopes
            settings.reload()
            seen = (settings.batch.job_queue, settings.sfn.iam_role)
        assert seen == (f"q-{depth - 1}", ROLE)
    assert settings.batch.job_queue is None
