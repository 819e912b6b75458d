"""Commands that read the configuration in force: show, explain, env, check."""

from __future__ import annotations

import io
import json

import click

from .._require import CAPABILITIES as REQUIRE
from .._settings import TARGETS, Settings
from .._show import ENV_FORMATS, explain_text, render, render_env, show_json
from .._table import FIELDS
from ..errors import ConfigError
from ._common import CliError, load_settings, profile_label, profile_option

__all__ = ["check_cmd", "env_cmd", "explain_cmd", "show_cmd"]


@click.command(
    "show",
    epilog="""\b
Examples:
  metaflow-config show                  # what is set, and where
  metaflow-config show --all            # every setting, defaults too
  metaflow-config show -p prod --json   # the 'prod' profile, machine-readable
""",
)
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Include settings at their default.")
def show_cmd(profile: str | None, as_json: bool, show_all: bool) -> None:
    """Print the settings in force: value, source and location (secrets masked).

    Settings left at their built-in default are hidden unless --all is given.
    """
    snapshot = load_settings(profile)
    if as_json:
        doc = show_json(snapshot, include_defaults=show_all)
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    buffer = io.StringIO()
    render(snapshot, include_defaults=show_all, out=buffer)
    click.echo(buffer.getvalue(), nl=False)


@click.command(
    "explain",
    epilog="""\b
Examples:
  metaflow-config explain METAFLOW_DATATOOLS_S3ROOT
  metaflow-config explain BATCH_JOB_QUEUE SFN_IAM_ROLE   # short names work too
""",
)
@profile_option
@click.argument("names", nargs=-1, required=True, metavar="KEY...")
def explain_cmd(profile: str | None, names: tuple[str, ...]) -> None:
    """Explain settings: value, source, location, the layers shadowed, rule, type and doc."""
    snapshot = load_settings(profile)
    try:
        texts = [explain_text(snapshot, name) for name in names]
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    click.echo("\n\n".join(texts))


@click.command(
    "env",
    epilog="""\b
Examples:
  metaflow-config env --target batch              # what an AWS Batch task needs
  metaflow-config env --format dotenv > task.env  # secrets stay masked
  eval "$(metaflow-config env --reveal-secrets)"  # into this shell
""",
)
@profile_option
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="local",
    show_default=True,
    help="Where the environment goes: this machine, AWS Batch, or Step Functions.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(ENV_FORMATS),
    default="shell",
    show_default=True,
    help="shell: export lines; dotenv: KEY=value lines; json: one object.",
)
@click.option(
    "--reveal-secrets",
    is_flag=True,
    help="Print secret values instead of masking them (keep the output private).",
)
def env_cmd(profile: str | None, target: str, fmt: str, reveal_secrets: bool) -> None:
    """Print the METAFLOW_* environment a remote container needs to resolve these settings.

    Every value set in a layer, serialized so that it parses back identically; derived values
    are left to re-derive. For batch and sfn, machine-local paths stay behind and
    METAFLOW_SERVICE_URL carries the internal service URL; sfn checks the Step Functions size
    limit. Secret values are masked unless --reveal-secrets is given.
    """
    snapshot = load_settings(profile)
    text, masked = render_env(snapshot.to_env(target), fmt, reveal=reveal_secrets)
    click.echo(text, nl=False)
    if masked:
        click.echo(
            f"Note: {len(masked)} secret value(s) masked ({', '.join(masked)}); "
            "--reveal-secrets prints them.",
            err=True,
        )


@click.command(
    "check",
    epilog="""\b
Examples:
  metaflow-config check
  metaflow-config check -p prod --require sfn-schedule   # and what scheduling needs
  metaflow-config check --strict   # unknown METAFLOW_* keys are errors too
  metaflow-config check --aws --write-probe   # and live against AWS (credentials, queue, ...)
""",
)
@profile_option
@click.option(
    "--require",
    "required",
    multiple=True,
    type=click.Choice(sorted(REQUIRE)),
    help="Also check that this capability is fully configured (repeatable).",
)
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Treat unknown METAFLOW_* keys as errors (default: $METAFLOW_CONFIG_STRICT).",
)
@click.option(
    "--aws",
    "live",
    is_flag=True,
    help="Then check live against AWS and the metadata service (needs boto3); exit 1 on a FAIL.",
)
@click.option(
    "--aws-profile",
    metavar="NAME",
    default=None,
    help="With --aws: the AWS profile of the boto3 session (default: $AWS_PROFILE).",
)
@click.option(
    "--write-probe",
    is_flag=True,
    help="With --aws: also put and delete a probe object under the S3 sysroot.",
)
def check_cmd(
    *,
    profile: str | None,
    required: tuple[str, ...],
    strict: bool | None,
    live: bool,
    aws_profile: str | None,
    write_probe: bool,
) -> None:
    """Validate the configuration in force, offline; exit 1 listing every problem.

    Reads the profile, the project's .metaflow/config.json and the METAFLOW_* environment,
    exactly as a Metaflow process would, and checks every value. A default datastore of s3 or
    a default metadata provider of service must be usable (as `--require s3` / `service`).
    No AWS call is made unless --aws is given (README "Checking against AWS").
    """
    if (aws_profile or write_probe) and not live:
        raise click.UsageError("--aws-profile and --write-probe go with --aws")
    snapshot = load_settings(profile, strict=strict)
    implied = []
    if snapshot.defaults.datastore == "s3":
        implied.append("s3")
    if snapshot.defaults.metadata == "service":
        implied.append("service")
    capabilities = list(dict.fromkeys([*implied, *required]))
    failures = [_requirement_failure(snapshot, capability) for capability in capabilities]
    failures = [text for text in failures if text]
    if failures:
        raise CliError("\n".join(failures))
    count = len(_set_in_layers(snapshot))
    checked = f"; ready for {', '.join(capabilities)}" if capabilities else ""
    click.echo(
        f"OK: the configuration of {profile_label(snapshot.profile)} is valid "
        f"({count} setting(s) set{checked}; {snapshot.profile_path})."
    )
    if live:
        _live_check(snapshot, required, aws_profile, write_probe)


def _live_check(
    snapshot: Settings, required: tuple[str, ...], aws_profile: str | None, write_probe: bool
) -> None:
    """``check --aws``: the live checks' table; exit 1 on a FAIL (``metaflow_config._checks``)."""
    try:
        from .. import aws
    except ImportError as exc:
        raise CliError(str(exc)) from None
    from .._checks import run_cli

    capabilities = list(required) or None
    code = run_cli(
        snapshot,
        capabilities=capabilities,
        write_probe=write_probe,
        profile=aws_profile,
        checker=aws.check,
    )
    if code:
        raise click.exceptions.Exit(code)


def _requirement_failure(snapshot: Settings, capability: str) -> str:
    """The message of ``snapshot.require(capability)``, or ``""`` when it is met."""
    try:
        snapshot.require(capability)
    except ConfigError as exc:
        return str(exc)
    return ""


def _set_in_layers(snapshot: Settings) -> list[str]:
    """The settings some layer sets (not left at their default or derivation)."""
    return [f.env for f in FIELDS if snapshot.source(f.env) not in ("default", "derived")]
