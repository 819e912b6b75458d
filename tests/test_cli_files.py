"""Safe writes (metaflow_config._sources.writes): atomic, mode 0600, locked read-modify-write."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError
from metaflow_config._sources.writes import (
    locked,
    read_json_object,
    remove_file,
    update_json,
    write_json_atomic,
)

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_write_is_0600_sorted_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """A write creates the directory (0700) and a 0600 file, sorted JSON, and nothing else."""
    target = tmp_path / "home" / "config.json"
    write_json_atomic(target, {"B": 1, "A": "x"})
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert target.read_text() == '{\n    "A": "x",\n    "B": 1\n}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.json"]


def test_rewrite_tightens_a_readable_file_to_0600(tmp_path: Path) -> None:
    """Replacing a world-readable file leaves a 0600 one (the content holds secrets)."""
    target = tmp_path / "config.json"
    target.write_text("{}")
    target.chmod(0o644)
    write_json_atomic(target, {"A": 1})
    assert mode(target) == 0o600


def test_failed_write_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the rename fails, the old content is intact and no temporary file is left behind."""
    target = tmp_path / "config.json"
    write_json_atomic(target, {"OLD": 1})

    def boom(src: str, dst: str, **dir_fds: int) -> None:  # by path, or within a directory
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        write_json_atomic(target, {"NEW": 2})
    assert json.loads(target.read_text()) == {"OLD": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_a_write_that_cannot_be_made_names_the_file_not_its_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only file system refuses the temporary file made beside the profile: the error
    names the profile (``configure`` said ``Read-only file system: .config_prod.json.0c43...``)."""
    import errno

    from tests.conftest import invoke

    target = tmp_path / "config_prod.json"
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OSError, match="Read-only file system") as info:
        write_json_atomic(target, {"A": 1})
    assert info.value.filename == str(target)
    result = invoke(
        "configure", "aws", "-p", "prod", "--set", "BATCH_JOB_QUEUE=q", "--yes",
        env={"METAFLOW_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"Read-only file system: {target}" in result.output + result.stderr
    assert ".config_prod.json." not in result.output + result.stderr


def test_symlinked_profile_is_written_through(tmp_path: Path) -> None:
    """A profile that is a symlink stays a link; its target gets the new content."""
    real = tmp_path / "dotfiles" / "metaflow.json"
    real.parent.mkdir()
    real.write_text("{}")
    link = tmp_path / "config.json"
    link.symlink_to(real)
    update_json(link, lambda doc: {**doc, "A": 1}, home=tmp_path)  # a profile: in its home
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {"A": 1}


def test_remove_file_removes_the_link_not_its_target(tmp_path: Path) -> None:
    """Removing a symlinked profile removes the link, as `rm` would."""
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "config.json"
    link.symlink_to(real)
    assert remove_file(link) is True
    assert not link.is_symlink()
    assert real.exists()
    assert remove_file(link) is False


def test_update_reports_old_and_new_and_skips_identical_writes(tmp_path: Path) -> None:
    """update_json returns (old, new); an unchanged document is not rewritten."""
    target = tmp_path / "config.json"
    assert update_json(target, lambda doc: {**doc, "A": 1}) == (None, {"A": 1})
    before = target.stat().st_mtime_ns, target.stat().st_ino
    assert update_json(target, lambda doc: doc) == ({"A": 1}, {"A": 1})
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == before


def test_update_refuses_a_broken_file(tmp_path: Path) -> None:
    """A profile that is not valid JSON is never overwritten by an update."""
    target = tmp_path / "config.json"
    target.write_text("{broken")
    with pytest.raises(ConfigError, match="valid JSON"):
        update_json(target, lambda doc: {"A": 1})
    assert target.read_text() == "{broken"
    assert read_json_object(tmp_path / "missing.json") is None


def test_the_lock_is_the_directory_and_leaves_nothing(tmp_path: Path) -> None:
    """The lock is held on the file's directory: another holder waits; no lock file is left."""
    import fcntl

    target = tmp_path / "config_prod.json"
    with locked(target) as real:
        assert real == str(target)
        fd = os.open(tmp_path, os.O_RDONLY)  # another open of it: another holder
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    update_json(target, lambda doc: {**doc, "A": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config_prod.json"]
    assert remove_file(target) is True
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("cannot_lock_a_directory")
def test_where_a_directory_cannot_be_locked_a_lock_file_is(tmp_path: Path) -> None:
    """On such a file system the lock is <name>.lock beside the file, mode 0600, left there."""
    target = tmp_path / "config_prod.json"
    with locked(target) as real:
        assert real == str(target)
        assert mode(tmp_path / "config_prod.json.lock") == 0o600
    _increment("K", 3, target)
    assert json.loads(target.read_text()) == {"K": 3}


def test_another_failure_to_lock_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock that fails for another reason is not skipped: the write does not happen."""
    import errno
    import fcntl

    def flock(fd: int, operation: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(fcntl, "flock", flock)
    with pytest.raises(OSError, match="Input/output error"):
        update_json(tmp_path / "config.json", lambda doc: {"A": 1})
    assert list(tmp_path.iterdir()) == []


def _increment(key: str, times: int, path: Path) -> None:
    for _ in range(times):
        update_json(path, lambda doc: {**doc, key: doc.get(key, 0) + 1})


def test_concurrent_threads_lose_no_update(tmp_path: Path) -> None:
    """Threads doing read-modify-write on one profile serialize: every increment survives."""
    target = tmp_path / "config.json"
    threads = [
        threading.Thread(target=_increment, args=(f"K{i}", 25, target)) for i in range(4)
    ] + [threading.Thread(target=_increment, args=("SHARED", 25, target)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads(target.read_text()) == {"K0": 25, "K1": 25, "K2": 25, "K3": 25, "SHARED": 100}


WRITER = """
import sys
from metaflow_config._sources.writes import update_json
path, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(n):
    update_json(path, lambda d: {**d, key: d.get(key, 0) + 1, "SHARED": d.get("SHARED", 0) + 1})
"""


@pytest.mark.slow
def test_concurrent_processes_lose_no_update(tmp_path: Path) -> None:
    """Separate processes updating one profile serialize on the lock: no update is lost."""
    target = tmp_path / "config.json"
    env = {"PATH": os.environ.get("PATH", ""), "METAFLOW_HOME": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), f"P{i}", "40"], env=env, cwd=ROOT
        )
        for i in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    doc: dict[str, Any] = json.loads(target.read_text())
    assert doc == {"P0": 40, "P1": 40, "P2": 40, "SHARED": 120}
    assert mode(target) == 0o600


# --- a file where a folder should be -----------------------------------------------------------


@pytest.mark.parametrize("below", ["", "sub"], ids=["home-is-a-file", "under-a-file"])
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["import", "in.json", "-y"], id="import"),
        pytest.param(["configure", "aws", "-y", "--set", "BATCH_JOB_QUEUE=q"], id="configure"),
        pytest.param(["reset", "-y"], id="reset"),
        pytest.param(["profiles"], id="profiles"),  # it said "No profile in <the file>"
    ],
)
def test_metaflow_home_that_is_a_file_is_said_before_anything(
    args: list[str], below: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the resolver says it (not "File exists"/"Not a directory"), and nothing told as done."""
    from tests.conftest import invoke, write_json

    blocker = tmp_path / "f"
    blocker.write_text("")
    home = blocker / below if below else blocker
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    write_json(Path("in.json"), {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke(*args)
    assert result.exit_code == 1
    found = "a file" if not below else f"a file at {blocker}"
    assert f"METAFLOW_HOME (profile: {home}): expected a directory, found {found}" in result.stderr
    assert "Fix: point METAFLOW_HOME at a directory" in result.stderr
    assert result.stdout == ""
    assert blocker.read_text() == ""


def test_schema_output_under_a_file_names_the_option(tmp_path: Path) -> None:
    """schema -o with a file where a folder should be: the option, the file in the way."""
    from tests.conftest import invoke

    blocker = tmp_path / "f"
    blocker.write_text("")
    result = invoke("schema", "-o", str(blocker / "x.json"))
    assert result.exit_code == 1
    assert (
        f"--output {blocker / 'x.json'}: expected a path in a directory, found a file at {blocker}"
    ) in result.stderr
    assert "File exists" not in result.stderr


def test_a_write_under_a_file_is_a_config_error(tmp_path: Path) -> None:
    """The files module itself names the file in the way (whoever writes)."""
    blocker = tmp_path / "f"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=f"expected a directory, found a file at {blocker}"):
        write_json_atomic(blocker / "sub" / "x.json", {})


def test_the_default_home_saved_as_the_profile_says_where_the_profile_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``~/.metaflowconfig`` written as the JSON file itself, METAFLOW_HOME not set: the fix
    moves it to ``~/.metaflowconfig/config.json`` (it said to point METAFLOW_HOME at a
    directory whose default is the very file); the command given works as written."""
    import re

    from metaflow_config import load

    monkeypatch.delenv("METAFLOW_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".metaflowconfig").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    with pytest.raises(ConfigError) as caught:
        load()
    said = str(caught.value)
    assert "move it to ~/.metaflowconfig/config.json" in said
    command = re.search(r"\(`(mv [^`]*)`\)", said)
    assert command is not None, said
    subprocess.run(["sh", "-c", command.group(1)], env={"HOME": str(tmp_path)}, check=True)
    assert load()["METAFLOW_BATCH_JOB_QUEUE"] == "q"


def test_a_lock_another_process_holds_is_waited_for_a_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone who can open a 0755 ``~/.metaflowconfig`` (as Metaflow's wizard makes it) can
    lock it: a write waits ``LOCK_WAIT`` seconds, then says so (a ConfigError naming the folder
    and the fix), never hangs; the file is left as it was; once released, the write goes."""
    from metaflow_config._sources import writes

    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    profile = home / "config.json"
    profile.write_text('{"METAFLOW_USER": "a"}')
    hold = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(home)], stdout=subprocess.PIPE, text=True
    )
    monkeypatch.setattr(writes, "LOCK_WAIT", 0.3)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError) as caught:
            update_json(profile, lambda doc: {**doc, "METAFLOW_USER": "b"}, home=home)
        (problem,) = caught.value.problems
        assert problem.setting == str(home)
        assert "found it locked for 0 s" in problem.expected
        assert problem.fix.endswith(f"make it yours alone: chmod 700 {home}")
        assert profile.read_text() == '{"METAFLOW_USER": "a"}'
    finally:
        holder.kill()
        holder.communicate()  # closes its pipe
    update_json(profile, lambda doc: {**doc, "METAFLOW_USER": "b"}, home=home)
    assert json.loads(profile.read_text()) == {"METAFLOW_USER": "b"}
