"""Where a config file stops being JSON, and why, read from the text itself.

Python's ``json`` says *that* a text is not JSON; its messages and positions differ between
versions (3.13 reports a trailing comma at the comma, older versions at the next line). This
module scans the text with JSON's grammar (iteratively: no recursion limit) and names the first
mistake people make by hand, identically on every Python: a comment, single quotes, a trailing
comma, an unquoted key, a missing comma or colon, a string left open. The problem shows the
line's shape (its punctuation and top-level key names, no value) and a caret under the column.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .._display import MASK, Lines, printable
from ..errors import Problem

__all__ = ["json_problem"]

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERALS = ("true", "false", "null")
_ESCAPES = frozenset('"\\/bfnrt')
_MAX_SHOWN = 100


class Mistake(NamedTuple):
    """The first place a text is not JSON: its offset, what is wrong, the setting it was under."""

    pos: int
    hint: str
    key: str | None


_OPEN_STRING = "a string is not closed on its line (a missing quote?)"
_COMMENT = "comments are not JSON: remove it"
_SINGLE = "single quotes are not JSON: use double quotes"


def _string_end(text: str, start: int, key: str | None) -> int | Mistake:
    """The offset after the string opened at ``start``, or the mistake inside it."""
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                i += 6
                continue
            if nxt in _ESCAPES and nxt:
                i += 2
                continue
            return Mistake(i, "an invalid escape in a string (write \\\\ for a backslash)", key)
        if ch in "\r\n":
            return Mistake(start, _OPEN_STRING, key)
        if ord(ch) < 0x20:
            return Mistake(i, "a control character in a string (write it escaped: \\t)", key)
        i += 1
    return Mistake(start, _OPEN_STRING, key)


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def locate(text: str) -> Mistake | None:  # noqa: PLR0911, PLR0912, PLR0915 - one grammar
    """The first mistake in ``text`` as JSON, or ``None`` when the scan finds none."""
    stack: list[str] = []  # "{" or "[" of each open container
    state = "value"  # what comes next: value, first-value, key, first-key, colon, comma, done
    comma = -1  # where the last comma was (a trailing comma is reported there)
    key: str | None = None  # the top-level key (the setting) whose value is being read
    i = 0
    while True:
        i = _skip_space(text, i)
        if i >= len(text):
            if state == "done":
                return None
            closer = "}" if stack and stack[-1] == "{" else "]"
            return Mistake(len(text), f"the file ends early (a missing {closer} or value?)", key)
        ch = text[i]
        if ch == "#" or text.startswith(("//", "/*"), i):
            return Mistake(i, _COMMENT, key)
        if state == "done":
            return Mistake(i, "text after the end of the JSON object (an extra } or ]?)", key)
        if state in ("value", "first-value"):
            if ch == "]" and state == "first-value":
                stack.pop()
                state = "comma" if stack else "done"
                i += 1
            elif ch in "]}":
                if comma >= 0 and state == "value":
                    return Mistake(comma, f"a trailing comma: JSON allows none before {ch}", key)
                return Mistake(i, "a value is missing here", key)
            elif ch in "{[":
                stack.append(ch)
                state = "first-key" if ch == "{" else "first-value"
                i += 1
            elif ch == '"':
                end = _string_end(text, i, key)
                if isinstance(end, Mistake):
                    return end
                i, state = end, "comma" if stack else "done"
            elif ch == "'":
                return Mistake(i, _SINGLE, key)
            elif (number := _NUMBER.match(text, i)) is not None:
                i, state = number.end(), "comma" if stack else "done"
            elif (word := _WORD.match(text, i)) is not None:
                if not stack and text.startswith("=", word.end()):  # NAME=value: a .env file
                    return Mistake(
                        i,
                        "NAME=value lines are not JSON: the file is one JSON object, "
                        '{"METAFLOW_NAME": "value", ...}',
                        key,
                    )
                if word.group() in ("NaN", "Infinity"):  # Python's json writes them: not JSON
                    return Mistake(
                        i, f"{word.group()} is not a JSON number (quote it, or use null)", key
                    )
                if word.group() not in _LITERALS:  # not echoed: it may be a secret's value
                    return Mistake(
                        i,
                        "a bare word is not a JSON value (strings are quoted; "
                        "true, false and null are lower case)",
                        key,
                    )
                i, state = word.end(), "comma" if stack else "done"
            elif text.startswith("-Infinity", i):
                return Mistake(i, "-Infinity is not a JSON number (quote it, or use null)", key)
            else:
                return Mistake(i, f"{ch!r} cannot start a JSON value", key)
        elif state in ("key", "first-key"):
            if ch == "}" and state == "first-key":
                stack.pop()
                state = "comma" if stack else "done"
                i += 1
            elif ch == "}":
                return Mistake(comma, "a trailing comma: JSON allows none before }", key)
            elif ch == '"':
                end = _string_end(text, i, key)
                if isinstance(end, Mistake):
                    return end
                if len(stack) == 1:  # a setting's name (inner keys are parts of its value)
                    key = text[i + 1 : end - 1]
                i, state = end, "colon"
            elif ch == "'":
                return Mistake(i, _SINGLE, key)
            elif _WORD.match(text, i):
                return Mistake(i, 'keys must be in double quotes ("KEY")', key)
            else:
                return Mistake(i, f"a key in double quotes is expected here, not {ch!r}", key)
        elif state == "colon":
            if ch != ":":
                return Mistake(i, "a ':' is missing after the key", key)
            state = "value"
            i += 1
        else:  # state == "comma": after a value inside a container
            top = stack[-1]
            if ch == ",":
                comma, i = i, i + 1
                state = "key" if top == "{" else "value"
            elif ch == ("}" if top == "{" else "]"):
                stack.pop()
                state = "comma" if stack else "done"
                i += 1
            elif ch in "}]":
                opened = "an object" if top == "{" else "an array"
                return Mistake(i, f"{ch} does not close {opened}", key)
            else:
                return Mistake(i, _MISSING_COMMA, key)


_MISSING_COMMA = "a comma is missing before this"
_STRUCTURE = frozenset("{}[],: \t\r\n")
_PLAIN_END = re.compile(r"[{}\[\],:\s\"']")


def _token_end(text: str, i: int, stop: int) -> int:
    """Where the token at ``i`` ends (a string, a comment, a word): never past ``stop``."""
    ch = text[i]
    if ch in "\"'":
        j = i + 1
        while j < stop and text[j] != ch:
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, stop)
    if text.startswith("/*", i):
        close = text.find("*/", i + 2)
        return stop if close < 0 else min(close + 2, stop)
    if ch == "#" or text.startswith("//", i):
        return stop
    found = _PLAIN_END.search(text, i + 1, stop)
    return stop if found is None else found.start()


def _rendered(word: str, key: bool) -> tuple[str, bool]:
    """How a token of a line not JSON is shown (see ``_shape``), and whether it is verbatim."""
    ch = word[0]
    closed = len(word) > 1 and word[-1] == ch
    if ch in "\"'":
        if ch == '"' and key and closed and _WORD.fullmatch(word[1:-1]) is not None:
            return word, True
        return ch + MASK + (ch if closed else ""), False
    if word.startswith("/*"):
        return "/*" + MASK + ("*/" if word.endswith("*/") else ""), False
    if word.startswith(("//", "#")):
        return word[: 2 if ch == "/" else 1] + MASK, False
    return (word, True) if word in _LITERALS else (MASK, False)


def _opens_line(text: str, i: int) -> bool:
    """Whether only spaces stand before ``text[i]`` on its line."""
    return not text[text.rfind("\n", 0, i) + 1 : i].strip()


def _shape(text: str, start: int, end: int, pos: int) -> tuple[str, int]:
    """The line ``text[start:end]`` with nothing of its values shown, and the caret's column.

    Kept: JSON's punctuation, spaces, ``true``/``false``/``null``, and the names of top-level
    keys (plain words, as settings' names are). Every other token (a string, a number, a
    comment, a bare word, a control character) is shown as ``****`` within its quotes or comment
    marks: a file that is not JSON may be anything (a secret's value, another file through a
    symlink), and a name or a secret written in an unexpected way must not show. The caret
    stays under the token that holds ``pos``.
    """
    depth = 0
    key = False  # whether a string here would be a top-level key (after ``{`` or ``,``)
    valued = False  # a top-level value ended, and no comma followed yet
    i = 0
    out: list[str] = []
    width = 0
    caret = -1
    while i < end:
        ch = text[i]
        if ch in _STRUCTURE:
            if ch in "{[":
                depth += 1
                key = depth == 1 and ch == "{"
            elif ch in "}]":
                depth -= 1
            elif ch in ",:" and depth == 1:
                key, valued = ch == ",", False
            j, shown, verbatim = i + 1, "" if ch == "\r" else ch, True  # a lone CR: not shown
        else:
            line_end = text.find("\n", i)
            j = max(i + 1, _token_end(text, i, len(text) if line_end < 0 else line_end))
            # a setting's name opening a line after a value: a key whose comma is missing
            missed = valued and text.startswith('"METAFLOW_', i) and _opens_line(text, i)
            shown, verbatim = _rendered(text[i:j], key or missed)
            valued = depth == 1 and not key
            key = False
        if j > start:  # on the line shown
            if i < start:  # a comment or string begun on an earlier line
                shown, verbatim = MASK, False
            if caret < 0 and i <= pos < j:
                caret = width + (max(pos - i, 0) if verbatim else 0)
            out.append(shown)
            width += len(shown)
        i = j
    return "".join(out), width if caret < 0 else caret


def json_problem(text: str, path: str, layer: str, fallback_pos: int) -> Problem:
    """The problem of a config file that is not JSON: line, column, the line's shape, a caret.

    ``fallback_pos`` (where Python's parser stopped) is used only when the scan finds none. The
    line is shown by its shape (see ``_shape``): its punctuation and key names, no values.
    """
    mistake = locate(text) or Mistake(fallback_pos, "not valid JSON here", None)
    pos = min(mistake.pos, len(text))
    line_no = text.count("\n", 0, pos) + 1
    fix_line = line_no
    hint = mistake.hint
    if hint == _MISSING_COMMA:  # it belongs after the value before: on an earlier line?
        before = len(text[:pos].rstrip())
        fix_line = text.count("\n", 0, before) + 1
        if fix_line < line_no:
            hint = f"a comma is missing at the end of line {fix_line}, before this"
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    column = pos - start + 1
    where = f"line {line_no}, column {column}: {hint}"
    end = len(text) if end < 0 else end
    if end > start and text[end - 1] == "\r":  # a line of a Windows file
        end -= 1
    shown, caret = _shape(text, start, end, pos)
    offset = max(0, caret - _MAX_SHOWN // 2) if len(shown) > _MAX_SHOWN else 0
    pad = "".join(c if c == "\t" else " " for c in shown[offset:caret])
    excerpt = f"    {shown[offset : offset + _MAX_SHOWN]}\n    {pad}^"
    return Problem.file(
        path,
        layer,
        Lines(f"valid JSON ({printable(where)})\n{printable(excerpt, lines=True)}"),
        f"correct line {fix_line} of the file (nothing of a file that is not JSON is applied)",
    )
