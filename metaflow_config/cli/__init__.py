"""The ``metaflow-config`` command (also ``python -m metaflow_config``).

click is imported here and in this package only, never by ``import metaflow_config``. Every
command reads what it shows or asks off the settings table. An error is one ``Error:`` message
(a line per problem when there are several; exit status 1, or 2 for a usage error), never a
traceback.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from .. import __version__
from .._display import printable, shown_text
from ..errors import ConfigError
from ._common import as_cli_error, output_file
from ._inspect import check_cmd, env_cmd, explain_cmd, show_cmd
from ._migrate import migrate_cmd
from ._profiles import export_cmd, import_cmd, profiles_cmd, reset_cmd
from ._query import SHELLS, completion_source, diff_cmd, get_cmd
from ._reference import profile_schema, settings_markdown
from ._trust import trust_cmd
from ._wizard import aws_cmd

__all__ = ["cli", "main"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: Commands other tools have, and what does it here.
_MEANT = {
    "untrust": "trust --revoke [DIR]",
    "revoke": "trust --revoke [DIR]",
    "set": "configure aws --set KEY=VALUE",
    "unset": "configure aws --set KEY=",
    "validate": "check",
    "list": "profiles",
    "init": "configure aws",
    "setup": "configure aws",
}


class _Group(click.Group):
    """A group that turns configuration and file errors into one readable message."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:  # `metaflow-config -p prod show`: where -p goes
            if exc.option_name not in ("-p", "--profile"):
                raise
            said = exc.message.rstrip()  # click 8.2 ends it with a full stop, 8.1 does not
            said += "" if said.endswith(".") else "."
            where = f" -p is an option of each command: {ctx.command_path} COMMAND -p NAME"
            raise click.NoSuchOption(
                exc.option_name, said + where, exc.possibilities, exc.ctx
            ) from None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            meant = _MEANT.get(args[0]) if args and ctx.parent is None else None
            if meant is None:
                raise
            # a word another tool uses: the command that does it here (click's guess is by
            # spelling: `untrust` -> `trust`, which trusts)
            msg = f"No such command {args[0]!r}: `{ctx.command_path} {meant}` does that."
            raise click.UsageError(msg, ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise
        except (ConfigError, OSError) as exc:
            raise as_cli_error(exc) from None


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings=_CONTEXT,
    epilog="""\b
Examples:
  metaflow-config                              # the settings in force (same as `show`)
  metaflow-config configure aws                # the interactive wizard
  metaflow-config explain METAFLOW_DATATOOLS_S3ROOT
  metaflow-config check -p prod
  metaflow-config env --target batch --format docker   # for docker run --env-file
""",
)
@click.version_option(__version__, "--version", prog_name="metaflow-config")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Inspect, explain, validate and write Metaflow's configuration.

    Settings resolve from (lowest first) defaults, derived defaults, the profile
    ($METAFLOW_HOME/config.json or config_$METAFLOW_PROFILE.json), the project's
    .metaflow/config.json, METAFLOW_* environment variables. Secret values are masked.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(show_cmd)


@cli.group(
    "configure",
    cls=_Group,
    context_settings=_CONTEXT,
    epilog="""\b
Examples:
  metaflow-config configure aws --profile prod
  metaflow-config configure import team.json   # the same as `metaflow-config import`
""",
)
def configure() -> None:
    """Configure Metaflow (as `metaflow configure`): aws, and show/export/import/reset."""


@click.command(
    "schema",
    epilog="""\b
Examples:
  metaflow-config schema --output ~/.metaflowconfig/profile.schema.json
  metaflow-config schema > profile.schema.json
""",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the schema to FILE (its folder is created) instead of printing it.",
)
def schema_cmd(output: str | None) -> None:
    """Print the JSON Schema of a profile file, for editors to validate and complete it."""
    text = json.dumps(profile_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from .._sources.writes import write_text_atomic

    path = output_file(output, "--output")
    write_text_atomic(path, text)
    click.echo(printable(f"Wrote the profile JSON Schema to {path}"), err=True)


@click.command(
    "docs",
    epilog="""\b
Examples:
  metaflow-config docs > docs/settings.md
""",
)
def docs_cmd() -> None:
    """Print the Markdown reference of every setting: name, type, default, secret, doc."""
    click.echo(settings_markdown(), nl=False)


@click.command(
    "completion",
    epilog="""\b
Examples:
  eval "$(metaflow-config completion bash)"     # in ~/.bashrc
  eval "$(metaflow-config completion zsh)"      # in ~/.zshrc
  metaflow-config completion fish > ~/.config/fish/completions/metaflow-config.fish
""",
)
@click.argument("shell", type=click.Choice(SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the shell completion script: commands, setting names (short and full), profiles."""
    click.echo(completion_source(cli, shell))


for _command in (show_cmd, explain_cmd, get_cmd, env_cmd, check_cmd, diff_cmd):
    cli.add_command(_command)
cli.add_command(configure)
for _command in (export_cmd, import_cmd, migrate_cmd, reset_cmd, profiles_cmd):
    cli.add_command(_command)
for _command in (trust_cmd, schema_cmd, docs_cmd, completion_cmd):
    cli.add_command(_command)
configure.add_command(aws_cmd)
for _command in (show_cmd, export_cmd, import_cmd, reset_cmd):
    configure.add_command(_command)
for _command in (show_cmd, explain_cmd, env_cmd, check_cmd, export_cmd, import_cmd, reset_cmd):
    _command.context_settings.update(_CONTEXT)
for _command in (aws_cmd, trust_cmd, schema_cmd, docs_cmd, get_cmd, diff_cmd, completion_cmd):
    _command.context_settings.update(_CONTEXT)
for _command in (migrate_cmd, profiles_cmd):
    _command.context_settings.update(_CONTEXT)


def _silence_stdout() -> None:
    """After a broken pipe (``| head``): send the rest of stdout nowhere, so exit is quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run ``metaflow-config`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            cli.main(args=args, prog_name="metaflow-config", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code
        else:  # pragma: no cover - standalone mode always exits
            code = 0
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except Exception as exc:  # the promise: one line, never a traceback
        click.echo(  # what the exception quotes is shown as a value is
            f"Error: unexpected {type(exc).__name__}: {shown_text(str(exc))} (a bug in "
            "metaflow-config; please report it)",
            err=True,
        )
        return 1
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
