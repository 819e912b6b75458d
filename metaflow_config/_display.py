"""The one owner of how a value is shown: masking, escaping, shortening, quoting.

Every output of the package (a repr, an error, a warning, a table of ``show``, a line of
``check``, the extension's messages) shows input through these functions: a secret is
:data:`MASK`, a URL's password is masked, control characters are escaped, and a command to
paste is shell-quoted. Nothing else in the package masks or escapes on its own.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

__all__ = [
    "MASK",
    "has_url_password",
    "mask_url_password",
    "printable",
    "shell_quote",
    "show_value",
]

#: What a secret value is replaced with wherever it would be shown.
MASK = "****"

_MAX_SHOWN = 80


#: Where a URL begins (its scheme and ``://``), and a quote that ends a string of a rendered
#: dict, list or message (``', '``, ``": "``, ``'}``, ``'`` at the end). Compiled by ``re`` on first
#: use, as the rare paths' patterns (only text holding an ``@`` is looked at).
_SCHEME = r"(?i)\b[a-z][a-z0-9+.\-]*://"
_END_QUOTE = r"""["'](?=\s*(?:[,:;}\])]|$))"""


#: What reaches no terminal as it is (see :func:`printable`): C0 and C1 control characters, DEL
#: and lone surrogates; ``_LINE_CONTROLS`` leaves the newline and the tab (an excerpt's lines).
_CONTROLS = r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_LINE_CONTROLS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]"


def printable(text: str, *, lines: bool = False) -> str:
    r"""``text`` with its control characters escaped (``\x1b``), as input may hold them.

    A name, a path or a message that came from input (a file's key, a variable's name) sends no
    terminal escape sequence.

    ``lines``: newlines and tabs are kept (a message whose excerpt spans lines).
    """
    if text.isprintable():  # in C: the common case (a newline or a tab is not printable)
        return text
    pattern = _LINE_CONTROLS if lines else _CONTROLS
    if re.search(pattern, text) is None:
        return text
    return re.sub(pattern, lambda m: repr(m.group())[1:-1], text)


def show_value(value: Any, *, secret: bool) -> str:
    """Render ``value`` for a human: masked when secret, shortened when long."""
    if value is None:
        return "None"
    if secret:
        return MASK
    if type(value) is str:  # masked as the one value it is (its password may hold quotes)
        text = repr(mask_url_password(value))
    else:
        try:
            text = repr(value)
        except RecursionError:  # a value injected by code, nested deeper than repr can go
            return "<a value nested too deeply to show>"
        text = mask_url_password(text, rendered=True)  # before shortening: a cut must keep none
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def _url_passwords(text: str, *, rendered: bool) -> list[tuple[int, int]]:
    """The spans of the URL passwords in ``text`` (``https://user:password@host``), in order.

    As urllib reads a userinfo: the user name runs to the first ``:`` (it may hold an ``@``:
    ``alice@corp.com:pw@host``) and the password to the *last* ``@`` (``bob:p@ss@host``). A ``/``
    or a space in the password (which urllib may read otherwise) is masked too, rather than half
    shown: where the text is ambiguous (``https://user@host:8080/x@y``), more is masked, never
    less. ``rendered``: ``text`` is a ``repr`` or JSON text, where several strings may follow one
    another; a URL there also ends with a quote that ends its string (``', '``, ``"}``), not with
    a quote inside a password (``p"w``). Linear in the text (positions found once, each URL's
    bounds by bisection): any text a layer holds may be scanned, a hostile one included.
    """
    import bisect  # here: only text holding an ``@`` gets this far (import stays cheap)

    ends = [m.start() for m in re.finditer(_END_QUOTE, text)] if rendered else []
    ats = [m.start() for m in re.finditer("@", text)]
    spans: list[tuple[int, int]] = []
    done = 0  # the text before this is masked already
    for scheme in re.finditer(_SCHEME, text):
        start = scheme.end()
        if start <= done:
            continue
        i = bisect.bisect_left(ends, start)
        end = ends[i] if i < len(ends) else len(text)
        colon = text.find(":", start, end)
        slash = text.find("/", start, end)
        if colon < 0 or 0 <= slash < colon:  # no password: the user name ends at a ``/``
            continue
        last = bisect.bisect_left(ats, end) - 1  # the last ``@`` before the URL's string ends
        if last >= 0 and ats[last] > colon:
            spans.append((colon + 1, ats[last]))
            done = ats[last]
    return spans


def mask_url_password(text: str, *, rendered: bool = False) -> str:
    """``text`` with the password of every URL in it masked (``https://user:****@host``).

    ``rendered``: ``text`` is a ``repr`` or JSON text (see ``_url_passwords``); by default it is
    read as one value, whose password may hold any character.
    """
    if "@" not in text:
        return text
    spans = _url_passwords(text, rendered=rendered)
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts += [text[at:start], MASK]
        at = end
    parts.append(text[at:])
    return "".join(parts)


def has_url_password(value: Any) -> bool:
    """Whether ``value`` (text, or any value by its ``repr``) holds a URL with a password."""
    if isinstance(value, str):
        return "@" in value and bool(_url_passwords(value, rendered=False))
    text = repr(value)
    return "@" in text and bool(_url_passwords(text, rendered=True))


def shell_quote(word: str) -> str:
    """``word`` quoted for a POSIX shell, and printable: a path or a name to paste in a command.

    A word holding a control character cannot be both pasted exactly and shown safely: it is
    quoted, then its control characters are escaped (see :func:`printable`).
    """
    return printable(shlex.quote(word))
