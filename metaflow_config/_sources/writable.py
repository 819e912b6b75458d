"""Where a write may go: never where another user could have chosen it.

:func:`check_writable` is asked before anything is written (``_sources.writes`` asks it for
every write, the commands before their first question). Refused, each with the path, what is
wrong and the fix: a symbolic link another user owns (any link of the chain: one of the user's
own may lead to one planted), a file of another user's, a directory where the file goes; and for
a file of ``METAFLOW_HOME`` (``home=``): a link whose target lies outside the home, and a
directory from the home down to the file that another user owns or that group or others may
write to without the sticky bit (they could swap the file for a link between the check and the
rename). The directory a write locks is opened without following a link and must be the
user's own (:func:`open_directory`), as must a lock file where one is used
(:func:`open_lock`). On Windows owners and modes are not checked (they are not POSIX there);
the rest is.
"""

from __future__ import annotations

import os
import stat

from .._display import shell_quote
from ..errors import ConfigError, Problem
from .profiles import on_read_only_mount, writable_by

__all__ = ["check_home_dirs", "check_writable", "open_directory", "open_lock", "removable"]

#: A home of this name is told as ``METAFLOW_HOME`` in problems.
_HOME = "METAFLOW_HOME"
#: Links followed at most from a path to its file (as the kernel's limit, ``ELOOP``).
_MAX_LINKS = 40


def _real(path: str | os.PathLike[str]) -> str:
    """``path`` expanded, with every symbolic link resolved."""
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


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


def _check_link(
    path: str, real: str, home: str | None, real_home: str | None, me: int | None
) -> None:
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
    if links and real_home is not None and not _inside(real, real_home):
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
    if not stat.S_ISREG(st.st_mode):  # a write replaces the entry: a device node, a pipe gone
        raise _refused(
            real,
            f"a regular file, found {_kind_of(st.st_mode)}",
            "name a regular file (a write replaces what is there)",
        )
    if me is not None and st.st_uid != me:
        raise _refused(
            real,
            f"a file of your own, found one owned by {_who(st.st_uid)}",
            f"move it out of the way if you did not make it ({moved}), or ask its owner",
        )
    _check_read_only(real, st)


def _check_read_only(path: str, st: os.stat_result) -> None:
    """Refuse to replace (or remove) the regular file ``path`` its owner made read-only.

    A write renames a new file over it and a removal unlinks it, both of which its mode does
    not stop: a profile a platform team manages, or one its user guards against edits, would
    be replaced without a word. Not on Windows (the read-only attribute is not POSIX's mode).
    """
    if os.name == "nt" or not stat.S_ISREG(st.st_mode) or st.st_mode & stat.S_IWUSR:
        return
    raise _refused(
        path,
        f"a file you may write, found one made read-only (mode {stat.S_IMODE(st.st_mode):04o}: "
        "managed by someone, or guarded against edits)",
        f"if you mean to change it, make it writable first (chmod u+w {shell_quote(path)}) "
        "and run the command again",
    )


def _kind_of(mode: int) -> str:
    """What a file that is not a regular one is, as a message says it."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


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
    if st is None or not (stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        return  # created when the file is written, or a file in the way (said by _ensure_dir)
    what = _HOME if directory == real_home else f"a directory of {_HOME}"
    own = f"point {_HOME} at a directory of your own (default ~/.metaflowconfig)"
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):  # it was resolved a moment ago: swapped since
        expected = f"{what}, found a symbolic link where it was a moment ago"
        fix = "find out who changes it, or " + own
    elif st.st_uid != me:
        expected = f"{what} of your own, found one owned by {_who(st.st_uid)}"
        fix = own
    elif writable_by(st, directory) and not mode & stat.S_ISVTX:
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
    """The file a write of ``path`` would replace (symlinks resolved); refused where unsafe.

    Refused (a :class:`ConfigError` naming the path, what is wrong and the fix), before anything
    is written: ``path`` is a symbolic link another user owns; the file it resolves to is a
    directory, not a regular file (a device, a named pipe: the write would replace it), or
    another user's; and when ``home`` is given (the file belongs in that
    ``METAFLOW_HOME``), ``path`` resolves outside it, or a directory from the home down to the
    file is another user's or writable by group or others without the sticky bit. Directories
    that do not exist yet are not refused (a write creates them, mode 0700, and checks them).
    Without ``home`` (a file named on a command line: ``export``, ``schema --output``), ``path``
    itself being a symbolic link is refused, and so is a directory of it below the working
    directory that is one: a cloned repository's link is the cloner's own, and may point
    anywhere (``~/.bashrc``, ``~/.ssh``). A file its owner made read-only is refused too: the
    write would replace it all the same.
    """
    given = os.path.abspath(os.path.expanduser(os.fspath(path)))
    real = _real(given)
    if home is None:
        link = given if os.path.islink(given) else _linked_directory(path)
        if link is not None:
            raise _refused(
                given,
                f"a file, found a symbolic link to {real}"
                f"{'' if link == given else f' (the directory {link} is one)'} (a link in a "
                "folder someone else wrote, a cloned repository's, may point anywhere)",
                f"name the file itself ({shell_quote(real)}) if that is where it should go",
            )
    me = _me()
    shown_home = None if home is None else os.path.expanduser(os.fspath(home))
    real_home = None if shown_home is None else _real(shown_home)
    _check_link(given, real, shown_home, real_home, me)
    if real_home is not None and not _inside(real, real_home):
        raise _refused(
            given,
            f"a file inside {_HOME} ({shown_home}), found a path outside it ({real})",
            f"write files of {_HOME} only",
        )
    _check_file(real, me)
    if real_home is not None:
        _check_dirs(real_home, os.path.dirname(real), me)
    _check_mount(given, real, shown_home)
    return real


def _check_mount(given: str, real: str, home: str | None) -> None:
    """Refuse a write onto a file system mounted read-only (a shared NFS home, a ConfigMap).

    Said before anything is shown as written, with the way out: the write would fail with the
    system's bare error after the changes were listed.
    """
    folder = os.path.dirname(real)
    while folder and not os.path.isdir(folder):  # the nearest folder there: the write makes
        parent = os.path.dirname(folder)  # the rest
        folder = "" if parent == folder else parent
    if not folder or not on_read_only_mount(folder):
        return
    if home is None:
        fix = "write it to a folder on a file system you can write"
    else:
        mine = '"$HOME/.metaflowconfig-mine"'  # not quoted by shell_quote: $HOME is expanded
        fix = (
            f"copy the files you need to a home of your own (mkdir -p {mine} && cp "
            f"{shell_quote(home)}/config*.json {mine}/) and export METAFLOW_HOME={mine}, or "
            f"ask the owner of {shell_quote(home)} to make the change"
        )
    raise _refused(given, f"a file system you can write, found {folder} mounted read-only", fix)


def _linked_directory(path: str | os.PathLike[str]) -> str | None:
    """The first directory of ``path`` below the working directory that is a symbolic link.

    The directories as the kernel walks them (``..`` goes up from where the walk is), from the
    working directory for a relative path; those above it are the user's own choice and are
    not looked at (``/tmp`` may be a link).
    """
    typed = os.path.expanduser(os.fspath(path))
    here = os.getcwd()
    current = os.path.abspath(os.sep) if os.path.isabs(typed) else here
    below = here.rstrip(os.sep) + os.sep
    for part in os.path.normcase(typed).split(os.sep)[:-1]:
        if part in ("", os.curdir):
            continue
        current = os.path.dirname(current) if part == os.pardir else os.path.join(current, part)
        if current.startswith(below) and os.path.islink(current):
            return current
    return None


def check_home_dirs(home: str | os.PathLike[str], directory: str) -> None:
    """Refuse a directory from ``home`` down to ``directory`` (resolved) another user controls.

    For a directory the caller has just made: what ``os.makedirs`` found may not be its own.
    """
    _check_dirs(_real(home), directory, _me())


def open_lock(lock: str, mode: int) -> int:
    """Open (or create, with ``mode``) the lock file ``lock``: never through a link, only one's own.

    Returns the descriptor. Refused (a :class:`ConfigError`): a link in its place (``O_NOFOLLOW``
    refuses it, nothing is created where it points), anything but a file, another user's file.
    """
    removed = f"remove it if you did not make it (rm {shell_quote(lock)}: it is made again)"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), mode)
    except OSError:
        if os.path.islink(lock):
            raise _refused(
                lock, "a lock file of your own, found a symbolic link", removed
            ) from None
        raise
    st = os.fstat(fd)
    me = _me()
    if stat.S_ISREG(st.st_mode) and (me is None or st.st_uid == me):
        return fd
    os.close(fd)
    found = f"one owned by {_who(st.st_uid)}" if stat.S_ISREG(st.st_mode) else "no file"
    raise _refused(lock, f"a lock file of your own, found {found}", removed)


def open_directory(directory: str) -> int:
    """Open ``directory`` (resolved) to lock it: never through a link, only one's own.

    Returns the descriptor (read-only: nothing is written through it). Refused (a
    :class:`ConfigError`) before it is opened: another user's directory (they could hold its
    lock forever); and after: a link or anything but a directory in its place (``O_NOFOLLOW``,
    ``O_DIRECTORY``), or one that is not the directory looked at a moment before.
    """
    me = _me()
    own = "a directory of your own to lock, found {}"
    fix = "point METAFLOW_HOME at a directory of your own (default ~/.metaflowconfig)"
    before = _lstat(directory)
    if before is not None and me is not None and before.st_uid != me:
        raise _refused(directory, own.format(f"one owned by {_who(before.st_uid)}"), fix)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        if os.path.islink(directory):
            found = "a symbolic link where it was a moment ago"
            raise _refused(directory, own.format(found), fix) from None
        raise
    st = os.fstat(fd)
    same = before is not None and (st.st_dev, st.st_ino) == (before.st_dev, before.st_ino)
    if stat.S_ISDIR(st.st_mode) and same and (me is None or st.st_uid == me):
        return fd
    os.close(fd)
    raise _refused(directory, own.format("another one in its place"), fix)


def removable(path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None) -> str:
    """The entry a removal of ``path`` takes: the link itself when it is one, never its target.

    ``home``: the file belongs in that ``METAFLOW_HOME``; the entry must be in it, and its
    directories are checked as for a write. A file its owner made read-only is refused.
    """
    link = os.path.abspath(os.path.expanduser(os.fspath(path)))
    directory = _real(os.path.dirname(link))
    entry = os.path.join(directory, os.path.basename(link))
    if home is not None:
        shown = os.path.expanduser(os.fspath(home))
        if not _inside(entry, _real(shown)):
            expected = f"a file inside {_HOME} ({shown}), found a path outside it"
            raise _refused(link, expected, "remove it by hand")
        _check_dirs(_real(shown), directory, _me())
    found = _lstat(entry)
    if found is not None:
        _check_read_only(entry, found)
    _check_mount(link, entry, None if home is None else os.path.expanduser(os.fspath(home)))
    return entry
