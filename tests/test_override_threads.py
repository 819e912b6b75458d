"""override() across threads, asyncio tasks and copied contexts; the fast path off in scopes."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import metaflow_config.compat as mc
from metaflow_config import override, settings
from metaflow_config._model.table import SECTIONS
from tests._override_helpers import TIMEOUT, _observed_queue, fast_path_cached

# --- the fast path ----------------------------------------------------------------------------


def test_a_kept_error_of_a_scope_does_not_keep_the_outer_scope_alive() -> None:
    """An error kept after a refused scope (``pytest.raises(...) as info``) holds no link.

    Its traceback keeps the frames' locals; had ``link`` kept the outer scope's link there, the
    fast path would stay off until a garbage collection (none runs here).
    """
    import gc

    from metaflow_config import ConfigError

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        outer, refused = override(BATCH_JOB_QUEUE="outer"), override(BATCH_JOB_QUEUE="a\x01b")
        with outer, pytest.raises(ConfigError) as info, refused:
            pass
        assert "METAFLOW_BATCH_JOB_QUEUE" in str(info.value)
        assert settings.batch.job_queue is None
        assert fast_path_cached()
    finally:
        if enabled:
            gc.enable()


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
