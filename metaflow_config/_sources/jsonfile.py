"""Reading one JSON config file, bounded and strict: every way it can be wrong is a Problem.

The profile and local config files are read through one descriptor, refused when they are not
regular files or pass :data:`MAX_FILE_BYTES`, decoded as UTF-8 (a BOM is accepted), and parsed as
strict JSON (no ``NaN``, duplicate keys reported).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from .._display import short_name
from .._model.jsontext import nests_within, strict_loads
from .._model.values import MAX_JSON_DEPTH, frozen_object_hook
from ..errors import Problem

__all__ = ["holds", "read_json_file", "read_regular"]

#: What :func:`read_json_file` tells a caller of the file it read: its bytes and its ``fstat``.
Seen = Callable[[bytes, os.stat_result], None]

#: A profile or local config file larger than this is refused without being read whole.
MAX_FILE_BYTES = 1024 * 1024

#: UTF-8's byte-order mark, which a file may start with
_BOM = b"\xef\xbb\xbf"

#: A document holding more objects than this is read frozen (see ``read_json_file``)
_MANY_OBJECTS = 64


def _file_problem(layer: str, path: str, expected: str, fix: str) -> Problem:
    return Problem.file(path, layer, expected, fix)


_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "null",
}


#: Why :func:`read_regular` read nothing: the path is a directory, not a regular file (a FIFO,
#: a device, a socket), larger than the bound, or unreadable (``OSError``'s text, or ``NUL``).
DIRECTORY, SPECIAL, TOO_BIG = "directory", "special", "too big"


#: How :func:`read_regular` opens a file: never blocking (a FIFO without a writer), not inherited
#: by a child, as bytes (Windows' O_BINARY); computed once (a search reads hundreds of files).
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


#: What :func:`holds` reads of a file at once: a small file (most metadata) in one read.
_FIRST_READ = 1 << 13


def holds(path: str, needle: bytes, limit: int) -> bool:
    """Whether the file ``path`` holds ``needle``: read without blocking, at most ``limit`` bytes.

    A search's test of each of hundreds of files (``entry_points.txt`` of every distribution),
    cheaper than :func:`read_regular` for the small file it nearly always is: one read, no
    ``fstat``. A file that cannot be read (missing, a directory, a FIFO without a writer, a
    device that would block) holds nothing; one that fills the first read is read by
    :func:`read_regular`, bounded by ``limit``. A FIFO's writer or a device may hand the first
    read bytes: at most a few kilobytes, and what they hold is only an answer, never a value
    (the caller reads a file it uses as :func:`read_regular` does).
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except (OSError, ValueError):  # missing (the common case), unreadable, NUL in the path
        return False
    try:
        head = os.read(fd, _FIRST_READ)
    except OSError:  # a directory, a FIFO or device with nothing to read now
        return False
    finally:
        os.close(fd)
    if len(head) < _FIRST_READ:
        return needle in head
    data = read_regular(path, limit)[0]
    return data is not None and needle in data


def read_regular(  # noqa: PLR0911 - one early return per way a file can be refused
    path: str, limit: int
) -> tuple[bytes | None, os.stat_result | None, str]:
    """The bytes of the regular file ``path``, read without blocking, at most ``limit`` of them.

    The one reader of a file anyone may have put in the way (a profile, a project file, a
    cloned repository's module or metadata on ``sys.path``). The file is opened first and
    checked through its descriptor (no race with a swap after the check): a directory, a FIFO,
    a device or a socket is refused before a byte is read (``O_NONBLOCK``: a FIFO without a
    writer cannot hang the open), and so is a file over ``limit`` bytes, or one that grows past
    it while it is read. Returns the bytes, the descriptor's ``fstat``, and why nothing was read
    (:data:`DIRECTORY`, :data:`SPECIAL`, :data:`TOO_BIG`, or the error's text): ``""`` if read.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        # a directory where opening one fails (Windows); not there, the common case: no stat
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR) and os.path.isdir(path):
            return None, None, DIRECTORY
        return None, None, exc.strerror or str(exc)
    except ValueError:  # NUL in the path
        return None, None, "NUL"
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return None, info, DIRECTORY
        if not stat.S_ISREG(info.st_mode):
            return None, info, SPECIAL
        if info.st_size > limit:
            return None, info, TOO_BIG
        # as many bytes as the file holds and one more (a read of the bound itself would
        # allocate it for each file): the one more tells that it grew since, and then the rest
        # is read, up to the bound
        chunks: list[bytes] = []
        total = 0
        want = info.st_size + 1
        while total <= limit:
            asked = want - total
            chunk = os.read(fd, asked)
            chunks.append(chunk)
            total += len(chunk)
            if len(chunk) < asked:  # a short read of a regular file: its end, no read more
                break
            if total == want:
                want = limit + 1
        if total > limit:  # it grew after the check
            return None, info, TOO_BIG
    except OSError as exc:
        return None, None, exc.strerror or str(exc)
    finally:
        os.close(fd)
    return b"".join(chunks), info, ""


def _read_bounded(
    path: str, layer: str, seen: Seen | None = None
) -> tuple[bytes | None, list[Problem]]:
    """The bytes of the config file ``path`` (:func:`read_regular`), or its problem.

    ``seen`` is given the bytes read and the ``fstat`` of the descriptor they were read from.
    """
    fix_edit = f"edit or remove {path}"
    data, info, why = read_regular(path, MAX_FILE_BYTES)
    if data is None or info is None:
        if why == TOO_BIG:
            size = 0 if info is None else info.st_size  # within the bound: it grew as it was read
            found = str(size) if size > MAX_FILE_BYTES else f"more than {MAX_FILE_BYTES}"
            return None, [_too_big(layer, path, found)]
        if why == "NUL":
            return None, [
                _file_problem(layer, repr(path), "a path without NUL characters", fix_edit)
            ]
        expected = {
            DIRECTORY: "a JSON file, found a directory",
            SPECIAL: "a regular file, found a FIFO or device",
        }.get(why, f"a readable file ({why})")
        return None, [_file_problem(layer, path, expected, fix_edit)]
    if seen is not None:
        seen(data, info)
    return data, []


def _too_big(layer: str, path: str, found: str) -> Problem:
    return _file_problem(
        layer,
        path,
        f"a file of at most {MAX_FILE_BYTES} bytes, found {found}",
        f"edit or remove {path}: a configuration file is a small JSON object",
    )


def read_json_file(  # noqa: PLR0911 - one early return per way a file can be wrong
    path: str, layer: str, seen: Seen | None = None, *, frozen: bool = False
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read a JSON object from ``path``; every way it can be wrong becomes a Problem.

    UTF-8 with or without a byte-order mark; strict JSON (no ``NaN``/``Infinity``); a key given
    twice is a problem; at most ``MAX_FILE_BYTES`` bytes (a larger file is refused unread).
    ``seen``: called with the bytes read and the ``fstat`` of the file they came from (what the
    trust of a project file is judged on: the very bytes parsed, no second read).

    ``frozen``: a document that nests within ``MAX_JSON_DEPTH`` below its top is read frozen
    as it is parsed (``values.frozen_object_hook``): it is a ``FrozenDict``, its objects
    ``FrozenDict`` and its arrays tuples, all the way down, as ``freeze`` would make them
    (a resolution holds them as they are). A deeper one is read as plain dicts and lists.
    """
    fix_edit = f"correct {path} (nothing of a file that cannot be read is applied)"
    data, problems = _read_bounded(path, layer, seen)
    if data is None:
        return None, problems
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in data[:4]:  # JSON holds no NUL
        fix = f"save {path} as UTF-8 (Out-File -Encoding utf8, or your editor's encoding)"
        found = "it looks like UTF-16, as PowerShell's > and Out-File write"
        return None, [_file_problem(layer, path, f"UTF-8 text ({found})", fix)]
    try:  # a byte-order mark is dropped here, not by the "utf-8-sig" codec (a module to import)
        text = (data[len(_BOM) :] if data.startswith(_BOM) else data).decode("utf-8")
    except UnicodeDecodeError as exc:
        found = f"invalid byte at offset {exc.start}"
        return None, [_file_problem(layer, path, f"UTF-8 text ({found})", fix_edit)]
    if not text.strip():
        return None, [
            _file_problem(
                layer,
                path,
                "a JSON object, found an empty file",
                f"write {{}} into {path} or remove it",
            )
        ]
    dupes: list[str] = []

    def duplicate(pairs: list[tuple[str, Any]]) -> None:
        """Which keys an object gives twice (the rare path)."""
        keys: set[str] = set()
        for key, _ in pairs:
            if key in keys:
                dupes.append(key)
            keys.add(key)

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)  # in C; the last value of a key wins, as json.loads keeps it
        if len(result) != len(pairs):
            duplicate(pairs)
        return result

    hook: Callable[[list[tuple[str, Any]]], dict[str, Any]] = pairs_hook
    # Read frozen where that saves a walk of many objects (a few are frozen in no time), and
    # the document nests within the bound below its top (it is a level itself)
    if frozen and text.count("{") > _MANY_OBJECTS and nests_within(data, MAX_JSON_DEPTH + 1):
        hook = frozen_object_hook(duplicate, arrays="[" in text)
    try:
        doc = strict_loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        from .._model.jsonerror import json_problem  # only when a file is not JSON

        return None, [json_problem(text, path, layer, exc.pos)]
    except RecursionError:
        return None, [_file_problem(layer, path, "valid JSON (nested too deeply)", fix_edit)]
    except ValueError as exc:  # NaN, Infinity, 1e400, an integer of more than 4300 digits
        from .._model.jsonerror import json_problem, locate

        if locate(text) is not None:  # NaN, Infinity: said where they stand
            return None, [json_problem(text, path, layer, 0)]
        reason = str(exc).split(":")[0]
        return None, [_file_problem(layer, path, f"valid JSON ({reason})", fix_edit)]
    if not isinstance(doc, dict):
        found = _JSON_TYPES.get(type(doc), type(doc).__name__)
        return None, [
            _file_problem(layer, path, f"a JSON object at top level, found {found}", fix_edit)
        ]
    return doc, _duplicate_problems(doc, dupes, path, layer, fix_edit, text) if dupes else []


def _duplicate_problems(  # noqa: PLR0917 - the read's parts, in order
    doc: Mapping[str, Any], dupes: list[str], path: str, layer: str, fix: str, text: str
) -> list[Problem]:
    """The problems of the keys given twice.

    A top-level key is said by name, with the lines that give it (where its text is found as
    written) and the fix, keep one; a key inside a value by the top-level key holding it,
    never by its own name (a secret's keys, a header's name, are secret themselves).
    """
    counts = Counter(dupes)  # of every object's: the top level's are told by their lines
    lines = _key_lines(text, [key for key in counts if key in doc])
    top = [key for key in dict.fromkeys(dupes) if len(lines.get(key, ())) > 1]
    problems = [
        _file_problem(
            layer,
            f"{path}:{short_name(key)}",
            f"each key once, found {short_name(key)} {_times(len(lines[key]))}",
            f"keep one {short_name(key)}{_lines_text(lines[key])} and remove the "
            f"other{'s' if len(lines[key]) > 2 else ''} in {path}",
        )
        for key in top
    ]
    # the keys given twice inside a value: more than the top level's own repeats
    inner = {key for key in counts if counts[key] > len(lines.get(key, (None,))) - 1}
    if inner:
        holders = [key for key, value in doc.items() if _holds_key(value, inner)] or [""]
        problems.extend(
            _file_problem(
                layer,
                f"{path}:{key}" if key else path,
                "each key once in every object, found a key given twice inside (not named: "
                "the keys of a value may be a secret's)",
                fix,
            )
            for key in holders
        )
    return problems


def _times(count: int) -> str:
    """``twice``, ``3 times``, ..."""
    return "twice" if count == 2 else f"{count} times"


#: A JSON text's tokens that tell its structure: a string (whole, escapes and all: a match
#: never starts inside one, so the scan is linear), a bracket, a colon.
_TOKENS = r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:]'


def _key_lines(text: str, keys: list[str]) -> dict[str, list[int]]:
    """The lines where each of ``keys`` stands as a key of the top-level object of ``text``.

    One linear pass over the tokens of ``text`` (valid JSON, read already): a string of the
    top-level object followed by ``:`` is a key, compared decoded (escapes and all).
    """
    import re

    wanted = set(keys)
    lines: dict[str, list[int]] = {}
    if not wanted:
        return lines
    depth, line, at = 0, 1, 0
    key: tuple[str, int] | None = None  # a string of the top level, if the last token was one
    for match in re.finditer(_TOKENS, text):
        part, start = match.group(), match.start()
        if part == ":" and key is not None:
            name, where = key
            if name in wanted:
                line += text.count("\n", at, where)
                at = where
                lines.setdefault(name, []).append(line)
        key = None
        if part in "{[":
            depth += 1
        elif part in "}]":
            depth -= 1
        elif part[0] == '"' and depth == 1:
            key = (json.loads(part), start)
    return lines


def _lines_text(lines: list[int]) -> str:
    """`` (lines 2 and 5)``, or ``""`` for fewer than two lines (a one-line file).

    At most five are named: a hostile file may give a key thousands of times.
    """
    lines = sorted(set(lines))
    if len(lines) < 2:
        return ""
    if len(lines) > 5:
        return f" (lines {', '.join(map(str, lines[:5]))} and {len(lines) - 5} more)"
    return f" (lines {', '.join(map(str, lines[:-1]))} and {lines[-1]})"


def _holds_key(value: Any, keys: set[str]) -> bool:
    """Whether an object inside ``value`` has a key of ``keys`` (a walk, not a recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if not keys.isdisjoint(item):
                return True
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False
