"""Benchmarks of metaflow_config side by side with Metaflow's config and pydantic-settings.

    python benchmarks/run.py                  # about five minutes; prints a Markdown table
    python benchmarks/run.py --quick          # a rough table in about half a minute
    python benchmarks/run.py --only cliff     # the rows whose label, key or section match
    python benchmarks/run.py --json out.json  # also every sample of both clocks, per round

Every contender runs in the same invocation and they interleave (A, B, C, A, B, C, ...), so a
busy machine slows all of them alike; the table reports medians and the ratios the targets are
stated in, each ratio the median of the rounds' own ratios (see ``paired_ratio``). Every sample
is taken on two clocks: CPU time (what the process itself spent: ``time.process_time`` in
process, the children's ``resource`` usage for whole processes) and wall time. Verdicts are
judged on CPU time, which a loaded machine moves far less than wall time. Nothing reads the
developer's own configuration: every process gets a clean environment whose ``METAFLOW_HOME``
is a temporary directory holding a profile file, and runs in an empty temporary working
directory.

Cold cases start a fresh interpreter per sample. First-resolution cases also start one per
sample, which times its own first ``load()``. In-process cases run in worker processes (see
``worker.py``), one per environment, each built by the OS at process start so that
``os.environ`` is the real thing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
#: Samples of one clock by contender, one list per round (a round visits every contender once).
Samples = dict[str, list[list[float]]]
PYTHON = sys.executable
#: The size limit of a profile file (README, "Files are bounded").
FILE_CAP = 1024 * 1024
#: How deep a JSON value may nest (README, "Guarantees": `MAX_JSON_DEPTH`).
DEPTH_CAP = 64

#: What the profile file holds: a typical `metaflow configure aws` result.
PROFILE = {
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DEFAULT_METADATA": "service",
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://bench-bucket/metaflow",
    "METAFLOW_SERVICE_URL": "https://metadata.example.com/api",
    "METAFLOW_SERVICE_INTERNAL_URL": "https://metadata.internal.example.com/api",
    "METAFLOW_BATCH_JOB_QUEUE": "arn:aws:batch:us-west-2:123456789012:job-queue/metaflow",
    "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/metaflow-batch",
    "METAFLOW_SFN_IAM_ROLE": "arn:aws:iam::123456789012:role/metaflow-sfn",
    "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/metaflow-events",
    "METAFLOW_SFN_DYNAMO_DB_TABLE": "metaflow-sfn-table",
}


def unknown_names(count: int) -> dict[str, str]:
    """``count`` ``METAFLOW_*`` names the table does not know (and no section registers)."""
    return {f"METAFLOW_BENCH_UNKNOWN_{i:05d}": "x" for i in range(count)}


def runtime_names(count: int) -> dict[str, str]:
    """``count`` names of a runtime family (``METAFLOW_CONDA_*``), as Metaflow's tasks carry."""
    return {f"METAFLOW_CONDA_BENCH_{i:05d}": "x" for i in range(count)}


#: Metaflow's own configuration, without metaflow-config's extension (which would replace it)
_OWN = {"METAFLOW_CONFIG_EXTENSION": "0"}

#: Each cold contender: the code a fresh interpreter runs, and variables added to its environment.
COLD: dict[str, tuple[str, dict[str, str]]] = {
    "metaflow_config": (
        "from metaflow_config import settings; settings['METAFLOW_DATATOOLS_S3ROOT']",
        {},
    ),
    "metaflow": ("import metaflow.metaflow_config", _OWN),
    "pydantic_settings": ("import pydantic_settings", {}),
    "bare": ("pass", {}),
    # the Metaflow extension is paid by every task process: `import metaflow` with and without it
    "import_metaflow:extension": ("import metaflow", {}),
    "import_metaflow:own": ("import metaflow", _OWN),
    # ... in an environment holding 1,000 METAFLOW_* names neither knows (an organisation's own)
    "import_metaflow:extension:unknown": ("import metaflow", unknown_names(1_000)),
    "import_metaflow:own:unknown": ("import metaflow", {**_OWN, **unknown_names(1_000)}),
}

#: What a fresh interpreter runs to time its own first resolution (both clocks, seconds).
FIRST_CODE = (
    "import time, warnings\n"
    "warnings.simplefilter('ignore')\n"  # unknown names warn: built, not shown
    "from metaflow_config import load\n"
    "cpu, wall = time.process_time(), time.perf_counter()\n"
    "load()\n"
    "print(time.perf_counter() - wall, time.process_time() - cpu)\n"
)
#: Each first-resolution contender: variables added to the environment, and whether its
#: ``PYTHONPATH`` entry holds 200 installed distributions (else an empty directory).
FIRST: dict[str, tuple[dict[str, str], bool]] = {
    "plain": ({}, False),
    "runtime5000": (runtime_names(5_000), False),
    "unknown1000": (unknown_names(1_000), False),
    "unknown1": (unknown_names(1), False),
    "dists200": (unknown_names(1), True),
}
#: How many installed distributions (none registering a section) the "dists200" case adds.
DISTRIBUTIONS = 200

_RSS = (
    "import re, resource\n"
    "try:\n"
    "    text = open('/proc/self/status').read()\n"
    "    kb = int(re.search(r'VmRSS:\\s+(\\d+)', text).group(1))\n"
    "except OSError:\n"
    "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
    "print(kb)\n"
)
MEMORY = {
    "metaflow_config": ("from metaflow_config import settings\nsettings.batch.job_queue\n", {}),
    "pydantic_settings": ("import pydantic_settings\n", {}),
    "metaflow": ("import metaflow.metaflow_config\n", _OWN),
    "bare": ("", {}),
}


def env_settings() -> dict[str, str]:
    """Fifty ``METAFLOW_*`` string settings (none in the profile) with plain values."""
    out = subprocess.run(
        [PYTHON, str(HERE / "worker.py"), "--string-settings"],
        check=True,
        capture_output=True,
        text=True,
    )
    forms = {name: form for name, form in json.loads(out.stdout).items() if name not in PROFILE}
    if len(forms) < KNOWN:
        msg = f"the table has {len(forms)} plain text settings a benchmark can set, not {KNOWN}"
        raise SystemExit(msg)
    return {name: forms[name].format(i) for i, name in enumerate(list(forms)[:KNOWN])}


#: How many known settings every worker's environment holds
KNOWN = 50


SECTION = """
from typing import Optional
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings

class BenchSection(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_BENCH_SECTION_")
    queue: Optional[str] = None
    center: str = "ml"
    spot: bool = False
    retries: int = 3
    label: Optional[str] = None
"""


def install_section(site: Path) -> Path:
    """A throwaway distribution registering a 5-field section in ``site`` (for PYTHONPATH)."""
    (site / "bench_section").mkdir(parents=True)
    (site / "bench_section" / "__init__.py").write_text("")
    (site / "bench_section" / "config.py").write_text(SECTION)
    info = site / "bench_section-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-section\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[metaflow_config.sections]\nbench = bench_section.config:BenchSection\n"
    )
    return site


def install_distributions(site: Path, count: int = DISTRIBUTIONS) -> Path:
    """``count`` empty installed distributions in ``site`` (for PYTHONPATH), none a section.

    Each is a ``*.dist-info`` folder and nothing else: its ``METADATA`` (name, version) and, in
    every other one, an ``entry_points.txt`` of another group, as command-line tools declare.
    """
    site.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        info = site / f"bench_empty_{i:03d}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: bench-empty-{i:03d}\nVersion: 1.0\n"
        )
        if i % 2:
            (info / "entry_points.txt").write_text(
                f"[console_scripts]\nbench-empty-{i:03d} = bench_empty_{i:03d}:main\n"
            )
    return site


def big_profile() -> dict[str, object]:
    """A profile of about 900 KB: one JSON-valued setting holding a large object."""
    vars_ = {
        f"key-{i}": {"name": f"n{i}", "items": list(range(20)), "on": True} for i in range(8300)
    }
    return {**PROFILE, "METAFLOW_DATATOOLS_SESSION_VARS": vars_}


def _nested(levels: int, tag: int) -> object:
    """A value nesting ``levels`` containers, lists and objects in turn, each with some text."""
    text = f"level text of entry {tag:06d}, kept short"
    value: object = text
    for level in range(levels):
        value = {"text": text, "next": value} if level % 2 else [text, value]
    return value


def _shape(shape: str, n: int) -> dict[str, object]:
    """The profile of ``shape`` at size parameter ``n`` (larger ``n``, larger file)."""
    if shape == "object":  # one object of small objects
        value: object = {f"key-{i}": {"name": f"n{i}", "on": True, "size": i} for i in range(n)}
        return {**PROFILE, "METAFLOW_DATATOOLS_SESSION_VARS": value}
    if shape == "strings":  # a list of strings
        return {**PROFILE, "METAFLOW_SPIN_ALLOWED_DECORATORS": [f"deco_{i:07d}" for i in range(n)]}
    if shape == "unknown":  # 20,000 keys the table does not know, values of length n
        return {**PROFILE, **dict.fromkeys(unknown_names(20_000), "x" * n)}
    if shape == "deep":  # objects nested as deep as the cap allows (the value is level 1)
        value = {f"key-{i}": _nested(DEPTH_CAP - 1, i) for i in range(n)}
        return {**PROFILE, "METAFLOW_DATATOOLS_SESSION_VARS": value}
    msg = f"unknown profile shape {shape!r}"
    raise ValueError(msg)


#: The profile shapes measured against ``json.loads`` of the same text, each just under the cap.
PROFILE_SHAPES = ("object", "strings", "unknown", "deep")


def shaped_profile(shape: str, limit: int = FILE_CAP - 1) -> str:
    """The largest profile text of ``shape`` (compact JSON) of at most ``limit`` bytes."""

    def size(n: int) -> int:
        return len(json.dumps(_shape(shape, n)).encode())

    low, high = 1, 2
    low_size, high_size = size(low), size(high)
    while high_size <= limit:
        low, high, low_size, high_size = high, high * 2, high_size, size(high * 2)
    # the size grows with n, about linearly: the last n that fits, by interpolation (and
    # bisection every other step, so that it ends in a bounded number of steps in any case)
    bisect = False
    while high - low > 1:
        if bisect:
            mid = (low + high) // 2
        else:
            mid = low + (limit - low_size) * (high - low) // (high_size - low_size)
            mid = min(max(mid, low + 1), high - 1)
        bisect = not bisect
        mid_size = size(mid)
        if mid_size <= limit:
            low, low_size = mid, mid_size
        else:
            high, high_size = mid, mid_size
    return json.dumps(_shape(shape, low))


def json_depth(value: object) -> int:
    """How many objects and lists ``value`` nests (a leaf is 0)."""
    if isinstance(value, dict):
        return 1 + max(map(json_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(json_depth, value), default=0)
    return 0


def clean_env(root: Path, unrelated: int = 0, metaflow: bool = False) -> dict[str, str]:
    """A minimal environment: PATH, LANG, a temporary HOME and METAFLOW_HOME, and filler.

    ``unrelated`` is the total number of non-``METAFLOW_*`` variables (filler pads up to it).
    """
    env = {k: os.environ[k] for k in ("PATH", "LANG", "SYSTEMROOT") if k in os.environ}
    env["HOME"] = str(root / "home")
    for i in range(max(0, unrelated - len(env))):
        env[f"BENCH_FILLER_{i:05d}"] = f"/opt/filler/{i:05d}/bin:/usr/local/bin:/usr/bin"
    env["METAFLOW_HOME"] = str(root / "mfhome")
    if metaflow:
        env.update(known_settings(root))
    return env


def known_settings(root: Path) -> dict[str, str]:
    """The 50 known settings every worker's environment holds (found once, kept in ``root``)."""
    path = root / "known.json"
    if not path.exists():
        path.write_text(json.dumps(env_settings()), encoding="utf-8")
    known: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return known


@dataclass(frozen=True)
class Spec:
    """What makes one worker's environment: its size and what is added to it."""

    unrelated: int = 50  # variables that are not METAFLOW_*
    extra: dict[str, str] = field(default_factory=dict)  # METAFLOW_* beyond the 50 known
    home: str = "mfhome"  # the folder of ``root`` that is METAFLOW_HOME (its profile)
    pythonpath: str = ""  # a folder of ``root`` put on PYTHONPATH
    extra_fields: int = 0  # settings added to the table in the worker (``extend_table``)


WORKERS: dict[str, Spec] = {
    "50": Spec(),
    # Reads are timed in three processes and pooled: on CPython 3.11 the cost of an
    # unspecialized attribute read depends on the process's string hash seed.
    "50/2": Spec(),
    "50/3": Spec(),
    "1000": Spec(unrelated=1_000),
    "10000": Spec(unrelated=10_000),
    "extended": Spec(extra_fields=1_000),
    "unknown": Spec(extra=unknown_names(50)),
    "unknown1000": Spec(extra=unknown_names(1_000)),
    "runtime": Spec(extra={f"METAFLOW_CONDA_BENCH_{i:03d}": "x" for i in range(950)}),
    "runtime5000": Spec(extra=runtime_names(5_000)),
    # the did-you-mean of runtime names is remembered in a bounded cache: just under and over
    "cliff4090": Spec(extra=runtime_names(4_090)),
    "cliff4100": Spec(extra=runtime_names(4_100)),
    "bigjson": Spec(home="bighome"),
    **{f"profile:{shape}": Spec(home=f"profile-{shape}") for shape in PROFILE_SHAPES},
    "section": Spec(
        extra={
            "METAFLOW_BENCH_SECTION_QUEUE": "gpu",
            "METAFLOW_BENCH_SECTION_CENTER": "research",
            "METAFLOW_BENCH_SECTION_SPOT": "true",
            "METAFLOW_BENCH_SECTION_RETRIES": "5",
            "METAFLOW_BENCH_SECTION_LABEL": "bench",
        },
        pythonpath="site",
    ),
}


@dataclass
class Runs:
    """Every sample of a run: by clock (``wall``, ``cpu`` seconds; ``kib`` of memory)."""

    wall: Samples = field(default_factory=dict)
    cpu: Samples = field(default_factory=dict)
    kib: Samples = field(default_factory=dict)

    def add(self, key: str, wall: list[float], cpu: list[float]) -> None:
        """One round's samples of ``key`` on both clocks."""
        self.wall.setdefault(key, []).append(wall)
        self.cpu.setdefault(key, []).append(cpu)

    def __contains__(self, key: str) -> bool:
        return key in self.wall or key in self.kib


@dataclass
class Worker:
    """A worker process (``worker.py``) and a pipe to it."""

    name: str
    proc: subprocess.Popen[str]

    @classmethod
    def start(cls, name: str, root: Path) -> Worker:
        spec = WORKERS[name]
        cmd = [PYTHON, str(HERE / "worker.py"), "--extra-fields", str(spec.extra_fields)]
        env = {**clean_env(root, spec.unrelated, metaflow=True), **spec.extra}
        env["METAFLOW_HOME"] = str(root / spec.home)
        if spec.pythonpath:
            env["PYTHONPATH"] = str(root / spec.pythonpath)
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=root / "work",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return cls(name, proc)

    def run(self, case: str, n: int) -> tuple[list[float], list[float]]:
        """``n`` samples of ``case``: (wall, CPU) seconds each."""
        stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        try:
            stdin.write(json.dumps({"case": case, "n": n}) + "\n")
            stdin.flush()
        except BrokenPipeError:  # it ended before reading a request: its stderr says why
            line = ""
        else:
            line = stdout.readline()
        if not line:
            msg = f"worker {self.name} died running {case} (status {self.proc.poll()})"
            raise RuntimeError(msg)
        reply = json.loads(line)
        if "error" in reply:
            msg = f"worker {self.name} failed running {case}:\n{reply['error']}"
            raise RuntimeError(msg)
        return [float(s) for s in reply["wall"]], [float(s) for s in reply["cpu"]]

    def stop(self) -> None:
        """End the worker (its input closed) and wait for it."""
        if self.proc.stdin:
            with contextlib.suppress(BrokenPipeError):  # it ended already
                self.proc.stdin.close()
        self.proc.wait(timeout=30)
        if self.proc.stdout:
            self.proc.stdout.close()


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(
    argv: list[str], env: dict[str, str], cwd: Path, *, output: bool = False
) -> tuple[float, float, str]:
    """Run ``argv`` to its end: (wall seconds, its CPU seconds, its output if ``output``).

    What it writes to stderr (the warnings a contender shows) is kept off the table, and shown
    if it fails.
    """
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        check=False,
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    cpu = children_cpu() - cpu
    if done.returncode:
        msg = f"{argv} failed (status {done.returncode}):\n{done.stderr}"
        raise RuntimeError(msg)
    return wall, cpu, done.stdout or ""


def cold(root: Path, rounds: int, runs: Runs, wanted: Callable[[str], bool]) -> None:
    """Fresh interpreters, one per sample, contenders in turn (each child's CPU time)."""
    env = clean_env(root)
    contenders = {k: v for k, v in COLD.items() if wanted("cold:" + k)}
    for r in range(rounds + 1):
        for name, (code, extra) in contenders.items():
            wall, cpu, _ = run_process([PYTHON, "-c", code], {**env, **extra}, root / "work")
            if r:  # the first round warms the OS caches and writes bytecode
                runs.add("cold:" + name, [wall], [cpu])


def first(root: Path, rounds: int, runs: Runs, wanted: Callable[[str], bool]) -> None:
    """Fresh interpreters timing their own first ``load()``, contenders in turn."""
    env = clean_env(root, metaflow=True)
    contenders = {k: v for k, v in FIRST.items() if wanted("first:" + k)}
    for r in range(rounds + 1):
        for name, (extra, dists) in contenders.items():
            path = str(root / ("dists" if dists else "nodists"))
            _, _, out = run_process(
                [PYTHON, "-c", FIRST_CODE],
                {**env, **extra, "PYTHONPATH": path},
                root / "work",
                output=True,
            )
            wall, cpu = map(float, out.split())
            if r:
                runs.add("first:" + name, [wall], [cpu])


def memory(root: Path, rounds: int, runs: Runs, wanted: Callable[[str], bool]) -> None:
    """Resident set size (KiB) of a fresh interpreter after each contender's import."""
    env = clean_env(root)
    contenders = {k: v for k, v in MEMORY.items() if wanted("rss:" + k)}
    for _ in range(rounds):
        for name, (code, extra) in contenders.items():
            _, _, out = run_process(
                [PYTHON, "-c", code + _RSS], {**env, **extra}, root / "work", output=True
            )
            runs.kib.setdefault("rss:" + name, []).append([float(out.strip())])


def plan(batch: int, quick: bool) -> list[tuple[str, str, int]]:
    """The in-process cases of one round: (worker, case, samples), visited in this order."""
    few = max(1, batch // 5)
    cases: list[tuple[str, str, int]] = [
        ("50", "resolve", batch),
        ("50", "pydantic_settings", few),
        ("50", "metaflow_reload", batch),
        ("1000", "resolve", batch),
        ("10000", "resolve", batch),
        ("50", "resolve_changed", batch),
        ("10000", "resolve_changed", batch),
        ("extended", "resolve", batch),
        ("unknown", "resolve", batch),
        ("unknown", "resolve_without_sections", batch),
        ("unknown1000", "resolve", batch),
        ("runtime", "resolve", batch),
        ("runtime5000", "resolve", batch),
        ("50", "resolve_value_changed", batch),
        # a few: over the cliff each costs tens of milliseconds
        ("cliff4090", "resolve_value_changed", few),
        ("cliff4100", "resolve_value_changed", few),
        ("bigjson", "resolve", few),
        ("bigjson", "json_loads", few),
        *(
            (f"profile:{shape}", case, max(1, batch // 10))
            for shape in PROFILE_SHAPES
            for case in ("resolve", "json_loads")
        ),
        ("section", "resolve_section", batch),
        ("50", "override_1", batch),
        ("50", "override_3", batch),
        ("50", "override_nested", few),
        ("50", "to_env", batch),
        *(
            (worker, f"read_{what}", 2)
            for worker in ("50", "50/2", "50/3")
            for what in ("module", "section", "item", "compat", "override")
        ),
    ]
    if not quick:
        cases.append(("10000", "pydantic_settings", 1))
    return cases


def sample_key(worker: str, case: str) -> str:
    """The key of a case's samples (the pooled read workers 50/2 and 50/3 count as 50)."""
    return f"{case}@{worker.split('/', maxsplit=1)[0]}"


def in_process(
    root: Path,
    rounds: int,
    batch: int,
    runs: Runs,
    *,
    quick: bool,
    wanted: Callable[[str], bool],
) -> None:
    """Every in-process case, the workers and their cases visited in turn each round."""
    cases = [c for c in plan(batch, quick) if wanted(sample_key(c[0], c[1]))]
    workers: dict[str, Worker] = {}
    try:
        for name in dict.fromkeys(worker for worker, _, _ in cases):
            workers[name] = Worker.start(name, root)
        for r in range(rounds + 1):
            for worker, case, n in cases:
                wall, cpu = workers[worker].run(case, n)
                if r:  # round 0 warms up: imports, validators, caches
                    runs.add(sample_key(worker, case), wall, cpu)
    finally:
        for w in workers.values():
            w.stop()


def _write_private(path: Path, text: str) -> None:
    """Write a profile file readable by its owner only (some hold a secret setting)."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def prepare(root: Path) -> None:
    for folder in ("home", "work", "mfhome", "bighome", "nodists"):
        (root / folder).mkdir()
    (root / "mfhome" / "config.json").write_text(json.dumps(PROFILE, indent=2), encoding="utf-8")
    _write_private(root / "bighome" / "config.json", json.dumps(big_profile()))
    for shape in PROFILE_SHAPES:
        (root / f"profile-{shape}").mkdir()
        _write_private(root / f"profile-{shape}" / "config.json", shaped_profile(shape))
    install_section(root / "site")
    install_distributions(root / "dists")


# -- report ------------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e9:.1f} ns"


def median(rounds: list[list[float]]) -> float:
    """The median of every sample of every round."""
    return statistics.median(x for samples in rounds for x in samples)


def paired_ratio(rounds: list[list[float]], bases: list[list[float]]) -> float:
    """``rounds``' cost in multiples of ``bases``': the median of the rounds' own ratios.

    Each round's median against its base's median in the same round, taken side by side: a
    slow phase of the machine (this VM has bursts of about 2x) slows both alike and cancels
    out, where a ratio of overall medians would mix phases. Contenders not visited in the same
    rounds fall back to the ratio of their medians.
    """
    if len(rounds) != len(bases):
        return median(rounds) / median(bases)
    ratios = [statistics.median(a) / statistics.median(b) for a, b in zip(rounds, bases)]
    return statistics.median(ratios)


@dataclass
class Row:
    """One line of the table: a measurement, optionally against a baseline, with a target.

    The target is judged on CPU time: ``"<= 0.8"`` or ``">= 10"`` on the CPU ratio, ``"<= 1ms"``
    on the CPU median. Memory rows (``unit="kib"``) have one value and no clocks.
    """

    key: str
    base: str = ""
    target: str = ""
    unit: str = "time"

    def reads(self) -> tuple[str, ...]:
        """The samples this row reads."""
        return (self.key, self.base) if self.base else (self.key,)

    def render(self, runs: Runs) -> tuple[str, str, str, str]:
        """The row's cells: medians, ratios, what the ratios are of, and the verdict."""
        if self.unit == "kib":
            value = median(runs.kib[self.key])
            ratio = paired_ratio(runs.kib[self.key], runs.kib[self.base]) if self.base else 0.0
            shown = f"{value / 1024:.1f} MiB"
            ratios = f"{ratio:.2f}x" if self.base else ""
            return shown, ratios, self.label(), self._verdict(value, ratio)
        cpu, wall = median(runs.cpu[self.key]), median(runs.wall[self.key])
        shown = f"{fmt_time(cpu)} / {fmt_time(wall)}"
        if not self.base:
            return shown, "", "", self._verdict(cpu, 0.0)
        cpu_ratio = paired_ratio(runs.cpu[self.key], runs.cpu[self.base])
        wall_ratio = paired_ratio(runs.wall[self.key], runs.wall[self.base])
        ratios = f"{cpu_ratio:.2f}x / {wall_ratio:.2f}x"
        return shown, ratios, self.label(), self._verdict(cpu, cpu_ratio)

    def label(self) -> str:
        """What the ratios are of: the base's label (its key if it has none)."""
        return LABELS.get(self.base, self.base)

    def _verdict(self, value: float, ratio: float) -> str:
        if not self.target:
            return ""
        op, limit = self.target.split(" ", 1)
        if limit.endswith("ms"):
            measured, bound = value * 1e3, float(limit[: -len("ms")])
        else:
            measured, bound = ratio, float(limit)
        ok = measured <= bound if op == "<=" else measured >= bound
        return ("met" if ok else "NOT met") + f" ({op} {limit})"


LABELS = {
    "cold:metaflow": "`import metaflow.metaflow_config`",
    "cold:pydantic_settings": "`import pydantic_settings`",
    "cold:bare": "bare interpreter",
    "cold:import_metaflow:own": "`import metaflow` with `METAFLOW_CONFIG_EXTENSION=0`",
    "cold:import_metaflow:own:unknown": "the same with `METAFLOW_CONFIG_EXTENSION=0`",
    "first:plain": "a first resolution (50 known)",
    "resolve@50": "resolution (50 vars)",
    "pydantic_settings@50": "plain `BaseSettings()`",
    "metaflow_reload@50": "Metaflow re-resolution",
    "resolve_changed@50": "resolution after env change (50 vars)",
    "resolve_value_changed@50": "the same with 50 known",
    "resolve_value_changed@cliff4090": "the same with 4,090",
    "read_module@50": "module attribute",
    "json_loads@bigjson": "`json.loads` of the same file",
    **{f"json_loads@profile:{shape}": "`json.loads` of the same file" for shape in PROFILE_SHAPES},
    "override_1@50": "one scope",
    "resolve_without_sections@unknown": "the same with sections switched off",
    "rss:pydantic_settings": "`import pydantic_settings`",
    "rss:bare": "bare interpreter",
}

#: The table: section headings (``None`` for a row) and rows, in order.
ROWS: list[tuple[str, Row | None]] = [
    ("1. Cold whole-process read", None),
    (
        "`from metaflow_config import settings; settings[...]`",
        Row("cold:metaflow_config", "cold:metaflow", "<= 0.8"),
    ),
    ("", Row("cold:metaflow_config", "cold:pydantic_settings", "<= 1.15")),
    ("", Row("cold:metaflow_config", "cold:bare")),
    ("`import metaflow.metaflow_config`", Row("cold:metaflow")),
    ("`import pydantic_settings`", Row("cold:pydantic_settings")),
    ("bare interpreter (`pass`)", Row("cold:bare")),
    (
        "`import metaflow` with the extension (every task pays it)",
        Row("cold:import_metaflow:extension", "cold:import_metaflow:own", "<= 1.05"),
    ),
    ("`import metaflow`, `METAFLOW_CONFIG_EXTENSION=0`", Row("cold:import_metaflow:own")),
    (
        "… with 1,000 unknown `METAFLOW_*` names in the environment",
        Row(
            "cold:import_metaflow:extension:unknown", "cold:import_metaflow:own:unknown", "<= 1.05"
        ),
    ),
    (
        "… the same, `METAFLOW_CONFIG_EXTENSION=0`",
        Row("cold:import_metaflow:own:unknown", "cold:import_metaflow:own"),
    ),
    ("2. Full resolution in process", None),
    ("`load()`: 153 settings, profile, 50 `METAFLOW_*`", Row("resolve@50", target="<= 1ms")),
    (
        "plain pydantic-settings `BaseSettings()`, same fields",
        Row("pydantic_settings@50", "resolve@50", ">= 10"),
    ),
    ("Metaflow: reload `metaflow.metaflow_config`", Row("metaflow_reload@50", "resolve@50")),
    ("3. Scaling", None),
    ("`load()` with 1,000 unrelated env vars", Row("resolve@1000", "resolve@50")),
    ("`load()` with 10,000 unrelated env vars", Row("resolve@10000", "resolve@50", "<= 2")),
    (
        "… 50 vars, first resolution after the env changed",
        Row("resolve_changed@50", "resolve@50"),
    ),
    (
        "… 10,000 vars, first resolution after the env changed (a measurement: the C scan)",
        Row("resolve_changed@10000", "resolve_changed@50"),
    ),
    (
        "`load()`, 50 known + 50 unknown `METAFLOW_*`",
        Row("resolve@unknown", "resolve@50", "<= 1.5"),
    ),
    (
        "… the same, no section registered",
        Row("resolve@unknown", "resolve_without_sections@unknown", "<= 1.05"),
    ),
    (
        "… the same with sections switched off (a benchmark stub: no registry lookup)",
        Row("resolve_without_sections@unknown"),
    ),
    (
        "`load()`, 50 known + 950 `METAFLOW_CONDA_*` (a runtime family)",
        Row("resolve@runtime", "resolve@50", "<= 1.5"),
    ),
    ("`load()` with the table extended by 1,000 fields", Row("resolve@extended", "resolve@50")),
    (
        "plain `BaseSettings()` with 10,000 unrelated env vars",
        Row("pydantic_settings@10000", "pydantic_settings@50"),
    ),
    ("4. Input shapes: warm process and a process's first resolution", None),
    (
        "`load()`, 50 known + 5,000 `METAFLOW_CONDA_*`, warm",
        Row("resolve@runtime5000", "resolve@50", "<= 1.5"),
    ),
    (
        "… a fresh interpreter's first `load()`",
        Row("first:runtime5000", "first:plain", "<= 1.5"),
    ),
    (
        "`load()`, 50 known + 1,000 unknown `METAFLOW_*`, warm",
        Row("resolve@unknown1000", "resolve@50", "<= 1.5"),
    ),
    (
        "… a fresh interpreter's first `load()`",
        Row("first:unknown1000", "first:plain", "<= 1.5"),
    ),
    (
        "first `load()`, one unknown name, 200 installed distributions without a section",
        Row("first:dists200", "first:plain", "<= 1.5"),
    ),
    (
        "… one unknown name, the environment's own distributions (a measurement)",
        Row("first:unknown1", "first:plain"),
    ),
    ("a fresh interpreter's first `load()`, 50 known", Row("first:plain")),
    (
        "`load()` after a known variable changed, 50 known + 4,100 `METAFLOW_CONDA_*`",
        Row("resolve_value_changed@cliff4100", "resolve_value_changed@cliff4090", "<= 1.5"),
    ),
    (
        "… 4,090 `METAFLOW_CONDA_*` (a measurement)",
        Row("resolve_value_changed@cliff4090", "resolve_value_changed@50"),
    ),
    ("… 50 known alone", Row("resolve_value_changed@50")),
    ("5. Read latency", None),
    ("plain module attribute", Row("read_module@50")),
    ("`settings.batch.job_queue`", Row("read_section@50", "read_module@50", "<= 3")),
    ('`settings["METAFLOW_BATCH_JOB_QUEUE"]`', Row("read_item@50", "read_module@50")),
    ("`compat.BATCH_JOB_QUEUE`", Row("read_compat@50", "read_module@50")),
    ("`settings.batch.job_queue` inside `override`", Row("read_override@50", "read_module@50")),
    ("6. Override scopes and large values", None),
    ("entering an `override()` with one value", Row("override_1@50", "resolve@50", "<= 0.15")),
    (
        "… with three values (one a root others derive from)",
        Row("override_3@50", "resolve@50", "<= 0.15"),
    ),
    ("… 100 nested scopes, per scope", Row("override_nested@50", "override_1@50")),
    (
        "`load()` with a 900 KB profile (one large JSON value)",
        Row("resolve@bigjson", "json_loads@bigjson", "<= 3"),
    ),
    ("`json.loads` of that profile file", Row("json_loads@bigjson")),
    (
        "`load()`, a 1 MiB profile: one object of small objects",
        Row("resolve@profile:object", "json_loads@profile:object", "<= 3"),
    ),
    (
        "… a list of strings",
        Row("resolve@profile:strings", "json_loads@profile:strings", "<= 3"),
    ),
    (
        "… 20,000 unknown keys",
        Row("resolve@profile:unknown", "json_loads@profile:unknown", "<= 3"),
    ),
    (
        f"… objects and lists nested {DEPTH_CAP} deep (the cap)",
        Row("resolve@profile:deep", "json_loads@profile:deep", "<= 3"),
    ),
    (
        "`load()` + a registered 5-field section set from the environment",
        Row("resolve_section@section", "resolve@50", "<= 2"),
    ),
    ("7. Export and memory", None),
    ('`settings.to_env("batch")`', Row("to_env@50", target="<= 0.2ms")),
    (
        "RSS after resolution",
        Row("rss:metaflow_config", "rss:pydantic_settings", unit="kib"),
    ),
    ("RSS after `import pydantic_settings`", Row("rss:pydantic_settings", unit="kib")),
    ("RSS after `import metaflow.metaflow_config`", Row("rss:metaflow", unit="kib")),
    ("RSS of a bare interpreter", Row("rss:bare", unit="kib")),
]


def select(pattern: str | None) -> list[tuple[str, Row]]:
    """The rows (with their section) whose label, keys or section match ``pattern``.

    ``pattern`` is a regular expression searched case-insensitively; ``None`` selects every
    row. A row continuing the one above (a label starting with ``…`` or empty) is matched on
    that row's label too.
    """
    found = re.compile(pattern, re.IGNORECASE).search if pattern else None
    chosen: list[tuple[str, Row]] = []
    section = lead = ""
    for what, row in ROWS:
        if row is None:
            section = what
            continue
        if what and not what.startswith("…"):
            lead = what
        text = " ".join((section, lead, what, *row.reads()))
        if found is None or found(text):
            chosen.append((section, row))
    return chosen


def needed(rows: Iterable[tuple[str, Row]]) -> set[str]:
    """Every sample key the rows read (what the run must measure)."""
    return {key for _, row in rows for key in row.reads()}


def machine(before: str, after: str) -> dict[str, str]:
    """Where the run was measured: the Python, the machine, and the load before and after."""
    return {
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
        "load_before": before,
        "load_after": after,
    }


def header(info: dict[str, str]) -> str:
    """The line above the table: where and under what load it was measured, how it is judged."""
    return (
        f"Python {info['python']} on {info['platform']} ({info['machine']}), {info['cpus']} "
        f"CPUs; load average {info['load_before']} before, {info['load_after']} after. Medians "
        "and ratios are CPU time / wall time; targets are judged on CPU time."
    )


def report(runs: Runs, head: str, rows: list[tuple[str, Row]] | None = None) -> str:
    """The Markdown table (the header line above it; rows without samples are left out)."""
    chosen = {id(row) for _, row in (select(None) if rows is None else rows)}
    lines = [
        head,
        "",
        "| measurement | median, CPU / wall | ratio, CPU / wall | of | target (on CPU) |",
        "|---|---:|---:|---|---|",
    ]
    heading = ""
    for what, row in ROWS:
        if row is None:
            heading = what
            continue
        if id(row) not in chosen or not all(k in runs for k in row.reads()):
            continue
        if heading:
            lines.append(f"| **{heading}** | | | | |")
            heading = ""
        lines.append("| " + " | ".join((what, *row.render(runs))) + " |")
    counts = [sum(map(len, r)) for clock in (runs.wall, runs.kib) for r in clock.values()]
    lines.append("")
    lines.append(
        f"Medians of {min(counts, default=0)} to {max(counts, default=0)} samples each (ratios: "
        "the median of each round's, against its base in the same round)."
    )
    return "\n".join(lines)


def load_average() -> str:
    """The 1-minute load average, or ``n/a`` where the OS does not tell."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # not on Windows
        return "n/a"


def to_json(runs: Runs, info: dict[str, str]) -> dict[str, Any]:
    """What ``--json`` writes: where it ran, and per-round samples of each clock by key."""
    return {"machine": info, "wall": runs.wall, "cpu": runs.cpu, "kib": runs.kib}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (rough)")
    parser.add_argument("--json", metavar="PATH", help="also write every sample of both clocks")
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        help="run the rows whose label, sample key or section match (a regular expression)",
    )
    args = parser.parse_args(argv)
    rows = select(args.only)
    if not rows:
        parser.error(f"--only {args.only!r} matches no row")
    keys = needed(rows)
    wanted = keys.__contains__
    cold_rounds, mem_rounds, rounds, batch = (3, 1, 3, 10) if args.quick else (30, 5, 40, 20)
    runs = Runs()
    before = load_average()
    with tempfile.TemporaryDirectory(prefix="mfc-bench-") as tmp:
        root = Path(tmp)
        prepare(root)
        stages: list[tuple[str, Callable[[], None]]] = [
            ("cold processes", lambda: cold(root, cold_rounds, runs, wanted)),
            ("first resolutions", lambda: first(root, cold_rounds, runs, wanted)),
            ("memory", lambda: memory(root, mem_rounds, runs, wanted)),
            (
                "in process",
                lambda: in_process(root, rounds, batch, runs, quick=args.quick, wanted=wanted),
            ),
        ]
        for what, stage in stages:
            print(f"{what}...", end="", file=sys.stderr, flush=True)
            start = time.perf_counter()
            stage()
            print(f" {time.perf_counter() - start:.0f} s", file=sys.stderr)
    info = machine(before, load_average())
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(runs, info)), encoding="utf-8")
    print(report(runs, header(info), rows))


if __name__ == "__main__":
    main()
