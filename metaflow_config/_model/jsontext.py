"""The strict, bounded JSON codec of every JSON text the package reads.

:func:`strict_loads` refuses what RFC 8259 does not allow and ``json`` takes (``NaN``,
``Infinity``, numbers out of a float's range) and a key given twice in one object;
:func:`decode_json` says why a text is not such JSON, as a phrase for a message, and may bound
its nesting at :data:`~metaflow_config._model.values.MAX_JSON_DEPTH`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

from .._display import texts_of
from .values import TooDeep, freeze

__all__ = ["decode_json", "nests_within", "strict_loads"]


def decode_json(text: str, *, bounded: bool = False) -> tuple[Any, str | None]:
    """``text`` decoded as strict JSON (see :func:`strict_loads`), or ``None`` and why not.

    The reason is a phrase: ``not valid JSON (...)`` with where the syntax breaks, ``nested too
    deeply``, or the number refused (``NaN``, ``Infinity``, out of a float's range, more than
    4300 digits). ``bounded``: a value nested deeper than :data:`MAX_JSON_DEPTH` is refused too
    (where nothing else bounds it, as :func:`freeze` does for the table's JSON values).
    """
    try:
        value = strict_loads(text)
    except json.JSONDecodeError as exc:
        said = f"not valid JSON ({_mistake(text, exc)})"
        inner = text.strip()
        if len(inner) > 1 and inner[0] == inner[-1] and inner[0] in "'\"":  # quoted twice
            said += f"; the whole value is in {inner[0]} quotes, which are part of it: drop them"
        return None, said
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    except ValueError as exc:  # NaN, Infinity, a number of more than 4300 digits
        return None, f"not valid JSON ({str(exc).split(':')[0]})"
    if bounded:
        try:
            freeze(value)
        except TooDeep as exc:
            return None, str(exc)
    return value, None


def _mistake(text: str, exc: json.JSONDecodeError) -> str:
    """Where ``text`` stops being JSON and why, as a config file's error says it.

    Read from the text itself (``jsonerror.locate``: a comment, a trailing comma, single
    quotes...), the same on every Python; Python's own words where that finds nothing.
    """
    from .jsonerror import locate  # the error path only

    found = locate(text)
    if found is None:  # "Invalid control character at": one "at" is enough
        what = exc.msg[: -len(" at")] if exc.msg.endswith(" at") else exc.msg
        return f"{what} at line {exc.lineno} column {exc.colno}"
    hint = found.hint.replace("the file ends early", "the text ends early")
    if hint.startswith("NAME=value lines"):  # a file's .env line; in a value, its text
        hint = 'key=value text is not JSON: write a JSON object, {"key": "value"}'
    pos = min(found.pos, len(text))
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{hint} at line {line} column {column}"


def strict_loads(
    text: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None
) -> Any:
    """``json.loads`` refusing NaN, Infinity, numbers out of range, and keys given twice.

    A key given twice in one object is refused unless ``object_pairs_hook`` decides otherwise.
    Raises ``json.JSONDecodeError`` for malformed text, ``ValueError`` for those numbers (and for
    an integer of more than 4300 digits) and for a key given twice, ``RecursionError`` for
    absurd nesting. A config file passes a hook of its own, which names the keys given twice.
    """
    return json.loads(
        text,
        object_pairs_hook=_unique_keys if object_pairs_hook is None else object_pairs_hook,
        parse_constant=_no_constant,
        parse_float=_finite_float,
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json`` hook: an object's pairs as a ``dict``, refusing a key given twice.

    The key is not named: it may be a key of a secret map.
    """
    result = dict(pairs)  # in C; only a key given twice makes it shorter
    if len(result) != len(pairs):
        msg = "a key given twice in one object"
        raise ValueError(msg)
    return result


def _no_constant(name: str) -> Any:
    """``json`` hook: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259)."""
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _finite_float(text: str) -> float:
    """``json`` hook: a number too large for a float (``1e400``) is refused, not made infinite."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        msg = "a number out of a float's range"  # not the number: it may be part of a secret
        raise ValueError(msg)
    return number


#: Every byte but those that open or close a JSON string, object or array (deleted in C)
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
#: An opening bracket or brace as +1, a closing one as -1 (a signed byte)
_STEPS = bytes.maketrans(b"[]{}", bytes([1, 255, 1, 255]))


def nests_within(data: bytes, levels: int) -> bool:
    """Whether the JSON text ``data`` (valid, UTF-8) nests objects and arrays at most ``levels``.

    In C, without parsing: escaped backslashes and quotes are dropped, then every byte but
    quotes and brackets (no byte of a multi-byte UTF-8 character is one of those), then the
    strings (quote to quote); what is left is the brackets outside strings, whose running sum
    (+1 opening, -1 closing) peaks at the depth. About a millisecond for a megabyte.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    text = data.translate(None, _NOT_STRUCTURE).replace(b'""', b"")  # most strings: nothing left
    if b'"' in text:
        text = b"".join(text.split(b'"')[::2])
    return max(accumulate(memoryview(text.translate(_STEPS)).cast("b")), default=0) <= levels


def secret_texts(values: Iterable[Any]) -> list[str]:
    """Every text secret ``values`` hold, as a message could quote one.

    The strings wherever they are held, a mapping's keys too (``_display.texts_of``), and
    those of JSON text, as a layer holds a dict or a list, both whole and decoded (as
    Metaflow's ``json.loads`` reads it: ``'"tok"'`` quoted as ``tok``).
    """
    found = texts_of(values, keys=True)
    json_texts = [text for text in found if text.lstrip()[:1] in ("{", "[", '"')]
    found += texts_of((decode_json(text, bounded=True)[0] for text in json_texts), keys=True)
    return found
