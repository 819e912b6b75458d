"""The benchmarks' arithmetic and inputs (``benchmarks/``): ratios, verdicts, clocks, shapes."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from metaflow_config import ConfigError, ConfigWarning, load

HERE = Path(__file__).resolve().parent
Samples = dict[str, list[list[float]]]


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


def runs(bench: ModuleType, wall: Samples, cpu: Samples) -> Any:
    """The ``Runs`` of these samples."""
    return bench.Runs(wall=wall, cpu=cpu)


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


def test_a_row_shows_both_clocks_and_says_whether_its_target_is_met(bench: ModuleType) -> None:
    samples = {"resolve@50": [[1e-3, 1e-3]] * 3, "slow": [[2e-3]] * 3}
    wall = {"resolve@50": [[2e-3, 2e-3]] * 3, "slow": [[3e-3]] * 3}
    measured = runs(bench, wall, samples)
    met = bench.Row("slow", "resolve@50", "<= 2.5").render(measured)
    missed = bench.Row("slow", "resolve@50", "<= 1.5").render(measured)
    assert met[0] == "2.00 ms / 3.00 ms"
    assert met[1] == "2.00x / 1.50x"
    assert met[2] == "resolution (50 vars)"
    assert met[3] == "met (<= 2.5)"
    assert missed[3] == "NOT met (<= 1.5)"
    single = bench.Row("resolve@50", target="<= 0.5ms").render(measured)
    assert single == ("1.00 ms / 2.00 ms", "", "", "NOT met (<= 0.5ms)")


def test_verdicts_are_judged_on_cpu_time_not_wall_time(bench: ModuleType) -> None:
    """A loaded machine stretches wall time: the verdict follows the CPU ratio and median."""
    cpu = {"base": [[1.0]] * 3, "row": [[1.2]] * 3}
    wall = {"base": [[1.0]] * 3, "row": [[2.0]] * 3}  # waited for the CPU, not spent it
    assert bench.Row("row", "base", "<= 1.5").render(runs(bench, wall, cpu))[3] == "met (<= 1.5)"
    cpu, wall = wall, cpu  # a row that spends CPU in parallel: wall says less than CPU
    verdict = bench.Row("row", "base", "<= 1.5").render(runs(bench, wall, cpu))[3]
    assert verdict == "NOT met (<= 1.5)"
    fast_cpu = runs(bench, {"row": [[5e-3]]}, {"row": [[0.5e-3]]})
    assert bench.Row("row", target="<= 1ms").render(fast_cpu)[3] == "met (<= 1ms)"
    assert bench.Row("row", target=">= 10").render(runs(bench, cpu, wall))[3] == ("NOT met (>= 10)")


def test_a_memory_row_has_one_value(bench: ModuleType) -> None:
    measured = bench.Runs(kib={"rss:a": [[2048.0]], "rss:b": [[4096.0]]})
    assert bench.Row("rss:a", "rss:b", unit="kib").render(measured) == (
        "2.0 MiB",
        "0.50x",
        "rss:b",
        "",
    )


def test_only_selects_rows_by_label_key_or_section_and_measures_their_bases(
    bench: ModuleType,
) -> None:
    cliff = bench.select("cliff")
    assert {row.key for _, row in cliff} == {
        "resolve_value_changed@cliff4100",
        "resolve_value_changed@cliff4090",
    }
    assert bench.needed(cliff) == {
        "resolve_value_changed@cliff4100",
        "resolve_value_changed@cliff4090",
        "resolve_value_changed@50",
    }
    # a row continuing another ("… a list of strings") is found by the label it continues
    profiles = {row.key for _, row in bench.select("1 MiB profile")}
    assert profiles == {f"resolve@profile:{shape}" for shape in bench.PROFILE_SHAPES}
    # a section's heading selects its rows; case does not matter
    assert {row.key for _, row in bench.select("READ LATENCY")} == {
        "read_module@50",
        "read_section@50",
        "read_item@50",
        "read_compat@50",
        "read_override@50",
    }
    assert bench.select("no row is called this") == []
    assert len(bench.select(None)) == sum(row is not None for _, row in bench.ROWS)


def test_every_row_reads_samples_the_run_takes(bench: ModuleType) -> None:
    """Each key a row reads is produced by a cold, first, memory or in-process case."""
    made = {f"cold:{name}" for name in bench.COLD}
    made |= {f"first:{name}" for name in bench.FIRST}
    made |= {f"rss:{name}" for name in bench.MEMORY}
    made |= {bench.sample_key(worker, case) for worker, case, _ in bench.plan(10, quick=False)}
    read = bench.needed(bench.select(None))
    assert read <= made, sorted(read - made)
    assert {row.base for _, row in bench.select(None) if row.base} <= set(bench.LABELS)
    assert {worker for worker, _, _ in bench.plan(10, quick=False)} <= set(bench.WORKERS)


def test_the_report_has_the_header_line_and_leaves_out_rows_not_measured(
    bench: ModuleType,
) -> None:
    info = bench.machine("0.5", "1.5")
    head = bench.header(info)
    assert info["python"].split(" ")[0] in head
    assert f"{os.cpu_count()} CPUs" in head
    assert "load average 0.5 before, 1.5 after" in head
    assert "judged on CPU time" in head
    measured = runs(bench, {"resolve@50": [[1e-4]]}, {"resolve@50": [[1e-4]]})
    table = bench.report(measured, head).splitlines()
    assert table[0] == head
    assert "target (on CPU)" in table[2]
    rows = [line for line in table if line.startswith("| ")][1:]
    assert rows == [
        "| **2. Full resolution in process** | | | | |",
        "| `load()`: 153 settings, profile, 50 `METAFLOW_*` | 100.0 µs / 100.0 µs |  |  | "
        "met (<= 1ms) |",
    ]
    written = json.loads(json.dumps(bench.to_json(measured, info)))
    assert written["wall"] == {"resolve@50": [[1e-4]]}
    assert written["cpu"] == {"resolve@50": [[1e-4]]}
    assert written["machine"]["load_after"] == "1.5"


def test_a_whole_process_sample_is_its_cpu_time_beside_its_wall_time(
    bench: ModuleType, tmp_path: Path
) -> None:
    """A child's CPU time is what it spent, whatever it waited: busy, or asleep."""
    busy = "import time\nwhile time.process_time() < 0.2: pass\nprint('done')"
    wall, cpu, out = bench.run_process([sys.executable, "-c", busy], {}, tmp_path, output=True)
    assert out == "done\n"
    assert cpu >= 0.2  # it ran until it had spent that much (the interpreter's start on top)
    asleep = "import time\ntime.sleep(0.3)"
    wall, cpu, _ = bench.run_process([sys.executable, "-c", asleep], {}, tmp_path)
    assert cpu < wall / 2  # slept 0.3 s of wall time, spent a fraction of it
    with pytest.raises(RuntimeError, match="oops"):
        bench.run_process([sys.executable, "-c", "raise SystemExit('oops')"], {}, tmp_path)


@pytest.fixture(scope="module")
def shapes(bench: ModuleType) -> dict[str, str]:
    return {shape: bench.shaped_profile(shape) for shape in bench.PROFILE_SHAPES}


def test_each_profile_shape_fills_the_file_limit_and_is_what_it_says(
    bench: ModuleType, shapes: dict[str, str]
) -> None:
    for shape, text in shapes.items():
        assert bench.FILE_CAP - 25_000 < len(text.encode()) < bench.FILE_CAP, shape
    docs = {shape: json.loads(text) for shape, text in shapes.items()}
    objects = docs["object"]["METAFLOW_DATATOOLS_SESSION_VARS"]
    assert len(objects) > 10_000
    assert all(type(v) is dict and bench.json_depth(v) == 1 for v in objects.values())
    strings = docs["strings"]["METAFLOW_SPIN_ALLOWED_DECORATORS"]
    assert len(strings) > 50_000
    assert all(type(s) is str for s in strings)
    unknown = [key for key in docs["unknown"] if key not in bench.PROFILE]
    assert len(unknown) == 20_000
    deep = docs["deep"]["METAFLOW_DATATOOLS_SESSION_VARS"]
    assert bench.json_depth(deep) == bench.DEPTH_CAP


def test_each_profile_shape_is_a_valid_profile(
    bench: ModuleType, shapes: dict[str, str], tmp_path: Path
) -> None:
    """The shapes measure resolution, not an error path: every one resolves (deep: at the cap)."""
    for shape, text in shapes.items():
        home = tmp_path / shape
        home.mkdir()
        path = home / "config.json"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConfigWarning)  # the 20,000 unknown keys
            snapshot = load(env={}, home=str(home))
        assert snapshot.source("METAFLOW_DATASTORE_SYSROOT_S3") == "profile", shape
    deeper = json.loads(shapes["deep"])
    deeper["METAFLOW_DATATOOLS_SESSION_VARS"]["key-0"] = [
        deeper["METAFLOW_DATATOOLS_SESSION_VARS"]["key-0"]
    ]
    (tmp_path / "deep" / "config.json").write_text(json.dumps(deeper), encoding="utf-8")
    with pytest.raises(ConfigError, match="nested at most 64 levels"):
        load(env={}, home=str(tmp_path / "deep"))


def test_the_installed_distributions_are_found_and_register_no_section(
    bench: ModuleType, tmp_path: Path
) -> None:
    from importlib import metadata

    site = bench.install_distributions(tmp_path / "site", count=6)
    found = list(metadata.distributions(path=[str(site)]))
    assert sorted(d.metadata["Name"] for d in found) == [f"bench-empty-{i:03d}" for i in range(6)]
    groups = {ep.group for d in found for ep in d.entry_points}
    assert groups == {"console_scripts"}


def test_a_worker_reports_every_sample_on_both_clocks(bench: ModuleType, tmp_path: Path) -> None:
    """The worker protocol: n samples of each clock, a failing case reported with its error."""
    for folder in ("home", "work", "mfhome"):
        (tmp_path / folder).mkdir()
    (tmp_path / "mfhome" / "config.json").write_text(json.dumps(bench.PROFILE))
    known = bench.known_settings(tmp_path)
    assert len(known) == 50
    assert not set(known) & set(bench.PROFILE)
    worker = bench.Worker.start("50", tmp_path)
    try:
        wall, cpu = worker.run("resolve", 3)
        assert len(wall) == len(cpu) == 3
        assert all(c > 0 for c in cpu)
        wall, cpu = worker.run("resolve_value_changed", 2)
        assert len(wall) == len(cpu) == 2
        wall, cpu = worker.run("read_module", 1)
        assert len(wall) == len(cpu) == 1
        wall, cpu = worker.run("pydantic_settings", 1)  # its model declares every kind
        assert len(wall) == len(cpu) == 1
        with pytest.raises(RuntimeError, match="AttributeError"):
            worker.run("no_such_case", 1)
    finally:
        worker.stop()


def test_a_worker_that_dies_at_start_is_reported_as_such(
    bench: ModuleType, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    for folder in ("home", "work", "mfhome"):
        (tmp_path / folder).mkdir()
    (tmp_path / "mfhome" / "config.json").write_text("{not json")  # its first load() fails
    (tmp_path / "known.json").write_text("{}")
    worker = bench.Worker.start("50", tmp_path)
    worker.proc.wait(timeout=60)
    try:
        with pytest.raises(RuntimeError, match=r"worker 50 died running resolve \(status 1\)"):
            worker.run("resolve", 1)
    finally:
        worker.stop()
    assert "ConfigError" in capfd.readouterr().err  # its own traceback, on the run's stderr
