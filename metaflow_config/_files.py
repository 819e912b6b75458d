"""Safe writes of configuration files: atomic, private (0600), serialized by an advisory lock.

Every file ``metaflow-config`` writes goes through here. A write never leaves a half-written file
behind: the new content goes to a temporary file in the same directory (created with
``O_CREAT | O_EXCL``, so it is never an existing file or a link), is flushed and fsynced, given
mode 0600, and renamed over the target with ``os.replace``; then the directory is fsynced so the
rename itself survives a crash. A read-modify-write (:func:`update_json`) holds an exclusive
advisory lock (``fcntl.flock``) on a sibling ``<name>.lock`` file, so two processes updating the
same profile serialize and neither loses the other's keys.

Nothing is written where another user could have chosen where it goes (:func:`check_writable`,
before anything is written): a symbolic link or a file owned by another user, a lock file that
is a link or another user's, and, for a file of ``METAFLOW_HOME`` (``home=``), a link whose
target lies outside the home, or a directory from the home down to the file that another user
owns or that group or others may write to without the sticky bit (they could swap the file
between the check and the rename). A link of the user's own to a file inside the home is
written through: the link stays, its target gets the new content. On Windows the owners and
modes are not checked (they are not POSIX there).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from ._display import shell_quote
from ._layers import read_json_file
from .errors import ConfigError, Problem

__all__ = [
    "FILE_MODE",
    "check_writable",
    "dump_json",
    "file_in_the_way",
    "locked",
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
#: A home of this name is told as ``METAFLOW_HOME`` in problems.
_HOME = "METAFLOW_HOME"
#: Links followed at most from a path to its file (as the kernel's limit, ``ELOOP``).
_MAX_LINKS = 40


def _target(path: str | os.PathLike[str]) -> str:
    """The file to write: ``path`` with symlinks resolved (a symlinked profile stays a link)."""
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


# --- who may have chosen where a write goes ---------------------------------------------------


def _me() -> int | None:
    """The user whose files may be written (``None`` on Windows: owners are not checked)."""
    return None if os.name == "nt" else os.getuid()


def _who(uid: int) -> str:
    """A user as messages name it: ``bob (uid 1001)``, or ``uid 1001`` without a name."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _lstat(path: str) -> os.stat_result | None:
    """``os.lstat(path)``, or None when nothing is there."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _refused(path: str, expected: str, fix: str) -> ConfigError:
    """The error of a write refused at ``path``: said before anything is written."""
    return ConfigError([Problem.bad_argument(path, "", expected, f"{fix}; nothing was written")])


def _inside(real: str, real_home: str) -> bool:
    """Whether the resolved path ``real`` lies inside the resolved directory ``real_home``."""
    try:
        return real != real_home and os.path.commonpath([real, real_home]) == real_home
    except ValueError:  # different drives (Windows)
        return False


def _check_link(path: str, real: str, home: str | None, me: int | None) -> None:
    """``path`` is not a link another user made, nor (for a home's file) one leading out of it.

    Each link of the chain that ends at ``real`` is checked: one the user made may lead to one
    another user planted.
    """
    current, links = path, 0
    while links < _MAX_LINKS:
        st = _lstat(current)
        if st is None or not stat.S_ISLNK(st.st_mode):
            break
        if me is not None and st.st_uid != me:
            raise _refused(
                current,
                f"a file or a symbolic link of your own, found a symbolic link owned by "
                f"{_who(st.st_uid)} (to {real})",
                f"remove the link if you did not make it (rm {shell_quote(current)}) and run "
                "the command again",
            )
        current = os.path.join(os.path.dirname(current), os.readlink(current))
        links += 1
    if links and home is not None and not _inside(real, _target(home)):
        raise _refused(
            path,
            f"a file inside {_HOME} ({home}), found a symbolic link to {real}, outside it",
            f"edit {shell_quote(real)} directly, or replace the link with a copy of its target "
            f"(rm {shell_quote(path)} && cp {shell_quote(real)} {shell_quote(path)}) and run "
            "the command again",
        )


def _check_file(real: str, me: int | None) -> None:
    """The file ``real`` (resolved) is absent, or a file of the user's own."""
    st = _lstat(real)
    if st is None:
        return
    moved = f"mv {shell_quote(real)} {shell_quote(real + '.old')}"
    if stat.S_ISDIR(st.st_mode):
        raise _refused(real, "a file, found a directory", f"move it out of the way ({moved})")
    if me is not None and st.st_uid != me:
        raise _refused(
            real,
            f"a file of your own, found one owned by {_who(st.st_uid)}",
            f"move it out of the way if you did not make it ({moved}), or ask its owner",
        )


def _check_dirs(real_home: str, real_dir: str, me: int | None) -> None:
    """Refuse a directory from ``real_home`` down to ``real_dir`` another user could change.

    Each one that exists must be the user's own, and no other user may write to it (unless its
    sticky bit keeps them off the user's entries).
    """
    if me is None:
        return
    rel = os.path.relpath(real_dir, real_home)
    current = real_home
    for part in [] if rel == os.curdir else rel.split(os.sep):
        _check_dir(current, real_home, me)
        current = os.path.join(current, part)
    _check_dir(current, real_home, me)


def _check_dir(directory: str, real_home: str, me: int) -> None:
    st = _lstat(directory)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return  # created when the file is written, or a file in the way (said by _ensure_dir)
    what = _HOME if directory == real_home else f"a directory of {_HOME}"
    own = f"point {_HOME} at a directory of your own (default ~/.metaflowconfig)"
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != me:
        expected = f"{what} of your own, found one owned by {_who(st.st_uid)}"
        fix = own
    elif mode & 0o022 and not mode & stat.S_ISVTX:
        by = "others" if mode & 0o002 else "its group"
        expected = (
            f"{what} that only you can write to, found one writable by {by} (mode {mode:04o}): "
            "they could swap a file in it for a link"
        )
        fix = f"chmod go-w {shell_quote(directory)}, or {own}"
    else:
        return
    problem = Problem.bad_value(
        _HOME, "profile", directory, expected=expected, fix=f"{fix}; nothing was written"
    )
    raise ConfigError([problem])


def check_writable(
    path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None
) -> str:
    """The file a write of ``path`` would replace (symlinks resolved), once it is safe to.

    Refused (a :class:`ConfigError` naming the path, what is wrong and the fix), before anything
    is written: ``path`` is a symbolic link another user owns; the file it resolves to is a
    directory or another user's; and when ``home`` is given (the file belongs in that
    ``METAFLOW_HOME``), ``path`` resolves outside it, or a directory from the home down to the
    file is another user's or writable by group or others without the sticky bit. Directories
    that do not exist yet are not refused (a write creates them, mode 0700, and checks them).
    """
    given = os.path.abspath(os.path.expanduser(os.fspath(path)))
    real = _target(given)
    me = _me()
    shown_home = None if home is None else os.path.expanduser(os.fspath(home))
    _check_link(given, real, shown_home, me)
    if shown_home is not None and not _inside(real, _target(shown_home)):
        raise _refused(
            given,
            f"a file inside {_HOME} ({shown_home}), found a path outside it ({real})",
            f"write files of {_HOME} only",
        )
    _check_file(real, me)
    if shown_home is not None:
        _check_dirs(_target(shown_home), os.path.dirname(real), me)
    return real


def _fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
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
            _check_dirs(_target(os.path.expanduser(os.fspath(home))), directory, _me())
    return real


@contextlib.contextmanager
def _hold(real: str) -> Iterator[None]:
    """Hold the exclusive advisory lock on ``<real>.lock`` (checked; never through a link)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock = real + ".lock"
    removed = f"remove it if you did not make it (rm {shell_quote(lock)}: it is made again)"
    try:  # O_NOFOLLOW: a link planted in its place is refused, never followed
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    except OSError:
        if os.path.islink(lock):
            raise _refused(
                lock, "a lock file of your own, found a symbolic link", removed
            ) from None
        raise
    try:
        st = os.fstat(fd)
        me = _me()
        if not stat.S_ISREG(st.st_mode) or (me is not None and st.st_uid != me):
            found = f"one owned by {_who(st.st_uid)}" if stat.S_ISREG(st.st_mode) else "no file"
            raise _refused(lock, f"a lock file of your own, found {found}", removed)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def locked(
    path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None
) -> Iterator[str]:
    """Hold an exclusive advisory lock for ``path`` (on ``<path>.lock``); yield the real path.

    ``path`` is checked first (:func:`check_writable`; ``home``: the ``METAFLOW_HOME`` it
    belongs in). The lock file is created with mode 0600, never through a link, and left in
    place (removing it would race with a process waiting on it). Where ``fcntl`` is unavailable
    the lock is a no-op.
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
    directory = os.path.dirname(target)
    # mkstemp opens O_CREAT | O_EXCL (| O_NOFOLLOW): a new file under a random name, never one
    # that is there already, nor a link planted in its place
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)
    return target


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
    link = os.path.abspath(os.path.expanduser(os.fspath(path)))
    directory = _target(os.path.dirname(link))
    entry = os.path.join(directory, os.path.basename(link))  # the link itself, not its target
    if home is not None:
        shown = os.path.expanduser(os.fspath(home))
        if not _inside(entry, _target(shown)):
            raise _refused(
                link,
                f"a file inside {_HOME} ({shown}), found a path outside it",
                "remove it by hand",
            )
        _check_dirs(_target(shown), directory, _me())
    if not os.path.isdir(directory):
        return False
    with _hold(entry):
        try:
            os.unlink(entry)
        except FileNotFoundError:
            return False
        _fsync_dir(directory)
        return True
