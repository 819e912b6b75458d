"""The one exception family of metaflow_config, and the problems it carries.

Every error the library raises about configuration is a :class:`ConfigError`. It carries
``problems``: one :class:`Problem` per thing that is wrong, each naming the setting, the layer and
the place it came from, the (masked) value, what was expected and how to fix it. All problems found
in one resolution are raised together.

What they show goes through ``_display`` (the one owner of showing a value): a problem's setting,
location and value have their URL passwords masked when it is made, and its text, an error's and
a warning's, have every character that moves or restyles a terminal escaped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import FrozenInstanceError, dataclass
from typing import TYPE_CHECKING, Any

from ._display import MASK, Lines, has_url_password, mask_url_password, printable, show_value

__all__ = [
    "MASK",
    "ConfigError",
    "ConfigWarning",
    "Problem",
    "has_url_password",
    "keeps_no_locals",
    "mask_url_password",
    "printable",
    "show_value",
]

if TYPE_CHECKING:  # a bound TypeVar costs a process's import time: for mypy only
    from typing import TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


#: The fields of a Problem, in order (its ``__init__``, ``repr``, equality and hash).
_FIELDS = ("setting", "layer", "location", "value", "expected", "fix")
#: The fields that hold input as it is (a key, a path, a value): a URL's password is masked.
_MASKED = ("setting", "location", "value")


# A frozen dataclass whose methods are written out: ``@dataclass(frozen=True)`` generates them
# by compiling source at import, about a million instructions on every ``import metaflow`` of a
# task (the extension imports this module). ``dataclasses.fields``, ``replace``, ``asdict`` and
# pattern matching work as on any dataclass; assigning a field raises ``FrozenInstanceError``.
@dataclass(init=False, repr=False, eq=False)
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

    def __init__(  # noqa: PLR0917 - a dataclass's: the fields, in order
        self, setting: str, layer: str, location: str, value: str, expected: str, fix: str
    ) -> None:
        # the parts that hold input as it is (``_MASKED``): a URL's password masked; ``expected``
        # and ``fix`` are prose, whose makers mask what they quote (``show_value``) (the value as
        # ``show_value`` renders it: a ``repr``, where strings follow one another)
        parts = dict(zip(_FIELDS, (setting, layer, location, value, expected, fix)))
        for name in _MASKED:
            if "@" in parts[name]:
                parts[name] = mask_url_password(parts[name], rendered=name == "value")
        self.__dict__.update(parts)

    def _parts(self) -> tuple[str, ...]:
        return tuple(self.__dict__[name] for name in _FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={part!r}" for name, part in zip(_FIELDS, self._parts()))
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Problem) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash(self._parts())

    def __setattr__(self, name: str, value: object) -> None:
        if type(self) is Problem or name in _FIELDS:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if type(self) is Problem or name in _FIELDS:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super().__delattr__(name)

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
        # a file's own key (named once), or a value of no location (the built-in default)
        if (self.location == self.setting and self.layer != "env") or not self.location:
            where = f" ({self.layer})" if self.layer else ""
        else:
            where = f" ({self.layer}: {self.location})"
        got = f" got {self.value};" if self.value else ""
        laid_out = isinstance(self.expected, Lines)  # an excerpt of a file: its lines kept
        fix = "\n    Fix: " if laid_out else ". Fix: "
        head = printable(f"{self.setting}{where}:{got} expected ")
        return head + printable(self.expected, lines=laid_out) + fix + printable(self.fix)


class ConfigError(Exception):
    """The configuration is wrong; ``problems`` lists everything found, not just the first.

    ``also``: what the configuration's files hold that is not applied, said with the problems
    (a project file's keys withheld until it is trusted): an error about one key never hides
    that, nor does the way out it suggests.
    """

    problems: tuple[Problem, ...]
    also: tuple[str, ...]

    def __init__(self, problems: Iterable[Problem] | str, *, also: Iterable[str] = ()) -> None:
        if isinstance(problems, str):
            problems = (Problem("configuration", "", "", "", problems, "see the message"),)
        self.problems = tuple(problems)
        self.also = tuple(also)
        super().__init__(self._render())

    def __str__(self) -> str:
        # its lines are laid out here, each problem's text escaped (Problem.__str__): Lines
        return Lines(super().__str__())

    def __reduce__(self) -> tuple[Any, ...]:  # pickled whole (a subprocess, a pool's worker)
        return (_config_error, (self.problems, self.also))

    def _render(self) -> str:  # each problem's text is escaped (Problem.__str__)
        count = len(self.problems)
        # a call given a wrong argument (``require("s4")``) is no invalid configuration
        calls = all(_a_call(p.setting) and not (p.layer or p.location) for p in self.problems)
        head = "invalid argument" if calls else "invalid Metaflow configuration"
        if count == 1:
            text = f"{head}: {self.problems[0]}"
        else:
            lines = [f"{head}: {count} problems"]
            lines.extend(f"  - {p}" for p in self.problems)
            text = "\n".join(lines)
        return "".join([text, *(f"\nAlso: {printable(note)}" for note in self.also)])


def _a_call(name: str) -> bool:
    """Whether a problem names a call's argument (``require(capability)``, ``settings[name]``).

    A call (``load(env=...)['X']`` too) or an item of an object (``settings[name]``).
    """
    for opening, closing in (("(", ")"), ("[", "]")):
        call, opened, rest = name.partition(opening)
        if opened and call.isidentifier() and closing in rest:
            return True
    return False


def _config_error(problems: tuple[Problem, ...], also: tuple[str, ...]) -> ConfigError:
    return ConfigError(problems, also=also)


class ConfigWarning(UserWarning):
    """A configuration oddity that is not an error by default (e.g. an unknown ``METAFLOW_*`` key).

    In strict mode (``load(strict=True)`` or ``METAFLOW_CONFIG_STRICT=1``) these become errors.
    Its text escapes what would move or restyle a terminal (``str(w.message)``, and so the line
    ``warnings`` prints).
    """

    def __str__(self) -> str:
        return printable(super().__str__())  # one line: none of its text starts a line


#: Where the package's modules are: its frames are the ones :func:`keeps_no_locals` clears
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


#: ``co_flags`` of a generator's, a coroutine's or an async generator's code (``inspect``'s)
_SUSPENDABLE = 0x20 | 0x80 | 0x100 | 0x200


def _forget_locals(error: BaseException) -> None:
    """Clear the locals of the package's finished frames ``error`` (and its chain) passed through.

    A frame still running (the caller's) cannot be cleared, and is not; nor is a generator's or
    a coroutine's: before CPython 3.13, clearing a suspended one's frame closes it (the chain
    may hold an exception the caller threw into an ``@override`` generator, still alive).
    """
    import contextlib  # the error path only

    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        pending += [exc.__cause__, exc.__context__]
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename.startswith(_PACKAGE_DIR) and not code.co_flags & _SUSPENDABLE:
                with contextlib.suppress(RuntimeError):  # still running
                    tb.tb_frame.clear()
            tb = tb.tb_next


def keeps_no_locals(function: F) -> F:
    """``function``, which leaves no frame of the package holding locals when it raises.

    A traceback shows the locals of every frame it passed through (``pytest -l``, Sentry, rich
    tracebacks): the caller's environment (the machine's credentials) and the values it gave (a
    secret's) are locals of the frames that check and read them. So a public call that takes
    them clears, when anything raises, the package's frames the error passed through (their
    code and lines stay, for the traceback) and drops its own arguments before the error leaves.
    """

    @functools.wraps(function)
    def cleared(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except BaseException as error:
            del args, kwargs
            _forget_locals(error)
            raise

    return cleared  # type: ignore[return-value]
