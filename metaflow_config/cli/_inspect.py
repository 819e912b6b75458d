"""Commands that read the configuration in force: show, explain, env, check."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Sequence

import click

from .._display import laid_out, printable
from .._model.fields import PREFIX
from .._model.metaflow_names import RUNTIME_VARS
from .._model.references import SERVICES, SYNTAX
from .._model.table import FIELDS, USER_VARIABLES, find
from .._snapshot.export import TARGETS
from .._snapshot.require import CAPABILITIES as REQUIRE
from .._snapshot.require import RequirementError, wizard_command
from .._snapshot.sections import held_keys, problems_by_key
from .._snapshot.settings import Settings, resolution_of
from .._sources.keykind import LENIENT, STRICT, TYPOS
from .._sources.plugins import installed
from ..errors import ConfigError
from ._common import (
    CliError,
    NoSuchSettingError,
    StrictOrLenient,
    home_dir,
    is_placeholder,
    load_settings,
    print_warnings,
    profile_flag,
    profile_label,
    profile_option,
    selected_profile,
)
from ._diagnose import Diagnosis, diagnose, not_in_the_error, without_invalid
from ._query import complete_setting
from ._show import (
    ENV_FORMATS,
    explain_text,
    extension_settings_text,
    extensions_here_text,
    local_file_text,
    profile_file_text,
    render,
    render_env,
    show_json,
)
from ._target import TARGET_TITLES, target_explain_text, target_json, target_text

__all__ = ["check_cmd", "env_cmd", "explain_cmd", "show_cmd"]


@click.command(
    "show",
    epilog="""\b
Examples:
  metaflow-config show                  # what is set, and where
  metaflow-config show --all            # every setting, defaults too
  metaflow-config show --wide           # every value whole, however wide
  metaflow-config show -p prod --json   # the 'prod' profile, machine-readable
  metaflow-config show --target argo    # what an Argo Workflows task will resolve
""",
)
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Include settings at their default.")
@click.option(
    "--wide",
    is_flag=True,
    help="Print every value whole (on a terminal, long values are shortened to fit its width; "
    "piped or redirected, they are always whole).",
)
@click.option(
    "--target",
    type=click.Choice(tuple(TARGET_TITLES)),
    default=None,
    help="Show what a task there resolves instead: each value as the task gets it, marked where "
    "it differs from this machine or points at it.",
)
def show_cmd(
    profile: str | None, as_json: bool, show_all: bool, wide: bool, target: str | None
) -> None:
    """Print the settings in force: value, source and location (secrets masked).

    Settings left at their built-in default are hidden unless --all is given. On a terminal the
    table fits its width: a long value is shortened, keeping what tells it apart (an ARN's
    resource, a URL's host and the end of its path); --wide, a pipe or a file get every value
    whole. An invalid value is shown in place, marked INVALID, a key no setting knows marked
    UNKNOWN, and one known but not applied (a retired name) IGNORED; what is wrong with each
    is said once, on stderr, and an invalid value
    makes the command exit 1. With --json, a configuration that cannot be read at all (a file
    that is not JSON) gives a document of the profile and its file, its problems and no settings.

    With --target (batch, sfn, kubernetes, argo, airflow): what a task there resolves from what
    it is given (to_env(target) and what Metaflow sets for it, no profile or project file),
    each value marked where it differs from this machine (with this machine's value) or is a URL
    pointing at this machine.
    """
    if target is not None:
        snapshot = load_settings(profile)
        if as_json:
            doc = target_json(snapshot, target, include_defaults=show_all)
            click.echo(json.dumps(doc, indent=2))
        else:
            click.echo(target_text(snapshot, target, include_defaults=show_all), nl=False)
        return
    try:
        found = diagnose(profile)
    except ConfigError as exc:
        if as_json:  # a script reading stdout still gets a document
            doc = _unread_json(profile)
            doc["problems"] = [str(p) for p in exc.problems]
            click.echo(json.dumps(doc, indent=2))
        raise
    invalid = found.in_force
    if as_json:
        doc = show_json(found.snapshot, include_defaults=show_all, invalid=invalid)
        doc["warnings"] = list(found.warnings)
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        buffer = io.StringIO()
        width = None if wide else _terminal_width()
        render(found.snapshot, include_defaults=show_all, out=buffer, invalid=invalid, width=width)
        click.echo(buffer.getvalue(), nl=False)
    _fail_if_broken(found)


def _terminal_width() -> int | None:
    """The columns of the terminal stdout is (``$COLUMNS`` first); ``None`` when it is none."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # a replaced or closed stdout: no terminal
        return None
    import shutil

    return shutil.get_terminal_size().columns


def _fail_if_broken(found: Diagnosis) -> None:
    """After showing a broken configuration: its error on stderr, exit status 1."""
    if found.error is not None:
        raise CliError(str(found.error))


@click.command(
    "explain",
    epilog="""\b
Examples:
  metaflow-config explain METAFLOW_DATATOOLS_S3ROOT
  metaflow-config explain BATCH_JOB_QUEUE SFN_IAM_ROLE   # short names work too
  metaflow-config explain --target kubernetes SERVICE_URL   # as a Kubernetes pod gets it
""",
)
@profile_option
@click.option(
    "--target",
    type=click.Choice(tuple(TARGET_TITLES)),
    default=None,
    help="Explain the setting as a task there resolves it, beside this machine's value.",
)
@click.argument("names", nargs=-1, required=True, metavar="KEY...", shell_complete=complete_setting)
def explain_cmd(profile: str | None, names: tuple[str, ...], target: str | None) -> None:
    """Explain settings: value, source, location, the layers shadowed, rule, type and doc.

    An invalid value is explained too (its problem with it). The command exits 1 when any
    value in force is invalid, the one explained or another (each said after the
    explanations). With --target, as a task on that target resolves it (see show --target).
    """
    if target is not None:
        snapshot = load_settings(profile)
        _explain_each(names, lambda name: target_explain_text(snapshot, name, target))
        return
    found = diagnose(profile)
    invalid = found.in_force
    _explain_each(names, lambda name: explain_text(found.snapshot, name, invalid=invalid))
    shown = {field.env for field in map(find, names) if field is not None}
    if found.error is not None and all(p.setting in shown for p in found.error.problems):
        count = len(found.error.problems)
        said = "the problem explained above" if count == 1 else f"the {count} problems above"
        raise CliError(f"the configuration is invalid: {said}")  # not said twice
    _fail_if_broken(found)


def _explain_each(names: tuple[str, ...], explain: Callable[[str], str]) -> None:
    """Print the explanation of each name; then every name that is no setting, in one error."""
    texts, unknown = [], []
    for name in names:
        try:
            texts.append(explain(name))
        except KeyError as exc:  # noqa: PERF203 - one name each: a loop of a few
            unknown.append(str(exc.args[0]))
    if texts:
        click.echo("\n\n".join(texts))
    if len(unknown) == 1:
        raise NoSuchSettingError(unknown[0])
    if unknown:
        lines = [f"{len(unknown)} names are not settings:", *(f"  - {u}" for u in unknown)]
        raise NoSuchSettingError(laid_out(lines))


@click.command(
    "env",
    epilog="""\b
Examples:
  metaflow-config env --target batch              # what an AWS Batch task needs
  metaflow-config env --format dotenv > task.env  # for sh, python-dotenv, compose env_file
  metaflow-config env --target batch --format docker > batch.env   # docker run --env-file
  eval "$(metaflow-config env --reveal-secrets)"  # into this shell
""",
)
@profile_option
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="local",
    show_default=True,
    help="Where the environment goes: this machine, AWS Batch, Step Functions, a Kubernetes pod, "
    "an Argo Workflows task or an Airflow task.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(ENV_FORMATS),
    default="shell",
    show_default=True,
    help=(
        "shell: export lines (eval/source); dotenv: KEY=value lines quoted for sh "
        "(set -a; . FILE), python-dotenv and docker compose env_file; docker: KEY=value lines "
        "taken literally, for docker run --env-file and ECS environmentFiles; json: one object."
    ),
)
@click.option(
    "--reveal-secrets",
    is_flag=True,
    help="Print secret values instead of masking them (keep the output private).",
)
def env_cmd(profile: str | None, target: str, fmt: str, reveal_secrets: bool) -> None:
    """Print the METAFLOW_* environment another process needs to resolve these settings.

    By default (--target local) a process on this machine, in this working directory: every
    value set in a layer, serialized so that it parses back identically; derived values are
    left to re-derive, but those this machine decides (the user name, and the working
    directory as ARTIFACT_LOCALROOT, which pins it) travel. With --target, a remote
    container's: machine-local paths stay behind, METAFLOW_SERVICE_URL carries the internal
    service URL and no variable may reach 128 KiB; on batch and sfn the settings of other
    platforms' launchers stay behind and AWS Batch's size limit is checked. Secret values are
    masked unless --reveal-secrets is given: a comment in the line formats, left out of json.
    A value a format cannot carry (a line break for docker) is an error naming it.
    """
    snapshot = load_settings(profile)
    exported = snapshot.to_env(target)
    text, masked = render_env(exported, fmt, reveal=reveal_secrets)
    click.echo(text, nl=False)
    if not any(snapshot.source(name) not in ("default", "derived") for name in exported):
        head = (
            f"Only what this machine derives is exported ({', '.join(exported)}: a process "
            "started elsewhere would derive it differently)"
            if exported
            else "Nothing to export"
        )
        click.echo(
            printable(
                f"{head}: no setting of {profile_label(snapshot.profile)} is set in a layer "
                f"({profile_file_text(snapshot)}); {_a(target)} {target} process would resolve "
                "the defaults too."
            ),
            err=True,
        )
    if masked:
        how = "left out of the JSON" if fmt == "json" else "written as comments"
        click.echo(
            printable(
                f"Note: {len(masked)} secret value(s) masked, {how} ({', '.join(masked)}); "
                "--reveal-secrets includes them."
            ),
            err=True,
        )


#: The settings whose value names a plugin, in table order.
_PLUGIN_FIELDS = tuple(field for field in FIELDS if field.plugin)


def _plugin_failures(snapshot: Settings) -> tuple[list[str], str]:
    """Plugin names the installed Metaflow (with its extensions) does not register.

    Returns the failures, and what the names were compared with (for the closing line).
    """
    found = installed()
    if not found:
        return [], "plugin names not compared: Metaflow is not installed here"
    failures = []
    for field in _PLUGIN_FIELDS:
        name, category = field.name, field.plugin
        registered, value = found.get(category), snapshot[name]
        if registered is None or value in registered:
            continue
        if not getattr(registered, "complete", True):  # an extension registers some in code
            continue  # unknowable here: the resolution's warning says so
        info = snapshot.explain(name)
        failures.append(
            printable(
                f"{info.name} = {value!r} ({info.source}: {info.location}): the installed "
                f"Metaflow and its extensions register no such {category.replace('_', ' ')} "
                f"(registered: {', '.join(sorted(registered))}); Metaflow refuses it when a "
                "flow runs. Fix: set it to one of those, or install the extension that "
                "provides it"
            )
        )
    return failures, "plugin names compared with what the installed Metaflow registers"


@click.command(
    "check",
    cls=StrictOrLenient,
    epilog="""\b
Examples:
  metaflow-config check
  metaflow-config check -p prod --require sfn-schedule   # and what scheduling needs
  metaflow-config check --lenient  # misspelled keys only warn, as when Metaflow runs
  metaflow-config check --strict   # keys of extensions and other programs fail too
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
    "--strict/--lenient",
    default=None,
    help="By default a misspelled setting is an error (a setting not applied) and a key near "
    "no setting (an extension's, another program's) a warning; --strict: every key that is not "
    "applied is an error; --lenient: every one only warns, as when Metaflow runs.",
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
    When values are invalid, the capabilities are still checked with those values treated as
    unset, and what they lack is listed too (not when a file cannot be read at all).
    No AWS call is made unless --aws is given (README "Checking against AWS").
    """
    if (aws_profile or write_probe) and not live:
        raise click.UsageError("--aws-profile and --write-probe go with --aws")
    strictness = TYPOS if strict is None else STRICT if strict else LENIENT
    try:
        snapshot = load_settings(profile, strict=strictness, warn=False)
    except ConfigError as exc:
        message = _with_capabilities(str(exc), profile, required, strictness)
        _say_extension_settings()
        raise CliError(message) from None
    sections = problems_by_key(resolution_of(snapshot))
    capabilities = _capabilities(snapshot, required)
    failures = _requirement_failures(snapshot, capabilities, frozenset())
    plugins, compared = _plugin_failures(snapshot)
    print_warnings(_not_failed(snapshot.warnings, plugins))  # a plugin name failed: said once
    failures.extend(plugins)
    if sections:
        failures.insert(0, str(ConfigError(list(sections.values()))))
    if failures:
        _say_extension_settings()
        raise CliError(laid_out(failures))
    count = len(_set_in_layers(snapshot))
    # configured in part, not required: looked at too (each checked once)
    begun = {c: _unmet(snapshot, c) for c in _begun(snapshot, capabilities)}
    ready = [*capabilities, *(c for c, unmet in begun.items() if unmet is None)]
    checked = f"; ready for {', '.join(ready)}" if ready else ""
    variables = sum(1 for key in os.environ if key.startswith(PREFIX) and key not in RUNTIME_VARS)
    local = local_file_text(snapshot) if snapshot.local_path else "no .metaflow/config.json found"
    ok = (  # the profile's file is named on the next line, with what was found of it
        f"OK: the configuration of {profile_label(snapshot.profile)} is valid "
        f"({count} setting(s) set{checked})."
    )
    seen = (
        f"Checked: {profile_file_text(snapshot)}; {local}; "
        f"{variables} METAFLOW_* environment variable(s) (beside the selectors and what Metaflow "
        f"sets for a task); {compared}."
    )
    click.echo(f"{printable(ok)}\n{printable(seen)}")
    from .._checks.probes_service import malformed_images, malformed_names  # used here only

    notes = (
        extensions_here_text(snapshot),
        extension_settings_text(snapshot),
        _no_user_text(snapshot),
        *_unused_texts(snapshot),
        _placeholders_text(snapshot),
        _near_references_text(snapshot),
        _quoted_text(snapshot),
        _byte_order_mark_text(snapshot),
        *malformed_images(snapshot),
        *malformed_names(snapshot),
        *(_not_ready_text(snapshot, c, unmet) for c, unmet in begun.items() if unmet),
        "" if live else _unfetched_text(snapshot),
    )
    said = [text for text in notes if text]
    if said:
        print_warnings(said)
    if live:
        _live_check(snapshot, required, aws_profile, write_probe)


def _say_extension_settings() -> None:
    """Say which installed extensions set which settings, on a failing ``check`` too.

    A setting ``--require`` finds missing may be one an extension sets in Metaflow's module:
    Metaflow runs on the extension's value, which the problem's fix does not change.
    """
    text = extension_settings_text(None)  # no resolution: what depends on one is not said
    if text:
        print_warnings([text])


def _begun(snapshot: Settings, checked: list[str]) -> list[str]:
    """The capabilities not ``checked`` of which a layer sets a setting they need (a queue)."""
    return [
        name
        for name, capability in REQUIRE.items()
        if name not in checked
        and any(
            snapshot.source(need.setting) != "default"
            for need in capability.needs
            if not need.value  # the datastore is not Batch's own
        )
    ]


def _not_ready_text(snapshot: Settings, capability: str, unmet: RequirementError) -> str:
    """The note of a capability configured in part that is not ready (not required here)."""
    profile = profile_flag(snapshot.profile)
    names = ", ".join(dict.fromkeys(p.setting for p in unmet.problems))
    return (
        f"{REQUIRE[capability].title} is configured in part and not ready ({names}; not "
        f"required, so not an error): `metaflow-config check{profile} --require {capability}` "
        "says why"
    )


#: A setting that configures a plugin, and the plugin setting that must name it to be used:
#: (the configured setting, the plugin setting, its plugin, what runs without it).
_MEANWHILE = {
    "s3": "flows keep their data on this machine",
    "service": "flows record their runs on this machine",
}


def _unused_texts(snapshot: Settings) -> list[str]:
    """The notes of a plugin configured but not used: an S3 root with the local datastore.

    The wizard's capabilities say which settings configure a plugin and the value that uses it
    (``fixed``: ``DEFAULT_DATASTORE=s3`` with the S3 root), as ``import`` implies them; a
    profile written by hand, or by ``--set`` one setting at a time, may hold only the root.
    Only where the plugin setting is at its default: one set to ``local`` is a choice.
    """
    from ._wizard import CAPABILITIES  # the wizard's table: what a capability sets itself

    notes = []
    for cap in CAPABILITIES:
        if not cap.fixed or any(snapshot[name] is None for name in cap.required):
            continue
        for name, plugin in cap.fixed.items():
            if snapshot.source(name) != "default" or snapshot[name] == plugin:
                continue
            notes.append(
                f"{', '.join(PREFIX + n for n in cap.required)} is set, but {PREFIX}{name} is "
                f"{snapshot[name]!r} (the default): {_MEANWHILE.get(cap.key, 'it is not used')}; "
                f"set {PREFIX}{name}={plugin} to use it "
                f"(`{wizard_command(snapshot.profile)} --set {name}={plugin}`)"
            )
    return notes


def _placeholders_text(snapshot: Settings) -> str:
    """The note of the settings holding a placeholder left to replace (``## ... ##``), or ``""``.

    terraform-aws-metaflow's profile output holds one for the API key, which its README has
    users write to a profile file as it is: Metaflow would send it as the key.
    """
    values = resolution_of(snapshot).values
    held = [field.env for field in FIELDS if is_placeholder(values[field.name])]
    if not held:
        return ""
    one = len(held) == 1
    return (
        f"{', '.join(held)} {'holds' if one else 'hold'} a placeholder left to replace "
        f"(## ... ##), not a value: set {'it' if one else 'them'} to the value "
        f"(`{wizard_command(snapshot.profile)}` asks for each)"
    )


#: What a secret reference's text holds, braces or not (``{{resolve:ssm:<name>}}``)
_REFERENCE_BODY = tuple(f"resolve:{service}:" for service in SERVICES)


def _unread_json(profile: str | None) -> dict[str, object]:
    """``show --json``'s document of a configuration that cannot be read, but its problems.

    Which profile was meant and its file (``None`` where even that cannot be told), no settings.
    """
    from .._sources.profiles import profile_path

    name = selected_profile(profile)
    try:
        path = profile_path(home_dir(), name)[0]  # "": a name that names no file
    except ConfigError:  # a relative METAFLOW_HOME: no file is named
        path = ""
    return {
        "profile": name or "default",
        "profile_path": path or None,
        "profile_found": bool(path) and os.path.lexists(path),
        "settings": [],
        "warnings": [],
    }


def _near_references_text(snapshot: Settings) -> str:
    """The note of text values that look like a secret reference but are none, or ``""``.

    ``{resolve:ssm:/key}}`` (a brace missing) holds no ``{{``: it is not read as a reference,
    and Metaflow would send the text itself as the key. Named, never quoted (it may be a secret).
    """
    values = resolution_of(snapshot).values
    named, one = _where_set(
        snapshot,
        [
            field.env
            for field in FIELDS
            if isinstance(values[field.name], str)
            and any(body in values[field.name] for body in _REFERENCE_BODY)
        ],
    )
    if not named:
        return ""
    return (
        f"{named} {'looks' if one else 'look'} like a secret reference but "
        f"{'is' if one else 'are'} none (a brace missing?): used as text as it is; a reference "
        f"is {SYNTAX}, two braces each side"
    )


def _byte_order_mark_text(snapshot: Settings) -> str:
    """The note of the config files that start with a byte-order mark, or ``""``.

    Read here (Notepad and PowerShell write one), but Metaflow's own reading, ``json.load``,
    refuses it: with ``METAFLOW_CONFIG_EXTENSION=0``, where this package is not installed, and
    in Metaflow's own ``metaflow configure``, the file does not read.
    """
    from .._sources.jsonfile import MAX_FILE_BYTES, read_regular  # never blocks (a FIFO)

    marked = [
        path
        for path in (snapshot.profile_path, snapshot.local_path)
        if path and (read_regular(path, MAX_FILE_BYTES)[0] or b"").startswith(b"\xef\xbb\xbf")
    ]
    if not marked:
        return ""
    return (
        f"{' and '.join(marked)} {'starts' if len(marked) == 1 else 'start'} with a byte-order "
        "mark: read here, but Metaflow alone (METAFLOW_CONFIG_EXTENSION=0, or without this "
        "package) and its `metaflow configure` cannot read it; save it as UTF-8 without one"
    )


def _quoted_text(snapshot: Settings) -> str:
    """The note of text values wrapped in quotes (``"gpu-queue"``), or ``""``.

    A tool that writes variables (``docker --env-file``, systemd's ``Environment=``, a
    ``.env`` loader) may keep the quotes a shell would remove: Metaflow then sends them as part
    of the value (a job queue named ``"gpu-queue"``). Named, never quoted (it may be a secret).
    """
    values = resolution_of(snapshot).values
    named, one = _where_set(
        snapshot,
        [
            field.env
            for field in FIELDS
            if isinstance(value := values[field.name], str)
            and len(value) >= 2
            and value[0] == value[-1]
            and value[0] in "'\""
        ],
    )
    if not named:
        return ""
    return (
        f"{named} {'is' if one else 'are'} wrapped in quotes, which Metaflow sends as part of "
        f"the value (a tool that writes variables, such as docker --env-file, keeps them): "
        "remove the quotes"
    )


def _where_set(snapshot: Settings, names: list[str]) -> tuple[str, bool]:
    """``names`` as a note names them, each with where it is set, and whether there is one.

    A derived value is left out: it is said with the value it follows.
    """
    told = [(name, snapshot.explain(name)) for name in names]
    held = [f"{name} ({t.source}: {t.location})" for name, t in told if t.source != "derived"]
    return ", ".join(held), len(held) == 1


def _unfetched_text(snapshot: Settings) -> str:
    """The note of the secret references in force that ``check`` did not fetch, or ``""``.

    Without ``--aws``, ``check`` asks AWS nothing; Metaflow's extension fetches them at every
    ``import metaflow`` (it hands Metaflow's module the values), and stops where AWS does not
    answer: said before a flow finds out.
    """
    from .._model.references import Reference

    values = resolution_of(snapshot).values
    held = [f.env for f in FIELDS if isinstance(values[f.name], Reference)]
    if not held:
        return ""
    return (
        f"{len(held)} secret reference(s) not fetched ({', '.join(held)}): `metaflow-config "
        "check --aws` fetches them; Metaflow fetches them at every `import metaflow` that "
        "holds them (a flow's run, a task given them) and stops when AWS does not answer"
    )


def _no_user_text(snapshot: Settings) -> str:
    """The warning of a machine where Metaflow cannot tell who runs a flow, or ``""``.

    Metaflow takes ``USER`` (this resolution's), then ``SUDO_USER``, ``USERNAME``, ``USER``,
    passing over ``root``; with none, a run stops at once ("Unknown user"): a container or a CI
    job running as root, with no ``$USER``.
    """
    names = [snapshot.runtime.user, *(os.environ.get(v) for v in USER_VARIABLES)]
    if any(name and name != "root" for name in names):
        return ""
    return (
        "Metaflow cannot tell who runs flows here (no user name, or only root): a flow run stops "
        'with "Unknown user"; set METAFLOW_USER to your name (in the environment or the profile)'
    )


def _capabilities(snapshot: Settings, required: tuple[str, ...]) -> list[str]:
    """What ``check`` requires: what the defaults imply (s3, service), then ``--require``."""
    implied = []
    if snapshot.defaults.datastore == "s3":
        implied.append("s3")
    if snapshot.defaults.metadata == "service":
        implied.append("service")
    return list(dict.fromkeys([*implied, *required]))


def _with_capabilities(
    message: str, profile: str | None, required: tuple[str, ...], strictness: str
) -> str:
    """The resolution's problems, then what the capabilities lack without the invalid values.

    The warnings that are not among the problems (an old name, a foreign key by default) are
    printed first, as they would be on a configuration that resolves.
    """
    found = without_invalid(profile)
    if found is None:
        if not required:
            return message
        return laid_out([message, "(--require not checked: the configuration could not be read)"])
    snapshot, invalid = found.snapshot, found.invalid
    plugins = _plugin_failures(snapshot)[0]  # every problem: an unregistered plugin name too
    print_warnings(_not_failed(not_in_the_error(snapshot, profile, strictness), plugins))
    failures = _requirement_failures(snapshot, _capabilities(snapshot, required), invalid)
    return laid_out([message, *failures, *plugins])


def _not_failed(warned: Sequence[str], failures: Sequence[str]) -> list[str]:
    """The warnings but those of a setting a failure names (an unregistered plugin name)."""
    failed = tuple(
        f"{PREFIX}{name} ("
        for name in (field.name for field in _PLUGIN_FIELDS)
        if any(text.startswith(f"{PREFIX}{name} ") for text in failures)
    )
    return [text for text in warned if not (failed and text.startswith(failed))]


def _live_check(
    snapshot: Settings, required: tuple[str, ...], aws_profile: str | None, write_probe: bool
) -> None:
    """``check --aws``: the live checks' table; exit 1 on a FAIL (``_checks.checks``)."""
    try:
        from .. import aws
    except ImportError as exc:
        raise CliError(str(exc)) from None
    from .._checks.checks import run_cli

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


def _requirement_failures(
    snapshot: Settings, capabilities: list[str], reported: frozenset[str]
) -> list[str]:
    """The messages of ``snapshot.require(c)`` for each capability not met.

    Each setting is listed once: a problem about a setting in ``reported`` (an invalid value
    already listed) or listed for an earlier capability (``batch`` includes ``s3``) is left out.
    """
    failures = []
    seen = set(reported)
    for capability in capabilities:
        unmet = _unmet(snapshot, capability)
        if unmet is None:
            continue
        problems = [p for p in unmet.problems if p.setting not in seen]
        seen.update(p.setting for p in problems)
        if problems:
            failures.append(str(RequirementError(unmet.capability, unmet.what, problems)))
    return failures


def _unmet(snapshot: Settings, capability: str) -> RequirementError | None:
    """What ``snapshot.require(capability)`` raises, or None when the capability is met."""
    try:
        snapshot.require(capability)
    except RequirementError as exc:
        return exc
    return None


def _set_in_layers(snapshot: Settings) -> list[str]:
    """The settings some layer sets (not left at their default or derivation).

    Registered sections' keys included.
    """
    built_in = [f.env for f in FIELDS if snapshot.source(f.env) not in ("default", "derived")]
    return [*built_in, *held_keys(resolution_of(snapshot))]


def _a(word: str) -> str:
    """The article before ``word`` (a target's name): "an" before a vowel."""
    return "an" if word[:1].lower() in "aeiou" else "a"
