"""One benchmark process: runs named cases on request and reports per-sample times in seconds.

``run.py`` starts one worker per environment (50, 1,000 or 10,000 unrelated variables; the table
extended by extra fields) with a real ``os.environ`` built by the OS at process start, then asks
each worker in turn for a small batch of samples of one case, so that contenders interleave.

Protocol: one JSON request per line on stdin, ``{"case": "resolve", "n": 10}``; one JSON reply
per line on stdout, ``{"samples": [seconds, ...]}`` (or ``{"error": "..."}``).
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable
from typing import Any

import metaflow_config
import metaflow_config.compat as compat
from metaflow_config import load, override, settings

# A plain module attribute: the baseline of the read-latency cases.
constants = types.ModuleType("constants")
constants.BATCH_JOB_QUEUE = "bench-queue"  # type: ignore[attr-defined]


def extend_table(count: int) -> None:
    """Add ``count`` string settings to the table, in this process only (benchmark hook).

    Builds one extra ``Section`` subclass with the same ``setting()`` declarations the real table
    uses, then rebinds every module-level reference to the table's ``FIELDS``/``SECTIONS`` (and
    the section-name set of the process-wide settings) to the extended versions, extends the
    ``BY_NAME``/``BY_ENV`` dicts in place and drops the cached validator, so the unchanged
    production functions resolve over 153 + ``count`` settings. Nothing is added to the library.
    """
    from metaflow_config._model import fields as _fields
    from metaflow_config._model import kinds as _kinds
    from metaflow_config._model import table as _table
    from metaflow_config._resolve import derive, validate
    from metaflow_config._snapshot import settings as _settings

    body = {
        f"extra_{i}": _fields.setting(f"BENCH_EXTRA_{i}", _kinds.STR, "Benchmark filler.")
        for i in range(count)
    }
    extra: type[_fields.Section] = type("BenchExtra", (_fields.Section,), body)
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
    validate._SMALL.clear()
    snapshot = load()
    assert len(list(snapshot.items())) == len(fields), "the extended table is not in use"
    assert snapshot["METAFLOW_BENCH_EXTRA_0"] is None
    assert snapshot.bench_extra.extra_0 is None  # type: ignore[attr-defined]


def plain_pydantic_settings() -> type[Any]:
    """A plain pydantic-settings ``BaseSettings`` declaring the same fields, default sources."""
    from typing import Literal, Optional, Union

    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from metaflow_config._model import kinds as _kinds
    from metaflow_config._model.table import FIELDS

    def annotation(kind: _kinds.Kind) -> Any:
        if kind.choices:
            return Literal[kind.choices]
        simple: dict[int, Any] = {
            id(_kinds.BOOL): bool,
            id(_kinds.INT): int,
            id(_kinds.NONNEG_INT): int,
            id(_kinds.STR_DICT): dict[str, str],
            id(_kinds.TAGS): dict[str, str],
            id(_kinds.JSON_OBJECT): dict[str, Any],
            id(_kinds.RETRY_CONFIG): dict[str, Any],
            id(_kinds.STR_LIST): list[str],
            id(_kinds.VERIFY): Union[bool, str],
        }
        return simple.get(id(kind), str)

    class Base(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_", extra="ignore")

    spec: dict[str, Any] = {
        f.name.lower(): (Optional[annotation(f.kind)], f.default) for f in FIELDS
    }
    return create_model("PlainSettings", __base__=Base, **spec)


class Cases:
    """The benchmark cases; each ``case_<name>(n)`` returns ``n`` samples in seconds."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._plain: type[Any] | None = None
        self._tick = 0

    # -- resolution --------------------------------------------------------------------------

    @staticmethod
    def _each(fn: Callable[[], object], n: int) -> list[float]:
        samples = []
        clock = time.perf_counter
        for _ in range(n):
            start = clock()
            fn()
            samples.append(clock() - start)
        return samples

    def case_resolve(self, n: int) -> list[float]:
        """``load()``: every setting, the profile file, the local file search, ``os.environ``."""
        return self._each(load, n)

    def case_resolve_changed(self, n: int) -> list[float]:
        """``load()`` right after the set of environment variable names changed."""
        samples = []
        for _ in range(n):
            self._tick += 1
            os.environ[f"BENCH_TICK_{self._tick}"] = "1"
            os.environ.pop(f"BENCH_TICK_{self._tick - 1}", None)
            samples.extend(self._each(load, 1))
        return samples

    def case_pydantic_settings(self, n: int) -> list[float]:
        """A plain ``BaseSettings`` with the same fields and its default sources."""
        if self._plain is None:
            self._plain = plain_pydantic_settings()
        return self._each(self._plain, n)

    def case_metaflow_reload(self, n: int) -> list[float]:
        """Metaflow re-resolving its config module: caches cleared, module reloaded."""
        import metaflow.metaflow_config as mf_config
        import metaflow.metaflow_config_funcs as mf_funcs

        def again() -> None:
            mf_funcs.METAFLOW_CONFIG = None
            mf_funcs.METAFLOW_LOCAL_CONFIG = None
            mf_funcs._all_configs.clear()
            importlib.reload(mf_config)

        return self._each(again, n)

    def case_resolve_without_sections(self, n: int) -> list[float]:
        """``load()`` as if sections did not exist: no key is ever looked up among registered ones.

        The baseline of "no section registered": ``keys._registered`` (where a resolution asks
        the registry about a key not in the table) answers no without asking, for these samples.
        """
        from metaflow_config._sources import keys

        real = keys._registered
        keys._registered = lambda *_, **__: False  # type: ignore[assignment]
        try:
            return self._each(load, n)
        finally:
            keys._registered = real  # type: ignore[assignment]

    def case_resolve_section(self, n: int) -> list[float]:
        """``load()`` and the registered 5-field section read from it (benchmarks' own)."""
        from bench_section.config import BenchSection  # on PYTHONPATH in the "section" worker

        return self._each(lambda: load().section(BenchSection), n)

    def case_json_loads(self, n: int) -> list[float]:
        """Read the profile file and ``json.loads`` it: the floor of reading a large profile."""
        path = os.path.join(os.environ["METAFLOW_HOME"], "config.json")

        def parse() -> None:
            with open(path, encoding="utf-8") as f:
                json.loads(f.read())

        return self._each(parse, n)

    def _override(self, count: int, n: int) -> list[float]:
        """Enter and leave a new ``override()`` injecting ``count`` values (fresh each sample)."""
        samples = []
        clock = time.perf_counter
        for _ in range(n):
            self._tick += 1
            values = {
                "BATCH_JOB_QUEUE": f"queue-{self._tick}",
                "DATASTORE_SYSROOT_S3": f"s3://bench-bucket/run-{self._tick}",
                "SFN_IAM_ROLE": f"arn:aws:iam::123456789012:role/r{self._tick}",
            }
            scope = override(dict(list(values.items())[:count]))
            start = clock()
            with scope:
                pass
            samples.append(clock() - start)
        return samples

    def case_override_1(self, n: int) -> list[float]:
        """Entering (and leaving) an ``override()`` that injects one value."""
        return self._override(1, n)

    def case_override_3(self, n: int) -> list[float]:
        """... three values, one of them a root others derive from (DATASTORE_SYSROOT_S3)."""
        return self._override(3, n)

    def case_override_nested(self, n: int) -> list[float]:
        """100 nested ``override()`` scopes entered and left: the cost per scope."""
        samples = []
        clock = time.perf_counter
        for _ in range(n):
            self._tick += 1
            scopes = [override(BATCH_JOB_QUEUE=f"q-{self._tick}-{i}") for i in range(100)]
            start = clock()
            for scope in scopes:
                scope.__enter__()
            for scope in reversed(scopes):
                scope.__exit__(None, None, None)
            samples.append((clock() - start) / 100)
        return samples

    def case_to_env(self, n: int) -> list[float]:
        """``settings.to_env("batch")`` on the process-wide settings."""
        return self._each(lambda: settings.to_env("batch"), n)

    # -- reads -------------------------------------------------------------------------------

    def _reads(self, stmt: str, n: int) -> list[float]:
        names = {"constants": constants, "settings": settings, "compat": compat}
        timer = timeit.Timer(stmt, globals=names)
        number = self._numbers.get(stmt)
        if number is None:  # about 5 ms per sample
            number = max(1000, int(1000 * 0.005 / max(timer.timeit(1000), 1e-9)))
            self._numbers[stmt] = number
        return [timer.timeit(number) / number for _ in range(n)]

    def case_read_module(self, n: int) -> list[float]:
        """``constants.BATCH_JOB_QUEUE``: a plain module attribute."""
        return self._reads("constants.BATCH_JOB_QUEUE", n)

    def case_read_section(self, n: int) -> list[float]:
        """``settings.batch.job_queue``."""
        return self._reads("settings.batch.job_queue", n)

    def case_read_item(self, n: int) -> list[float]:
        """``settings["METAFLOW_BATCH_JOB_QUEUE"]``."""
        return self._reads("settings['METAFLOW_BATCH_JOB_QUEUE']", n)

    def case_read_compat(self, n: int) -> list[float]:
        """``compat.BATCH_JOB_QUEUE``."""
        return self._reads("compat.BATCH_JOB_QUEUE", n)

    def case_read_override(self, n: int) -> list[float]:
        """``settings.batch.job_queue`` inside ``with override(BATCH_JOB_QUEUE=...)``."""
        with override(BATCH_JOB_QUEUE="override-queue"):
            return self._reads("settings.batch.job_queue", n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extra-fields", type=int, default=0)
    args = parser.parse_args()
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
            samples = getattr(cases, "case_" + request["case"])(int(request["n"]))
            reply: dict[str, Any] = {"samples": samples}
        except Exception:  # reported to the parent, which stops
            reply = {"error": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
