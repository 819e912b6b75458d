"""Trust in project files: which ``.metaflow/config.json`` may set the settings that steer.

A project file is found by walking up from the working directory, so whoever owns a directory
the user runs in (a cloned repository, a shared folder) wrote it. The settings that decide where
data or credentials go (``Setting.sensitive``: endpoints, storage roots, roles, identities,
every secret) are applied from such a file only when the user has trusted its content, with
``metaflow-config trust``; the record is kept in the user's own home, never in the project:
``$METAFLOW_HOME/trusted.json``, mapping each trusted file (as it is found: :func:`trust_key`)
to the SHA-256 of the bytes trusted (an edit after trusting needs a new trust, as
``direnv allow`` does).

A file owned by another user (root aside), or writable by its group or by others, is never
trusted, as ssh treats its configuration; nor is a trust store that is not the user's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from typing import Any

from ..errors import ConfigError, Problem
from .profiles import planted_by_another, writable_by, yours

__all__ = [
    "FileFacts",
    "never_trusted",
    "read_facts",
    "read_store",
    "record",
    "revoke",
    "store_path",
    "verdict",
]

#: The trust store's file name in ``METAFLOW_HOME``.
TRUST_FILE = "trusted.json"


def digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes, in hex: what a trust records of its content."""
    return hashlib.sha256(data).hexdigest()


class FileFacts:
    """What reading a project file saw: its bytes' digest, and the owner and mode of the file.

    ``link``: the ``lstat`` of the path when it is a symlink (its owner counts too), else None.
    A plain class with ``__slots__`` (``_model.record``): one is made per read of a project file.
    """

    __slots__ = ("digest", "link", "target")

    def __init__(
        self, data: bytes, target: os.stat_result, link: os.stat_result | None = None
    ) -> None:
        self.digest = digest(data)
        self.target = target
        self.link = link


def never_trusted(facts: FileFacts, path: str | None = None) -> str:
    """Why a file can never be trusted (owned by another user, writable by others), or ``""``.

    ``path``: where it was read, whose ``.metaflow`` entry and access list count too
    (``profiles.planted_by_another``). Nothing on Windows, where ownership and modes are not
    POSIX's.
    """
    return planted_by_another(facts.target, facts.link, path)


def trust_key(path: str) -> str:
    """The key of the project file ``path`` in the trust store: the file as it is found.

    Its project directory's real path, then ``.metaflow/config.json`` as they are there: a
    symbolic link at either is not followed, so a repository whose ``.metaflow`` links to a
    trusted project's borrows no trust (the working directory, where the search starts, is a
    real path already).
    """
    folder, name = os.path.split(os.path.abspath(path))
    project, meta = os.path.split(folder)
    return os.path.join(os.path.realpath(project), meta, name)


def store_path(home: str) -> str:
    """The trust store of the home ``home``."""
    return os.path.join(home, TRUST_FILE)


def read_store(home: str) -> tuple[dict[str, str], str]:  # noqa: PLR0911 - a return per refusal
    """The trusted files of ``home`` (real path -> digest), and why the store is refused, if so.

    A missing store trusts nothing. A store that is not the user's own (another owner, writable
    by group or others), not a regular file, or not of the expected shape trusts nothing either,
    and the second item says why (said in the warning of an untrusted file).
    """
    if not os.path.isabs(home):  # no home (``profiles.homeless``): a working directory's folder
        return {}, "no home directory holds a trust store here (set METAFLOW_HOME)"
    path = store_path(home)
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except FileNotFoundError:
        return {}, ""
    except (OSError, ValueError) as exc:
        return {}, f"the trust store {path} cannot be read ({exc.__class__.__name__})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 1024 * 1024:
            return {}, f"the trust store {path} is not a regular file of at most 1 MiB"
        if os.name != "nt" and (not yours(info.st_uid) or writable_by(info, path)):
            return {}, f"the trust store {path} is not yours alone (owner or mode)"
        data = os.read(fd, 1024 * 1024 + 1)
    finally:
        os.close(fd)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deep
        return {}, f"the trust store {path} is not valid JSON"
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return {}, f'the trust store {path} is not of the expected shape ({{"files": {{...}}}})'
    return files, ""


def verdict(path: str, facts: FileFacts | None, home: str) -> tuple[str, str]:
    """Whether the project file ``path``, as read (``facts``), is trusted: ``("", "")`` if so.

    Otherwise why not, and what the user can do about it (a command to paste, quoted).
    """
    from .._display import shell_quote

    trust = f"review it, then trust it: `metaflow-config trust {shell_quote(path)}`"
    if facts is None:
        return "it could not be read", trust
    reason = never_trusted(facts, path)
    if reason:
        return (
            f"{reason}, so it is never trusted",
            "set what you need in your own profile or environment (or make the file yours, "
            "not writable by others, and trust it)",
        )
    trusted, refused = read_store(home)
    if refused:  # no home: nothing of the working directory's is the user's to chmod
        fix = (
            f"make it yours alone (`chmod 600 {shell_quote(store_path(home))}`)"
            if os.path.isabs(home)
            else "set METAFLOW_HOME to an absolute directory of your own"
        )
        return refused, fix
    recorded = trusted.get(trust_key(path))
    if recorded is None:
        return "it is not trusted", trust
    if recorded != facts.digest:
        return "it changed since it was trusted", trust
    return "", ""


def read_facts(path: str) -> tuple[FileFacts | None, dict[str, Any] | None, list[Problem]]:
    """Read the project file ``path`` as the resolver reads it: what it saw, the document, problems.

    ``FileFacts`` is ``None`` when no byte could be read (the problems say why).

    Raises:
        FileNotFoundError: there is no file at ``path``.

    """
    from .jsonfile import read_json_file

    link: os.stat_result | None = None
    with contextlib.suppress(OSError, ValueError):
        info = os.lstat(path)
        link = info if stat.S_ISLNK(info.st_mode) else None
    if link is None and not os.path.lexists(path):
        raise FileNotFoundError(path)
    read: list[FileFacts] = []
    doc, problems = read_json_file(
        path, "local", lambda data, st: read.append(FileFacts(data, st, link))
    )
    return (read[0] if read else None), doc, problems


def record(home: str, path: str, facts: FileFacts) -> None:
    """Trust the project file ``path`` with the content ``facts`` saw, in ``home``'s store.

    Written through the one safe write path (locked, atomic, 0600). A file that can never be
    trusted is refused before anything is written.

    Raises:
        ConfigError: ``path`` can never be trusted (owner or mode), naming why and the fix.

    """
    from .._display import shell_quote
    from .writes import update_json

    why = never_trusted(facts, path)
    if why:
        raise ConfigError(
            [
                Problem.file(
                    path,
                    "local",
                    f"a file that is yours alone to trust, but {why}",
                    (
                        "have it (and its .metaflow folder) made yours by its owner or root "
                        "(`chown`): no mode makes another user's file yours"
                        if "owned by another user" in why
                        else f"make it not writable by others (`chmod go-w {shell_quote(path)}`)"
                    )
                    + ", or set what you need in your own profile",
                )
            ]
        )
    key = trust_key(path)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        files = doc.get("files")
        files = dict(files) if isinstance(files, dict) else {}
        files[key] = facts.digest
        return {**doc, "files": files}

    update_json(store_path(home), change, home=home)


def revoke(home: str, path: str) -> bool:
    """Stop trusting the project file ``path``; whether it was trusted."""
    from .writes import update_json

    key = trust_key(path)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        files = doc.get("files")
        files = {k: v for k, v in files.items() if k != key} if isinstance(files, dict) else {}
        return {**doc, "files": files}

    old, _ = update_json(store_path(home), change, home=home)
    files = (old or {}).get("files")
    return isinstance(files, dict) and key in files
