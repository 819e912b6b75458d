"""Benchmarks of metaflow_config side by side with Metaflow's config and pydantic-settings.

    python benchmarks/run.py            # about two minutes; prints a Markdown table
    python benchmarks/run.py --quick    # a rough table in about half a minute

Every contender runs in the same invocation and they interleave (A, B, C, A, B, C, ...), so a
busy machine slows all of them alike; the table reports medians and the ratios the targets are
stated in, each ratio the median of the rounds' own ratios (see ``paired_ratio``). Nothing
reads the developer's own configuration: every process gets a clean environment whose
``METAFLOW_HOME`` is a temporary directory holding a profile file, and runs in an empty
temporary working directory.

Cold cases start a fresh interpreter per sample. In-process cases run in worker processes (see
``worker.py``), one per environment size, each built by the OS at process start so that
``os.environ`` is the real thing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
#: Samples by contender, one list per round (a round visits every contender once, in turn).
Samples = dict[str, list[list[float]]]
PYTHON = sys.executable

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
}

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
    sys.path.insert(0, str(HERE.parent))
    from metaflow_config._model.kinds import STR
    from metaflow_config._model.table import FIELDS

    names = [f.env for f in FIELDS if f.kind is STR and f.env not in PROFILE and f.name != "USER"]
    return {name: f"bench-{i}" for i, name in enumerate(names[:50])}


#: what some workers add to the environment: unknown keys, a runtime family, a large profile
EXTRA_ENV: dict[str, dict[str, str]] = {
    "unknown": {f"METAFLOW_BENCH_UNKNOWN_{i:02d}": "x" for i in range(50)},
    "runtime": {f"METAFLOW_CONDA_BENCH_{i:03d}": "x" for i in range(950)},
    "section": {
        "METAFLOW_BENCH_SECTION_QUEUE": "gpu",
        "METAFLOW_BENCH_SECTION_CENTER": "research",
        "METAFLOW_BENCH_SECTION_SPOT": "true",
        "METAFLOW_BENCH_SECTION_RETRIES": "5",
        "METAFLOW_BENCH_SECTION_LABEL": "bench",
    },
}


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


def install_section(root: Path) -> Path:
    """A throwaway distribution registering a 5-field section; the folder to put on PYTHONPATH."""
    site = root / "site"
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


def big_profile() -> dict[str, object]:
    """A profile of about 900 KB: one JSON-valued setting holding a large object."""
    vars_ = {
        f"key-{i}": {"name": f"n{i}", "items": list(range(20)), "on": True} for i in range(8300)
    }
    return {**PROFILE, "METAFLOW_DATATOOLS_SESSION_VARS": vars_}


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
        env.update(env_settings())
    return env


@dataclass
class Worker:
    """A worker process (``worker.py``) and a pipe to it."""

    name: str
    proc: subprocess.Popen[str]

    @classmethod
    def start(cls, name: str, root: Path, unrelated: int, extra_fields: int = 0) -> Worker:
        cmd = [PYTHON, str(HERE / "worker.py"), "--extra-fields", str(extra_fields)]
        env = {**clean_env(root, unrelated, metaflow=True), **EXTRA_ENV.get(name, {})}
        if name == "bigjson":
            env["METAFLOW_HOME"] = str(root / "bighome")
        if name == "section":
            env["PYTHONPATH"] = str(root / "site")
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=root / "work",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return cls(name, proc)

    def run(self, case: str, n: int) -> list[float]:
        stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        stdin.write(json.dumps({"case": case, "n": n}) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            msg = f"worker {self.name} died running {case}"
            raise RuntimeError(msg)
        reply = json.loads(line)
        if "error" in reply:
            msg = f"worker {self.name} failed running {case}:\n{reply['error']}"
            raise RuntimeError(msg)
        return [float(s) for s in reply["samples"]]

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def cold(root: Path, rounds: int, samples: Samples) -> None:
    """Fresh interpreters, one per sample, contenders in turn."""
    env = clean_env(root)
    for r in range(rounds + 1):
        for name, (code, extra) in COLD.items():
            start = time.perf_counter()
            subprocess.run(
                [PYTHON, "-c", code], env={**env, **extra}, cwd=root / "work", check=True
            )
            elapsed = time.perf_counter() - start
            if r:  # the first round warms the OS caches and writes bytecode
                samples.setdefault("cold:" + name, []).append([elapsed])


def memory(root: Path, rounds: int, samples: Samples) -> None:
    """Resident set size (KiB) of a fresh interpreter after each contender's import."""
    env = clean_env(root)
    for _ in range(rounds):
        for name, (code, extra) in MEMORY.items():
            out = subprocess.run(
                [PYTHON, "-c", code + _RSS],
                env={**env, **extra},
                cwd=root / "work",
                check=True,
                capture_output=True,
                text=True,
            )
            samples.setdefault("rss:" + name, []).append([float(out.stdout.strip())])


def in_process(root: Path, rounds: int, batch: int, samples: Samples, quick: bool) -> None:
    """Every in-process case, the workers and their cases visited in turn each round."""
    workers = {
        "50": Worker.start("50", root, 50),
        # Reads are timed in three processes and pooled: on CPython 3.11 the cost of an
        # unspecialized attribute read depends on the process's string hash seed.
        "50/2": Worker.start("50/2", root, 50),
        "50/3": Worker.start("50/3", root, 50),
        "1000": Worker.start("1000", root, 1_000),
        "10000": Worker.start("10000", root, 10_000),
        "extended": Worker.start("extended", root, 50, extra_fields=1_000),
        "unknown": Worker.start("unknown", root, 50),
        "runtime": Worker.start("runtime", root, 50),
        "bigjson": Worker.start("bigjson", root, 50),
        "section": Worker.start("section", root, 50),
    }
    plan: list[tuple[str, str, int]] = [
        ("50", "resolve", batch),
        ("50", "pydantic_settings", max(1, batch // 5)),
        ("50", "metaflow_reload", batch),
        ("1000", "resolve", batch),
        ("10000", "resolve", batch),
        ("50", "resolve_changed", batch),
        ("10000", "resolve_changed", batch),
        ("extended", "resolve", batch),
        ("unknown", "resolve", batch),
        ("unknown", "resolve_without_sections", batch),
        ("runtime", "resolve", batch),
        ("bigjson", "resolve", max(1, batch // 5)),
        ("bigjson", "json_loads", max(1, batch // 5)),
        ("section", "resolve_section", batch),
        ("50", "override_1", batch),
        ("50", "override_3", batch),
        ("50", "override_nested", max(1, batch // 5)),
        ("50", "to_env", batch),
        *(
            (worker, f"read_{what}", 2)
            for worker in ("50", "50/2", "50/3")
            for what in ("module", "section", "item", "compat", "override")
        ),
    ]
    if not quick:
        plan.append(("10000", "pydantic_settings", 1))
    try:
        for r in range(rounds + 1):
            for worker, case, n in plan:
                got = workers[worker].run(case, n)
                if r:  # round 0 warms up: imports, validators, caches
                    size = worker.split("/")[0]  # 50/2 and 50/3 pool with 50
                    samples.setdefault(f"{case}@{size}", []).append(got)
    finally:
        for w in workers.values():
            w.stop()


def prepare(root: Path) -> None:
    (root / "home").mkdir()
    (root / "work").mkdir()
    (root / "mfhome").mkdir()
    (root / "mfhome" / "config.json").write_text(json.dumps(PROFILE, indent=2), encoding="utf-8")
    (root / "bighome").mkdir()
    big = root / "bighome" / "config.json"
    big.write_text(json.dumps(big_profile()), encoding="utf-8")
    big.chmod(0o600)  # it holds a secret setting
    install_section(root)


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
    """One line of the table: a measurement, optionally against a baseline, with a target."""

    key: str
    base: str = ""
    target: str = ""  # e.g. "<= 0.8", ">= 10" (on the ratio) or "<= 1 ms" (on the median)
    unit: str = "time"

    def render(self, samples: Samples) -> tuple[str, str, str]:
        value = median(samples[self.key])
        shown = f"{value / 1024:.1f} MiB" if self.unit == "kib" else fmt_time(value)
        ratio = paired_ratio(samples[self.key], samples[self.base]) if self.base else 0.0
        verdict = ""
        if self.target:
            op, limit = self.target.split(" ", 1)
            if limit.endswith("ms"):
                measured, bound = value * 1e3, float(limit.removesuffix("ms"))
            else:
                measured, bound = ratio, float(limit)
            ok = measured <= bound if op == "<=" else measured >= bound
            verdict = ("met" if ok else "NOT met") + f" ({op} {limit})"
        return (shown, self.base and f"{ratio:.2f}x of {LABELS[self.base]}", verdict)


LABELS = {
    "cold:metaflow": "`import metaflow.metaflow_config`",
    "cold:pydantic_settings": "`import pydantic_settings`",
    "cold:bare": "bare interpreter",
    "cold:import_metaflow:own": "`import metaflow` with `METAFLOW_CONFIG_EXTENSION=0`",
    "resolve@50": "resolution (50 vars)",
    "pydantic_settings@50": "plain `BaseSettings()`",
    "metaflow_reload@50": "Metaflow re-resolution",
    "resolve_changed@50": "resolution after env change (50 vars)",
    "read_module@50": "module attribute",
    "json_loads@bigjson": "`json.loads` of the same file",
    "override_1@50": "one scope",
    "resolve_without_sections@unknown": "the same with sections switched off",
    "rss:pydantic_settings": "`import pydantic_settings`",
    "rss:bare": "bare interpreter",
}

ROWS = [
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
        Row("cold:import_metaflow:extension", "cold:import_metaflow:own", "<= 1.15"),
    ),
    ("`import metaflow`, `METAFLOW_CONFIG_EXTENSION=0`", Row("cold:import_metaflow:own")),
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
    ("4. Read latency", None),
    ("plain module attribute", Row("read_module@50")),
    ("`settings.batch.job_queue`", Row("read_section@50", "read_module@50", "<= 3")),
    ('`settings["METAFLOW_BATCH_JOB_QUEUE"]`', Row("read_item@50", "read_module@50")),
    ("`compat.BATCH_JOB_QUEUE`", Row("read_compat@50", "read_module@50")),
    ("`settings.batch.job_queue` inside `override`", Row("read_override@50", "read_module@50")),
    ("5. Override scopes and large values", None),
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
        "`load()` + a registered 5-field section set from the environment",
        Row("resolve_section@section", "resolve@50", "<= 2"),
    ),
    ("6. Export and memory", None),
    ('`settings.to_env("batch")`', Row("to_env@50", target="<= 0.2ms")),
    (
        "RSS after resolution",
        Row("rss:metaflow_config", "rss:pydantic_settings", unit="kib"),
    ),
    ("RSS after `import pydantic_settings`", Row("rss:pydantic_settings", unit="kib")),
    ("RSS after `import metaflow.metaflow_config`", Row("rss:metaflow", unit="kib")),
    ("RSS of a bare interpreter", Row("rss:bare", unit="kib")),
]


def report(samples: Samples, load: str) -> str:
    """The Markdown table of medians and ratios (rows whose samples are missing are left out)."""
    lines = ["| measurement | median | ratio | target |", "|---|---:|---|---|"]
    for what, row in ROWS:
        if row is None:
            lines.append(f"| **{what}** | | | |")
        elif row.key in samples:
            lines.append("| " + " | ".join((what, *row.render(samples))) + " |")
    counts = [sum(map(len, rounds)) for rounds in samples.values()]
    lines.append("")
    lines.append(
        f"Medians of {min(counts)} to {max(counts)} samples each (ratios: the median of each "
        "round's, against its base in the same round); Python "
        f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"load average {load}."
    )
    return "\n".join(lines)


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # not on Windows
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (rough)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw samples here")
    args = parser.parse_args()
    cold_rounds, mem_rounds, rounds, batch = (6, 2, 6, 10) if args.quick else (30, 5, 40, 20)
    samples: Samples = {}
    before = _load()
    with tempfile.TemporaryDirectory(prefix="mfc-bench-") as tmp:
        root = Path(tmp)
        prepare(root)
        print(f"cold processes ({cold_rounds} rounds)...", file=sys.stderr)
        cold(root, cold_rounds, samples)
        print(f"memory ({mem_rounds} rounds)...", file=sys.stderr)
        memory(root, mem_rounds, samples)
        print(f"in process ({rounds} rounds)...", file=sys.stderr)
        in_process(root, rounds, batch, samples, args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(samples), encoding="utf-8")
    print(report(samples, f"{before} before, {_load()} after"))


if __name__ == "__main__":
    main()
