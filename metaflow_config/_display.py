"""The one owner of how a value is shown: masking, escaping, shortening, quoting.

Every output of the package (a repr, an error, a warning, a table of ``show``, a line of
``check``, the extension's messages) shows input through these functions: a secret is
:data:`MASK`, a URL's password is masked, characters that move or restyle a terminal or reorder
text are escaped, and a command to paste is shell-quoted. Nothing else in the package masks or
escapes on its own.

Two rules divide the work. A *value* is masked where it enters a message (a part:
:func:`mask_url_password`, :func:`mask_value`, :func:`show_value`), never a whole composed
message, whose prose may hold a ``:`` and an ``@`` that are no password. A *line* is escaped
where it leaves (:func:`printable`), wherever its parts came from. A value too long for its
place is shortened after both (:func:`shorten`), keeping what tells it apart.

Every function here is linear in its input, whatever the input holds: a value may be 1 MB of
``a.a.a.`` in a project file. Patterns are compiled by ``re`` on first use (not at import), and
none can backtrack over what it has read: each is anchored by a look-behind or a character the
runs it scans cannot hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain
from typing import Any

__all__ = [
    "CUT",
    "MASK",
    "SHORTEST_SECRET",
    "Lines",
    "around",
    "entry_text",
    "given_name",
    "has_url_password",
    "laid_out",
    "mask_quoted",
    "mask_quoted_long",
    "mask_url_password",
    "mask_value",
    "no_attribute",
    "printable",
    "redact",
    "shell_quote",
    "short_name",
    "shorten",
    "show_value",
    "shown_as",
    "shown_text",
    "texts_of",
    "url_passwords",
]

#: What a secret value is replaced with wherever it would be shown.
MASK = "****"

_MAX_SHOWN = 80

# --- escaping ----------------------------------------------------------------------------------

#: What reaches no terminal as it is (see :func:`printable`), beyond the C0 and C1 control
#: characters (NEL U+0085 and CSI U+009B among them) and DEL: lone surrogates, the line and
#: paragraph separators (U+2028, U+2029), every default-ignorable code point (Unicode's
#: Default_Ignorable_Code_Point, unassigned ones too: a renderer shows them as nothing) and every
#: format character of Unicode 15.1 (category Cf:
#: the bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, the soft
#: hyphen, the zero-width space and joiners, the byte-order mark, the tag characters of
#: U+E0000), and the other characters that show nothing and so make a value look like another
#: (the combining grapheme joiner, the Hangul fillers, the variation selectors, the blank
#: Braille pattern), and every space but the ASCII one (category Zs: U+00A0, U+2000-U+200A,
#: U+3000 ... look like a space and are not one, so ``bucket\u00a0x`` is not ``bucket x``).
#: ``tests/test_display.py`` holds it to the Python's own Cf and Zs sets.
_BEYOND_C1_RANGES = (
    (0x00A0, 0x00A0),
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x1680, 0x1680),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x206F),
    (0x2800, 0x2800),
    (0x3000, 0x3000),
    (0x3164, 0x3164),
    (0xD800, 0xDFFF),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_BEYOND_C1 = "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in _BEYOND_C1_RANGES)
_UNSAFE = f"[\\x00-\\x1f\\x7f-\\x9f{_BEYOND_C1}]"
_LINE_UNSAFE = f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BEYOND_C1}]"


#: Where the characters of ``_UNSAFE`` are (``tests/test_display.py`` holds the two alike).
_UNSAFE_RANGES = (range(0xA0), *(range(first, last + 1) for first, last in _BEYOND_C1_RANGES))
#: The escape of each character :func:`printable` escapes (built on first use), by ``lines``.
_ESCAPES: dict[bool, dict[int, str]] = {}


def _escapes(lines: bool) -> dict[int, str]:
    """What ``str.translate`` replaces each unsafe character with (see ``_UNSAFE``)."""
    table = _ESCAPES.get(lines)
    if table is None:
        unsafe = re.compile(_LINE_UNSAFE if lines else _UNSAFE)
        table = {
            code: _escape(chr(code))
            for codes in _UNSAFE_RANGES
            for code in codes
            if unsafe.match(chr(code))
        }
        _ESCAPES[lines] = table
    return table


def _escape(char: str) -> str:
    shown = repr(char)[1:-1]  # \x1b, \r, \x85, \u202e: as Python writes it
    return shown if shown != char else f"\\u{ord(char):04x}"


class Lines(str):
    """Text of several lines that this package laid out (a file's excerpt under its message).

    Its line breaks and tabs are shown as they are; any other text is shown on one line, its
    line breaks escaped with the rest (:func:`printable`): text built from input (a path, a
    key, a folder's name) never starts a line of its own that could pass for the tool's.
    """

    __slots__ = ()


def laid_out(lines: Iterable[str]) -> Lines:
    """``lines`` as one text of lines: each escaped to one line, unless laid out already."""
    return Lines("\n".join(line if isinstance(line, Lines) else printable(line) for line in lines))


def printable(text: str, *, lines: bool = False) -> str:
    r"""``text`` with every character that moves or restyles a terminal or reorders text escaped.

    Control characters (``\x1b``, ``\x9b``), lone surrogates, the bidirectional overrides and
    isolates (``\u202e``) and the line separators (``\u2028``) are written as their escapes: a
    name, a path, a value or a message that came from input sends no escape sequence and turns
    no text around.

    ``lines``: newlines and tabs are kept (a message whose excerpt spans lines).
    """
    if text.isascii() and text.isprintable():
        return text  # in C: the common case (a newline or a tab is not printable)
    # other text is searched for the characters themselves: what Python counts as printable
    # (str.isprintable) is its Unicode database's say, which is not what a terminal obeys
    if re.search(_LINE_UNSAFE if lines else _UNSAFE, text) is None:
        return text
    return text.translate(_escapes(lines))  # in C, one pass


# --- URL passwords -----------------------------------------------------------------------------

#: A scheme and ``://``. The look-behind makes a match start only where a run of scheme
#: characters starts, so each run is read once (``a.a.a.`` ... is no backtracking).
_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://"
#: A quote that ends a string of a rendered dict, list or message (``', '``, ``": "``, ``'}``,
#: ``'`` at the end), for ``rendered`` text.
_END_QUOTE = r"""["'](?=\s*(?:[,:;}\])]|$))"""
#: A ``:`` that is not a key's (``"key": "``, ``'key': '``: a quote before it and one after it).
_OPEN_COLON = r"""(?<!["']):|:(?!\s*["'])"""
#: An image digest after an ``@`` (``image@sha256:<64 hex digits>``): a host with such a port
#: is no host, so the ``:`` before it (``name:tag@sha256:...``) begins no password.
_DIGEST = r"sha(?:256:[0-9a-fA-F]{64}|384:[0-9a-fA-F]{96}|512:[0-9a-fA-F]{128})(?![0-9A-Za-z])"
#: The head of an ARN (``arn:partition:service:region:account:``, or its ``repr``) whose
#: resource begins with its type and a ``/`` (``role/``, ``bucket/``): its colons end no user
#: name (an IAM role's name may hold an ``@``). The account is 12 digits, ``aws`` or nothing,
#: so no user name can stand there (``arn:aws:iam::u:pw@h`` is no ARN: masked).
_ARN_HEAD = r"""["']?arn:[a-z0-9-]*:[a-z0-9-]*:[a-z0-9-]*:(?:[0-9]{12}|aws)?:(?=[A-Za-z0-9_.-]+/)"""
#: Where JSON text begins: a value reading as a JSON object or list is masked string by string.
_JSON_START = ("{", "[")


def _end(text: str, start: int, stop: int) -> int:
    """The ``@`` ending the last userinfo in ``text[start:stop]``, or -1.

    Every ``@`` may end one (``user:pw@``, with a host or not), except one before an image
    digest (``name:tag@sha256:...``). Linear: each digest check stops at the next ``@``.
    """
    at = text.rfind("@", start, stop)
    while at >= 0 and text.startswith("sha", at + 1) and _digest(text, at + 1, stop):
        at = text.rfind("@", start, at)
    return at


def _digest(text: str, start: int, stop: int) -> bool:
    return re.compile(_DIGEST).match(text, start, stop) is not None


def _colon(text: str, start: int, stop: int, schemes: set[int] | None, *, rendered: bool) -> int:
    """The first ``:`` in ``text[start:stop]`` that may begin a password, or -1.

    Each ``:`` may, except the colon of a scheme (``https://``: the scheme starts a run of
    scheme characters, at the start or after a character no user name ends with), those of an
    ARN's head (``arn:aws:iam::123456789012:``), and a key's (``"key": "``). But in one value
    (not ``rendered``), from the first ``//`` an authority starts with, a quote is a character
    like any other: ``https://u":"pw@h`` is urllib's user ``u"`` and password ``"pw`` (and a
    later URL in the value is masked with the first's password).
    """
    if not rendered:
        authority = text.find("//", start, stop)  # the first URL's: from there, all is masked
        colon = text.find(":", authority + 2, stop) if authority >= 0 else -1
        while colon >= 0 and schemes is not None and colon in schemes:  # a later URL's scheme
            colon = text.find(":", colon + 1, stop)
        if colon >= 0:
            return colon
    if text.startswith(("arn:", "'arn:", '"arn:'), start):  # as it is, or as its repr
        head = re.compile(_ARN_HEAD).match(text, start, stop)
        if head is not None:
            start = head.end()
    first = text.find(":", start, stop)  # memchr: most text holds none
    if first < 0:
        return -1
    colons = re.compile(_OPEN_COLON)
    found = colons.search(text, first, stop)  # (its look-behind sees before ``first``)
    while found is not None:
        colon = found.start()
        scheme = text.startswith("//", colon + 1) and schemes is not None and colon in schemes
        if not scheme and not _mailto(text, colon):
            return colon
        found = colons.search(text, colon + 1, stop)  # a scheme's
    return -1


def _mailto(text: str, colon: int) -> bool:
    """Whether ``colon`` is that of a ``mailto:`` (RFC 6068: an address, never a userinfo)."""
    start = colon - len("mailto")
    return (
        start >= 0
        and text[start:colon].lower() == "mailto"
        and (start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "+.-"))
    )


def _scheme_colons(text: str) -> set[int] | None:
    """Where the colon of each ``scheme://`` is (``None``: the text holds none)."""
    if "://" not in text:
        return None
    colons = set()
    for match in re.finditer(_SCHEME, text):
        before = text[match.start() - 1] if match.start() else ""
        if before not in ("/", ":", "@"):  # "u://pw@h" after "https://" is a user and password
            colons.add(match.end() - 3)
    return colons


def _segments(text: str, *, rendered: bool) -> list[tuple[int, int]]:
    """The stretches of ``text`` a userinfo cannot cross: the whole value, or each string.

    ``rendered``: ``text`` is a ``repr`` (of a dict, a list, an object) where several strings
    follow one another; a string ends with a quote followed by what ends a string there.
    """
    if not rendered:
        return [(0, len(text))]
    ends = [m.start() + 1 for m in re.finditer(_END_QUOTE, text)]
    return list(zip([0, *ends], [*ends, len(text)]))


def _url_passwords(text: str, *, rendered: bool) -> list[tuple[int, int]]:
    """The spans of text to mask as URL passwords, in order.

    A ``user:password@`` shape anywhere, in a valid URL or not (``https://u:pw@h``,
    ``https:/u:pw@h``, ``//u:pw@h``, ``u:pw@h/path``): in each segment, from the first colon
    that may begin a password to the last ``@`` that may end one. As urllib reads a userinfo,
    the user name runs to the first ``:`` (it may hold an ``@``: ``alice@corp.com:pw@host``)
    and the password to the *last* ``@`` (``bob:p@ss@host``); where the text is ambiguous
    (``https://user@host:8080/x@y``, two URLs in one value), more is masked, never less.
    Linear: each segment is read a bounded number of times.
    """
    schemes = _scheme_colons(text)
    spans = []
    for start, stop in _segments(text, rendered=rendered):
        if text.find("@", start, stop) < 0:
            continue
        at = _end(text, start, stop)
        colon = _colon(text, start, at, schemes, rendered=rendered) if at > start else -1
        if colon >= 0 and colon + 1 < at:
            spans.append((colon + 1, at))
        spans += _token_users(text, start, stop)
    return _merged_spans(spans) if len(spans) > 1 else spans


#: What ends a URL's authority (``//userinfo@host:port``), as urllib splits it: a blank does
#: not (``https://tok SECRET@h``: urllib's user name is ``tok SECRET``).
_AUTHORITY_END = r"[/?#]"


def _token_users(text: str, start: int, stop: int) -> list[tuple[int, int]]:
    """The user names that are a URL's whole userinfo, or hold it with an empty password.

    ``https://TOKEN@host`` (a token as the user name: GitHub's, an API gateway's) and
    ``https://TOKEN:@host`` carry the credential in the user name; a client sends it as
    Basic authentication (``u%3Apw``, percent-encoded, too). Every ``//`` of ``text[start:stop]``
    may begin an authority; each is read once, to where its authority ends.
    """
    spans = []
    slashes = text.find("//", start, stop)
    ends = re.compile(_AUTHORITY_END) if slashes >= 0 else None
    while slashes >= 0 and ends is not None:
        begin = slashes + 2
        found = ends.search(text, begin, stop)
        end = found.start() if found is not None else stop
        at = text.rfind("@", begin, end)
        if at > begin:
            colon = text.find(":", begin, at)
            if colon < 0 or colon + 1 == at:  # no password: the user name is the credential
                spans.append((begin, at))
        slashes = text.find("//", max(end, begin), stop)
    return spans


def _merged_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` in order, each overlapping (or touching) pair made one."""
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


_NOT_JSON = object()


def _json(text: str) -> Any:
    """The value of JSON ``text`` (an object or a list), or ``_NOT_JSON``."""
    if text.lstrip()[:1] not in _JSON_START:
        return _NOT_JSON
    import json  # here: only text holding a password's shape that looks like JSON gets here

    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON


def mask_url_password(text: str, *, rendered: bool = False) -> str:
    """``text`` with every URL password in it masked (``https://user:****@host``).

    By default ``text`` is read as one value, whose password may hold any character; a value
    that is JSON text (an object or a list) is masked string by string, so that a ``:`` of its
    syntax begins no password. ``rendered``: ``text`` is a ``repr`` (see ``_segments``).
    """
    if "@" not in text:
        return text
    spans = _url_passwords(text, rendered=rendered)
    if not spans:
        return text
    if not rendered:
        value = _json(text)
        if value is not _NOT_JSON:
            import json

            masked = mask_value(value)
            return text if masked is value else json.dumps(masked, ensure_ascii=False)
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts += [text[at:start], MASK]
        at = end
    parts.append(text[at:])
    return "".join(parts)


#: The shortest text :func:`redact` replaces wherever it appears.
SHORTEST_SECRET = 4


def texts_of(values: Iterable[Any], *, keys: bool = False) -> list[str]:
    """The strings in ``values``, as plain text, wherever they are held.

    Inside JSON objects and lists, sets, and the attributes of other objects (a model's fields,
    a nested model's); the secret of a secret type (``get_secret_value()``: pydantic's), bytes
    as text; a mapping's keys too where ``keys``; each object once.
    """
    found: list[str] = []
    pending = list(values)
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        reveal = getattr(type(item), "get_secret_value", None)
        if reveal is not None:
            item = reveal(item)
        if isinstance(item, bytes):
            item = item.decode(errors="replace")
        if isinstance(item, str):
            found.append(str(item))
        elif item is None or isinstance(item, (bool, int, float)) or id(item) in seen:
            continue
        elif isinstance(item, dict):
            seen.add(id(item))
            pending.extend(chain(item.keys(), item.values()) if keys else item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            seen.add(id(item))
            pending.extend(item)
        elif isinstance(getattr(item, "__dict__", None), dict):
            seen.add(id(item))
            pending.extend(vars(item).values())
    return found


def url_passwords(values: Iterable[Any]) -> list[str]:
    """The URL passwords the strings of ``values`` hold, as written (what is masked in them).

    Each also in the pieces a URL parser cuts it into where it holds ``/``, ``?``, ``#``, ``@``
    or ``:`` (``https://u:Sup3r/Secret@h``: urllib's ``nonnumeric port: 'Sup3r'``).
    """
    found: list[str] = []
    for text in texts_of(values):
        if "@" not in text:
            continue
        for start, end in _url_passwords(text, rendered=False):
            password = text[start:end]
            found.append(password)
            found.extend(re.split(r"[/?#@:]", password))  # the pieces (itself, if none)
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by the mask wherever it appears in it.

    For text that may quote what it was given, in pieces where no shape tells a secret: an
    error message (``nonnumeric port: 'pa55word@host'``, an AWS answer quoting a fetched name).
    A secret shorter than :data:`SHORTEST_SECRET` is left (replacing it would garble every
    line and hide nothing); the longest are replaced first.
    """
    for secret in sorted({s for s in secrets if len(s) >= SHORTEST_SECRET}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


#: A quoted part of a message (``'...'``, ``"..."``): what a library says of the input it refused.
_QUOTED = r"""'[^']*'|"[^"]*\""""


def mask_quoted(text: str) -> str:
    """``text`` with every quoted part masked (``got '****'``), its quotes kept.

    For a library's message about arguments it refused, which may quote a secret whole or in
    part, however short (``Provided region_name 'x y' doesn't match``): :func:`redact` leaves
    a secret under :data:`SHORTEST_SECRET`. Linear: each quote is read once.
    """
    if "'" not in text and '"' not in text:
        return text
    return re.sub(_QUOTED, _masked_quote, text)


def mask_quoted_long(text: str) -> str | None:
    """``text`` with every quoted part of :data:`SHORTEST_SECRET` characters or more masked.

    For a message a check wrote about a secret's value, which may quote a piece of it (``the
    host '[1::2::5ECDEF]' is not an IPv6 address``), whole, shortened or unescaped from JSON:
    its own words stay, what it quotes does not (a part under 4 characters, ``':'``, is left, as
    :func:`redact` leaves them). ``None`` where a quote is left open (a piece shortened to
    ``'[1::2::5ecdef...``): no part of such a message can be told safe. Linear in the text.
    """
    if "'" not in text and '"' not in text:
        return text

    def masked(quoted: re.Match[str]) -> str:
        short = len(quoted.group()) - 2 < SHORTEST_SECRET
        return quoted.group() if short else _masked_quote(quoted)

    held = re.sub(_APOSTROPHE, _HELD_APOSTROPHE, text)  # prose's "float's" is no quote
    shown = re.sub(_QUOTED, masked, held)
    rest = re.sub(_QUOTED, "", shown)
    if "'" in rest or '"' in rest:
        return None
    return shown.replace(_HELD_APOSTROPHE, "'")


#: An apostrophe between two letters (``float's``), and what holds its place meanwhile
_APOSTROPHE = r"(?<=[A-Za-z])'(?=[A-Za-z])"
_HELD_APOSTROPHE = "\ue000"


def _masked_quote(quoted: re.Match[str]) -> str:
    mark = quoted.group()[0]
    return mark + MASK + mark


def has_url_password(value: Any) -> bool:
    """Whether ``value`` (text, or a JSON-like value by its strings) holds a URL password."""
    if not isinstance(value, str):
        return mask_value(value) is not value
    if "@" not in value or not _url_passwords(value, rendered=False):
        return False
    parsed = _json(value)
    return parsed is _NOT_JSON or has_url_password(parsed)


class _Rendered:
    """What shows an object by its ``repr``, with the URL passwords of that text masked."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def shown_as(text: str) -> Any:
    """An object whose ``repr`` is ``text`` (a value shown as something else: the mask)."""
    return _Rendered(text)


_PLAIN_REPRS: tuple[Any, ...] = (str.__repr__, dict.__repr__, list.__repr__, tuple.__repr__)


def _own_repr(value: Any) -> bool:
    """Whether ``value`` is a ``str``, ``dict``, ``list`` or ``tuple`` shown by its own ``repr``.

    A concealing class (a secret's ``str`` whose ``repr`` is the mask) is shown as it shows
    itself, never taken apart.
    """
    shows: Any = type(value).__repr__
    return shows not in _PLAIN_REPRS


def _mask_plain(value: str | dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Any:
    """:func:`mask_value` of text, a ``dict``, a ``list`` or a ``tuple`` (not of a subclass)."""
    if isinstance(value, str):
        return mask_url_password(value) if "@" in value else value
    if isinstance(value, dict):
        items = [(mask_value(k), mask_value(v)) for k, v in value.items()]
        same = all(a is k and b is v for (a, b), (k, v) in zip(items, value.items()))
        return value if same else dict(items)
    masked = [mask_value(item) for item in value]
    if all(a is b for a, b in zip(masked, value)):
        return value
    return tuple(masked) if isinstance(value, tuple) else masked


def mask_value(value: Any) -> Any:
    """``value`` with the URL passwords of its strings (keys too) masked: the same object if none.

    Text is masked as one value; dicts, lists and tuples are copied (as ``dict``, ``list``,
    ``tuple``) where something inside is masked. A concealing value (a secret's ``SecretText``
    or ``SecretDict``, a ``PasswordURL``: a class with a ``_masked`` method) becomes the text it
    shows. Any other object, and a ``str`` or container of a class with its own ``repr``, stands
    as its ``repr`` does: unchanged, or replaced by an object whose ``repr`` is that text with
    its URL passwords masked. Recursive: a value nested deeper than the interpreter's limit
    raises ``RecursionError``, as its ``repr`` would.
    """
    concealed = getattr(type(value), "_masked", None)
    if concealed is not None:
        return concealed(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (str, dict, list, tuple)) and not _own_repr(value):
        return _mask_plain(value)
    text = repr(value)
    if "@" not in text:
        return value
    # the passwords its strings hold, wherever its repr quotes them (a quote and a comma inside
    # a password end a string of the repr for the shape alone), then any other URL's
    shown = mask_url_password(redact(text, url_passwords([value])), rendered=True)
    return value if shown == text else _Rendered(shown)


#: What stands for the part of a value :func:`shorten` leaves out.
CUT = "..."


def _middle(text: str, width: int) -> str:
    """``text`` in ``width`` characters: its start and its end, :data:`CUT` between them."""
    if len(text) <= width:
        return text
    room = width - len(CUT)
    if room <= 0:
        return CUT[:width]
    head = room // 2
    return text[:head] + CUT + text[len(text) - (room - head) :]


def _tail(text: str, width: int) -> str:
    """The end of ``text`` in ``width`` characters (after :data:`CUT`), from a ``/`` if one fits."""
    if len(text) <= width:
        return text
    end = text[len(text) - (width - len(CUT)) :]
    slash = end.find("/", 1)
    if 0 < slash < len(end) // 2:  # a whole segment reads better than half of one
        end = end[slash:]
    return CUT + end


def _arn_resource(text: str) -> int:
    """Where the resource of an ARN (``arn:partition:service:region:account:``) begins, or -1."""
    at = 0
    for _ in range(5):
        at = text.find(":", at) + 1
        if at == 0:
            return -1
    return at


def _arn(text: str, start: int, width: int) -> str:
    """An ARN in ``width`` characters: its resource (from ``start``) whole, or its name's ends."""
    resource = text[start:]
    head = width - len(CUT) - len(resource)
    if head >= len("arn:aws:"):  # the head's start to a colon, its end cut
        head = text.rfind(":", 0, head) + 1
        return text[:head] + CUT + resource
    if len(resource) + len(CUT) <= width:
        return CUT + resource
    name = resource[resource.find("/") + 1 :]  # after its type (role/, job-queue/)
    return CUT + _middle(name, width - len(CUT))


#: The longest name from input (a key of a file, a variable's name) a message says whole.
_LONGEST_NAME = 120


def short_name(name: str) -> str:
    """A name from input as a message says it: whole, or its start and its end (:data:`CUT`).

    A file may hold keys of any length: a message says each in a line a reader can take in.
    A name with a space at its start or end is quoted (``'METAFLOW_USER '``): said bare, it
    reads as the name without it. What no name holds is not said (:func:`given_name`): a
    value pasted after an ``=``, a URL's password.
    """
    name = given_name(name)
    if name[:1] == " " or name[-1:] == " ":
        return f"'{_middle(name, _LONGEST_NAME)}'"
    return _middle(name, _LONGEST_NAME)


def given_name(name: str) -> str:
    """``name``, given where a setting's name is expected, without what may be a secret.

    A line of ``env`` output pasted whole (``METAFLOW_SERVICE_AUTH_KEY=...``): what follows the
    first ``=`` is a value, masked; a URL given as a name has its password masked. A name of a
    setting holds neither, so a name is said as it is.
    """
    head, equals, rest = name.partition("=")
    if equals and rest:
        name = head + equals + MASK
    return mask_url_password(name) if "@" in name else name


def short_location(location: str, path: str | None) -> str:
    """A key's location as a message says it: the file's ``path`` whole, the key as a name.

    ``path:KEY`` (a file's key) keeps the path a reader copies, and says ``KEY`` as
    :func:`short_name` does; any other location (a variable's name) is a name.
    """
    if path and location.startswith(path + ":"):
        return path + ":" + short_name(location[len(path) + 1 :])
    return short_name(location)


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, keeping what tells it apart from its kind.

    Text as it is shown (masked and escaped first: a cut keeps no part of a password). An ARN
    keeps its resource (``arn:aws:iam::1234...:role/my-role``), or the name in it; a URL
    (``s3://`` included) its scheme and host (an S3 bucket) and the end of its path; other text
    its start and its end; a quoted value (a ``repr``) its quotes. What is left out is
    :data:`CUT`. Linear in ``text``.
    """
    if len(text) <= width:
        return text
    if len(text) > 2 and text[0] == text[-1] and text[0] in "'\"" and width > 2:  # a repr
        return text[0] + _shorten(text[1:-1], width - 2) + text[0]
    return _shorten(text, width)


def _shorten(text: str, width: int) -> str:
    """:func:`shorten` of text that is not quoted."""
    if len(text) <= width:
        return text
    if width <= len(CUT) + 1:
        return _middle(text, width)
    if text.startswith("arn:"):
        start = _arn_resource(text)
        if start > 0:
            return _arn(text, start, width)
    scheme = text.find("://")
    if 0 < scheme < 16 and text[:scheme].isalnum():
        path = text.find("/", scheme + 3)
        site = text if path < 0 else text[:path]
        if path > 0 and len(site) + 2 * len(CUT) < width:
            return site + _tail(text[path:], width - len(site))
        if path > 0 and len(site) + len(CUT) <= width:  # the host whole, the path left out
            return site + CUT
    return _middle(text, width)


def show_value(value: Any, *, secret: bool) -> str:
    """Render ``value`` for a human: masked when secret, escaped, shortened when long."""
    if value is None:
        return "None"
    if secret:
        return MASK
    try:
        text = repr(mask_value(value))  # masked before shortening: a cut must keep none
    except RecursionError:  # a value injected by code, nested deeper than repr can go
        return "<a value nested too deeply to show>"
    text = printable(text)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def shown_text(text: str) -> str:
    """Text of a value as a line may hold it (not quoted): URL passwords masked, escaped."""
    return printable(mask_url_password(text))


def shell_quote(word: str) -> str:
    """``word`` quoted for a POSIX shell, and printable: a path or a name to paste in a command.

    A word holding a character :func:`printable` escapes (a line break, an escape) is quoted
    ``$'...'``, where its escapes mean those very characters (bash, zsh, ksh): shown safely, and
    pasted exactly.
    """
    import shlex  # here: only a command to paste needs it (import stays cheap)

    if printable(word) == word:
        return shlex.quote(word)
    inside = "".join(_ansi_c(c) for c in word)
    return f"$'{inside}'"


def _ansi_c(char: str) -> str:
    r"""``char`` inside ``$'...'``, meaning itself there.

    A byte a file name held undecoded (``surrogateescape``) as that byte; a quote or a
    backslash escaped; a character :func:`printable` escapes as its UTF-8 bytes, ``\xHH``
    each (bash reads ``\xa0`` as the one byte, not as U+00A0, and in the C locale leaves
    ``\u202e`` as it is: bytes mean the same in every shell and locale); any other as itself.
    """
    if "\udc80" <= char <= "\udcff":
        return f"\\x{ord(char) - 0xDC00:02x}"
    if char in "\\'":
        return "\\" + char
    if printable(char) == char:
        return char
    return "".join(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))


def entry_text(value: Any, *, secret: bool = False) -> str:
    """A registered key's typed value as its variable would hold it; the mask when ``secret``.

    Strings as they are, everything else JSON (``true``, ``3``; pydantic's JSON form: a
    ``SecretStr`` is its mask; pass ``get_secret_value()`` to reveal it).
    """
    if value is None:
        return ""
    if secret:
        return MASK
    if isinstance(value, str):
        return value
    import json

    from pydantic_core import to_jsonable_python  # a registered section's value: pydantic's

    jsonable = to_jsonable_python(value)
    return jsonable if isinstance(jsonable, str) else json.dumps(jsonable, sort_keys=True)


def no_attribute(owner: str, name: str, names: Iterable[str]) -> str:
    """The message of an attribute ``owner`` lacks, with the one of ``names`` it is near.

    ``owner`` as Python says it (``'Settings' object``, ``module 'x'``). A private or special
    name (``copy`` and ``pickle`` ask for some) is said plainly, with no search.
    """
    said = f"{owner} has no attribute {name!r}"
    if name.startswith("_"):
        return said
    import difflib  # the error path only

    near = difflib.get_close_matches(name, list(names), n=1)
    return f"{said}; did you mean {near[0]!r}?" if near else said


def around(value: str, inner: str) -> str:
    """`` (it ends with a blank, ...: remove it)``: what ``value`` holds around ``inner``.

    ``inner`` is ``value`` stripped of its blanks and line endings.
    """
    start = value[: value.index(inner)]
    end = value[value.index(inner) + len(inner) :]

    def what(text: str) -> str:
        if "\r" in text:
            return "a carriage return (a Windows line ending)"
        if "\n" in text:
            return "a line break"
        return "a blank" if len(text) == 1 else "blanks"

    said = [f"starts with {what(start)}"] if start else []
    said += [f"ends with {what(end)}"] if end else []
    many = len(said) > 1 or what(start or end) == "blanks"
    part = "are part" if many else "is part"
    them = "them" if many else "it"
    return f" (it {' and '.join(said)}, which {part} of the value where it is set: remove {them})"
