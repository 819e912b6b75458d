"""One benchmark process: runs named cases on request and reports per-sample times in seconds.

``run.py`` starts one worker per environment (50, 1,000 or 10,000 unrelated variables; unknown
or runtime-family names; a large profile; the table extended by extra fields) with a real
``os.environ`` built by the OS at process start, then asks each worker in turn for a small batch
of samples of one case, so that contenders interleave.

Protocol: one JSON request per line on stdin, ``{"case": "resolve", "n": 10}``; one JSON reply
per line on stdout, ``{"wall": [seconds, ...], "cpu": [seconds, ...]}``, sample by sample (or
``{"error": "..."}``). Wall time is ``time.perf_counter``; CPU time is ``time.process_time``
(this process's user + system time), read outside the wall clock's reads so that wall samples
carry no cost of the CPU clock.

``python worker.py --string-settings`` prints the table's plain text settings and the form of
their values (JSON), from which ``run.py`` picks the 50 known variables every worker's
environment holds.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import sys
import time
import timeit
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import metaflow_config
import metaflow_config.compat as compat
from metaflow_config import load, override, settings

# A plain module attribute: the baseline of the read-latency cases.
constants = types.ModuleType("constants")
constants.BATCH_JOB_QUEUE = "bench-queue"  # type: ignore[attr-defined]

#: Every private module of metaflow_config the benchmarks reach into, by what it holds: the one
#: place to repoint when the package's private modules move.
PRIVATE = {
    "fields": "metaflow_config._model.fields",  # setting(), Section: how the table declares
    "kinds": "metaflow_config._model.kinds",  # STR and the other kinds (BaseSettings maps them)
    "table": "metaflow_config._model.table",  # FIELDS, SECTIONS, BY_NAME, BY_ENV
    "derive": "metaflow_config._resolve.derive",  # DEFAULTS: each setting's default
    "validate": "metaflow_config._resolve.validate",  # the validators' caches
    "settings": "metaflow_config._snapshot.settings",  # _SECTION_CLASSES: a snapshot's sections
}

#: What the benchmark stubs: (module, attribute) replaced for some samples, and what the stub is.
STUBS = {
    # where a layer asks the registry of sections about keys not in the table; the stub answers
    # "no section registered" without asking (the baseline of "no section registered")
    "registered": ("metaflow_config._sources.keys", "registry"),
}


def private(what: str) -> Any:
    """The private module of metaflow_config holding ``what`` (see :data:`PRIVATE`)."""
    return importlib.import_module(PRIVATE[what])


@contextlib.contextmanager
def stubbed(what: str, replacement: object) -> Iterator[None]:
    """``what`` (see :data:`STUBS`) replaced by ``replacement`` inside the block."""
    module_name, attribute = STUBS[what]
    module = importlib.import_module(module_name)
    real = getattr(module, attribute)
    setattr(module, attribute, replacement)
    try:
        yield
    finally:
        setattr(module, attribute, real)


def string_settings() -> dict[str, str]:
    """The table's plain text settings (not USER), in table order, each with its value's form.

    Plain strings, comma-separated items, Azure roots (``bench-7`` is one item, a container)
    and the decorator specs of ``DEFAULT_DECOSPECS`` (``bench_7``, a decorator's name): kinds
    whose check compiles no pattern of its own but the specs' (what a task setting them pays).
    """
    kinds = private("kinds")
    forms = dict.fromkeys(
        (kinds.STR, kinds.COMMA_LIST, kinds.COMMA_NAMES, kinds.AZURE_ROOT), "bench-{}"
    )
    forms[kinds.SPACE_LIST] = "bench_{}"
    fields = private("table").FIELDS
    return {f.env: forms[f.kind] for f in fields if f.kind in forms and f.name != "USER"}


def extend_table(count: int) -> None:
    """Add ``count`` string settings to the table, in this process only (benchmark hook).

    Builds one extra ``Section`` subclass with the same ``setting()`` declarations the real table
    uses, then rebinds every module-level reference to the table's ``FIELDS``/``SECTIONS`` (and
    the section-name set of the process-wide settings) to the extended versions, extends the
    ``BY_NAME``/``BY_ENV`` dicts in place and drops the cached validator, so the unchanged
    production functions resolve over 153 + ``count`` settings. Nothing is added to the library.
    """
    _fields, _kinds, _table = private("fields"), private("kinds"), private("table")
    derive, validate, _settings = private("derive"), private("validate"), private("settings")

    body = {
        f"extra_{i}": _fields.setting(f"BENCH_EXTRA_{i}", _kinds.STR, "Benchmark filler.")
        for i in range(count)
    }
    extra: Any = type("BenchExtra", (_fields.Section,), body)
    fields = _table.FIELDS + extra.fields
    sections = (*_table.SECTIONS, ("bench_extra", extra))
    names = frozenset(attr for attr, _ in sections)
    swaps: dict[int, Any] = {id(_table.FIELDS): fields, id(_table.SECTIONS): sections}
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("metaflow_config"):
            for key, value in list(vars(module).items()):
                if id(value) in swaps:
                    setattr(module, key, swaps[id(value)])
                elif isinstance(value, frozenset) and value == names - {"bench_extra"}:
                    setattr(module, key, names)
    _settings._SECTION_CLASSES["bench_extra"] = extra  # how a snapshot finds its sections
    _table.BY_NAME.update({f.name: f for f in extra.fields})
    _table.BY_ENV.update({f.env: f for f in extra.fields})
    derive.DEFAULTS.update({f.name: f.default for f in extra.fields})
    validate._table_validator.cache_clear()
    validate._BUILT.clear()
    snapshot = load()
    assert len(list(snapshot.items())) == len(fields), "the extended table is not in use"
    assert snapshot["METAFLOW_BENCH_EXTRA_0"] is None
    assert snapshot.bench_extra.extra_0 is None


def plain_pydantic_settings() -> type[Any]:
    """A plain pydantic-settings ``BaseSettings`` declaring the same fields, default sources."""
    from typing import Literal, Optional, Union

    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    _kinds = private("kinds")

    def annotation(kind: Any) -> Any:
        if kind.choices:
            return Literal[kind.choices]
        simple: dict[int, Any] = {
            id(_kinds.BOOL): bool,
            id(_kinds.INT): int,
            id(_kinds.NONNEG_INT): int,
            id(_kinds.SERVICE_RETRIES): int,
            id(_kinds.S3_RETRIES): int,
            id(_kinds.S3_TRANSIENT_RETRIES): int,
            id(_kinds.S3_WORKERS): int,
            id(_kinds.STR_DICT): dict[str, str],
            id(_kinds.TAGS): dict[str, str],
            id(_kinds.HEADERS): dict[str, str],
            id(_kinds.JSON_OBJECT): dict[str, Any],
            id(_kinds.CLIENT_PARAMS): dict[str, Any],
            id(_kinds.RETRY_CONFIG): dict[str, Any],
            id(_kinds.STR_LIST): list[str],
            id(_kinds.VERIFY): Union[bool, str],
        }
        if kind.json_valued and id(kind) not in simple:  # a new JSON kind: say which
            msg = f"benchmarks/worker.py: no annotation for the JSON kind {kind.name!r}"
            raise KeyError(msg)
        return simple.get(id(kind), str)

    class Base(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_", extra="ignore")

    spec: dict[str, Any] = {
        f.name.lower(): (Optional[annotation(f.kind)], f.default) for f in private("table").FIELDS
    }
    return create_model("PlainSettings", __base__=Base, **spec)


#: One case's samples: (wall seconds, CPU seconds), sample by sample.
Timed = tuple[list[float], list[float]]
WALL, CPU = time.perf_counter, time.process_time


class Cases:
    """The benchmark cases; each ``case_<name>(n)`` returns ``n`` samples on both clocks.

    Every sample reads the CPU clock, then the wall clock, runs, and reads them in reverse: the
    wall sample holds only what it measures, the CPU sample also the wall clock's two reads.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._plain: type[Any] | None = None
        self._tick = 0

    # -- resolution --------------------------------------------------------------------------

    @staticmethod
    def _each(fn: Callable[[], object], n: int) -> Timed:
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(n):
            c0 = CPU()
            w0 = WALL()
            fn()
            w1 = WALL()
            c1 = CPU()
            wall.append(w1 - w0)
            cpu.append(c1 - c0)
        return wall, cpu

    def case_resolve(self, n: int) -> Timed:
        """``load()``: every setting, the profile file, the local file search, ``os.environ``."""
        return self._each(load, n)

    def case_resolve_changed(self, n: int) -> Timed:
        """``load()`` right after the set of environment variable names changed."""
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(n):
            self._tick += 1
            os.environ[f"BENCH_TICK_{self._tick}"] = "1"
            os.environ.pop(f"BENCH_TICK_{self._tick - 1}", None)
            w, c = self._each(load, 1)
            wall += w
            cpu += c
        return wall, cpu

    def case_resolve_value_changed(self, n: int) -> Timed:
        """``load()`` right after a known ``METAFLOW_*`` variable took a new value.

        Every ``METAFLOW_*`` variable of the environment is read again (an unchanged environment
        reuses the last read). The variable is restored, and resolved once, afterwards: the
        worker's other cases see the environment they started with.
        """
        name = "METAFLOW_BATCH_JOB_QUEUE"  # a plain string setting
        old = os.environ.get(name)
        wall: list[float] = []
        cpu: list[float] = []
        try:
            for _ in range(n):
                self._tick += 1
                os.environ[name] = f"bench-queue-{self._tick}"
                w, c = self._each(load, 1)
                wall += w
                cpu += c
        finally:
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
            load()
        return wall, cpu

    def case_pydantic_settings(self, n: int) -> Timed:
        """A plain ``BaseSettings`` with the same fields and its default sources."""
        if self._plain is None:
            self._plain = plain_pydantic_settings()
        return self._each(self._plain, n)

    def case_metaflow_reload(self, n: int) -> Timed:
        """Metaflow re-resolving its config module: caches cleared, module reloaded."""
        import metaflow.metaflow_config as mf_config
        import metaflow.metaflow_config_funcs as mf_funcs

        def again() -> None:
            mf_funcs.METAFLOW_CONFIG = None
            mf_funcs.METAFLOW_LOCAL_CONFIG = None
            mf_funcs._all_configs.clear()
            importlib.reload(mf_config)

        return self._each(again, n)

    def case_resolve_without_sections(self, n: int) -> Timed:
        """``load()`` as if sections did not exist: no key is ever looked up among registered ones.

        The baseline of "no section registered": the registry lookup (``STUBS["registered"]``)
        answers no without asking, for these samples.
        """
        with stubbed("registered", dict):
            return self._each(load, n)

    def case_resolve_section(self, n: int) -> Timed:
        """``load()`` and the registered 5-field section read from it (benchmarks' own)."""
        # on PYTHONPATH in the "section" worker
        from bench_section.config import BenchSection  # type: ignore[import-not-found]

        return self._each(lambda: load().section(BenchSection), n)

    def case_json_loads(self, n: int) -> Timed:
        """Read the profile file and ``json.loads`` it: the floor of reading a large profile."""
        path = os.path.join(os.environ["METAFLOW_HOME"], "config.json")

        def parse() -> None:
            with open(path, encoding="utf-8") as f:
                json.loads(f.read())

        return self._each(parse, n)

    def _override(self, count: int, n: int) -> Timed:
        """Enter and leave a new ``override()`` injecting ``count`` values (fresh each sample)."""
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(n):
            self._tick += 1
            values = {
                "BATCH_JOB_QUEUE": f"queue-{self._tick}",
                "DATASTORE_SYSROOT_S3": f"s3://bench-bucket/run-{self._tick}",
                "SFN_IAM_ROLE": f"arn:aws:iam::123456789012:role/r{self._tick}",
            }
            scope = override(dict(list(values.items())[:count]))
            c0 = CPU()
            w0 = WALL()
            with scope:
                pass
            w1 = WALL()
            c1 = CPU()
            wall.append(w1 - w0)
            cpu.append(c1 - c0)
        return wall, cpu

    def case_override_1(self, n: int) -> Timed:
        """Entering (and leaving) an ``override()`` that injects one value."""
        return self._override(1, n)

    def case_override_3(self, n: int) -> Timed:
        """... three values, one of them a root others derive from (DATASTORE_SYSROOT_S3)."""
        return self._override(3, n)

    def case_override_nested(self, n: int) -> Timed:
        """100 nested ``override()`` scopes entered and left: the cost per scope."""
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(n):
            self._tick += 1
            scopes = [override(BATCH_JOB_QUEUE=f"q-{self._tick}-{i}") for i in range(100)]
            c0 = CPU()
            w0 = WALL()
            for scope in scopes:
                scope.__enter__()
            for scope in reversed(scopes):
                scope.__exit__(None, None, None)
            w1 = WALL()
            c1 = CPU()
            wall.append((w1 - w0) / 100)
            cpu.append((c1 - c0) / 100)
        return wall, cpu

    def case_to_env(self, n: int) -> Timed:
        """``settings.to_env("batch")`` on the process-wide settings."""
        return self._each(lambda: settings.to_env("batch"), n)

    # -- reads -------------------------------------------------------------------------------

    def _reads(self, stmt: str, n: int) -> Timed:
        names = {"constants": constants, "settings": settings, "compat": compat}
        timer = timeit.Timer(stmt, globals=names)
        number = self._numbers.get(stmt)
        if number is None:  # about 5 ms per sample
            number = max(1000, int(1000 * 0.005 / max(timer.timeit(1000), 1e-9)))
            self._numbers[stmt] = number
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(n):
            c0 = CPU()
            wall.append(timer.timeit(number) / number)  # timed on the wall clock inside
            cpu.append((CPU() - c0) / number)
        return wall, cpu

    def case_read_module(self, n: int) -> Timed:
        """``constants.BATCH_JOB_QUEUE``: a plain module attribute."""
        return self._reads("constants.BATCH_JOB_QUEUE", n)

    def case_read_section(self, n: int) -> Timed:
        """``settings.batch.job_queue``."""
        return self._reads("settings.batch.job_queue", n)

    def case_read_item(self, n: int) -> Timed:
        """``settings["METAFLOW_BATCH_JOB_QUEUE"]``."""
        return self._reads("settings['METAFLOW_BATCH_JOB_QUEUE']", n)

    def case_read_compat(self, n: int) -> Timed:
        """``compat.BATCH_JOB_QUEUE``."""
        return self._reads("compat.BATCH_JOB_QUEUE", n)

    def case_read_override(self, n: int) -> Timed:
        """``settings.batch.job_queue`` inside ``with override(BATCH_JOB_QUEUE=...)``."""
        with override(BATCH_JOB_QUEUE="override-queue"):
            return self._reads("settings.batch.job_queue", n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extra-fields", type=int, default=0)
    parser.add_argument("--string-settings", action="store_true", help="print them and exit")
    args = parser.parse_args()
    if args.string_settings:
        print(json.dumps(string_settings()))
        return
    # unknown keys warn at every resolution; shown once by Python's filters, kept off the table
    warnings.simplefilter("ignore", metaflow_config.ConfigWarning)
    if args.extra_fields:
        extend_table(args.extra_fields)
    assert metaflow_config.load() == settings.reload()
    cases = Cases()
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        try:
            gc.collect()
            wall, cpu = getattr(cases, "case_" + request["case"])(int(request["n"]))
            reply: dict[str, Any] = {"wall": wall, "cpu": cpu}
        except Exception:  # reported to the parent, which stops
            reply = {"error": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
