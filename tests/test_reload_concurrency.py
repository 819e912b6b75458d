"""Readers in many threads while another thread calls ``settings.reload()``.

Every read sees one complete snapshot, the old or the new, never a mix of two versions of the
profile; a reader never goes back to an older version once it has seen a newer one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from metaflow_config import current, settings

READERS = 6
VERSIONS = 10
#: A reader that makes no progress for this long is stuck (a guard, not a timing assertion).
STUCK_SECONDS = 60.0


def _content(version: int) -> dict[str, Any]:
    """A profile in which every value encodes ``version``, across sections and derivations."""
    return {
        "METAFLOW_BATCH_JOB_QUEUE": f"q{version}",
        "METAFLOW_DEFAULT_CONTAINER_IMAGE": f"img:{version}",
        "METAFLOW_BATCH_DEFAULT_TAGS": {"v": str(version)},
        "METAFLOW_SFN_IAM_ROLE": f"arn:aws:iam::123456789012:role/r{version}",
        "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://bucket/v{version}",
        "METAFLOW_CLIENT_CACHE_MAX_SIZE": version,
    }


def _write_atomically(path: Path, version: int) -> None:
    tmp = path.with_name(f".{path.name}.{version}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(_content(version), handle)
    os.replace(tmp, path)


def _version_of_snapshot() -> int:
    """The version of the snapshot in force; AssertionError if its values mix versions."""
    snap = current()
    version = int(snap["METAFLOW_BATCH_JOB_QUEUE"][1:])
    assert snap.batch.container_image == f"img:{version}"
    assert snap.batch.default_tags == {"v": str(version)}
    assert snap.sfn.iam_role == f"arn:aws:iam::123456789012:role/r{version}"
    assert snap.datatools.s3root == f"s3://bucket/v{version}/data"
    assert snap["METAFLOW_CLIENT_CACHE_MAX_SIZE"] == version
    return version


def _version_of_section() -> int:
    """The version of the cached ``settings.batch`` section; AssertionError if it mixes."""
    batch = settings.batch
    version = int(batch.job_queue[1:])
    assert batch.container_image == f"img:{version}"
    assert batch.default_tags == {"v": str(version)}
    return version


def _version_of_lookups() -> int:
    """One-call reads (``explain``, ``[]``) each come from a single snapshot."""
    info = settings.explain("METAFLOW_DATATOOLS_S3ROOT")
    assert info.source == "derived"
    version = int(info.value.rsplit("/v", 1)[1].split("/")[0])
    assert info.value == f"s3://bucket/v{version}/data"
    assert isinstance(settings["METAFLOW_CLIENT_CACHE_MAX_SIZE"], int)
    return version


def test_readers_see_whole_snapshots_during_reloads() -> None:
    """Threads reading while another reloads see the old or the new profile, never a mix."""
    path = Path(os.environ["METAFLOW_HOME"]) / "config.json"
    _write_atomically(path, 0)
    settings.reload()

    stop = threading.Event()
    progress = [0] * READERS
    seen: list[set[int]] = [set() for _ in range(READERS)]
    failures: list[BaseException] = []

    def reader(index: int) -> None:
        latest = {"snapshot": 0, "section": 0, "lookup": 0}
        readers = {
            "snapshot": _version_of_snapshot,
            "section": _version_of_section,
            "lookup": _version_of_lookups,
        }
        try:
            while not stop.is_set():
                for kind, read in readers.items():
                    version = read()
                    assert version >= latest[kind], f"{kind} went back {latest[kind]}->{version}"
                    latest[kind] = version
                    seen[index].add(version)
                progress[index] += 1
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for thread in threads:
        thread.start()
    try:
        for version in range(1, VERSIONS + 1):
            _write_atomically(path, version)
            fresh = settings.reload()
            assert fresh.batch.job_queue == f"q{version}"
            # Each reader completes a read that began after this reload before the next one:
            # so every reader sees every version, and reads overlap the next reload.
            marks = list(progress)
            give_up = time.monotonic() + STUCK_SECONDS
            for i in range(READERS):
                while progress[i] < marks[i] + 2 and not stop.is_set():
                    assert time.monotonic() < give_up, f"reader {i} is stuck"
                    time.sleep(0.001)
            if stop.is_set():
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(STUCK_SECONDS)
    if failures:
        raise failures[0]
    for i in range(READERS):
        assert set(range(1, VERSIONS + 1)) <= seen[i], f"reader {i} saw only {sorted(seen[i])}"
