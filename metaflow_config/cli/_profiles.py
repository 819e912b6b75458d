"""Commands that copy or remove profile files: export, import (a FILE or a stack), reset."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .._display import printable, shell_quote
from .._model.fields import is_unset
from .._resolve.resolve import report_keys, strict_mode
from .._resolve.validate import check_layer
from .._sources.data import LayerData
from .._sources.files import layer_from_document
from .._sources.jsonfile import read_json_file
from .._sources.keykind import LENIENT, OLD, SECTION, SETTING, STRICT, TYPOS
from .._sources.keys import classify
from .._sources.profiles import (
    DEFAULT_LISTED,
    list_profiles,
    misnamed_profiles,
    unnamed_profiles,
)
from .._sources.writable import removable
from .._sources.writes import check_writable, read_json_object, remove_file, write_json_atomic
from ..errors import ConfigError, Problem
from ._changes import Changes, activation_hint, write_changes
from ._common import (
    CliError,
    StrictOrLenient,
    confirm,
    home_dir,
    is_placeholder,
    missing_profile,
    no_pipe,
    output_file,
    print_warnings,
    profile_file,
    profile_flag,
    profile_label,
    profile_option,
    selected_profile,
    yes_option,
)

__all__ = ["export_cmd", "import_cmd", "profiles_cmd", "reset_cmd"]

#: the kinds of key a profile applies (a setting, an old name of one, a registered section's)
_APPLIED = (SETTING, OLD, SECTION)
#: the layer an imported file is checked as (it becomes a profile)
_LAYER = "profile"
#: what the problems of an imported file call it (it is not the profile yet)
_IMPORT = "import file"
#: the option of a command's profile, named by its problems
_FLAG = "-p/--profile"


@click.command(
    "export",
    epilog="""\b
Examples:
  metaflow-config export backup.json
  metaflow-config export -p prod prod.json --yes   # overwrite prod.json without asking
""",
)
@profile_option
@yes_option
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def export_cmd(profile: str | None, yes: bool, file: str) -> None:
    """Copy a profile's file to FILE (atomically, mode 0600; it holds secrets).

    FILE is a file, never stdout: "-" is refused (the copy holds the secrets in the clear;
    `metaflow-config show` prints the profile masked). A file named - is ./-.
    """
    name = selected_profile(profile)
    if file == "-":
        msg = (
            "- (stdout) is refused: the copy holds the profile's secrets in the clear, so it "
            "is written only to a file (mode 0600). Give a file name (./- for a file named -), "
            f"or see the profile masked with `metaflow-config show{profile_flag(name)}`"
        )
        raise click.BadParameter(msg, param_hint="FILE")
    flag = _FLAG if profile else None
    source = profile_file(name, flag)
    doc = read_json_object(source)
    if doc is None:
        if name:
            raise missing_profile(name, source, flag)
        msg = f"nothing to export: {source} does not exist (Metaflow runs locally)"
        raise CliError(msg)
    target = output_file(file, "FILE")
    if os.path.exists(target) and os.path.samefile(source, target):
        raise CliError(f"{target} is the profile file itself")
    check_writable(target)  # before asking: not through another user's link, nor over a file
    if os.path.exists(target) and not confirm(
        f"{target} exists. Overwrite it?", default=False, assume_yes=yes
    ):
        raise CliError(f"not exported: {target} left unchanged")
    write_json_atomic(target, doc)
    click.echo(printable(f"Exported {profile_label(name)} ({source}) to {target}."))


def _as_import(problem: Problem) -> Problem:
    """A problem of the file being imported, told as the import file's (not yet the profile's)."""
    return dataclasses.replace(problem, layer=_IMPORT) if problem.layer == _LAYER else problem


def _validated(path: str, *, strictness: str) -> dict[str, Any]:
    """The JSON object in ``path``, read once and checked as the resolver checks a profile.

    What is returned is exactly the document that was validated (never a second read of the
    file). The keys not applied are reported as ``strictness`` (``keys.STRICTNESS``) says,
    as ``check``'s option does: by default a misspelled key is refused with its did-you-mean (a
    setting not applied) and a foreign key imported with a warning; the option decides, but an
    invalid ``$METAFLOW_CONFIG_STRICT`` is an error, as in ``load``. Problems are told as the
    import file's. Raises ConfigError listing every problem.
    """
    doc, problems = read_json_file(path, _LAYER)
    data = layer_from_document(LayerData(_LAYER, path, problems=problems), path, doc)
    problems = check_layer(data)
    if data.extra:  # keys of registered sections: checked by their models
        from ..pydantic import layer_problems

        problems.extend(layer_problems(data))
    notes: list[str] = []
    strict_mode(None, os.environ, problems)  # an invalid METAFLOW_CONFIG_STRICT is an error
    before = len(problems)
    report_keys(data.replace(layer=_IMPORT), strictness, problems, notes)  # as check's option
    problems[before:] = [
        dataclasses.replace(p, fix=f"{p.fix} (--lenient imports it as it is)")
        for p in problems[before:]
    ]
    if problems or doc is None:
        raise ConfigError([_as_import(p) for p in problems])
    if data.loose:
        notes.append(f"{len(data.loose)} key(s) that are not settings imported as they are")
    print_warnings([*notes, *data.warnings])
    return doc


_F = TypeVar("_F", bound=Callable[..., Any])


def _stack_options(fn: _F) -> _F:
    """The options of ``import`` that read a deployed stack instead of a FILE."""
    options = (
        click.option(
            "--from-cloudformation",
            "stack",
            metavar="STACK",
            default=None,
            help="Read the outputs of this CloudFormation stack (name or id) instead of FILE; "
            "credentials and region from boto3, as `check --aws`.",
        ),
        click.option(
            "--from-terraform",
            "terraform",
            metavar="FILE",
            default=None,
            type=click.Path(exists=True, dir_okay=False),
            help="Read `terraform output -json` saved in FILE (the profile output and the "
            "outputs named after settings) instead of FILE.",
        ),
        click.option(
            "--region",
            metavar="REGION",
            default=None,
            help="With --from-cloudformation: the stack's region (default: boto3's, e.g. "
            "AWS_DEFAULT_REGION).",
        ),
        click.option(
            "--aws-profile",
            metavar="NAME",
            default=None,
            help="With --from-cloudformation: the AWS profile of the boto3 session (default: "
            "$AWS_PROFILE).",
        ),
    )
    for option in reversed(options):
        fn = option(fn)
    return fn


def _check_stack_options(**given: Any) -> None:
    """Refuse options that mean nothing together (a usage error, exit 2).

    ``given``: the options of ``import`` as click passed them (``None``/``False``: not given).
    """
    stack, terraform = given.get("stack"), given.get("terraform")
    if stack is None and terraform is None:
        for name, flag in (("region", "--region"), ("aws_profile", "--aws-profile")):
            if given.get(name) is not None:
                raise click.UsageError(f"{flag} goes with --from-cloudformation STACK")
        return
    source = "--from-cloudformation" if stack is not None else "--from-terraform"
    if stack is not None and terraform is not None:
        raise click.UsageError("give --from-cloudformation or --from-terraform, not both")
    if given.get("file") is not None:
        raise click.UsageError(f"give FILE or {source}, not both")
    if terraform is not None:
        for name, flag in (("region", "--region"), ("aws_profile", "--aws-profile")):
            if given.get(name) is not None:
                raise click.UsageError(
                    f"{flag} goes with --from-cloudformation (a Terraform "
                    "outputs file is read offline)"
                )
    if given.get("merge"):
        raise click.UsageError(f"{source} always keeps the profile's other keys: drop --merge")
    if given.get("strict") is not None:
        raise click.UsageError(
            f"--strict/--lenient are for FILE: {source} lists the outputs that are not "
            "settings and imports the rest"
        )


@click.command(
    "import",
    cls=StrictOrLenient,
    epilog="""\b
Examples:
  metaflow-config import team-config.json              # into the default profile
  metaflow-config import prod.json --profile prod      # a new or existing named profile
  metaflow-config import extra.json -p prod --merge -y # add keys, keep the others
  metaflow-config import newer.json --lenient          # keys this version does not know, too
  metaflow-config import --from-cloudformation metaflow -p prod --region us-west-2
  terraform output -json > outputs.json && metaflow-config import --from-terraform outputs.json
""",
)
@profile_option
@yes_option
@click.option("--merge", is_flag=True, help="Keep the profile's keys that FILE does not set.")
@click.option(
    "--strict/--lenient",
    default=None,
    help="--strict: every key of FILE that is not a setting is an error; --lenient: each is "
    "imported as it is, with a warning. By default a misspelled setting is an error, with its "
    "did-you-mean (a setting not applied), and a key near no setting (an extension's, another "
    "program's) is imported with a warning.",
)
@_stack_options
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
def import_cmd(  # noqa: PLR0917 - click passes every option
    profile: str | None,
    yes: bool,
    merge: bool,
    strict: bool | None,
    stack: str | None,
    terraform: str | None,
    region: str | None,
    aws_profile: str | None,
    file: str | None,
) -> None:
    """Validate FILE, or a deployed stack's outputs, and write them as a profile (mode 0600).

    Every value is checked before anything is written; an invalid file, or one with a misspelled
    key (unless --lenient), changes nothing, and a key near no setting is imported with a
    warning (--strict refuses it). The profile is replaced by FILE's keys unless
    --merge is given, and the keys that go are named; an existing profile is only changed after
    you confirm. Importing into a profile that does not exist yet creates it.

    --from-cloudformation STACK reads the stack's outputs (each mapped by the [METAFLOW_*] tag
    of its description, or its name; the API key fetched by its id); --from-terraform FILE reads
    `terraform output -json` (the profile output and the outputs named after settings). Both
    show the changes and ask before writing; the profile's other keys are kept.
    """
    _check_stack_options(
        file=file,
        merge=merge,
        strict=strict,
        stack=stack,
        terraform=terraform,
        region=region,
        aws_profile=aws_profile,
    )
    if stack is not None or terraform is not None:
        from ._stack import import_stack  # the stack sources load only when one is asked for

        import_stack(
            profile=profile,
            yes=yes,
            stack=stack,
            terraform=terraform,
            region=region,
            aws_profile=aws_profile,
        )
        return
    if file is None:
        msg = "give FILE, or --from-cloudformation STACK, or --from-terraform FILE"
        raise click.UsageError(msg)
    strictness = TYPOS if strict is None else STRICT if strict else LENIENT
    _import_file(profile, yes=yes, merge=merge, strictness=strictness, file=file)


def _import_file(
    profile: str | None, *, yes: bool, merge: bool, strictness: str, file: str
) -> None:
    """``import FILE``: validate it, show the changes, ask before changing a profile, write."""
    name = selected_profile(profile)
    target = profile_file(name, _FLAG if profile else None, creating=True)
    source = os.path.abspath(os.path.expanduser(file))
    no_pipe(file, "metaflow-config import")
    doc = _importable(_validated(source, strictness=strictness))
    if not doc:
        msg = f"nothing to import: {source} holds no setting (`metaflow-config reset` clears one)"
        raise CliError(msg)
    doc = _current_names(doc)
    home = home_dir()
    check_writable(target, home=home)  # before asking
    try:
        existing = read_json_object(target)
    except ConfigError as exc:  # a broken profile: what replacing it would drop is unknown
        if merge:
            raise
        reset = f"metaflow-config reset{profile_flag(name)} -y"
        again = f"or, to replace it whole, remove it (`{reset}`) and import again"
        raise ConfigError(
            [dataclasses.replace(p, fix=f"{p.fix}; {again}") for p in exc.problems]
        ) from None
    question = None
    if existing is not None:
        held = f"{profile_label(name)} in {target}"  # a file's name may hold any character
        question = (
            f"Add the keys of {file} to {held}?"
            if merge
            else f"Replace the configuration of {held} with the keys of {file}?"
        )
    old = existing or {}
    if "$schema" in old and not merge:  # the profile's own editor pointer stays
        doc = {"$schema": old["$schema"], **doc}
    changes = Changes(assign=doc, replace=not merge)
    new = write_changes(
        target, changes, old, home=home, question=question, yes=yes, leftovers=False
    )
    if new is None:
        return
    label = f"{profile_label(name)} ({target})"
    settings = sum(1 for key in doc if classify(key, file=True).kind in _APPLIED)
    unread = len(doc) - settings - ("$schema" in doc)  # --lenient: keys no setting reads
    also = f" and {unread} other key(s), as they are" if unread else ""
    click.echo(printable(f"Imported {settings} setting(s){also} from {source} into {label}."))
    others = sorted(set(old) - set(doc))
    if others and merge:
        click.echo(printable(f"Kept {len(others)} key(s) of the profile that {file} does not set."))
    elif others:
        listed = ", ".join(others)
        click.echo(
            f"Replaced the profile: removed {len(others)} key(s) that {file} does not set: "
            f"{listed} (--merge keeps them)."
        )
    click.echo(activation_hint(name))


def _importable(doc: dict[str, Any]) -> dict[str, Any]:
    """The keys of an imported file to write.

    Not its editor pointer, unset values (said), or placeholders left to replace (said).
    """
    doc = {k: v for k, v in doc.items() if k != "$schema"}  # `metaflow-config schema`'s pointer
    unset = sorted(k for k, v in doc.items() if is_unset(v))
    doc = {k: v for k, v in doc.items() if k not in unset}
    if unset:
        click.echo(f'Skipping {len(unset)} key(s) set to null or "" (unset): {", ".join(unset)}')
    left = sorted(k for k, v in doc.items() if is_placeholder(v))
    doc = {k: v for k, v in doc.items() if k not in left}
    if left:  # the Terraform module's README has its users write its profile output as it is
        click.echo(
            f"Skipping {len(left)} placeholder(s) left to replace (## ... ##), not values: "
            f"{', '.join(left)}"
        )
    return doc


def _current_names(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its old names of settings written as the current ones (as ``migrate`` does).

    So the value it gives is the one the profile applies: kept under an old name, it would lose
    to the current name a merged profile holds already. A name Metaflow no longer reads, or an
    old name another of its keys overrides, is left out. Each is said.
    """
    from ._migrate import migration  # renaming as `migrate` renames

    changes, notes = migration(doc)
    if not changes.rename and not changes.remove:
        return doc
    for old, new in changes.rename.items():
        click.echo(printable(f"Writing {old} as {new}, its current name."))
    for key in sorted(changes.remove):
        click.echo(printable(f"Leaving out {key}: {notes.get(key, 'not applied')}."))
    return changes.apply(doc)


@click.command(
    "reset",
    epilog="""\b
Examples:
  metaflow-config reset             # asks before removing config.json
  metaflow-config reset -p dev -y   # remove config_dev.json without asking
""",
)
@profile_option
@yes_option
def reset_cmd(profile: str | None, yes: bool) -> None:
    """Remove a profile's file (asks first); say what that means for METAFLOW_PROFILE."""
    name = selected_profile(profile)
    flag = _FLAG if profile else None
    target = profile_file(name, flag)
    if not os.path.lexists(target):
        if name:  # nothing to remove: the profiles there are (one mistyped?), never "create"
            raise missing_profile(name, target, flag, create=False)
        click.echo(printable(f"Nothing to reset: {target} does not exist; Metaflow runs locally."))
        return
    removable(target, home=home_dir())  # refused before the question (a read-only home)
    question = f"Remove the configuration of {profile_label(name)} ({target})?"
    if not confirm(question, default=False, assume_yes=yes):
        raise CliError(f"not reset: {target} left unchanged")
    remove_file(target, home=home_dir())
    click.echo(printable(f"Removed {target}. {_after_reset(name)}"))


def _after_reset(name: str | None) -> str:
    """What is true once ``name``'s file is gone: a named profile's selection now fails."""
    if not name:
        return (
            "With no default profile, Metaflow runs locally with its defaults (unless "
            "METAFLOW_* variables or a project's .metaflow/config.json set something)."
        )
    recreate = f"`metaflow-config configure aws --profile {shell_quote(name)}`"
    if os.environ.get("METAFLOW_PROFILE") == name:
        return (
            f"Profile '{name}' no longer exists, and METAFLOW_PROFILE={shell_quote(name)} is set "
            "here: Metaflow and metaflow-config now fail with it. Run `unset METAFLOW_PROFILE` "
            f"to use the default profile, or recreate it with {recreate}."
        )
    return (
        f"Profile '{name}' no longer exists: where METAFLOW_PROFILE={shell_quote(name)} is set, "
        "Metaflow and metaflow-config now fail; unset it there to use the default profile, or "
        f"recreate the profile with {recreate}."
    )


@click.command(
    "profiles",
    epilog="""\b
Examples:
  metaflow-config profiles          # the profiles of METAFLOW_HOME; * marks the one in force
  metaflow-config profiles --json   # [{"name": ..., "path": ..., "in_force": ...}]
""",
)
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as a JSON array.")
def profiles_cmd(as_json: bool) -> None:
    """List the profiles of METAFLOW_HOME, the one in force (METAFLOW_PROFILE) marked.

    The default profile is config.json, selected by no name (-p default is
    config_default.json, as Metaflow reads it); each named profile is config_<name>.json.
    """
    import json

    home = home_dir()
    profile_file(None)  # a METAFLOW_HOME that is a file (or under one): said as every command
    in_force = selected_profile(None) or ""
    found = (
        [("", os.path.join(home, "config.json"))]
        if os.path.lexists(os.path.join(home, "config.json"))
        else []
    )
    found += [(name, profile_file(name)) for name in list_profiles(home)]
    unnamed = unnamed_profiles(home)
    misnamed = misnamed_profiles(home)
    if unnamed or misnamed:
        print_warnings(
            [
                f"{os.path.join(home, file)}: no profile name selects it here (a name holds "
                "only letters, digits, '_', '-' and '.', and is not empty); rename it "
                "config_<name>.json to use it"
                for file in unnamed
            ]
            + [
                f"{os.path.join(home, file)}: read by no one, as named; a profile is read from "
                f"{'config.json' if not meant else f'config_{meant}.json'} only: rename it to "
                "use it"
                for file, meant in misnamed
            ]
        )
    if as_json:
        rows = [{"name": n, "path": p, "in_force": n == in_force} for n, p in found]
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        click.echo(
            printable(
                f"No profile in {home}: Metaflow runs locally with its defaults; create one "
                "with `metaflow-config configure aws` (or `--profile NAME`)."
            )
        )
    names = [n or DEFAULT_LISTED for n, _ in found]
    width = max(map(len, names), default=0)
    for (name, path), shown in zip(found, names):
        click.echo(printable(f"{'*' if name == in_force else ' '} {shown.ljust(width)}  {path}"))
    if in_force and in_force not in (n for n, _ in found):
        click.echo(
            printable(
                f"METAFLOW_PROFILE={shell_quote(in_force)} names no profile here: Metaflow and "
                "metaflow-config fail with it (`unset METAFLOW_PROFILE` selects config.json)"
            ),
            err=True,
        )
