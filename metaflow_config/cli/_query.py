"""Commands for scripts and shells: ``get`` one value, ``diff`` two profiles, ``completion``."""

from __future__ import annotations

import os
from typing import Any

import click
from click.shell_completion import CompletionItem

from .._display import MASK, entry_text, printable, shown_text
from .._model.fields import PREFIX
from .._model.references import Reference
from .._model.table import FIELDS, OLD_NAMES, find
from .._snapshot.sections import held_keys
from .._snapshot.settings import Settings, lookup, resolution_of
from .._sources.profiles import profile_path
from .._sources.sections import find_key, is_secret, registry
from ..errors import ConfigError
from ._common import (
    CliError,
    NoSuchSettingError,
    as_cli_error,
    complete_profile,
    home_dir,
    load_settings,
    profile_option,
)
from ._show import display, holds_something, profile_file_text, profile_found

__all__ = ["SHELLS", "complete_setting", "completion_source", "diff_cmd", "get_cmd"]

#: The shells ``completion`` writes a script for.
SHELLS = ("bash", "zsh", "fish")


def complete_setting(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Setting names for the shell: full names (``METAFLOW_...``) or short, by what is typed.

    The keys of registered sections too (none when one is broken: completion never fails).
    """
    typed = incomplete.upper()
    try:
        registered = sorted(registry())
    except ConfigError:
        registered = []
    full = [f.env for f in FIELDS] + registered
    short = [f.name for f in FIELDS] + [key[len(PREFIX) :] for key in registered]
    pool = full if typed.startswith(PREFIX) or PREFIX.startswith(typed) else short
    return [CompletionItem(name) for name in pool if name.startswith(typed)]


@click.command(
    "get",
    epilog="""\b
Examples:
  metaflow-config get BATCH_JOB_QUEUE
  queue=$(metaflow-config get -p prod METAFLOW_BATCH_JOB_QUEUE); [ $? = 1 ] && echo "not set"
  (exit status 1: not set; 2: the configuration is invalid, said on stderr)
""",
)
@profile_option
@click.option("--reveal-secrets", is_flag=True, help="Print a secret value instead of masking it.")
@click.argument("name", metavar="KEY", shell_complete=complete_setting)
@click.pass_context
def get_cmd(ctx: click.Context, profile: str | None, reveal_secrets: bool, name: str) -> None:
    r"""Print the value of one setting alone (as its environment variable holds it).

    For scripts: exit status 1 and nothing printed when the setting is unset; 2 when it cannot
    be told (the configuration is invalid, the key is no setting: the error on stderr). A
    secret (and a URL's password) is masked unless --reveal-secrets is given, and a note on
    stderr says so (a script must not take the mask for the value); a secret
    reference is printed as written ({{resolve:...}}, where the secret is kept), and fetched
    only with --reveal-secrets. Characters that move or restyle a terminal are escaped
    (\u202e), unless --reveal-secrets asks for the value exactly as held.
    """
    try:
        _get(ctx, profile, reveal_secrets, name)
    except (ConfigError, OSError) as exc:
        raise _told_apart(as_cli_error(exc)) from None
    except CliError as exc:
        raise _told_apart(exc) from None


class _UntoldError(CliError):
    """What stopped ``get`` telling a value: exit status 2 (1 is an unset setting's)."""

    exit_code = 2

    def __init__(self, error: CliError) -> None:
        click.ClickException.__init__(self, error.message)  # printable already, as CliError made it


def _told_apart(error: CliError) -> CliError:
    """``error`` with exit status 2: a script tells it from an unset setting (exit status 1)."""
    return _UntoldError(error)


def _say_unset_without_profile(snapshot: Settings, name: str) -> None:
    """Say on stderr where the profile read does not exist but named ones do.

    ``METAFLOW_PROFILE`` not exported, a newcomer's slip: stdout stays empty, the status 1.
    """
    if profile_found(snapshot) or snapshot.profile:
        return
    said = profile_file_text(snapshot)
    if "profiles here:" in said:
        click.echo(printable(f"Note: {name} is unset; the profile read is {said}"), err=True)


def _get(ctx: click.Context, profile: str | None, reveal_secrets: bool, name: str) -> None:
    snapshot = load_settings(profile)
    registered = find_key(name) if find(name) is None else None
    if registered is not None:
        section, key = registered
        value = snapshot[key]
        if value is None:
            _say_unset_without_profile(snapshot, key)
            ctx.exit(1)
        secret = key in section.secret
        if reveal_secrets:
            if secret:
                value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            click.echo(entry_text(value))
            return
        shown = shown_text(entry_text(value, secret=secret))
        click.echo(shown)
        if shown != printable(entry_text(value)):  # as for a setting of the table
            click.echo(f"Note: {key} is shown masked; --reveal-secrets prints it", err=True)
        return
    try:
        field = lookup(name)
    except KeyError as exc:
        # an old name a layer still applies (explain explains it too): its setting's value
        old = OLD_NAMES.get(name) or OLD_NAMES.get(PREFIX + name)
        if old is None or not old[1].applied:
            raise NoSuchSettingError(str(exc.args[0])) from None
        field = old[0]
        click.echo(printable(f"Note: {name} is an old name of {field.env}"), err=True)
    value = snapshot.explain(field.env).value  # a secret reference as it is, not fetched
    if value is None:
        _say_unset_without_profile(snapshot, field.env)
        ctx.exit(1)
    if isinstance(value, Reference):
        if not reveal_secrets:  # what show prints: where the secret is kept, not the secret
            click.echo(printable(value.text))
            return
        value = snapshot[field.env]  # fetched: a ConfigError says why it cannot be
    text = field.kind.to_text(value)
    if reveal_secrets:
        click.echo(text)
        return
    # a secret that holds nothing ({}, as by default) is shown so, as show shows it
    shown = MASK if field.secret and holds_something(value) else shown_text(text)
    click.echo(shown)
    if shown != printable(text):  # a script must not take the mask for the value
        click.echo(f"Note: {field.env} is shown masked; --reveal-secrets prints it", err=True)


def _profile_argument(name: str) -> str:
    """A profile as ``diff`` takes it: ``""`` is ``config.json``, whatever ``$METAFLOW_PROFILE``.

    ``-p ""`` selects it so. ``default`` is ``config.json`` too, unless a profile is named so
    (``config_default.json``, which ``-p default`` selects).
    """
    if name == "default":
        path, problems = profile_path(home_dir(), name)
        return name if not problems and os.path.lexists(path) else ""
    return name


def _profile_shown(name: str) -> str:
    """How ``diff`` names a profile: ``config.json`` is ``default`` unless a profile is so named."""
    chosen = _profile_argument(name)
    if chosen:
        return chosen
    return "config.json" if _profile_argument("default") == "default" else "default"


class DiffError(CliError):
    """``diff`` could not compare (a profile broken or missing): exit status 2, as diff(1)'s."""

    exit_code = 2


@click.command(
    "diff",
    epilog="""\b
Examples:
  metaflow-config diff default prod
  metaflow-config diff staging prod && echo "the same"
  metaflow-config diff staging prod; [ $? -eq 2 ] && echo "could not compare"
""",
)
@click.argument("first", metavar="PROFILE_A", shell_complete=complete_profile)
@click.argument("second", metavar="PROFILE_B", shell_complete=complete_profile)
def diff_cmd(first: str, second: str) -> None:
    """The settings that differ between two profiles, each resolved here (secrets masked).

    Both resolve with this environment and this project's .metaflow/config.json, as a process
    given each profile would. Exit status as diff's: 0 when they are the same, 1 when they
    differ, 2 when they cannot be compared (a profile that is broken or missing). A secret
    reference is compared and shown as written, never fetched; values that differ only where
    they are masked are marked (differs).
    """
    names = [_profile_shown(first), _profile_shown(second)]
    try:
        a = load_settings(_profile_argument(first), flag="PROFILE_A")
        b = load_settings(_profile_argument(second), flag="PROFILE_B")
        rows = [*_differences(a, b), *_registered_differences(a, b)]
    except (ConfigError, OSError) as exc:  # as the group says it, with diff's status
        raise as_cli_error(exc, DiffError) from None
    if not rows:
        click.echo(
            printable(f"No difference: {names[0]} and {names[1]} resolve to the same settings.")
        )
        return
    head = ("NAME", *map(printable, names))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(2)]
    for row in [head, *rows]:
        click.echo(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip())
    raise click.exceptions.Exit(1)


def _marked(shown: tuple[str, str]) -> tuple[str, str]:
    """Two values that differ, as shown: marked ``(differs)`` where they render the same.

    A secret, a URL's password, or the part of a value left out to fit is hidden alike on both
    sides.
    """
    return (f"{shown[0]} (differs)", shown[1]) if shown[0] == shown[1] else shown


def _differences(a: Any, b: Any) -> list[tuple[str, str, str]]:
    """The built-in settings that differ between two snapshots, as ``show`` shows them.

    A secret reference is compared as written (``explain`` gives it unfetched), so nothing is
    fetched to be masked.
    """
    rows = []
    for field in FIELDS:
        left, right = a.explain(field.env).value, b.explain(field.env).value
        if left != right:
            rows.append((field.env, *_marked((display(field, left), display(field, right)))))
    return rows


def _registered_differences(a: Any, b: Any) -> list[tuple[str, str, str]]:
    """The keys of registered sections that differ between two snapshots, masked as shown."""
    rows = []
    for key in sorted({*held_keys(resolution_of(a)), *held_keys(resolution_of(b))}):
        left, right = a[key], b[key]
        if left != right:
            secret = is_secret(key)
            shown = tuple(
                shown_text(entry_text(v, secret=secret)) or "(unset)" for v in (left, right)
            )
            rows.append((key, *_marked((shown[0], shown[1]))))
    return rows


def completion_source(cli: click.Command, shell: str) -> str:
    """The completion script of ``metaflow-config`` for ``shell`` (click's, for this program)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are the ones click knows
        raise CliError(f"no completion for {shell}")
    return cls(cli, {}, "metaflow-config", "_METAFLOW_CONFIG_COMPLETE").source()
