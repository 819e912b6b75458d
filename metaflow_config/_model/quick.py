"""The plain cases of pydantic-core's validation, in Python: so a task need not load it.

A task's first resolution validates a few dozen values, nearly all of them short ASCII text
(a URL, an ARN, a bucket path, one of a few words). Loading pydantic-core's compiled module and
compiling a validator for them costs such a process about 4.5 ms (the shared library's pages and
relocations, the regex engine's first compile): more than the rest of its resolution. So
:func:`quick` validates by the same schemas (``Kind.core_schema``) in Python, for what it can
judge exactly as pydantic-core does, and pydantic-core is loaded only when a value needs it.

:func:`quick` only ever *accepts*: what it cannot say yes to (a value that is not plain ASCII
text or is longer than :data:`LONGEST`, text where an integer schema reads one, a JSON value's
container, a pattern that fails, a validator function that raises) raises :class:`Unsure`,
and pydantic-core validates all the values again, as it did before this module existed, giving
the very messages it gave. So the one property to hold is one-sided: what :func:`quick`
accepts, pydantic-core accepts, giving an equal value of the same type (``tests/test_quick.py``
checks it, kind by kind, on generated values).

A string schema (a pattern, a length, the plain-text check) judges text only when it is ASCII
without control characters (but tab) and at most :data:`LONGEST` characters, where Python's
``re`` and pydantic-core's Rust ``regex`` agree on every construct the kinds' patterns use:
Unicode classes (digits, blanks), case folding and ``$`` before a final line break are where
the two engines differ, and no such text gets here. What a kind's own Python function decides
(the boolean words, a CA bundle's path, JSON text and its shortcuts) is decided by the very
function pydantic-core calls, whatever the text holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LONGEST", "Unsure", "quick"]


class Unsure(Exception):  # noqa: N818 - no error: a value left to pydantic-core
    """:func:`quick` cannot accept the value: pydantic-core decides."""


#: The ASCII characters a one-line value may not hold (``kinds._NOT_PLAIN``'s), as bytes
_NOT_PLAIN = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])

#: The longest text judged here. Python's ``re`` backtracks where pydantic-core's engine is
#: linear whatever the pattern: longer text (a value of a hostile file may be 1 MiB) is left to
#: it. A setting's text is a URL, an ARN, a few names: well under this.
LONGEST = 1024

#: The keys of a string schema that :func:`_str` checks (``core.str_schema``'s)
_STR_KEYS = frozenset(("type", "pattern", "max_length", "ref"))

#: The keys of an integer schema that :func:`_int` checks (``core.int_schema``'s)
_INT_KEYS = frozenset(("type", "ge", "strict"))

#: The patterns compiled by ``re``, by pattern (a few dozen at most: the table's)
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _text(value: Any) -> str:
    """``value`` if it is a ``str`` of ASCII without control characters (but tab), not long."""
    if type(value) is not str or len(value) > LONGEST or not value.isascii():
        raise Unsure
    encoded = value.encode("ascii")
    if len(encoded.translate(None, _NOT_PLAIN)) != len(encoded):
        raise Unsure
    return value


def _str(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    if not schema.keys() <= _STR_KEYS:  # a check these do not make (a length at least, ...)
        raise Unsure
    text = _text(value)
    pattern = schema.get("pattern")
    if pattern is not None:
        compiled = _PATTERNS.get(pattern)
        if compiled is None:
            compiled = _PATTERNS[pattern] = re.compile(pattern)
        if compiled.search(text) is None:  # pydantic-core searches, as ``re.search``
            raise Unsure
    limit = schema.get("max_length")
    if limit is not None and len(text) > limit:
        raise Unsure
    return text


def _int(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    if not schema.keys() <= _INT_KEYS:
        raise Unsure
    if type(value) is not int:  # the kinds read text with int() first (``_whole_number``)
        raise Unsure
    least = schema.get("ge")
    if least is not None and value < least:
        raise Unsure
    return value


def _literal(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    if type(value) is not str:
        raise Unsure
    for choice in schema["expected"]:
        if type(choice) is str and choice == value:
            return choice
    raise Unsure


def _function(schema: Mapping[str, Any]) -> Callable[..., Any]:
    function = schema["function"]
    if function.get("type") != "no-info":
        raise Unsure
    return function["function"]  # type: ignore[no-any-return]


def _call(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except Unsure:
        raise
    except Exception:  # pydantic-core would make it an error: it says which
        raise Unsure from None


def _wrap(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    inner, refused = schema["schema"], []

    def handler(item: Any) -> Any:
        try:
            return quick(inner, item, definitions)
        except Unsure:
            refused.append(True)  # seen even where the function catches what it raises
            raise

    result = _call(_function(schema), value, handler)
    if refused:
        raise Unsure
    return result


def _chain(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    for step in schema["steps"]:
        value = quick(step, value, definitions)
    return value


def _reference(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    return quick(definitions[schema["schema_ref"]], value, definitions)


def _plain(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    return _call(_function(schema), value)


def _before(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    return quick(schema["schema"], _call(_function(schema), value), definitions)


def _after(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    return _call(_function(schema), quick(schema["schema"], value, definitions))


def _nullable(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    return None if value is None else quick(schema["schema"], value, definitions)


def _any(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    return value


#: What each schema type is judged by (a list, a dict, a typed dict: pydantic-core's alone)
_JUDGES: dict[str, Callable[[Mapping[str, Any], Any, Mapping[str, Any]], Any]] = {
    "str": _str,
    "chain": _chain,
    "definition-ref": _reference,
    "literal": _literal,
    "int": _int,
    "function-plain": _plain,
    "function-before": _before,
    "function-after": _after,
    "function-wrap": _wrap,
    "nullable": _nullable,
    "any": _any,
}


def quick(schema: Mapping[str, Any], value: Any, definitions: Mapping[str, Any]) -> Any:
    """``value`` validated by the core ``schema`` as pydantic-core would; :class:`Unsure` else.

    ``definitions``: the schemas a ``definition-ref`` names, by their ``ref``.
    """
    judge = _JUDGES.get(schema["type"])
    if judge is None:
        raise Unsure  # a JSON value's container: pydantic-core validates it
    return judge(schema, value, definitions)
