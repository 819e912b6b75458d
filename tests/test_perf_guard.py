"""Performance regression guards: ratios between contenders in one run, never absolute times.

The margins are generous (a loaded two-core machine must not make these flaky); the real
numbers and the targets are in ``benchmarks/run.py`` and the README's "Performance" section.
"""

from __future__ import annotations

import os
import statistics
import time
import timeit
import types
from collections.abc import Callable

import pytest

from metaflow_config import load, settings
from metaflow_config._kinds import STR
from metaflow_config._table import FIELDS
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
    """Median seconds per call of each contender, run A, B, A, B, ... ``ROUNDS`` times."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            samples[name].append(timeit.timeit(fn, timer=time.perf_counter, number=number))
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


def test_resolution_barely_grows_with_unrelated_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10,000 unrelated variables in os.environ cost at most 4x a small environment (target: 2x).

    A full resolution as in the benchmark: a profile and 50 ``METAFLOW_*`` variables. The baseline
    resolves a dict copy of the environment before the 10,000 were added (the same scan, so the
    comparison is of sizes); a Python loop over ``os.environ`` makes the large case 10x slower.
    """
    write_profile(os.environ["METAFLOW_HOME"], PROFILE)
    strings = [f for f in FIELDS if f.kind is STR and f.name not in PROFILE and f.name != "USER"]
    for i, field in enumerate(strings[:50]):
        monkeypatch.setenv(field.env, f"value-{i}")
    small = dict(os.environ)
    for i in range(10_000):
        monkeypatch.setenv(f"PERF_GUARD_UNRELATED_{i:05d}", "/opt/unrelated/bin:/usr/local/bin")
    load(env=small)  # warm: validator built, names searched once
    load()
    median = interleaved({"small": lambda: load(env=small), "large": load}, 5)
    assert median["large"] <= 4 * median["small"], median
