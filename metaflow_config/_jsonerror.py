"""Where a config file stops being JSON, and why, read from the text itself.

Python's ``json`` says *that* a text is not JSON; its messages and positions differ between
versions (3.13 reports a trailing comma at the comma, older versions at the next line). This
module scans the text with JSON's grammar (iteratively: no recursion limit) and names the first
mistake people make by hand, identically on every Python: a comment, single quotes, a trailing
comma, an unquoted key, a missing comma or colon, a string left open. The problem shows the line
and a caret under the column, never the value of a secret setting.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._table import find
from .errors import Problem, mask_url_password

__all__ = ["Mistake", "json_problem", "locate"]

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
                if word.group() not in _LITERALS:  # not echoed: it may be a secret's value
                    return Mistake(
                        i,
                        "a bare word is not a JSON value (strings are quoted; "
                        "true, false and null are lower case)",
                        key,
                    )
                i, state = word.end(), "comma" if stack else "done"
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
                return Mistake(i, "a comma is missing before this", key)


def _is_secret(name: str | None) -> bool:
    field = find(name) if name else None
    return field is not None and field.secret


def json_problem(text: str, path: str, layer: str, fallback_pos: int) -> Problem:
    """The problem of a config file that is not JSON: line, column, the line itself, a caret.

    ``fallback_pos`` (where Python's parser stopped) is used only when the scan finds nothing.
    """
    mistake = locate(text) or Mistake(fallback_pos, "not valid JSON here", None)
    pos = min(mistake.pos, len(text))
    line_no = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : len(text) if end < 0 else end].rstrip("\r")
    column = pos - start + 1
    where = f"line {line_no}, column {column}: {mistake.hint}"
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line)
    if _is_secret(mistake.key) or any(_is_secret(w) for w in words if w.startswith("METAFLOW")):
        excerpt = "    (the line holds a secret setting's value: not shown)"
    else:
        offset = max(0, column - _MAX_SHOWN // 2) if len(line) > _MAX_SHOWN else 0
        shown = mask_url_password(line[offset : offset + _MAX_SHOWN])
        pad = "".join(c if c == "\t" else " " for c in line[offset : pos - start])
        excerpt = f"    {shown}\n    {pad}^"
    return Problem.file(
        path,
        layer,
        f"valid JSON ({where})\n{excerpt}",
        f"correct line {line_no} of {path} (the rest of the file is kept as it is)",
    )
