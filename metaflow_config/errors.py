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
    "mask_url_password",
    "mask_url_passwords",
    "show_value",
]

#: What a secret value is replaced with wherever it would be shown.
MASK = "****"

_MAX_SHOWN = 80
#: the password of a URL's userinfo (``https://user:password@host``), masked wherever shown; the
#: userinfo ends at the *last* ``@`` of the authority (as urllib splits it: ``bob:p@ss@host``)
_URL_PASSWORD = re.compile(r"(?i)^([a-z][a-z0-9+.\-]*://[^/@:\s]*:)[^/\s]*@")
#: the same anywhere in a text (a line of a file): a quote also ends the authority
_URL_PASSWORDS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/@:\s\"']*:)[^/\s\"']*@")


def show_value(value: Any, *, secret: bool) -> str:
    """Render ``value`` for a human: masked when secret, shortened when long."""
    if value is None:
        return "None"
    if secret:
        return MASK
    if isinstance(value, str):
        value = mask_url_password(value)
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def mask_url_password(text: str) -> str:
    """``text`` with the password of a URL's userinfo masked (``https://user:****@host``)."""
    return _URL_PASSWORD.sub(r"\1" + MASK + "@", text) if "@" in text else text


def mask_url_passwords(text: str) -> str:
    """Free ``text`` (a line of a file) with the password of every URL in it masked."""
    return _URL_PASSWORDS.sub(r"\1" + MASK + "@", text) if "@" in text else text


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

    def __str__(self) -> str:
        where = f" ({self.layer}: {self.location})" if self.layer or self.location else ""
        got = f" got {self.value};" if self.value else ""
        fix = "\n    Fix: " if "\n" in self.expected else ". Fix: "  # after an excerpt of a file
        return f"{self.setting}{where}:{got} expected {self.expected}{fix}{self.fix}"


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
