"""Performance regression guards: ratios between contenders in one run, never absolute times.

The margins are generous (a loaded two-core machine must not make these flaky), and the
contenders are timed by the process's own CPU time (``time.process_time``), as the benchmark
judges its targets: a machine running other work beside the suite (CI's other Pythons) slows the
wall clock of one contender's samples, not the CPU the code takes. The real numbers and the
targets are in ``benchmarks/run.py`` and the README's "Performance" section.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
import types
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from metaflow_config import load, override, settings
from metaflow_config._model.kinds import STR
from metaflow_config._model.table import FIELDS
from metaflow_config._sources.jsonfile import MAX_FILE_BYTES
from metaflow_config.testing import write_profile

ROUNDS = 15
PROFILE = {
    "DATASTORE_SYSROOT_S3": "s3://guard-bucket/metaflow",
    "DEFAULT_DATASTORE": "s3",
    "SERVICE_URL": "https://metadata.example.com/api",
    "BATCH_JOB_QUEUE": "metaflow-queue",
    "ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/metaflow-batch",
    "SFN_IAM_ROLE": "arn:aws:iam::123456789012:role/metaflow-sfn",
}


def interleaved(contenders: dict[str, Callable[[], object]], number: int) -> dict[str, float]:
    """Median CPU seconds per call of each contender, run A, B, A, B, ... ``ROUNDS`` times."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            samples[name].append(timeit.timeit(fn, timer=time.process_time, number=number))
    return {name: statistics.median(times) / number for name, times in samples.items()}


def test_section_field_read_costs_about_a_module_attribute() -> None:
    """``settings.batch.job_queue`` stays within 10x a plain module attribute (target: 3x)."""
    constants = types.ModuleType("constants")
    constants.JOB_QUEUE = None  # type: ignore[attr-defined]
    settings.batch.job_queue  # noqa: B018 - resolve, and cache the section (the fast path)
    names = {"settings": settings, "constants": constants}
    module = timeit.Timer("constants.JOB_QUEUE", globals=names)
    section = timeit.Timer("settings.batch.job_queue", globals=names)
    median = interleaved(
        {"module": lambda: module.timeit(2000), "section": lambda: section.timeit(2000)}, 10
    )
    assert median["section"] <= 10 * median["module"], median


def _known_variables() -> dict[str, str]:
    """50 known ``METAFLOW_*`` string settings, as the benchmark sets them (the profile written)."""
    write_profile(os.environ["METAFLOW_HOME"], PROFILE)
    strings = [f for f in FIELDS if f.kind is STR and f.name not in PROFILE and f.name != "USER"]
    return {field.env: f"value-{i}" for i, field in enumerate(strings[:50])}


def _known_environment() -> dict[str, str]:
    """The benchmark's environment: the process's, with the 50 known variables (and a profile)."""
    return {**os.environ, **_known_variables()}


def test_resolution_barely_grows_with_unrelated_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10,000 unrelated variables in os.environ cost at most 4x a small environment (target: 2x).

    A full resolution as in the benchmark: a profile and 50 ``METAFLOW_*`` variables. The baseline
    resolves a dict copy of the environment before the 10,000 were added (the same scan, so the
    comparison is of sizes); a Python loop over ``os.environ`` makes the large case 10x slower.
    """
    for name, value in _known_variables().items():
        monkeypatch.setenv(name, value)
    small = dict(os.environ)
    for i in range(10_000):
        monkeypatch.setenv(f"PERF_GUARD_UNRELATED_{i:05d}", "/opt/unrelated/bin:/usr/local/bin")
    load(env=small)  # warm: validator built, names searched once
    load()
    # Measured up to three times: a CI machine running another suite beside this one can slow
    # the large case alone (it walks 10,000 variables) for a whole measurement; a regression
    # (a Python loop over os.environ: 10x) fails every one.
    for _ in range(3):
        median = interleaved({"small": lambda: load(env=small), "large": load}, 5)
        if median["large"] <= 4 * median["small"]:
            break
    assert median["large"] <= 4 * median["small"], median


def test_a_section_costs_a_fraction_of_a_resolution_in_a_large_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building a 5-field section costs at most 1x a ``load()``, with 5,000 unrelated variables
    in os.environ (target: ``load()`` + section <= 2x ``load()``; it is about 1.2x).

    pydantic-settings' default sources read all of os.environ (twice) on every model; a section
    built from the layers alone builds none of them, so its cost does not grow with it (through
    BaseSettings it is about 15x a ``load()`` here).
    """
    from pydantic_settings import SettingsConfigDict

    from metaflow_config.pydantic import MetaflowBaseSettings, resolve_model

    class Guard(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_PERF_GUARD_")
        queue: str = "q"
        center: str = "ml"
        spot: bool = False
        retries: int = 3
        label: str = ""

    for name, value in _known_variables().items():
        monkeypatch.setenv(name, value)
    for i in range(5_000):
        monkeypatch.setenv(f"PERF_GUARD_UNRELATED_{i:05d}", "/opt/unrelated/bin:/usr/local/bin")
    snapshot = load()
    resolve_model(Guard, snapshot)  # warm: the model's shape is remembered
    median = interleaved({"load": load, "section": lambda: resolve_model(Guard, snapshot)}, 5)
    assert median["section"] <= median["load"], median


def test_unknown_and_runtime_variables_cost_little() -> None:
    """50 unknown ``METAFLOW_*`` names cost at most 3x, 950 of a runtime family at most 12x
    (target 1.5x, for the process's own environment).

    The did-you-mean search runs once per distinct name per process, and runtime-family names
    (``METAFLOW_CONDA_*``) are recognised without one: a search per name cost 28x to 1,228x.
    Here the environments are dicts given to ``load(env=...)``, alternating, so each call checks
    and scans its ~1,000 variables in full (a few tens of ns each: about 2x a small environment,
    2.4x with the faster ``load()``); the process's own unchanged ``os.environ`` is read once
    and reused, which the benchmark's 1.3x measures.
    """
    known = _known_environment()
    unknown = {**known, **{f"METAFLOW_GUARD_UNKNOWN_{i:02d}": "x" for i in range(50)}}
    runtime = {**known, **{f"METAFLOW_CONDA_GUARD_{i:03d}": "x" for i in range(950)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for env in (known, unknown, runtime):
            load(env=env)  # warm: validator built, suggestions made once
        # Measured up to three times, as the 10,000-variable guard: with two suites running side
        # by side on a 2-core CI machine it read 6.4x and 9x (4.2x to 5x alone, on every Python);
        # a regression (a search per name) is 28x and more, every time.
        for _ in range(3):
            median = interleaved(
                {
                    "known": lambda: load(env=known),
                    "unknown": lambda: load(env=unknown),
                    "runtime": lambda: load(env=runtime),
                },
                5,
            )
            if (
                median["unknown"] <= 3 * median["known"]
                and median["runtime"] <= 6 * median["known"]
            ):
                break
    assert median["unknown"] <= 3 * median["known"], median
    assert median["runtime"] <= 6 * median["known"], median


def test_a_warm_resolution_barely_grows_with_runtime_family_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """5,000 ``METAFLOW_CONDA_*`` names in os.environ cost a warm ``load()`` at most 2x what the
    50 known variables alone cost (target 1.5x; about 1.2x in the benchmark).

    An unchanged environment is compared, not read again: its names (one C comparison) and the
    values the environment layer depends on, not the runtime names' (reading all 5,000 values on
    every resolution cost 2.6x). CPU time of batches, best of five, both sizes in each of three
    rounds; the best round's ratio (a round's sizes are measured in the same phase of a busy
    machine: the best of one size against the best of the other compared phases).
    """
    known = _known_variables()
    for name, value in known.items():
        monkeypatch.setenv(name, value)
    runtime = {f"METAFLOW_CONDA_GUARD_{i:05d}": "x" for i in range(5_000)}

    def best() -> float:
        load()  # warm: the names searched and the layer read once
        return min(_cpu(lambda: [load() for _ in range(10)]) for _ in range(5))

    plain: list[float] = []
    shaped: list[float] = []
    for _ in range(3):
        plain.append(best())
        for name, value in runtime.items():
            monkeypatch.setenv(name, value)
        shaped.append(best())
        for name in runtime:
            monkeypatch.delenv(name)
    # each round's own ratio (its two sizes measured in the same phase of a busy machine)
    assert min(s / p for p, s in zip(plain, shaped)) <= 2, (plain, shaped)


def test_entering_an_override_costs_a_fraction_of_a_resolution() -> None:
    """Entering a new scope of 1 or 3 values costs at most 0.5x a ``load()`` (target 0.15x).

    One of the three is a root others derive from; each entry is a new scope with new values
    (a scope entered again under the same parent is cached), and its creation is not timed.
    Nesting stays linear: a scope 100 deep costs at most 3x one entered at the top.
    """
    known = _known_environment()
    with override(env=known):
        load(env=known)
        ticks = itertools.count()

        def enter(count: int, depth: int = 0) -> float:
            tick = next(ticks)
            values = {
                "BATCH_JOB_QUEUE": f"queue-{tick}",
                "DATASTORE_SYSROOT_S3": f"s3://guard-bucket/run-{tick}",
                "SFN_IAM_ROLE": f"arn:aws:iam::123456789012:role/r{tick}",
            }
            outer = [override(BATCH_JOB_QUEUE=f"q-{tick}-{i}") for i in range(depth)]
            scope = override(dict(list(values.items())[:count]))
            with contextlib.ExitStack() as stack:
                for o in outer:
                    stack.enter_context(o)
                start = time.process_time()
                with scope:
                    pass
                return time.process_time() - start

        samples: dict[str, list[float]] = {"load": [], "one": [], "three": [], "deep": []}
        for _ in range(ROUNDS * 20):
            start = time.process_time()
            load(env=known)
            samples["load"].append(time.process_time() - start)
            samples["one"].append(enter(1))
            samples["three"].append(enter(3))
            if len(samples["deep"]) < ROUNDS * 2:
                samples["deep"].append(enter(1, depth=100))
    median = {name: statistics.median(times) for name, times in samples.items()}
    assert median["one"] <= 0.5 * median["load"], median
    assert median["three"] <= 0.5 * median["load"], median
    # linear, not quadratic: the best of each (a few deep samples' median moved 5x under the
    # load of CI's other Pythons, where a quadratic walk would cost 100x)
    assert min(samples["deep"]) <= 3 * min(samples["one"]), median


def test_a_large_profile_costs_a_few_json_parses() -> None:
    """A 900 KB profile (one large JSON value) resolves in at most 6x ``json.loads`` (target 3x).

    Parsing, freezing and validating the value is one pass, not one walk each.
    """
    value = {
        f"key-{i}": {"name": f"n{i}", "items": list(range(20)), "on": True} for i in range(8300)
    }
    doc = {f"METAFLOW_{k}": v for k, v in {**PROFILE, "DATATOOLS_SESSION_VARS": value}.items()}
    path = os.path.join(os.environ["METAFLOW_HOME"], "config.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(doc, f)  # compact, as the benchmark's (the file limit is 1 MiB)
    assert 800_000 < os.path.getsize(path) < MAX_FILE_BYTES

    def parse() -> object:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.read())

    load()
    median = interleaved({"json": parse, "load": load}, 1)
    assert median["load"] <= 6 * median["json"], median


# -- input shapes (issue 27): CPU time, best of a few ------------------------------------------
#
# The shapes are the benchmark's own (``benchmarks/run.py``). Each guard compares CPU time
# (``time.process_time``: what the process spent, which a loaded machine moves far less than
# wall time), the best of a few samples of each contender, with a margin of 2x over the target.


@pytest.fixture(scope="module")
def bench() -> types.ModuleType:
    """``benchmarks/run.py`` as a module: its shapes, and the code of a first resolution."""
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_run", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_run"]
    return module


def _cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def test_runtime_family_names_have_no_cliff_at_the_cache_size() -> None:
    """After a variable changes, 4,100 ``METAFLOW_CONDA_*`` names cost at most 3x what 4,090 cost
    (target 1.5x: ten more names cost about ten names' worth).

    Each ``load()`` follows a new value of a known variable, so every name is read again. The
    two sizes run one after the other (a pass over more names than a bounded cache holds would
    empty it for the other size too), each warmed once, best of three.
    """
    ticks = itertools.count()

    def best(count: int) -> float:
        env = {
            **_known_environment(),
            **{f"METAFLOW_CONDA_GUARD_{i:05d}": "x" for i in range(count)},
        }

        def once() -> float:
            env["METAFLOW_BATCH_JOB_QUEUE"] = f"queue-{next(ticks)}"
            return _cpu(lambda: load(env=env))

        once()
        return min(once() for _ in range(3))

    under, over = best(4_090), best(4_100)
    assert over <= 3 * under, (under, over)


def test_a_runtime_family_setting_keeps_the_scan_linear() -> None:
    """With a setting under a runtime family's prefix set (``METAFLOW_CONDA_PACKAGE_S3ROOT``),
    a new environment of 4,000 unknown names costs at most 8x one of 1,000 (linear: 4x).

    Such a setting is kept out of the family's skip by a second search, whose names are then put
    back in the environment's order: looking each one's place up by searching the list made it
    quadratic (a first resolution with 1,000 unknown names took 2.5x the plain one). Each
    ``load()`` sees names it has not seen (every search runs), best of three.
    """
    ticks = itertools.count()

    def best(count: int) -> float:
        def once() -> float:
            tick = next(ticks)
            env = {
                **_known_environment(),
                "METAFLOW_CONDA_PACKAGE_S3ROOT": "s3://bench-bucket/conda",
                **{f"METAFLOW_GUARD_{tick}_{i:05d}": "x" for i in range(count)},
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _cpu(lambda: load(env=env))

        once()
        return min(once() for _ in range(3))

    small, large = best(1_000), best(4_000)
    assert large <= 8 * small, (small, large)


def _first_resolution(bench: types.ModuleType, root: Path, shape: str) -> float:
    """CPU seconds of a fresh interpreter's first ``load()``, with the benchmark's ``shape``."""
    extra, dists = bench.FIRST[shape]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "METAFLOW_HOME": os.environ["METAFLOW_HOME"],
        **_known_variables(),
        **extra,
        "PYTHONPATH": str(root / ("dists" if dists else "nodists")),
    }
    out = subprocess.run(
        [sys.executable, "-c", bench.FIRST_CODE],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.split()[1])


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param("runtime5000", id="5000-runtime-family-names"),
        pytest.param("unknown1000", id="1000-unknown-names"),
        pytest.param("dists200", id="200-installed-distributions"),
    ],
)
def test_a_first_resolution_costs_about_the_plain_one(
    bench: types.ModuleType, tmp_path: Path, shape: str
) -> None:
    """A fresh interpreter's first ``load()`` costs at most 3x the plain one, 50 known variables
    only (target 1.5x), with 5,000 ``METAFLOW_CONDA_*`` names, 1,000 unknown names, or one unknown
    name and 200 installed distributions that register no section.

    Every task starts a process and resolves once: work an input shape adds to the first
    resolution, and that cannot change in the process, is paid by every task. Three rounds of
    a fresh interpreter each, interleaved, each timing its own ``load()``: the best round's
    ratio.
    """
    (tmp_path / "nodists").mkdir()
    bench.install_distributions(tmp_path / "dists")
    plain, shaped = [], []
    for _ in range(3):
        plain.append(_first_resolution(bench, tmp_path, "plain"))
        shaped.append(_first_resolution(bench, tmp_path, shape))
    assert min(s / p for p, s in zip(plain, shaped)) <= 3, (plain, shaped)  # each round's ratio


@pytest.mark.parametrize(
    ("shape", "limit"),
    [
        pytest.param("object", 4.5, id="one-object-of-small-objects"),
        pytest.param("strings", 4.5, id="a-list-of-strings"),
        pytest.param("unknown", 4.5, id="20000-unknown-keys"),
        pytest.param("deep", 4.5, id="nested-64-deep"),
    ],
)
def test_a_profile_of_any_shape_costs_a_few_json_parses(
    bench: types.ModuleType, tmp_path: Path, shape: str, limit: float
) -> None:
    """A profile just under the 1 MiB limit resolves in at most ``limit`` times reading and
    ``json.loads`` of the same file, whatever its shape (target 3x for every shape).

    Every shape costs 2.2x to 2.7x here. One object of small objects, a list of strings and
    objects and lists nested to the 64-level cap: values read frozen as they are parsed, strings
    checked in C at once. 20,000 unknown keys: told apart by set operations and held as the
    parsed file holds them (``data.Loose``: no object a key). 4.5x, which a walk of the nested
    value after parsing (5x), a Python call per string (11x), a record (location and value)
    made for each unknown key (5-6x) and classifying each key by a call (12x) fail.

    Best of three of each, interleaved, after one of each.
    """
    home = tmp_path / "home"
    home.mkdir()
    path = home / "config.json"
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as f:
        f.write(bench.shaped_profile(shape))
    assert MAX_FILE_BYTES - 25_000 < path.stat().st_size < MAX_FILE_BYTES
    env = _known_environment()

    def parse() -> object:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.read())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 20,000 unknown keys
        resolve = functools.partial(load, env=env, home=str(home))
        samples: dict[str, list[float]] = {"json": [], "load": []}
        for _ in range(4):
            samples["json"].append(_cpu(parse))
            samples["load"].append(_cpu(resolve))
    best = {name: min(times[1:]) for name, times in samples.items()}
    assert best["load"] <= limit * best["json"], best
