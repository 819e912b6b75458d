"""Crash-safe, serialized writes of profile files.

A process killed (SIGKILL) at any point of ``configure``, ``import`` or ``reset`` leaves the
profile file complete: the old content or the new, never a mix or a truncation. Processes
updating the same profile at the same time serialize on its lock and lose no update.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import load
from metaflow_config._sources.writes import remove_file, update_json, write_json_atomic

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX"),
]

#: Kills per command (each a fresh process): a few dozen in all, to keep CI short.
KILLS_PER_COMMAND = 10
SEED = 20240611

OLD = {
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://old-bucket/metaflow",
    "METAFLOW_BATCH_JOB_QUEUE": "old-queue",
    "METAFLOW_SERVICE_AUTH_KEY": "old-key",
}
NEW = {
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://new-bucket/metaflow",
    "METAFLOW_BATCH_JOB_QUEUE": "new-queue",
    # a long value: the write takes long enough for kills to land inside it
    "METAFLOW_BATCH_DEFAULT_TAGS": {f"tag{i:02d}": "v" * 200 for i in range(50)},
}


def _child_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "METAFLOW_HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _command(name: str, tmp_path: Path) -> list[str]:
    """The argv of ``metaflow-config <name>`` that turns the OLD profile into NEW (or none)."""
    cli = [sys.executable, "-m", "metaflow_config"]
    if name == "import":
        source = tmp_path / "new.json"
        source.write_text(json.dumps(NEW))
        return [*cli, "import", str(source), "--yes"]
    if name == "configure":
        sets = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in NEW.items()]
        unset = [f"{k}=" for k in OLD if k not in NEW]
        return [*cli, "configure", "aws", "--yes", *(a for s in sets + unset for a in ("--set", s))]
    assert name == "reset"
    return [*cli, "reset", "--yes"]


def _state(path: Path) -> str:
    """``old``, ``new`` or ``absent``; AssertionError for anything else (a torn write)."""
    if not path.exists():
        return "absent"
    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        pytest.fail(f"torn profile after a kill ({len(text)} bytes): {text[:80]!r}...")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    if doc == OLD:
        return "old"
    if doc == NEW:
        return "new"
    pytest.fail(f"profile is neither the old nor the new content: {sorted(doc)}")


@pytest.mark.parametrize("command", ["configure", "import", "reset"])
def test_sigkill_during_a_command_leaves_old_or_new(command: str, tmp_path: Path) -> None:
    """SIGKILL at random points of a command: the profile is the complete old or new one."""
    home = tmp_path / "home"
    home.mkdir()
    path = home / "config.json"
    argv = _command(command, tmp_path)
    expected_new = "absent" if command == "reset" else "new"

    write_json_atomic(path, OLD)
    started = time.monotonic()
    done = subprocess.run(argv, env=_child_env(home), capture_output=True, text=True, check=False)
    duration = time.monotonic() - started  # calibrates where the kills land, asserts nothing
    assert done.returncode == 0, done.stdout + done.stderr
    assert _state(path) == expected_new

    rng = random.Random(f"{SEED}-{command}")  # noqa: S311 - kill points, not cryptography
    outcomes = []
    for _ in range(KILLS_PER_COMMAND):
        write_json_atomic(path, OLD)
        child = subprocess.Popen(
            argv, env=_child_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, 1.5) * duration)  # most of a run is interpreter start-up
        child.send_signal(signal.SIGKILL)
        child.wait()
        outcomes.append(_state(path))
        load(env={"METAFLOW_HOME": str(home)}, cwd=tmp_path)  # leftovers never break reading
    assert set(outcomes) <= {"old", expected_new}


_WRITER = textwrap.dedent(
    """
    import json, sys
    from metaflow_config._sources.writes import remove_file, update_json, write_json_atomic
    path, docs = sys.argv[1], json.loads(sys.argv[2])
    print("ready", flush=True)
    i = 0
    while True:
        doc = docs[i % len(docs)]
        if doc is None:
            remove_file(path)
        elif i % 2:
            write_json_atomic(path, doc)
        else:
            update_json(path, lambda old, doc=doc: doc)
        i += 1
    """
)


def test_sigkill_during_a_write_loop_leaves_a_complete_file(tmp_path: Path) -> None:
    """A process killed while it rewrites and removes a profile in a tight loop tears nothing."""
    home = tmp_path / "home"
    home.mkdir()
    path = home / "config.json"
    docs: list[dict[str, Any] | None] = [OLD, NEW, None]
    rng = random.Random(f"{SEED}-loop")  # noqa: S311 - kill points, not cryptography
    seen = set()
    for _ in range(2 * KILLS_PER_COMMAND):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), json.dumps(docs)],
            env=_child_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.stderr
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()
        seen.add(_state(path))
    assert seen <= {"old", "new", "absent"}


_STEPS = ("open", "fchmod", "fsync", "replace", "close", "unlink")


def _write_interrupted_at(step: int, path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Write NEW over ``path``, interrupting the ``step``-th system call; return the calls made."""
    done: list[str] = []

    def interrupting(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if len(done) == step:
                done.append(f"interrupted at {name}")
                raise KeyboardInterrupt
            result = real(*args, **kwargs)
            done.append(name)
            return result

        return call

    with monkeypatch.context() as patch:
        for name in _STEPS:
            patch.setattr(os, name, interrupting(name, getattr(os, name)))
        with contextlib.suppress(KeyboardInterrupt):
            write_json_atomic(path, NEW)
    return done


def test_interruption_at_each_step_of_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted at each system call of a write: old before the rename, new after, no debris."""
    path = tmp_path / "config.json"
    write_json_atomic(path, OLD)
    steps = _write_interrupted_at(-1, path, monkeypatch)  # a dry run lists the calls
    assert "replace" in steps
    for step in range(len(steps)):
        write_json_atomic(path, OLD)
        done = _write_interrupted_at(step, path, monkeypatch)
        interrupted_at = next(i for i, call in enumerate(done) if call.startswith("interrupted"))
        renamed = "replace" in done[:interrupted_at]
        assert _state(path) == ("new" if renamed else "old"), done
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"], done


# --- concurrent writers -----------------------------------------------------------------------

_COUNTER = textwrap.dedent(
    """
    import sys
    from metaflow_config._sources.writes import update_json
    path, me, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(rounds):
        def bump(doc):
            doc["count"] = doc.get("count", 0) + 1
            doc[f"{me}-{i}"] = i
            return doc
        update_json(path, bump)
    """
)


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    """Processes read-modify-writing one profile at once serialize: every update survives."""
    path = tmp_path / "home" / "config.json"
    writers, rounds = 4, 40
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _COUNTER, str(path), f"w{n}", str(rounds)],
            env=_child_env(path.parent),
        )
        for n in range(writers)
    ]
    for child in children:
        assert child.wait() == 0
    doc = json.loads(path.read_text())
    assert doc["count"] == writers * rounds
    assert len(doc) == writers * rounds + 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_concurrent_imports_merge_every_key(tmp_path: Path) -> None:
    """Two ``import --merge`` processes into one profile at once: both sets of keys land."""
    home = tmp_path / "home"
    home.mkdir()
    write_json_atomic(home / "config.json", {"METAFLOW_DEFAULT_DATASTORE": "s3"})
    parts = [
        {"METAFLOW_BATCH_JOB_QUEUE": "q", "METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-t"},
        {"METAFLOW_SERVICE_URL": "https://svc.example", "METAFLOW_SERVICE_RETRY_COUNT": 3},
    ]
    argvs = []
    for n, part in enumerate(parts):
        source = tmp_path / f"part{n}.json"
        source.write_text(json.dumps(part))
        argvs.append(
            [sys.executable, "-m", "metaflow_config", "import", str(source), "--merge", "--yes"]
        )
    for _ in range(3):
        children = [
            subprocess.Popen(argv, env=_child_env(home), stdout=subprocess.DEVNULL)
            for argv in argvs
        ]
        assert [child.wait() for child in children] == [0, 0]
    doc = json.loads((home / "config.json").read_text())
    assert doc == {"METAFLOW_DEFAULT_DATASTORE": "s3", **parts[0], **parts[1]}


def test_remove_under_lock_then_update_recreates(tmp_path: Path) -> None:
    """reset then configure in sequence: the lock file never stands in for the profile."""
    path = tmp_path / "config.json"
    write_json_atomic(path, OLD)
    assert remove_file(path) is True
    assert not path.exists()
    update_json(path, lambda doc: {**doc, **NEW})
    assert _state(path) == "new"
