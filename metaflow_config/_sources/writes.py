"""Safe writes of configuration files: atomic, private (0600), serialized by an advisory lock.

Every file ``metaflow-config`` writes goes through here. A write never leaves a half-written file
behind: the new content goes to a temporary file in the same directory (created with
``O_CREAT | O_EXCL``, so it is never an existing file or a link), is flushed and fsynced, given
mode 0600, and renamed over the target with ``os.replace``; then the directory is fsynced so the
rename itself survives a crash. On POSIX both happen within the directory's descriptor, opened
from the root one folder at a time without following a link: a folder swapped for a link after
the checks is refused, not followed. A read-modify-write (:func:`update_json`) and a removal hold an
exclusive advisory lock (``fcntl.flock``) on the file's directory itself (``METAFLOW_HOME``, for
a profile), so two processes updating the same profile serialize and neither loses the other's
keys, and no lock file is left behind. Where the file system cannot lock a directory (NFS
emulates ``flock`` with write locks, which a directory cannot take), a sibling
``<name>.lock`` file is locked instead, and left in place (removing it would race with a
process waiting on it).

Nothing is written where another user could have chosen where it goes: every write is checked
first (:func:`check_writable`, in ``writable``), and the directory (or lock file) locked is
never opened through a link, nor when it is another user's. A link of the user's own to a file
inside the home is written through: the link stays, its target gets the new content.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from .._display import shell_quote
from ..errors import ConfigError, Problem
from .jsonfile import read_json_file
from .writable import check_home_dirs, check_writable, open_directory, open_lock, removable

__all__ = [
    "check_writable",
    "file_in_the_way",
    "read_json_object",
    "remove_file",
    "update_json",
    "write_json_atomic",
    "write_text_atomic",
]

#: Mode of every file written: configuration holds secrets (API keys, headers).
FILE_MODE = 0o600
#: Mode of a configuration directory created here (``~/.metaflowconfig``).
DIR_MODE = 0o700


def _fsync_dir(directory: str, dir_fd: int | None = None) -> None:
    """Make a rename in ``directory`` (relative to ``dir_fd``, if given) durable.

    A no-op where directories cannot be opened to be synced (an ``O_PATH`` descriptor cannot).
    """
    try:
        fd = os.open(directory, os.O_RDONLY, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)


def file_in_the_way(directory: str | os.PathLike[str]) -> str | None:
    """The path that is not a directory where ``directory`` or a folder above it must be one.

    None when the nearest of them that exists is a directory (the rest can be created).
    """
    current = os.path.abspath(os.path.expanduser(os.fspath(directory)))
    while not os.path.isdir(current):
        if os.path.lexists(current):  # a file, or a link to nothing
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    return None


def _ensure_dir(directory: str) -> None:
    if os.path.isdir(directory):
        return
    blocker = file_in_the_way(directory)
    if blocker is not None:  # os.makedirs would say only "File exists" or "Not a directory"
        raise ConfigError(
            [
                Problem.bad_argument(
                    directory,
                    "",
                    f"a directory, found a file at {blocker}",
                    f"write to a path in a directory, or move {blocker} out of the way",
                )
            ]
        )
    os.makedirs(directory, mode=DIR_MODE, exist_ok=True)


def _prepare(path: str | os.PathLike[str], home: str | os.PathLike[str] | None) -> str:
    """:func:`check_writable`, then the directory made (and checked again, as it is now)."""
    real = check_writable(path, home=home)
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        _ensure_dir(directory)
        if home is not None:  # what makedirs found in place of a missing directory
            check_home_dirs(home, directory)
    return real


#: What ``flock`` of a directory fails with where the file system cannot lock one (NFS: an
#: exclusive lock needs a descriptor open for writing).
_CANNOT_LOCK_A_DIRECTORY = (errno.EBADF, errno.EINVAL, errno.ENOLCK, errno.EOPNOTSUPP)


#: How long a writer waits for the lock another process holds, in seconds (a writer holds it
#: for milliseconds; a lock held longer is held on purpose, or by a process that hangs).
LOCK_WAIT = 30.0


def _wait_for_lock(fd: int, where: str) -> None:
    """Take the exclusive lock of ``fd`` (of the folder ``where``), waiting :data:`LOCK_WAIT` s.

    Anyone who can open the folder can lock it (``~/.metaflowconfig`` made 0755 by Metaflow's
    wizard): a lock held past the wait is a ``ConfigError`` saying so, never a hang.

    Raises:
        ConfigError: the lock was held by another process all along.
        OSError: the file system cannot lock (the caller falls back to a lock file).

    """
    import time

    deadline = time.monotonic() + LOCK_WAIT
    pause = 0.01
    while not _took_lock(fd):
        if time.monotonic() >= deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    else:
        return
    raise ConfigError(
        [
            Problem.bad_argument(
                where,
                "",
                f"a folder no other process holds locked, found it locked for {LOCK_WAIT:.0f} s "
                "(another metaflow-config writing, or another user's process: anyone who can "
                "read the folder can lock it)",
                "run the command again when the other one is done; if the folder stays "
                f"locked, make it yours alone: chmod 700 {shell_quote(where)}",
            )
        ]
    )


def _took_lock(fd: int) -> bool:
    """Whether the exclusive lock of ``fd`` was taken now (``False``: another holds it)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _hold(real: str) -> Iterator[None]:
    """Hold the exclusive advisory lock of the directory ``real`` is in (checked, no link).

    Where the directory cannot be locked, the lock file ``<real>.lock`` (see the module).
    """
    try:
        import fcntl  # noqa: F401 - whether there is one: its calls are the helpers'
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    directory = os.path.dirname(real)
    fd = open_directory(directory)
    try:
        _wait_for_lock(fd, directory)
    except OSError as exc:
        os.close(fd)
        if exc.errno not in _CANNOT_LOCK_A_DIRECTORY:
            raise
        fd = open_lock(real + ".lock", FILE_MODE)
        try:
            _wait_for_lock(fd, directory)
        except BaseException:
            os.close(fd)
            raise
    except BaseException:
        os.close(fd)
        raise
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def locked(
    path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None
) -> Iterator[str]:
    """Hold an exclusive advisory lock for ``path`` (on its directory); yield the real path.

    ``path`` is checked first (:func:`check_writable`; ``home``: the ``METAFLOW_HOME`` it
    belongs in). Every writer of the directory serializes on it; nothing is created for the
    lock (but on a file system that cannot lock a directory: see the module). Where ``fcntl``
    is unavailable the lock is a no-op.
    """
    target = _prepare(path, home)
    with _hold(target):
        yield target


def write_text_atomic(
    path: str | os.PathLike[str], text: str, *, home: str | os.PathLike[str] | None = None
) -> str:
    """Replace ``path`` with ``text`` atomically, mode 0600; return the path written.

    ``home``: the ``METAFLOW_HOME`` the file belongs in (see :func:`check_writable`).
    """
    target = _prepare(path, home)
    opened = _walk_without_links(target) if _AT_A_DIRECTORY else None
    try:  # through the directory checked, whatever is swapped in since; else by its path
        _replace(target, opened, text)
    except OSError as exc:  # said of the file written, not of the temporary one beside it
        raise OSError(exc.errno, exc.strerror, target) from None
    finally:
        if opened is not None:
            os.close(opened)
    return target


#: Whether files are created and renamed relative to a directory's descriptor (POSIX; ``os.replace``
#: takes the descriptors where ``os.rename`` does: the table lists only the latter).
_AT_A_DIRECTORY = {os.open, os.rename, os.unlink} <= os.supports_dir_fd


def _walk_without_links(target: str) -> int | None:
    """A descriptor of the directory of ``target``, opened from the root, never through a link.

    ``target`` is a real path: one folder at a time is opened, each without following a link.
    The folders were checked a moment ago (:func:`check_writable`); one replaced by a link since
    (a folder another user can write to, swapped between the check and the write) is refused
    here, rather than followed.

    A folder is opened to be looked through, not read (``O_PATH`` where there is one: a
    folder one may pass but not list, mode 0711, is on the way to many homes). ``None`` where
    one cannot be opened so (elsewhere than Linux, such a folder): the write then goes by path,
    as checked.

    Raises:
        ConfigError: a folder on the way is a link, or no folder, now.

    """
    flags = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    directory = os.path.dirname(target)
    try:
        fd = os.open(os.sep, flags)
    except PermissionError:
        return None
    try:
        for part in [p for p in directory.split(os.sep) if p]:
            try:
                inner = os.open(part, flags | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
            except PermissionError:
                os.close(fd)
                return None
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                expected = (
                    f"the folders on the way to {target} as they were checked, found "
                    f"{part} replaced (by a link, or removed) since"
                )
                problem = Problem.bad_value(
                    target, "write", target, expected=expected,
                    fix="find out who changes it, and write elsewhere; nothing was written",
                )  # fmt: skip
                raise ConfigError([problem]) from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _replace(target: str, directory: int | None, text: str) -> None:
    """Replace ``target`` with ``text`` atomically (see the module).

    ``directory``: a descriptor of its folder, which the new file is made and renamed within;
    ``None``: by paths. The new file is made ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random
    name: never a file that is there already, nor a link planted in its place.
    """
    import secrets

    folder, name = os.path.split(target)
    tmp = f".{name}.{secrets.token_hex(6)}"
    here, there = (tmp, name) if directory is not None else (os.path.join(folder, tmp), target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(here, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE, dir_fd=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(here, there, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(here, dir_fd=directory)
        raise
    _fsync_dir(folder if directory is None else ".", directory)


def dump_json(data: dict[str, Any]) -> str:
    """The text of a configuration file: sorted keys, 4-space indent (as Metaflow writes it)."""
    return json.dumps(data, indent=4, sort_keys=True) + "\n"


def write_json_atomic(
    path: str | os.PathLike[str],
    data: dict[str, Any],
    *,
    home: str | os.PathLike[str] | None = None,
) -> str:
    """Replace ``path`` with ``data`` as JSON, atomically and with mode 0600.

    ``home``: the ``METAFLOW_HOME`` the file belongs in (see :func:`check_writable`).
    """
    return write_text_atomic(path, dump_json(data), home=home)


def read_json_object(path: str | os.PathLike[str], layer: str = "profile") -> dict[str, Any] | None:
    """The JSON object in ``path``, ``None`` if there is no file; ConfigError if it is broken."""
    target = os.fspath(path)
    if not os.path.lexists(target):
        return None
    doc, problems = read_json_file(target, layer)
    if problems:
        raise ConfigError(problems)
    return doc


def update_json(
    path: str | os.PathLike[str],
    change: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    home: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Read-modify-write ``path`` under its lock; return ``(old, new)`` (``old`` None: no file).

    ``change`` receives a copy of the current object (``{}`` when there is no file) and returns
    the new one. The file is written only when the content changes. ``home``: the
    ``METAFLOW_HOME`` the file belongs in (see :func:`check_writable`).
    """
    with locked(path, home=home) as target:
        old = read_json_object(target)
        new = change(dict(old or {}))
        if new != old:
            write_json_atomic(target, new, home=home)
        return old, new


def remove_file(
    path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None
) -> bool:
    """Remove ``path`` under its lock; return whether there was a file to remove.

    A symlink is removed itself (as ``rm`` does), never the file it points to, wherever that
    is. ``home``: the ``METAFLOW_HOME`` the file belongs in; its directories are checked as
    for a write (see :func:`check_writable`).
    """
    entry = removable(path, home=home)
    directory = os.path.dirname(entry)
    if not os.path.isdir(directory):
        return False
    with _hold(entry):
        try:
            os.unlink(entry)
        except FileNotFoundError:
            return False
        _fsync_dir(directory)
        return True
