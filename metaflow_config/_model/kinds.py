"""The value kinds a setting can have: how it validates, how it is written back to an environment.

Validation is pydantic's: each kind builds a ``pydantic_core`` schema, and the resolver validates
every setting of a resolution in one call of one ``SchemaValidator`` (collecting every error). The
schemas are built on first resolution, not at import, by ``core`` (pydantic-core's compiled
validator, loaded without the package's Python schema module).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._display import MASK, has_url_password, show_value
from .values import FrozenDict, thaw

if TYPE_CHECKING:
    from pydantic_core import CoreSchema

__all__ = [
    "AWS_ENDPOINT",
    "BOOL",
    "BOOL_WORDS",
    "CLIENT_PARAMS",
    "COMMA_LIST",
    "COMMA_NAMES",
    "DYNAMO_TABLE",
    "GS_URL",
    "IAM_ROLE_ARN",
    "JSON_OBJECT",
    "KEY_VALUE_LIST",
    "LABEL_KEY",
    "LABEL_NAME",
    "LOG_GROUP_ARN",
    "NAME_LIST",
    "NONNEG_INT",
    "PATH",
    "PLUGIN_NAME",
    "QOS_CLASS",
    "QUANTITY",
    "QUANTITY_PATTERN",
    "RETRY_CONFIG",
    "S3_URL",
    "SFN_NAME_FORBIDDEN",
    "SFN_NAME_MAX",
    "SFN_NAME_PREFIX",
    "SFN_NAME_RULES",
    "SPACE_LIST",
    "STR",
    "STR_DICT",
    "STR_LIST",
    "TAGS",
    "TOLERATIONS",
    "URL",
    "VERIFY",
    "VOLUME_CLAIMS",
    "Kind",
    "any_case",
    "choice",
    "is_plugin_name",
    "json_text",
    "parse_bool",
    "plain_definition",
    "plain_problem",
    "unicode_problem",
]


class Kind:
    """A value kind: its name in docs, what a valid value looks like, its schema and serializer."""

    __slots__ = (
        "_factory",
        "choices",
        "diagnose",
        "expected",
        "json_text",
        "json_valued",
        "name",
        "raw_diagnosis",
        "text",
    )

    def __init__(
        self,
        name: str,
        expected: str,
        factory: Callable[[], CoreSchema],
        *,
        json_valued: bool = False,
        choices: tuple[str, ...] = (),
        diagnose: Callable[[str], str] | None = None,
        raw_diagnosis: bool = False,
        json_text: bool = False,
    ) -> None:
        self.name = name
        self.expected = expected
        self._factory = factory
        self.json_valued = json_valued
        self.choices = choices
        #: what is wrong with a string its pattern refused, said part by part (the error path
        #: only: valid values are matched by the pattern in pydantic-core alone); "" where it
        #: has nothing to add to ``expected``
        self.diagnose = diagnose
        #: the diagnosis is given the value as written, not with its URL passwords masked (a
        #: masked password hides what is wrong with it), and quotes no part a password could be
        #: in (the error path redacts what it says too); else it is given the value masked
        self.raw_diagnosis = raw_diagnosis
        #: a valid ``str`` is its own validated value (text and choice kinds): no coercion, no
        #: parsing, so what derives from the raw text derives from the validated value
        self.text = isinstance(factory, _Text) or bool(choices)
        #: held as JSON text that Metaflow parses itself (``json.loads``): a file may give the
        #: JSON value or its text, and the text is what every layer resolves to
        self.json_text = json_text

    def core_schema(self, *, shared: bool = False) -> CoreSchema:
        """The pydantic-core schema that validates (and coerces) a raw value of this kind.

        ``shared``: a text kind's plain-text check refers to :func:`plain_definition` (one
        compiled pattern for a whole table) instead of holding its own copy.
        """
        if isinstance(self._factory, (_Text, _Json)):
            return self._factory(shared=shared)
        return self._factory()

    @property
    def list_item(self) -> str | None:
        """The pattern of one item of the JSON list a file may write for this kind, or None.

        A kind of items joined by a separator (:data:`COMMA_LIST`, :data:`SPACE_LIST`): a JSON
        list of such items is taken too (what ``metaflow-config schema`` says of it).
        """
        return self._factory.item if isinstance(self._factory, _Joined) else None

    def to_text(self, value: Any) -> str:
        """Serialize a validated value so that validating the text gives the same value back."""
        if self.json_valued:
            return json.dumps(thaw(value), separators=(",", ":"), sort_keys=True)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"


def _cs() -> Any:
    """What builds the kinds' schemas: ``core_schema``'s functions (see ``core``: not imported)."""
    from . import core

    return core


def _whole_number(value: Any) -> Any:
    """An integer as Metaflow reads one: a boolean is none; text is read by ``int()``.

    pydantic-core would also read ``"7.0"`` as 7, which Metaflow's ``int("7.0")`` refuses (a
    profile the extension took would stop a run with the extension off).
    """
    if isinstance(value, bool):
        msg = "a boolean is not an integer"
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a validation error
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        import math  # text that is no integer: the error path

        try:
            number = float(value)
        except ValueError:
            return value  # no number at all: pydantic-core refuses it, in the kind's words
        if not math.isfinite(number):  # "nan", "inf": no number either
            return value
        msg = "it is written with a fraction or an exponent"
        raise ValueError(msg)
    return value


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        from .jsontext import decode_json  # a JSON setting given as text: loaded when one is

        decoded, reason = decode_json(value)
        if reason is not None:
            raise ValueError(reason)
        return decoded
    return value


def _int(ge: int | None = None, le: int | None = None) -> Callable[[], CoreSchema]:
    def factory() -> CoreSchema:
        cs = _cs()
        return cs.no_info_before_validator_function(_whole_number, cs.int_schema(ge=ge, le=le))  # type: ignore[no-any-return]

    return factory


def _number_as_text(value: Any) -> Any:
    """A JSON number (not a boolean) as its text: a file may write ``4096`` or ``"4096"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return value


#: A number >= 0 written as text (what ``QUANTITY`` takes, and its JSON Schema says)
QUANTITY_PATTERN = r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"


def _quantity() -> CoreSchema:
    cs = _cs()
    text = cs.str_schema(pattern=QUANTITY_PATTERN)
    return cs.no_info_before_validator_function(_number_as_text, text)  # type: ignore[no-any-return]


#: What a one-line value (a name, URL, ARN, path, header) may not contain: C0 and C1 control
#: characters other than tab (NUL, line breaks, NEL, escape sequences, CSI), the line and
#: paragraph separators (U+2028, U+2029) and lone surrogates (bytes that were not UTF-8 in the
#: environment). JSON texts may span lines; the strings inside them may not. Compiled by ``re``
#: on first use, as the rare paths' patterns: a valid text value never needs it (see ``_Text``).
_NOT_PLAIN = r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"


#: ``_NOT_PLAIN`` as pydantic-core's regex engine checks it (a lone surrogate is refused before
#: any pattern: no Rust string can hold one)
_PLAIN_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]*$"


def plain_problem(value: str) -> str | None:
    """What makes ``value`` more than one line of plain text (see ``_NOT_PLAIN``), if anything."""
    bad = re.search(_NOT_PLAIN, value)
    if bad is None:
        return None
    char = bad.group()
    if "\udc80" <= char <= "\udcff":  # how Python holds a byte of the environment not UTF-8
        return (
            f"contains the byte 0x{ord(char) - 0xDC00:02x} (not UTF-8) at position "
            f"{bad.start()}; a value must be one line of UTF-8 text"
        )
    return (
        f"contains {char!r} at position {bad.start()}; a value must be one line "
        "of text without NUL or other control characters"
    )


_SURROGATE = r"[\ud800-\udfff]"  # compiled by re on first use, as the rare paths' patterns


def unicode_problem(value: Any) -> str | None:
    """Where a string in ``value`` holds a lone surrogate (``None``: none does).

    Text, or a JSON value's keys and strings: no UTF-8 output, file or environment variable
    can carry a lone surrogate. The walk keeps its own stack (no recursion, however deep).
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            bad = re.search(_SURROGATE, item)
            if bad is not None:
                return f"text that is valid Unicode, not {bad.group()!r} at position {bad.start()}"
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return None


def _plain(value: Any) -> Any:
    """Refuse a string holding a control character or a lone surrogate (see ``_NOT_PLAIN``)."""
    if isinstance(value, str):
        problem = plain_problem(value)
        if problem is not None:
            raise ValueError(problem)
    return value


class _Text:
    """The schema factory of a text kind: one line of text, matching ``pattern`` if given.

    What such a schema gives back for a valid ``str`` is that same string (``Kind.text``).
    Both checks run in pydantic-core (no Python call per value); the message of a value that
    is not plain text is :func:`plain_problem`'s, said on the error path (``_resolve``).
    """

    __slots__ = ("max_length", "pattern")

    def __init__(self, pattern: str | None, max_length: int | None) -> None:
        self.pattern = pattern
        self.max_length = max_length

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        cs = _cs()
        plain = (
            cs.definition_reference_schema(PLAIN_REF)
            if shared
            else cs.str_schema(pattern=_PLAIN_PATTERN)
        )
        if shared and self.pattern is None and self.max_length is None:
            return plain  # type: ignore[no-any-return]
        own = cs.str_schema(pattern=self.pattern, max_length=self.max_length)  # JSON Schema's
        return cs.chain_schema([own, plain])  # type: ignore[no-any-return]


#: The name under which a table's validator defines the plain-text check once (see ``shared``)
PLAIN_REF = "metaflow-config-plain-text"


def plain_definition() -> CoreSchema:
    """The plain-text check that ``Kind.core_schema(shared=True)`` schemas refer to."""
    return _cs().str_schema(pattern=_PLAIN_PATTERN, ref=PLAIN_REF)  # type: ignore[no-any-return]


def _str(pattern: str | None = None, max_length: int | None = None) -> Callable[[], CoreSchema]:
    return _Text(pattern, max_length)


class _Joined(_Text):
    """A text kind of items separated by ``sep`` (Metaflow splits the text itself).

    A file may write the items as a JSON list of strings: their text joined by ``sep``.
    """

    __slots__ = ("item", "sep")

    def __init__(self, sep: str, item: str, pattern: str | None = None) -> None:
        super().__init__(pattern, None)
        self.sep = sep
        #: the pattern of one item of the list (what the joined text's check takes of each)
        self.item = item

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        return _cs().no_info_wrap_validator_function(self._join, super().__call__(shared=shared))  # type: ignore[no-any-return]

    def _join(self, value: Any, handler: Callable[[Any], Any]) -> Any:
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            if not value or any(
                self.sep in item or item.strip() != item or not item for item in value
            ):
                msg = (
                    f"a JSON list of one item or more, none empty or holding {self.sep!r} (leave "
                    "the key out, or null, for the default)"
                )
                raise ValueError(msg)
            value = self.sep.join(value)
        return handler(value)


def _comma_list_diagnosis(value: str) -> str:
    """What is wrong with comma-separated text its pattern refused.

    Metaflow splits on ``,`` alone: a space, a quote or a bracket becomes part of an item.
    """
    inner = value.strip()
    if inner.startswith("[") or inner.startswith('"['):
        return "a JSON list: in a variable, write the items themselves, e.g. a,b"
    if inner[:1] in ("'", '"'):
        return "quotes around it, which are part of it: drop them"
    if any(c.isspace() for c in value):
        return "a space (after a comma?), which Metaflow keeps in the item"
    return "an empty item (two commas in a row, or one at an end)"


#: A character of an item of a comma-separated list: no comma, blank, quote or bracket
_ITEM_CHAR = r"[^,\s\"'\[\]]"
#: Items separated by commas (Metaflow splits them on ``,`` alone): ``.py,.R``; a file may
#: write a JSON list. No item is empty or holds a space, a quote or a bracket.
COMMA_LIST = Kind(
    "comma-separated text",
    "comma-separated text, e.g. a,b, no spaces (in a file, a JSON list of strings is taken too)",
    _Joined(",", f"^{_ITEM_CHAR}+$", f"^(?:|{_ITEM_CHAR}+(?:,{_ITEM_CHAR}+)*)$"),
    diagnose=_comma_list_diagnosis,
)
#: Names separated by commas, of which Metaflow leaves an empty item out (the Secrets a pod
#: mounts, the variables Argo's templates skip: ``if k`` wherever it splits them): ``a,b``, and
#: ``a,`` as Metaflow's own ``configure kubernetes`` may write it. No item holds a space, a quote
#: or a bracket (Metaflow would keep it in the name).
COMMA_NAMES = Kind(
    "comma-separated names",
    "comma-separated names, e.g. a,b, no spaces (an empty item is left out, as Metaflow leaves "
    "it out; in a file, a JSON list of strings is taken too)",
    _Joined(",", f"^{_ITEM_CHAR}+$", f"^(?:{_ITEM_CHAR}|,)*$"),
    diagnose=_comma_list_diagnosis,
)

#: A decorator's name in a spec: a step decorator's, or a module path to a user's own
_DECONAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
#: One decorator spec as ``--with`` takes it: the decorator's name, then ``:`` and its
#: attributes, ``name=value`` pairs separated by commas (Metaflow splits them at a comma before
#: ``name=``: the text before the first such comma must hold a ``=``), no blank in them
_DECOSPEC = _DECONAME + r"(?::(?:[^=,\s]+=\S*)?)?"


def _decospecs_diagnosis(value: str) -> str:
    """What is wrong with decorator specs their pattern refused: the first piece that is none.

    Metaflow splits the setting at blanks (``DEFAULT_DECOSPECS.split()``), so a blank in a
    spec's attributes (JSON as ``json.dumps`` writes it) cuts it in two, and every run stops at
    the second piece: "Unknown step decorator". An attribute without ``=`` (``retry:times``)
    stops every run with a traceback.
    """
    shown = _masked_part if has_url_password(value) else _shown  # as a value is shown
    for piece in value.split():
        if re.fullmatch(_DECOSPEC, piece):
            continue
        name, colon, _ = piece.partition(":")
        if colon and re.fullmatch(_DECONAME, name):
            return (
                f"{shown(piece)}: a decorator's attributes are name=value pairs separated by "
                "commas, e.g. retry:times=3,minutes_between_retries=1 (Metaflow fails on an "
                "attribute without '=')"
            )
        return (
            f"{shown(piece)} is no decorator spec (a decorator's name, then ':' and its "
            "attributes): Metaflow splits this setting at blanks, so a blank inside a spec "
            'cuts it in two; write each spec without blanks, e.g. environment:vars={"A":"b"}'
        )
    return ""


#: Decorator specs separated by spaces (``DEFAULT_DECOSPECS``, which Metaflow splits at blanks);
#: a file may write a JSON list.
SPACE_LIST = Kind(
    "decorator specs",
    'space-separated decorator specs as --with takes them, e.g. "kubernetes retry:times=3", '
    "none holding a blank (in a file, a JSON list of strings is taken too)",
    _Joined(" ", f"^{_DECOSPEC}$", rf"^\s*(?:{_DECOSPEC}(?:\s+{_DECOSPEC})*)?\s*$"),
    diagnose=_decospecs_diagnosis,
)


class _Json:
    """The schema factory of a JSON-valued kind: JSON text (or a value) checked by ``inner``.

    ``shared`` is passed on to ``inner``: the strings inside refer to the table's one plain-text
    check (see :func:`_plain_str`).
    """

    __slots__ = ("inner",)

    def __init__(self, inner: Callable[..., CoreSchema]) -> None:
        self.inner = inner

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        inner = self.inner(shared=shared)
        return _cs().no_info_before_validator_function(_parse_json, inner)  # type: ignore[no-any-return]


def _plain_str(*, shared: bool) -> CoreSchema:
    """A one-line string inside a JSON value (a key or an item), checked in pydantic-core.

    The check of a text kind (``_Text``), so a JSON value of 60,000 strings costs no Python
    call per string; a string it refuses is described by :func:`plain_problem` on the error
    path (``_resolve.validate``), its message naming the key or index it is at.
    """
    return _Text(None, None)(shared=shared)


#: The ASCII characters a one-line value may not hold (``_NOT_PLAIN``'s), as bytes
_ASCII_NOT_PLAIN = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])


def _plain_ascii(*texts: str) -> bool:
    """Whether ``texts`` are ASCII without a control character (see ``_NOT_PLAIN``), in C."""
    joined = "".join(texts)
    if not joined.isascii():
        return False
    ascii_text = joined.encode("ascii")
    return len(ascii_text.translate(None, _ASCII_NOT_PLAIN)) == len(ascii_text)


def _plain_list(value: Any, handler: Callable[[Any], Any]) -> Any:
    """A JSON list of strings, checked in C at once where they are all plain ASCII.

    Such a list is what the check string by string (``handler``) gives, without a call per
    string (a list of 60,000 strings costs a third of that check); any other value (a string
    that is not ASCII or holds a tab, an item that is not a string) goes through ``handler``,
    whose errors name the index.
    """
    if type(value) is list or type(value) is tuple:
        try:
            if _plain_ascii("".join(value)):
                return list(value)
        except TypeError:  # an item that is not a string
            pass
    return handler(value)


def _plain_dict(value: Any, handler: Callable[[Any], Any]) -> Any:
    """A JSON object of strings, checked as :func:`_plain_list` checks a list (errors name keys)."""
    if type(value) is dict or type(value) is FrozenDict:
        try:
            if _plain_ascii("".join(value), "".join(value.values())):
                return dict(value)
        except TypeError:  # a value that is not a string
            pass
    return handler(value)


def _str_dict(*, shared: bool = False) -> CoreSchema:
    cs = _cs()
    exact = cs.dict_schema(_plain_str(shared=shared), _plain_str(shared=shared))
    return cs.no_info_wrap_validator_function(_plain_dict, exact)  # type: ignore[no-any-return]


def _str_keys(value: Any, handler: Callable[[Any], Any]) -> Any:
    """A JSON object whose keys are all strings (checked in C at once), without a copy.

    What the check key by key (``handler``) accepts, as it is where it is frozen (a profile's
    value, read frozen: copying a large one costs more than the rest of its resolution), else
    a shallow copy as ``handler`` makes; anything else goes through ``handler``.
    """
    kind = type(value)
    if kind is dict or kind is FrozenDict:
        try:
            "".join(value)
        except TypeError:  # a key that is not a string
            return handler(value)
        return value if kind is FrozenDict else dict(value)
    return handler(value)


def _object(*, shared: bool = False) -> CoreSchema:
    cs = _cs()
    exact = cs.dict_schema(cs.str_schema(), cs.any_schema())
    return cs.no_info_wrap_validator_function(_str_keys, exact)  # type: ignore[no-any-return]


def _str_list(*, shared: bool = False) -> CoreSchema:
    cs = _cs()
    exact = cs.list_schema(_plain_str(shared=shared))
    return cs.no_info_wrap_validator_function(_plain_list, exact)  # type: ignore[no-any-return]


_TAG_KEY = r"^[\w .:/=+\-@]{1,128}$"
_TAG_VALUE = r"^[\w .:/=+\-@]{0,256}$"


def _shown(part: str) -> str:
    """A part of a value a message quotes (a tag's key, an ARN's account): as a value is shown."""
    return show_value(part, secret=False)


_shown_part = _shown


def _masked_part(part: str) -> str:
    """A part of a value holding a URL password, as a message quotes it: the mask."""
    return MASK


def _check_tags(tags: Mapping[str, str]) -> Mapping[str, str]:
    if len(tags) > 50:
        msg = f"{len(tags)} tags, AWS allows at most 50 per resource"
        raise ValueError(msg)
    for key, value in tags.items():
        if not re.match(_TAG_KEY, key):
            msg = f"tag key {_shown(key)} must be 1-128 letters, digits, spaces or _.:/=+-@"
            raise ValueError(msg)
        if key.lower().startswith("aws:"):
            msg = f"tag key {_shown(key)} uses the reserved 'aws:' prefix"
            raise ValueError(msg)
        if not re.match(_TAG_VALUE, value):
            msg = f"tag value for {_shown(key)} must be 0-256 letters, digits, spaces or _.:/=+-@"
            raise ValueError(msg)
    return tags


def _tags(*, shared: bool = False) -> CoreSchema:
    return _cs().no_info_after_validator_function(_check_tags, _str_dict(shared=shared))  # type: ignore[no-any-return]


def _retry_config(*, shared: bool = False) -> CoreSchema:
    cs = _cs()
    fields = {
        "max_attempts": cs.typed_dict_field(_int(0, MOST_CLIENT_ATTEMPTS)(), required=False),
        "total_max_attempts": cs.typed_dict_field(
            _int(1, MOST_CLIENT_ATTEMPTS + 1)(), required=False
        ),
        "mode": cs.typed_dict_field(
            cs.literal_schema(["legacy", "standard", "adaptive"]), required=False
        ),
    }
    return cs.typed_dict_schema(fields, total=False, extra_behavior="forbid")  # type: ignore[no-any-return]


#: The words a boolean is written with (any case, surrounding spaces ignored), and their values.
BOOL_WORDS: Mapping[str, bool] = {
    **dict.fromkeys(("true", "1", "yes", "on"), True),
    **dict.fromkeys(("false", "0", "no", "off"), False),
}
_BOOL_WORDS = BOOL_WORDS


def parse_bool(value: Any) -> bool:
    """Parse a boolean word (true/false, 1/0, yes/no, on/off, any case); ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.strip().lower()]
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    number = isinstance(value, (int, float))
    raise ValueError("a number other than 1 or 0" if number else "not one of those words")


def _bool() -> CoreSchema:
    cs = _cs()
    return cs.no_info_plain_validator_function(parse_bool)  # type: ignore[no-any-return]


def _verify(value: Any) -> Any:
    """S3_VERIFY_CERTIFICATE: a boolean word, or the path of a CA bundle."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        if value.strip():
            return _plain(value)
    msg = "neither a boolean nor a CA bundle path"
    raise ValueError(msg)


def _verify_schema() -> CoreSchema:
    return _cs().no_info_plain_validator_function(_verify)  # type: ignore[no-any-return]


def choice(*choices: str) -> Kind:
    """A string that must be one of ``choices`` (compared exactly)."""

    def factory() -> CoreSchema:
        return _cs().literal_schema(list(choices))  # type: ignore[no-any-return]

    return Kind("choice", "one of " + ", ".join(repr(c) for c in choices), factory, choices=choices)


#: The AWS partitions an ARN's second part may name: botocore's (its ``endpoints.json``), the
#: European Sovereign Cloud's ``aws-eusc`` included; ``tests/test_table.py`` holds it to them.
ARN_PARTITIONS = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
#: A region name of any partition (``us-east-1``, ``us-isob-east-1``, ``eusc-de-east-1``).
_REGION = r"[a-z]{2,4}(?:-[a-z]+)+-\d+"
_ACCOUNT = r"[0-9]{12}"


def _arn(
    service: str, resource: str, resource_expected: str, *, regional: bool
) -> tuple[Callable[[], CoreSchema], Callable[[str], str]]:
    """An ARN of ``service`` whose resource part matches ``resource``: (schema, diagnosis).

    The schema is one pattern (also what the profile JSON Schema carries). The diagnosis runs
    only on a value the pattern refused: an ARN is
    ``arn:<partition>:<service>:<region>:<account>:<resource>``, and each part is checked on
    its own so that the message says which one is wrong (an 11-digit account, ``aws-eu`` for a
    partition, ``iam`` where ``logs`` belongs, a region on an IAM ARN), all at once.
    """

    def diagnose(value: str) -> str:
        parts = value.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn":
            return (
                "not an ARN: an ARN has six parts separated by ':', "
                "arn:<partition>:<service>:<region>:<account>:<resource>"
            )
        _, partition, got_service, region, account, rest = parts
        # a part cut out of a value holding a password (``arn:aws:iam::u:pw@h``) is masked
        # whole: the cut may separate the password from the user name that reveals it
        _shown = _masked_part if has_url_password(value) else _shown_part
        wrong: list[str] = []
        if partition not in ARN_PARTITIONS:
            wrong.append(f"partition {_shown(partition)} is not one of {', '.join(ARN_PARTITIONS)}")
        if got_service != service:
            wrong.append(f"service {_shown(got_service)} should be {service!r}")
        if regional and not re.fullmatch(_REGION, region):
            wrong.append(
                f"region {_shown(region)} is not a region name such as us-east-1"
                if region
                else "the region is missing (e.g. us-east-1)"
            )
        if not regional and region:
            wrong.append(f"{service} ARNs have no region: remove {_shown(region)}")
        if not re.fullmatch(_ACCOUNT, account):
            digits = sum(c in "0123456789" for c in account)
            wrong.append(
                f"account {_shown(account)} has {len(account)} digits, an AWS account ID has 12"
                if digits == len(account)
                else f"account {_shown(account)} is not an AWS account ID (12 digits)"
            )
        if not re.fullmatch(resource, rest):
            wrong.append(f"resource {_shown(rest)} should be {resource_expected}")
        return "; ".join(wrong) or "a character no ARN holds"

    region = _REGION if regional else ""
    partitions = "|".join(ARN_PARTITIONS)  # letters and "-": nothing to escape
    pattern = rf"^arn:(?:{partitions}):{service}:{region}:[0-9]{{12}}:{resource}$"
    return _str(pattern), diagnose


STR = Kind("string", "a string", _str())
PATH = Kind("path", "a file system path", _str(r"^\S.*$"))
BOOL = Kind("boolean", "a boolean (true/false, 1/0, yes/no, on/off)", _bool)
INT = Kind("integer", "a whole number (e.g. 60, not 5.7)", _int())
NONNEG_INT = Kind("integer >= 0", "a whole number >= 0", _int(0))


def count(least: int, most: int, why: str) -> Kind:
    """A count Metaflow loops, waits or forks by: a whole number from ``least`` to ``most``.

    Past ``most`` no run can use it (``why`` says what it would cost): a count from any layer
    (a cloned repository's file, a typo in the environment) that would make a run wait for
    days, or fork without end, is refused as a bad value rather than taken.
    """
    return Kind(
        f"integer {least}-{most}",
        f"a whole number from {least} to {most} ({why})",
        _int(least, most),
    )


#: Attempts of a metadata service call (Metaflow: 5): Metaflow loops ``range(count)`` around
#: the call itself (0 makes no attempt: the service is "unreachable") and waits ``2**i``
#: seconds after the ``i``-th failed one, without a cap, so 12 wait about 68 minutes in all.
SERVICE_RETRIES = count(
    1, 12, "Metaflow makes this many attempts, doubling its wait after each: 0 makes none"
)
#: Retries of a failed S3 operation (Metaflow: 7): Metaflow waits ``2**i`` seconds (and up to 5
#: more) after the ``i``-th, without a cap: the 12th waits over an hour.
S3_RETRIES = count(0, 12, "Metaflow doubles its wait after each failed try: the 12th waits an hour")
#: Retries of transient S3 failures (Metaflow: 20): the waits are capped at 6 minutes, so 100
#: wait about 10 hours in all.
S3_TRANSIENT_RETRIES = count(0, 100, "Metaflow waits up to 6 minutes after each: 100 wait 10 hours")
#: The processes ``metaflow.S3`` starts for one operation (Metaflow: 64); none would divide
#: its work by zero.
S3_WORKERS = count(1, 512, "Metaflow starts a process each; its default is 64")
#: ``max_attempts`` of a botocore retry config (here: 10): botocore waits up to 20 s between
#: attempts, so 100 keep one S3 call retrying for half an hour.
MOST_CLIENT_ATTEMPTS = 100
#: The name of a Metaflow plugin (a datastore, a metadata provider, a resolver): extensions add
#: their own, so any name of this shape is taken here; a resolution then compares it with the
#: names Metaflow knows (``_resolve.plugins``).
PLUGIN_NAME = Kind(
    "plugin name",
    "a plugin's name (letters, digits, '_', '.', '-'; e.g. local, s3)",
    _str(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"),
)
_PLUGIN_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


def is_plugin_name(value: str) -> bool:
    """Whether :data:`PLUGIN_NAME`'s pattern takes ``value``, told in C (``str.strip``).

    For a raw value before validation (``_resolve.plugins``); ``tests/test_plugin_names.py``
    holds it to the pattern.
    """
    return value[:1] not in ("", ".", "-") and not value.strip(_PLUGIN_NAME_CHARS)


def _as_json_text(value: Any, handler: Callable[[Any], Any]) -> Any:
    """JSON text whose value ``handler`` (the shape's check) takes, as the text (see ``json_text``).

    Text is parsed strictly and checked, and stays as written; a JSON value (a list or an object
    in a file) is checked and becomes its compact text; ``""`` is unset (Metaflow's default).
    """
    if isinstance(value, str):
        if not value:
            return value
        handler(_parse_json(value))  # blanks alone are no JSON: Metaflow's json.loads fails too
        return value
    handler(value)
    return json.dumps(thaw(value), separators=(",", ":"))


def json_text(name: str, expected: str, shape: Callable[[], CoreSchema]) -> Kind:
    """A setting Metaflow holds as JSON text and parses itself: checked here against ``shape``."""

    def factory() -> CoreSchema:
        return _cs().no_info_wrap_validator_function(_as_json_text, shape())  # type: ignore[no-any-return]

    return Kind(name, expected, factory, json_text=True)


def _tolerations() -> CoreSchema:
    """A list of tolerations, each a ``V1Toleration``'s fields as Metaflow passes them on.

    Kubernetes' own rules: an empty effect matches every effect, an empty operator is
    ``Equal``, a missing value is ``null``, and a negative ``toleration_seconds`` counts as 0.
    """
    cs = _cs()

    def optional(schema: CoreSchema) -> CoreSchema:
        return cs.typed_dict_field(cs.nullable_schema(schema), required=False)  # type: ignore[no-any-return]

    fields = {
        "key": optional(cs.str_schema()),
        "operator": optional(cs.literal_schema(["", "Exists", "Equal"])),
        "value": optional(cs.str_schema()),
        "effect": optional(cs.literal_schema(["", "NoSchedule", "PreferNoSchedule", "NoExecute"])),
        "toleration_seconds": optional(cs.int_schema(strict=True)),
    }
    return cs.list_schema(cs.typed_dict_schema(fields, extra_behavior="forbid"))  # type: ignore[no-any-return]


def _volume_claims() -> CoreSchema:
    cs = _cs()
    return cs.dict_schema(cs.str_schema(pattern=r"\S"), cs.str_schema(pattern=r"^/"))  # type: ignore[no-any-return]


def _names() -> CoreSchema:
    cs = _cs()
    return cs.list_schema(cs.str_schema(pattern=r"\S"))  # type: ignore[no-any-return]


TOLERATIONS = json_text(
    "JSON text of pod tolerations",
    'JSON text of a list of tolerations, each with keys among key, operator ("Exists" or '
    '"Equal"), value, effect ("NoSchedule", "PreferNoSchedule", "NoExecute") and '
    'toleration_seconds, e.g. [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}] '
    "(in a file, the list itself is taken too)",
    _tolerations,
)
VOLUME_CLAIMS = json_text(
    "JSON text of volume claims",
    'JSON text of an object mapping claim names to mount paths, e.g. {"my-claim": "/mnt/data"} '
    "(in a file, the object itself is taken too)",
    _volume_claims,
)
NAME_LIST = json_text(
    "JSON text of a list of names",
    'JSON text of a list of names, e.g. ["regcred"] (in a file, the list itself is taken too)',
    _names,
)


def any_case(word: str) -> str:
    """A pattern fragment matching ``word`` in any case (ECMA-262 and Rust alike: no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


#: A pod's QoS class, as Metaflow compares it (in any case).
QOS_CLASS = Kind(
    "QoS class",
    "a QoS class Metaflow supports: Guaranteed or Burstable (in any case)",
    _str(f"^(?:{any_case('guaranteed')}|{any_case('burstable')})$"),
)


class _KeyValues(_Text):
    """``key=value`` pairs separated by commas, each key once.

    Metaflow's ``parse_kube_keyvalue_list`` refuses a key given twice, at launch.
    """

    __slots__ = ()

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        checked = super().__call__(shared=shared)
        return _cs().no_info_after_validator_function(_keys_once, checked)  # type: ignore[no-any-return]


def _keys_once(text: str) -> str:
    keys = [pair.split("=", 1)[0] for pair in text.split(",")] if text else []
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        msg = f"the key {twice[0]!r} is given twice (Metaflow refuses it at launch)"
        raise ValueError(msg)
    return text


#: A Kubernetes label's name, and a label key: an optional DNS-subdomain prefix and ``/``.
#: A Kubernetes label's name or value (at most 63 characters), and a label (or annotation) key:
#: an optional DNS prefix and ``/``, then a name. The check of ``check`` takes them too.
LABEL_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY = rf"(?:[a-z0-9](?:[-a-z0-9.]{{0,251}}[a-z0-9])?/)?{LABEL_NAME}"
_LABEL_PAIR = rf"{LABEL_KEY}=(?:{LABEL_NAME})?"


def _key_values_diagnosis(value: str) -> str:
    """What is wrong with ``key=value`` pairs their pattern refused, the likeliest first."""
    inner = value.strip()
    if inner[:1] in ("'", '"', "{", "["):
        return "quotes or brackets around it: write the pairs themselves, e.g. a=b,c=d"
    items = value.split(",")
    if any(not item for item in items):
        return "an empty item (two commas in a row, or one at an end)"
    if any("=" not in item for item in items):
        colon = any(":" in item for item in items)
        return "':' where '=' is meant" if colon else "an item without '='"
    if any(c.isspace() for c in value):
        return "a space (after a comma?), which no label key or value holds"
    return "a key or value no Kubernetes label takes (at most 63 characters of those)"


#: ``key=value`` pairs separated by commas (Metaflow's ``parse_kube_keyvalue_list``), each a
#: Kubernetes label's key and value (a node selector matches labels).
KEY_VALUE_LIST = Kind(
    "key=value list",
    "comma-separated key=value pairs of Kubernetes label keys and values (letters, digits, "
    "'-', '_', '.'; a key may have a prefix/), each key once, e.g. "
    "kubernetes.io/arch=arm64,team=ml",
    _KeyValues(rf"^(?:|{_LABEL_PAIR}(?:,{_LABEL_PAIR})*)$", None),
    diagnose=_key_values_diagnosis,
)

#: A resource request (CPU cores, MB): Metaflow's decorators take a number or its text.
QUANTITY = Kind("number", 'a number, as text or JSON (e.g. 2, 0.5, "4096")', _quantity)


# --- URLs -------------------------------------------------------------------------------------
#
# A URL setting is handed to clients that each parse it their own way: urllib (``check``'s ping),
# urllib3 under requests (Metaflow's service client, webhooks) and botocore (S3 endpoints). The
# URL kinds take only what they all read alike, one way: a value they would refuse crashes a run
# with a traceback that prints it (its password too), and a value they read differently can be
# shown (masked) as going to one host while it goes to another (``http://h:8765#@corp/api``).
# Each pattern is matched by pydantic-core's regex engine (linear in the value, whatever it is)
# and holds no look-around, so that ECMA-262 (the JSON Schema) and Python's ``re`` read it too.

#: A user name and password as written: printable ASCII but what ends the authority for urllib
#: (``/``, ``?``, ``#``) or for urllib3 (``\``), and the brackets (urllib refuses a netloc with a
#: lone one); anything else is percent-encoded. It may hold ``@`` and ``:``: the last ``@`` ends
#: it and the first ``:`` ends the user name, in every client (``bob:p@ss@host``). A ``%``
#: encodes a character requests can send as Basic authentication (Latin-1: ``%00``-``%7F``, or
#: the UTF-8 ``%C2%A0``-``%C3%BF``; it raises on any other); a ``%`` of its own is ``%25``
#: (urllib3 re-encodes every ``%`` of a user name that holds one, urllib none).
_USERINFO = (
    r"(?:[\x21\x22\x24\x26-\x2e\x30-\x3e\x40-\x5a\x5e-\x7e]"
    r"|%[0-7][0-9A-Fa-f]|%[Cc][23]%[89ABab][0-9A-Fa-f])*"
)
#: An IPv4 address, dotted decimal without leading zeros (Python's ``ipaddress`` refuses them).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
#: An IPv6 address (RFC 3986's ``IPv6address``, as urllib checks it), without a zone, which
#: urllib keeps percent-encoded and urllib3 decodes.
_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = (
    "(?:"
    + "|".join(
        (
            f"(?:{_H16}:){{6}}{_LS32}",
            f"::(?:{_H16}:){{5}}{_LS32}",
            f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        )
    )
    + ")"
)
#: A port, 1 to 65535 without leading zeros (requests drops a port 0: the scheme's own is used).
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
#: The path and query: no ``@`` (which would read as the end of a user name and password), no
#: ``#`` (a fragment: no client sends it, no endpoint uses it), no blank.
_PATH_QUERY = r"(?:[/?][^\s@#]*)?"
#: A host name of the URL kind: ASCII labels of letters, digits, ``-`` and ``_`` (requests takes
#: an ``_``), 1 to 63 each, an optional final dot. A name that is not ASCII is written in its IDNA
#: form: urllib encodes it by IDNA 2003 and requests by IDNA 2008 (``straße`` is two hosts), and
#: it may look like another host.
_LABEL = "[A-Za-z0-9_-]{1,63}"
_NAME = rf"{_LABEL}(?:\.{_LABEL})*\.?"
#: An IPv6 host as the URL patterns take it: its characters, in brackets; its grammar is checked
#: after them (:func:`_ipv6_checked`). As a pattern, the grammar (:data:`_IPV6`) costs every
#: process 0.5 ms compiling it at its first resolution, for a host few URLs have.
_IPV6_CHARS = r"[0-9A-Fa-f:.]+"
#: The scheme, in any case (every client lowers it)
_SCHEME = "[Hh][Tt][Tt][Pp][Ss]?://"
_URL = rf"^{_SCHEME}(?:{_USERINFO}@)?(?:{_NAME}|\[{_IPV6_CHARS}\])(?::{_PORT})?{_PATH_QUERY}$"
#: A host name botocore takes in an endpoint (``botocore.utils.is_valid_endpoint_url``): labels
#: of ASCII letters, digits and ``-``, not at either end, 1 to 63 each; an IPv4 address is such
#: a name. No user name or password: botocore signs its requests, sends none, and prints the
#: endpoint (the password too) in its errors.
_AWS_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_AWS_NAME = rf"{_AWS_LABEL}(?:\.{_AWS_LABEL})*\.?"
_AWS_ENDPOINT = rf"^{_SCHEME}(?:{_AWS_NAME}|\[{_IPV6_CHARS}\])(?::{_PORT})?{_PATH_QUERY}$"
#: botocore's other rule of a host name, at most 255 characters: the labels' pattern cannot
#: count them, so a second pattern does (no ``@`` comes before the host of an endpoint).
_AWS_HOST_LENGTH = rf"^{_SCHEME}(?:[A-Za-z0-9.-]{{1,255}}(?:[:/?]|$)|\[)"


def _ipv6_checked(value: str) -> str:
    """A URL its pattern took, its bracketed host (if any) an IPv6 address by :data:`_IPV6`.

    The patterns take the characters of one; the grammar, as urllib checks it, is matched here
    (by the pattern, compiled on the first bracketed host: most processes meet none).
    """
    if "[" in value:  # in the host, or in a path or query after it
        rest = value.partition("://")[2]
        ends = [at for at in (rest.find("/"), rest.find("?")) if at >= 0]
        host = rest[: min(ends, default=len(rest))].rpartition("@")[2]
        if host.startswith("[") and _ipv6_pattern().fullmatch(host[1 : host.find("]")]) is None:
            from .urls import url_problems  # the error path only

            raise ValueError("; ".join(url_problems(value)) or "the host is no IPv6 address")
    return value


@functools.lru_cache(maxsize=1)
def _ipv6_pattern() -> re.Pattern[str]:
    return re.compile(_IPV6)


class _Url(_Text):
    """The schema factory of a URL kind: its pattern, then its IPv6 host's grammar, if any."""

    __slots__ = ()

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        return _cs().no_info_after_validator_function(  # type: ignore[no-any-return]
            _ipv6_checked, super().__call__(shared=shared)
        )


class _Endpoint(_Url):
    """The schema factory of an AWS endpoint: its pattern, then botocore's length of its host."""

    __slots__ = ()

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        checked = super().__call__(shared=shared)
        length = _cs().str_schema(pattern=_AWS_HOST_LENGTH)
        return _cs().chain_schema([checked, length])  # type: ignore[no-any-return]


def _url_diagnosis(value: str) -> str:
    """What is wrong with a URL its pattern refused: each part that is (see ``urls``)."""
    from .urls import url_problems  # the error path only

    return "; ".join(url_problems(value)) or "a character no URL holds"


def _endpoint_diagnosis(value: str) -> str:
    """What is wrong with an AWS endpoint its patterns refused (see ``urls``)."""
    from .urls import url_problems  # the error path only

    return "; ".join(url_problems(value, endpoint=True)) or "a character no endpoint holds"


URL = Kind(
    "URL",
    "an http:// or https:// URL, [user:password@]host[:port][/path][?query] (the host a name "
    "of ASCII letters, digits, '-', '_' and '.', an IPv4 or an [IPv6] address; no '#', no '@' "
    "after the host, no blank: a '/', '?' or '#' of a password percent-encoded)",
    _Url(_URL, None),
    diagnose=_url_diagnosis,
    raw_diagnosis=True,
)
#: A URL botocore takes as an ``endpoint_url`` (``S3_ENDPOINT_URL``): stricter than :data:`URL`.
AWS_ENDPOINT = Kind(
    "AWS endpoint URL",
    "an http:// or https:// URL botocore takes as an endpoint, host[:port][/path] (the host a "
    "name of labels of ASCII letters, digits and '-', no '_', none starting or ending with '-', "
    "or an IPv4 or an [IPv6] address; no user name or password, no '#', no blank)",
    _Endpoint(_AWS_ENDPOINT, None),
    diagnose=_endpoint_diagnosis,
    raw_diagnosis=True,
)


def _s3_diagnosis(value: str) -> str:
    """What is wrong with an S3 URL its pattern refused, part by part (see ``_arn``)."""
    if not value.startswith("s3://"):
        scheme = value.partition("://")[0] + "://" if "://" in value else ""
        if scheme:
            return f"it starts with {_shown(scheme)}, not 's3://'"
        import re  # the error path only

        meant = "s3://" + value.lstrip("/")
        return f"it lacks 's3://': {_shown(meant)}?" if re.match(_S3, meant) else "it lacks 's3://'"
    bucket, _, prefix = value[len("s3://") :].partition("/")
    wrong = []
    size = len(bucket)
    if not 1 <= size <= _LONGEST_BUCKET:
        wrong.append(f"the bucket has {size} characters (1 to {_LONGEST_BUCKET})")
    odd = sorted({c for c in bucket if not (c.isascii() and c.isalnum())} - {".", "-", "_"})
    if odd:
        wrong.append(f"the bucket holds {', '.join(repr(c) for c in odd)}")
    wrong.extend(_unquoted_chars(prefix))
    return "; ".join(wrong) or "a character no S3 URL holds"


#: A character of a datastore root's prefix (S3, GCS, Azure). Metaflow writes the root into
#: each remote task's ``bash -c "..."`` command unescaped: bare as ``--datastore-root=...`` of
#: the steps Argo Workflows, Step Functions and Airflow run, and as the code package's URL
#: (``download-gcp-object --object=...``; for S3 in a single-quoted ``python -c`` script). A
#: shell reads any other character (``;``, ``|``, ``(``, ``*``, a quote, ``$``): a root holding
#: one runs what follows in the task's container, or breaks the command. Only the characters
#: a shell takes as they are.
_PLAIN_MARKS = "._-=+@,:%~"
_UNQUOTED = "A-Za-z0-9" + re.escape(_PLAIN_MARKS)  # a character class's contents


def _unquoted_chars(prefix: str) -> list[str]:
    """What a datastore root's prefix holds that Metaflow's task command cannot carry."""
    said = ["the prefix holds a space"] if any(c.isspace() for c in prefix) else []
    plain = "/" + _PLAIN_MARKS
    odd = sorted(
        {c for c in prefix if not (c.isspace() or (c.isascii() and (c.isalnum() or c in plain)))}
    )
    if odd:
        held = ", ".join(repr(c) for c in odd)
        said.append(f"the prefix holds {held}, which Metaflow's remote task command does not quote")
    return said


def _gs_diagnosis(value: str) -> str:
    """What is wrong with a GCS URL its pattern refused, where its prefix says it (else "")."""
    return "; ".join(_unquoted_chars(value.partition("://")[2].partition("/")[2]))


#: An Azure Blob container's name: lowercase letters, digits and '-', 3 to 63
_AZURE_CONTAINER = r"[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]"


def _azure_diagnosis(value: str) -> str:
    """What is wrong with an Azure root its pattern refused, part by part (else "")."""
    if "://" in value:  # azure://, https://account.blob.core.windows.net/
        return "it is container/prefix, with no scheme or host (Metaflow's form)"
    container, _, prefix = value.partition("/")
    wrong = []
    if not re.fullmatch(_AZURE_CONTAINER, container):
        wrong.append(f"the container {_shown(container)} breaks the rule")
    if value.endswith("/") or "//" in value:
        wrong.append("a '/' ends it or two follow each other")
    wrong.extend(_unquoted_chars(prefix))
    return "; ".join(wrong)


#: A bucket as botocore takes it (``handlers.validate_bucket_name``): Metaflow's S3 client is
#: boto3. Buckets made since 2018 are 3-63 lowercase letters, digits, dots and hyphens; older
#: ones in us-east-1 (and S3-compatible stores) may hold capitals and '_', up to 255.
_LONGEST_BUCKET = 255
#: An S3 root: a bucket as boto3 takes it, and a prefix of the characters a shell takes as they
#: are (see ``_PLAIN_MARKS``)
_S3 = r"^s3://[A-Za-z0-9._\-]{1,255}(/[/" + _UNQUOTED + "]*)?$"


def _bucket_checked(value: str) -> str:
    """An S3 URL its pattern took, whose bucket and prefix hold no path step of dots alone.

    botocore takes ``..`` as a bucket (and in a key), and a client addressing the bucket by
    path may normalize ``/bucket/../other/key`` away: the keys would go to another bucket. No
    S3 store names a bucket so, and no Metaflow root needs such a step.
    """
    if "." in value:
        steps = value[len("s3://") :].split("/")
        if not steps[0].strip(".") or any(step in (".", "..") for step in steps[1:]):
            msg = "a step of the path is dots alone, which a client may read as another bucket"
            raise ValueError(msg)
    return value


class _S3Url(_Text):
    """The schema factory of an S3 URL: its pattern, then a bucket that is more than dots."""

    __slots__ = ()

    def __call__(self, *, shared: bool = False) -> CoreSchema:
        return _cs().no_info_after_validator_function(  # type: ignore[no-any-return]
            _bucket_checked, super().__call__(shared=shared)
        )


S3_URL = Kind(
    "S3 URL",
    "an S3 URL s3://bucket[/prefix] (bucket: letters, digits, '.', '-' and '_', at most 255, as "
    "boto3 takes it, not dots alone; prefix: letters, digits and /._-=+@,:%~, no '.' or '..' "
    "step)",
    _S3Url(_S3, None),
    diagnose=_s3_diagnosis,
)
GS_URL = Kind(
    "GCS URL",
    "a Google Cloud Storage URL gs://bucket[/prefix] (bucket: lowercase letters, digits, '-', "
    "'_' and '.', a letter or digit at each end, 3 to 63 characters, up to 222 with dots; "
    "prefix: letters, digits and /._-=+@,:%~)",
    _str(r"^gs://[a-z0-9][a-z0-9._\-]{1,221}[a-z0-9](/[/" + _UNQUOTED + "]*)?$"),
    diagnose=_gs_diagnosis,
)
AZURE_ROOT = Kind(
    "Azure root",
    "an Azure Blob container and prefix container[/prefix] (container: lowercase letters, digits "
    "and '-', 3 to 63; prefix: letters, digits and ._-=+@,:%~ in steps of one '/', no '/' at "
    "its end)",
    _str(rf"^{_AZURE_CONTAINER}(/[{_UNQUOTED}]+)*$"),
    diagnose=_azure_diagnosis,
)
_ROLE_SCHEMA, _ROLE_DIAGNOSIS = _arn(
    "iam", r"role/[A-Za-z0-9+=,.@_\-/]+", "role/<name>", regional=False
)
IAM_ROLE_ARN = Kind(
    "IAM role ARN",
    "an IAM role ARN arn:aws:iam::<12-digit account>:role/<name>",
    _ROLE_SCHEMA,
    diagnose=_ROLE_DIAGNOSIS,
)
_LOG_GROUP_SCHEMA, _LOG_GROUP_DIAGNOSIS = _arn(
    "logs", r"log-group:[A-Za-z0-9_.\-/#]+(:\*)?", "log-group:<name>", regional=True
)
LOG_GROUP_ARN = Kind(
    "CloudWatch log group ARN",
    "a CloudWatch Logs log-group ARN arn:aws:logs:<region>:<12-digit account>:log-group:<name>",
    _LOG_GROUP_SCHEMA,
    diagnose=_LOG_GROUP_DIAGNOSIS,
)
#: A table's name, or its ARN: DynamoDB's ``TableName`` takes either (Step Functions' DynamoDB
#: tasks and boto3's calls pass it as given), as Metaflow's own reading does.
DYNAMO_TABLE = Kind(
    "DynamoDB table name",
    "a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.'), or the table's ARN "
    "arn:aws:dynamodb:<region>:<12-digit account>:table/<name>",
    _str(
        rf"^(?:arn:(?:{'|'.join(ARN_PARTITIONS)}):dynamodb:{_REGION}:[0-9]{{12}}:table/)?"
        r"[A-Za-z0-9_.\-]{3,255}$"
    ),
)
#: Step Functions state machine names (the AWS rule, stated once): at most this many
#: characters, none of ``SFN_NAME_FORBIDDEN`` (a regex character class body).
SFN_NAME_MAX = 80
SFN_NAME_FORBIDDEN = r'\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f'
#: The rule in words, for messages.
SFN_NAME_RULES = (
    f'1-{SFN_NAME_MAX} characters without whitespace or any of <>{{}}[]?*"#%\\^|~`$&,;:/'
)
SFN_NAME_PREFIX = Kind(
    "state machine name prefix",
    f"a prefix of Step Functions state machine names: 1-{SFN_NAME_MAX - 1} characters, no "
    'whitespace and none of <>{}[]?*"#%\\^|~`$&,;:/',
    # a prefix is followed by "_" in a name: at most one character shorter than a name
    _str(f"^[^{SFN_NAME_FORBIDDEN}]+$", max_length=SFN_NAME_MAX - 1),
)
STR_DICT = Kind(
    "JSON object of strings",
    'a JSON object mapping strings to strings, e.g. {"name": "value"}',
    _Json(_str_dict),
    json_valued=True,
)
#: What ``requests`` (Metaflow's client of the service) takes for a header: a name neither
#: empty nor starting with a blank, without ``:`` or a line break; a value empty, or not
#: starting with a blank, without a line break. Others it refuses at every request.
_HEADER_NAME = r"[^:\s][^:\r\n]*"
_HEADER_VALUE = r"(?:\S[^\r\n]*)?"


def _check_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """Refuse a header ``requests`` would refuse; said without its name or value (secret)."""
    for number, (name, value) in enumerate(headers.items(), 1):
        if not re.fullmatch(_HEADER_NAME, name) or not name.isascii():
            msg = (
                f"the name of header {number} is empty, starts with a blank, or holds ':', a "
                "line break or a character that is not ASCII, which no HTTP client sends"
            )
            raise ValueError(msg)
        if not re.fullmatch(_HEADER_VALUE, value) or not _latin1(value):
            msg = (
                f"the value of header {number} starts with a blank, or holds a line break or a "
                "character outside Latin-1, which requests (Metaflow's client) refuses at every "
                "request"
            )
            raise ValueError(msg)
    return headers


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _headers(*, shared: bool = False) -> CoreSchema:
    return _cs().no_info_after_validator_function(_check_headers, _str_dict(shared=shared))  # type: ignore[no-any-return]


HEADERS = Kind(
    "HTTP headers",
    'a JSON object of HTTP headers, e.g. {"Authorization": "Bearer ..."} (a name in ASCII, not '
    "starting with a blank nor holding ':'; a value in Latin-1, not starting with a blank)",
    _Json(_headers),
    json_valued=True,
)
TAGS = Kind(
    "AWS tags",
    'a JSON object of AWS tags, e.g. {"team": "ml"} (at most 50; keys 1-128 chars, values '
    "0-256 chars, no 'aws:' prefix)",
    _Json(_tags),
    json_valued=True,
)
JSON_OBJECT = Kind("JSON object", "a JSON object, e.g. {}", _Json(_object), json_valued=True)


def _endpoint_param(value: Any, handler: Callable[[Any], Any]) -> Any:
    """boto3 client arguments whose ``endpoint_url`` (if any) ``handler`` takes, as they are."""
    endpoint = value.get("endpoint_url") if isinstance(value, dict) else None
    if endpoint is not None:  # None is boto3's own default: no endpoint of its own
        handler(endpoint)
    return value


def _client_params(*, shared: bool = False) -> CoreSchema:
    """A JSON object (as :data:`JSON_OBJECT`'s) whose ``endpoint_url`` is an AWS endpoint.

    One Python call more than a JSON object's, and the endpoint's patterns in pydantic-core:
    the endpoint botocore would refuse at a run (printing it) is an error of the resolution.
    """
    cs = _cs()
    endpoint = cs.no_info_wrap_validator_function(
        _endpoint_param, AWS_ENDPOINT.core_schema(shared=shared)
    )
    return cs.chain_schema([_object(shared=shared), endpoint])  # type: ignore[no-any-return]


#: Keyword arguments of a boto3 client (``DATATOOLS_CLIENT_PARAMS``): its ``endpoint_url`` is
#: checked as ``S3_ENDPOINT_URL`` is; the rest is boto3's to take (``metaflow_config.aws``
#: turns what it refuses into a ``ConfigError``).
CLIENT_PARAMS = Kind(
    "JSON object of boto3 client arguments",
    'a JSON object of boto3 client arguments, e.g. {"region_name": "us-east-1"}, whose '
    "endpoint_url, if given, is an http:// or https:// URL botocore takes as an endpoint (the "
    "host a name of ASCII letters, digits, '-' and '.', no '_', or an IPv4 or an [IPv6] "
    "address; no user name or password, no '#', no blank)",
    _Json(_client_params),
    json_valued=True,
)
STR_LIST = Kind(
    "JSON list of strings",
    'a JSON list of strings, e.g. ["a", "b"]',
    _Json(_str_list),
    json_valued=True,
)
RETRY_CONFIG = Kind(
    "botocore retry config",
    f"a JSON object with optional keys max_attempts (int 0-{MOST_CLIENT_ATTEMPTS}), "
    f"total_max_attempts (int 1-{MOST_CLIENT_ATTEMPTS + 1}) "
    'and mode ("legacy", "standard" or "adaptive")',
    _Json(_retry_config),
    json_valued=True,
)
VERIFY = Kind(
    "boolean or CA bundle path",
    "a boolean (true/false, ...) or the path of a CA bundle file",
    _verify_schema,
)
