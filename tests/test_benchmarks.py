"""The benchmark report's arithmetic (``benchmarks/run.py``): what its ratios and verdicts mean."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = HERE.parent / "benchmarks" / "run.py"
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


def test_a_slow_phase_of_the_machine_cancels_out_of_a_paired_ratio(bench: ModuleType) -> None:
    # B costs 1.1x A in every round; rounds 3-5 run 1.5x slower (a burst of the VM)
    base = [[1.0], [1.0], [1.5], [1.5], [1.5]]
    rows = [[1.1 * x for x in r] for r in base]
    assert bench.paired_ratio(rows, base) == pytest.approx(1.1)
    # a burst that hits only B's samples of one round moves the ratio of that round alone
    rows[0] = [2.2]
    assert bench.paired_ratio(rows, base) == pytest.approx(1.1)


def test_the_medians_ratio_is_taken_when_rounds_do_not_pair(bench: ModuleType) -> None:
    assert bench.paired_ratio([[2.0], [4.0]], [[1.0], [1.0], [1.0]]) == pytest.approx(3.0)


def test_a_row_says_whether_its_target_is_met(bench: ModuleType) -> None:
    samples = {"resolve@50": [[1e-3, 1e-3]] * 3, "slow": [[2e-3]] * 3}
    met = bench.Row("slow", "resolve@50", "<= 2.5").render(samples)
    missed = bench.Row("slow", "resolve@50", "<= 1.5").render(samples)
    assert met[0] == "2.00 ms"
    assert met[1] == "2.00x of resolution (50 vars)"
    assert met[2] == "met (<= 2.5)"
    assert missed[2] == "NOT met (<= 1.5)"
    assert bench.Row("resolve@50", target="<= 0.5ms").render(samples)[2] == "NOT met (<= 0.5ms)"
