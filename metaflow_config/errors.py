"""The one exception family of metaflow_config, and the problems it carries.

Every error the library raises about configuration is a :class:`ConfigError`. It carries
``problems``: one :class:`Problem` per thing that is wrong, each naming the setting, the layer and
the place it came from, the (masked) value, what was expected and how to fix it. All problems found
in one resolution are raised together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MASK",
    "ConfigError",
    "ConfigWarning",
    "Problem",
    "has_url_password",
    "mask_url_password",
    "printable",
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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration.

    Attributes:
        setting: the environment name of the setting (``METAFLOW_BATCH_JOB_QUEUE``), or the file or
            variable the problem is about when it is not one setting.
        layer: the layer the value came from (``profile``, ``local``, ``env``, ``override``), or
            ``""`` when the problem is not tied to a layer.
        location: the file path (with ``:KEY``), the environment variable, or ``""``.
        value: the offending value, already masked if secret (``""`` when there is none).
        expected: what a valid value looks like.
        fix: how to make the problem go away.

    """

    setting: str
    layer: str
    location: str
    value: str
    expected: str
    fix: str

    # -- the shapes of problem, each written once ----------------------------------------------

    @classmethod
    def bad_value(
        cls, setting: str, layer: str, location: str, *, expected: str, fix: str, value: str = ""
    ) -> Problem:
        """A value a layer holds (``value`` already masked, or ``""``) that ``setting`` refuses."""
        return cls(setting, layer, location, value, expected, fix)

    @classmethod
    def bad_argument(cls, argument: str, value: str, expected: str, fix: str) -> Problem:
        """An argument code passed (``load(env=...)``, ``to_env(target)``): no layer, no file."""
        return cls(argument, "", "", value, expected, fix)

    @classmethod
    def not_one_of(cls, argument: str, value: Any, choices: Iterable[str], call: str) -> Problem:
        """An argument that must be one of ``choices``: ``call`` names the call to correct."""
        listed = ", ".join(repr(choice) for choice in choices)
        return cls.bad_argument(
            argument, repr(value), f"one of {listed}", f"call {call} with one of those"
        )

    @classmethod
    def file(cls, path: str, layer: str, expected: str, fix: str, *, value: str = "") -> Problem:
        """A config file that cannot be used as it is (unreadable, not JSON, ...)."""
        return cls(path, layer, path, value, expected, fix)

    @classmethod
    def missing(cls, setting: str, expected: str, fix: str) -> Problem:
        """A setting that something needs and that no layer sets."""
        return cls(setting, "", "", "", expected, fix)

    def __str__(self) -> str:
        # every part may hold input (a key, a path): none sends a terminal escape sequence
        where = f" ({self.layer}: {self.location})" if self.layer or self.location else ""
        got = f" got {self.value};" if self.value else ""
        fix = "\n    Fix: " if "\n" in self.expected else ". Fix: "  # after an excerpt of a file
        head = printable(f"{self.setting}{where}:{got} expected ")
        return head + printable(f"{self.expected}{fix}{self.fix}", lines=True)


class ConfigError(Exception):
    """The configuration is wrong; ``problems`` lists everything found, not just the first."""

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = (Problem("configuration", "", "", "", problems, "see the message"),)
        self.problems = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        if count == 1:
            return f"invalid Metaflow configuration: {self.problems[0]}"
        lines = [f"invalid Metaflow configuration: {count} problems"]
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


class ConfigWarning(UserWarning):
    """A configuration oddity that is not an error by default (e.g. an unknown ``METAFLOW_*`` key).

    In strict mode (``load(strict=True)`` or ``METAFLOW_CONFIG_STRICT=1``) these become errors.
    """
