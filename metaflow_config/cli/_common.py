"""What every command shares: the --profile option, loading, errors, confirmations, messages."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from .._display import MASK, Lines, mask_value, printable, shown_text
from .._resolve.resolve import resolve
from .._snapshot.settings import Settings
from .._sources.inputs import Inputs, default_home
from .._sources.inputs import selected_profile as resolved_profile
from .._sources.profiles import (
    file_named_profile,
    home_is_a_file,
    list_profiles,
    profile_flag,
    profile_path,
    relative_home,
)
from .._sources.profiles import missing_profile as missing_profile_problem
from .._sources.writes import file_in_the_way
from ..errors import ConfigError, ConfigWarning, Problem

__all__ = [
    "CliError",
    "NoSuchSettingError",
    "StrictOrLenient",
    "answered",
    "as_cli_error",
    "complete_profile",
    "confirm",
    "home_dir",
    "load_settings",
    "missing_profile",
    "no_pipe",
    "output_file",
    "print_warnings",
    "profile_file",
    "profile_flag",
    "profile_label",
    "profile_option",
    "raw_text",
    "selected_profile",
    "yes_option",
    "yes_or_no",
]

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A failure the user can act on: printed as one ``Error: ...`` message, exit status 1.

    The message may quote input (a key, a name given as an argument): its control characters
    are escaped, so none reaches the terminal.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        # one line, its line breaks escaped (a folder's name may hold one), unless this package
        # laid it out in lines (a ConfigError's problems, a list: ``Lines``)
        super().__init__(printable(message, lines=isinstance(message, Lines)))


class StrictOrLenient(click.Command):
    """A command taking ``--strict/--lenient``: both given is a usage error.

    click's flag pair takes the last one silently; which strictness was meant is not known.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = args[: args.index("--")] if "--" in args else args
        if "--strict" in given and "--lenient" in given:
            msg = "--strict and --lenient contradict each other: give one of them"
            raise click.UsageError(msg, ctx)
        return super().parse_args(ctx, args)


class NoSuchSettingError(CliError):
    """A name given as a setting's that is no setting: a usage error (exit status 2)."""

    exit_code = 2


def as_cli_error(exc: ConfigError | OSError, error: type[CliError] = CliError) -> CliError:
    """A configuration or file error as the one ``Error: ...`` message (an ``error``)."""
    if isinstance(exc, ConfigError):
        return error(str(exc))
    where = f": {exc.filename}" if exc.filename else ""
    return error(f"{exc.strerror or exc}{where}")


def profile_option(fn: F) -> F:
    """``--profile/-p NAME``: the named profile (default: ``$METAFLOW_PROFILE``, else default)."""
    return click.option(
        "--profile",
        "-p",
        metavar="NAME",
        default=None,
        shell_complete=complete_profile,
        help=(
            "Named profile: config_NAME.json in $METAFLOW_HOME. Default: $METAFLOW_PROFILE, "
            'else the default profile config.json (--profile "" selects it explicitly).'
        ),
    )(fn)


def complete_profile(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """The named profiles of the METAFLOW_HOME in force (the default one is given by no name)."""
    try:
        home = home_dir()
    except ConfigError:  # a relative METAFLOW_HOME: no profile of it is offered
        return []
    return [CompletionItem(p) for p in list_profiles(home) if p.startswith(incomplete)]


def yes_option(fn: F) -> F:
    """``--yes/-y``: answer yes to every confirmation (for scripts)."""
    return click.option(
        "--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts)."
    )(fn)


def home_dir() -> str:
    """The METAFLOW_HOME in force (``$METAFLOW_HOME`` or ``~/.metaflowconfig``), expanded.

    Raises:
        ConfigError: ``$METAFLOW_HOME`` is relative (``_sources.profiles.relative_home``).

    """
    home = default_home(os.environ)
    relative = relative_home(home)
    if relative is not None:
        raise ConfigError([relative])
    return home


def selected_profile(profile: str | None) -> str | None:
    """The profile a command works on: ``--profile``, else ``$METAFLOW_PROFILE``; None: default."""
    return resolved_profile(os.environ, profile)


def profile_label(profile: str | None) -> str:
    """How a profile is named in messages."""
    return f"profile '{profile}'" if profile else "the default profile"


def profile_file(profile: str | None, flag: str | None = None, *, creating: bool = False) -> str:
    """The file of ``profile`` under the METAFLOW_HOME in force, for reading or writing it.

    ``flag`` is the option the name was given with (None: ``$METAFLOW_PROFILE``).
    ``creating``: the command writes the file, which may not exist yet.

    Raises:
        ConfigError: a bad profile name (naming ``flag`` when given), or a METAFLOW_HOME that
            cannot hold the file (a file where it, or a folder above it, should be a directory),
            said as the resolver says it, before anything is written or told as done; where
            ``creating``, a new profile named as its file is (``-p prod.json``: its file would
            be ``config_prod.json.json``), said with the name meant, as a read says it.

    """
    home = home_dir()
    path, problems = profile_path(home, profile)
    if problems:
        if flag is not None and profile:
            problems = [from_flag(p, profile, flag) for p in problems]
        raise ConfigError(problems)
    blocker = file_in_the_way(home)
    if blocker is not None:
        raise ConfigError([home_is_a_file(home, blocker)])
    meant = file_named_profile(profile) if profile and creating else profile
    named_as_a_file = meant not in (profile, "") or (creating and meant == "config")
    if named_as_a_file and not os.path.lexists(path):
        raise ConfigError([_file_name_given(profile or "", meant or "", path, flag)])
    return path


def _file_name_given(profile: str, meant: str, path: str, flag: str | None) -> Problem:
    """The problem of a new profile named as a file is (``prod.json``, ``config``)."""
    if meant == "config":  # config.json: the default profile, which no name selects
        how = "leave -p out" if flag else "unset METAFLOW_PROFILE"
        fix = f"config.json is the default profile: {how} to write it"
    else:
        how = f"{flag.split('/')[0]} {meant}" if flag else f"METAFLOW_PROFILE={meant}"
        fix = f"give {meant}, whose file is config_{meant}.json ({how})"
    return Problem.bad_value(
        flag or "METAFLOW_PROFILE",
        "" if flag else "profile",
        "" if flag else "METAFLOW_PROFILE",
        value=repr(profile),
        expected=f"a profile's name, not its file's (its file would be {path})",
        fix=fix,
    )


def output_file(path: str, given: str) -> str:
    """``path`` (as typed) made absolute, for writing; ``given`` names it (``--output FILE``).

    Raises:
        CliError: a file is where its folder, or a folder above it, should be a directory (the
            folders that are missing are created when it is written).

    """
    target = os.path.abspath(os.path.expanduser(path))
    blocker = file_in_the_way(os.path.dirname(target))
    if blocker is not None:
        msg = (
            f"{given} {path}: expected a path in a directory, found a file at {blocker}; "
            f"give a path in a directory, or move {blocker} out of the way"
        )
        raise CliError(msg)
    return target


def missing_profile(
    profile: str, path: str, flag: str | None = None, *, create: bool = True
) -> ConfigError:
    """The error for a named profile that does not exist, listing the profiles that do.

    ``flag`` is the option or argument the name was given with (None: ``$METAFLOW_PROFILE``);
    ``create``: whether creating it is offered as a way out (not where it would be removed).
    """
    problem = missing_profile_problem(
        home_dir(), profile, path, flag or "METAFLOW_PROFILE", create=create
    )
    return ConfigError([problem if flag is None else dataclasses.replace(problem, setting=flag)])


def print_warnings(texts: tuple[str, ...] | list[str]) -> None:
    """Print configuration warnings to stderr, one line each."""
    for text in texts:
        click.echo("Warning: " + printable(text), err=True)  # one line: nothing in it starts one


def from_flag(problem: Problem, profile: str, flag: str = "-p/--profile") -> Problem:
    """A problem about the profile name ``profile``, told as coming from ``flag``.

    The resolver names ``METAFLOW_PROFILE`` or ``profile=`` (it cannot know of a command
    line); when the command was given the name (``-p NAME``, or an argument such as diff's
    ``PROFILE_A``), that is what the message and the fix must name.
    """
    if problem.setting not in ("METAFLOW_PROFILE", "profile="):
        return problem
    if problem.location == "METAFLOW_PROFILE":  # the name itself: no file to point at
        return dataclasses.replace(problem, setting=flag, layer="", location="")
    return missing_profile(profile, problem.location, flag).problems[0]


def load_settings(
    profile: str | None,
    *,
    strict: bool | str | None = None,
    flag: str = "-p/--profile",
    warn: bool = True,
) -> Settings:
    """The settings in force for ``profile`` (None: $METAFLOW_PROFILE); warnings go to stderr.

    ``strict``: as ``load()``'s, or a word of ``keys.STRICTNESS`` (``check``'s ``typos``).
    ``warn=False``: the caller prints ``snapshot.warnings`` (``check``, which says some as errors).

    Raises:
        ConfigError: every problem of the resolution; one about the profile name names
            ``flag`` (the option or argument that gave it) when the name came from there.

    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)
        try:
            inputs = Inputs.from_world(profile=profile)
            snapshot = Settings(resolve(inputs.replace(strict=strict)))
        except ConfigError as exc:
            if not profile:
                raise
            problems = [from_flag(p, profile, flag) for p in exc.problems]
            raise ConfigError(problems, also=exc.also) from None
    if warn:
        print_warnings(snapshot.warnings)
    return snapshot


def confirm(question: str, *, default: bool, assume_yes: bool) -> bool:
    """Ask a yes/no question (``--yes`` answers yes without asking).

    Raises:
        CliError: the input ended before it was answered (:func:`answered`).

    """
    if assume_yes:
        return True
    with answered(f'"{question}"', "Run it again with --yes to answer yes without asking."):
        return yes_or_no(question, default=default)


#: The answers :func:`yes_or_no` takes (any case), and what each means.
_ANSWERS = {"y": True, "yes": True, "n": False, "no": False}


def yes_or_no(question: str, *, default: bool) -> bool:
    """Ask ``question`` (``[Y/n]`` or ``[y/N]``); an empty answer is ``default``.

    Another answer is said (``answer y or n``) and the question asked again, as ``click.confirm``
    does, but with what it takes rather than ``invalid input``.

    Raises:
        click.Abort: the input ended (as ``click.confirm`` does).

    """

    def parse(answer: str) -> bool:
        word = answer.strip().lower()
        if not word:
            return default
        if word not in _ANSWERS:
            msg = f"answer y or n (or Enter for {'yes' if default else 'no'}), not {answer!r}"
            raise click.UsageError(printable(msg))
        return _ANSWERS[word]

    shown = f"{question} [{'Y/n' if default else 'y/N'}]"
    answer: bool = click.prompt(shown, default="", show_default=False, value_proc=parse)
    return answer


@contextmanager
def answered(question: str, fix: str) -> Iterator[None]:
    """Stop with a clear error when the input ends at ``question`` (no terminal, answers used up).

    click turns both the end of the input and Ctrl-C into ``Abort``; the end of the input is the
    one whose context is an ``EOFError``. Ctrl-C is click's ``Aborted!``, saying that nothing was
    written (every write comes after the last question). ``fix``: what to do instead
    (``--yes``, ``--set``).
    """
    try:
        yield
    except click.Abort as exc:
        click.echo()  # end the line of the unanswered prompt
        if not isinstance(exc.__context__, EOFError):
            click.echo("Aborted! Nothing was written.", err=True)
            sys.exit(1)  # click's status for an abort
        raise CliError(
            f"the input ended before {question} was answered: nothing was written. {fix}"
        ) from None


def raw_text(key: str, value: Any, *, secret: bool) -> str:
    """A value as stored in a file, for messages: masked when secret, URL passwords too; escaped."""
    if secret and value is not None:
        return MASK
    if isinstance(value, str):
        return shown_text(value)
    import json

    return printable(json.dumps(mask_value(value), sort_keys=True))


#: A value left for people to replace (terraform-aws-metaflow's ``## Replace with ... ##``, in
#: its stack output and in the profile file its README has users write)
_PLACEHOLDER = re.compile(r"\s*##.*##\s*", re.DOTALL)


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` is a placeholder left to replace (``## Replace with ... ##``)."""
    return isinstance(value, str) and _PLACEHOLDER.fullmatch(value) is not None


def no_pipe(path: str, command: str) -> None:
    """Refuse ``path`` where it is a pipe or a device (``/dev/stdin``), saying to save it first.

    Read as a file, it is refused as the resolver refuses one ("edit or remove" it, which of
    ``/dev/stdin`` means nothing, or breaks the machine); ``command``: the import to run on
    the file saved.

    Raises:
        CliError: ``path`` is neither a regular file nor missing (a missing file is said by
            the read, as any).

    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    msg = (
        f"{path} is a pipe or a device, not a file: save the JSON to a file first, then "
        f"import that file (e.g. `... > outputs.json && {command} outputs.json`)"
    )
    raise CliError(msg)
