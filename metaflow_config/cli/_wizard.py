"""``metaflow-config configure aws``: the interactive wizard (and its ``--set`` form for scripts).

It asks which capabilities to enable, then each setting those need, offering the value already
in the profile as the default (a secret is never echoed: its prompt shows ``****``; a value that
is invalid is never offered: it is explained once and a valid answer asked for). Every answer
is validated as it is typed, by the resolver's own validation, and asked again when wrong; ``-``
at a required setting skips its capability (nothing of it changes). Keys it did not ask about
are kept. Nothing is written before one summary of what is added, changed and removed, and one
confirmation (``--yes`` skips it); then the file is written atomically with mode 0600, under
the lock, applying only the changes on top of what is on disk at that moment.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import click
from click.shell_completion import CompletionItem

from .._display import has_url_password, printable, shell_quote
from .._model.fields import PREFIX, Setting, is_unset
from .._model.references import Reference
from .._model.table import BY_ENV, BY_NAME, find
from .._resolve.plugins import PLUGIN_SETTINGS, plugin_problems
from .._resolve.resolve import resolve
from .._resolve.validate import validate_value
from .._snapshot.require import CAPABILITIES as REQUIRE
from .._snapshot.require import closure
from .._sources.data import LayerData
from .._sources.files import layer_from_document
from .._sources.inputs import Inputs
from .._sources.keys import suggest
from .._sources.layers import LAYERS
from .._sources.profiles import list_profiles, nearest_profile, profile_flag_of
from .._sources.sections import find_key
from .._sources.writes import check_writable, read_json_object
from ..errors import ConfigError, Problem
from ._changes import Changes, activation_hint, answered, write_changes
from ._common import (
    home_dir,
    print_warnings,
    profile_file,
    profile_label,
    profile_option,
    raw_text,
    selected_profile,
    yes_option,
    yes_or_no,
)
from ._query import complete_setting

__all__ = ["CAPABILITIES", "aws_cmd"]


@dataclass(frozen=True)
class Capability:
    """One question of the wizard: the ``require()`` capabilities it enables, what it asks.

    The settings it must ask for are read from ``_snapshot.require.CAPABILITIES`` (the same table
    ``settings.require()`` checks), so a profile the wizard completes passes ``require``.
    """

    title: str
    why: str
    #: the names ``settings.require()`` takes, enabled together by this question
    enables: tuple[str, ...]
    #: settings (short names) also offered, which may be left empty
    optional: tuple[str, ...] = ()
    #: values set (not asked) when enabled, e.g. the default datastore
    fixed: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The main capability (``s3``, ``service``, ``batch``, ``sfn``)."""
        return self.enables[0]

    @property
    def required(self) -> tuple[str, ...]:
        """The settings (short names) the enabled capabilities need, asked until answered."""
        return tuple(
            need.setting
            for cap in self.enables
            for need in REQUIRE[cap].needs
            if not need.value  # set by the question that fixes it (the datastore: S3's)
        )

    @property
    def after(self) -> tuple[str, ...]:
        """The capabilities that must be enabled first (Batch needs S3, Step Functions Batch)."""
        return tuple(inc for cap in self.enables for inc in closure(cap) if inc not in self.enables)


#: The wizard's questions, in order. What each must ask comes from ``require.CAPABILITIES``.
CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "Amazon S3 as the datastore",
        "Stores code packages and artifacts; required to run on AWS Batch or Step Functions.",
        enables=("s3",),
        optional=("DATATOOLS_S3ROOT",),
        fixed={"DEFAULT_DATASTORE": "s3"},
    ),
    Capability(
        "the Metaflow metadata service",
        "Tracks runs centrally; required to schedule flows on AWS Step Functions.",
        enables=("service",),
        optional=("SERVICE_INTERNAL_URL", "SERVICE_AUTH_KEY"),
        fixed={"DEFAULT_METADATA": "service"},
    ),
    Capability(
        "AWS Batch for compute",
        "Runs steps on AWS Batch (--with batch); required for AWS Step Functions.",
        enables=("batch",),
        optional=("BATCH_CONTAINER_REGISTRY", "BATCH_CONTAINER_IMAGE"),
    ),
    Capability(
        "AWS Step Functions for scheduling",
        "Schedules flows on Step Functions, triggered by Amazon EventBridge; foreach steps "
        "need a DynamoDB table.",
        enables=("sfn", "sfn-schedule", "sfn-foreach"),
    ),
)

_KEEP = object()  # a secret left as it was (Enter at its masked prompt)
_UNSET = object()  # an optional setting left unset (or cleared with "-")
_SKIP = object()  # a required setting answered "-" or "skip": its capability is left as it is
#: the answers that skip a capability at one of its required settings (an optional one: "-" clears)
SKIP_ANSWERS = ("-", "skip")


def _is_on(cap: Capability, existing: Mapping[str, Any]) -> bool:
    """Whether the profile already enables ``cap``."""
    if cap.fixed:
        return all(existing.get(BY_NAME[k].env) == v for k, v in cap.fixed.items())
    return all(_current(BY_NAME[k], existing) is not None for k in cap.required)


def _names(setting: Setting) -> tuple[str, ...]:
    """The keys a profile may hold ``setting`` under, its own name first (which always wins).

    Then its aliases, and the old names the resolution applies (``METAFLOW_DATATOOLS_SYSROOT_S3``).
    """
    return (setting.env, *setting.aliases, *(r.name for r in setting.renamed if r.applied))


def _current(setting: Setting, existing: Mapping[str, Any]) -> Any:
    """The value a profile holds for ``setting`` (:func:`_names`' first that holds one)."""
    for key in _names(setting):
        value = existing.get(key)
        if not is_unset(value):
            return value
    return None


def _invalid(setting: Setting, current: Any) -> Problem | None:
    """What is wrong with the value a profile holds for ``setting``; ``None`` when it is valid."""
    if current is None:
        return None
    try:
        validate_value(setting, current, layer="profile")
    except ConfigError as exc:
        return exc.problems[0]
    return None


def _checker(
    setting: Setting,
    *,
    required: str | None,
    has_secret: bool,
    replacing: bool = False,
) -> Any:
    """The click ``value_proc`` of one prompt: validate as the resolver does, or ask again.

    ``required``: the title of the capability that needs the setting (``-`` or ``skip`` skips
    it), or None for an optional setting (``-`` clears it). ``replacing``: the profile's value is
    invalid, so an empty answer neither keeps it nor clears it: a valid value is asked for.
    """

    def check(text: str) -> Any:
        answer = text.strip()
        if required is not None and answer.lower() in SKIP_ANSWERS:
            return _SKIP
        if answer == "" and has_secret:
            return _KEEP
        if answer == "" and replacing and required is None:
            raise click.UsageError(
                f"the profile's {setting.env} is invalid: type a valid value, or - to remove it"
            )
        if answer in ("", "-"):
            if required is not None:
                raise click.UsageError(
                    f"{setting.env} is required for {required}: type a value, or - to skip "
                    f"{required} (nothing of it is changed)"
                )
            return _UNSET
        try:
            value = validate_value(setting, answer, location="your answer")
        except ConfigError as exc:
            problem = exc.problems[0]
            shown = "" if setting.secret else f"got {problem.value}; "
            raise click.UsageError(f"{shown}expected {problem.expected}") from None
        from .._checks.probes_service import malformed_name  # the names services take

        malformed = malformed_name(setting.env, value)
        if malformed is not None:  # taken by Metaflow, refused by the service at the first job
            raise click.UsageError(
                f"{setting.env} {malformed[0]}: type such a name, e.g. {malformed[1]}"
            )
        if isinstance(value, Reference):
            click.echo(
                f"  {setting.env} will be fetched from {value.service} ({value.name}) when "
                "it is read, with the reader's own AWS credentials."
            )
            return value.text  # written as the reference
        return value

    return check


def derived_value(setting: Setting, doc: Mapping[str, Any]) -> str | None:
    """What ``setting`` would be derived as from the profile ``doc`` alone, as text (masked).

    The profile is resolved as written so far, with ``setting`` itself left out, by the one
    resolution pass (no file, ``METAFLOW_*`` variable or local config read). ``None`` when the
    setting has no derivation, derives from the machine rather than from settings, derives
    nothing from ``doc``, or ``doc`` does not resolve yet.
    """
    if setting.derive is None or setting.derive.machine:
        return None
    own = set(_names(setting))
    profile = layer_from_document(
        LayerData("profile"), "", {k: v for k, v in doc.items() if k not in own}
    )
    layers = {
        layer.name: profile if layer.name == "profile" else LayerData(layer.name)
        for layer in LAYERS
    }
    try:
        value = resolve(Inputs(os.environ, "", None, os.getcwd()), layers).values[setting.name]
    except ConfigError:
        return None
    if value is None or isinstance(value, Reference):
        return None
    return raw_text(setting.env, setting.kind.to_text(value), secret=setting.secret)


def _ask(
    setting: Setting, existing: Mapping[str, Any], *, required: str | None, doc: Mapping[str, Any]
) -> Any:
    """Prompt for one setting; return its typed value, ``_KEEP``, ``_UNSET`` or ``_SKIP``.

    ``required``: see :func:`_checker`. ``doc`` is the profile as answered so far: what a
    derived default is computed from.
    """
    current = _current(setting, existing)
    problem = _invalid(setting, current)
    if problem is not None:  # never offered as a default: Enter could not get past it
        got = "" if setting.secret else f"got {problem.value}; "
        clear = f", or - to skip {required}" if required else ", or - to remove it"
        click.echo(
            f"  The profile's {setting.env} is invalid: {got}expected {problem.expected}. "
            f"It is not offered as the default: type a valid value{clear}."
        )
        current = None
    label = f"[{setting.env}]{'' if required else ' (optional)'} {setting.doc.rstrip('.')}"
    if not required and setting.derive is not None:
        derived = derived_value(setting, doc)
        label += f"; {'empty' if problem is None else '-'}: derived as {setting.derive.text}"
        if derived is not None:
            label += f" = {derived}"
    if setting.secret:
        if current is not None:
            label += " [****, Enter keeps it]"
        check = _checker(
            setting,
            required=required,
            has_secret=current is not None,
            replacing=problem is not None,
        )
        # Checked here, not by click: click 8.1 words any refused hidden answer as "The value
        # you entered was invalid" (never why); the reasons never hold the typed value.
        while True:
            answer = _secret_answer(label)
            try:
                return check(answer)
            except click.UsageError as exc:
                click.echo(f"Error: {exc.message}")
    if current is not None and has_url_password(current):  # never offered as a default
        label += f" [{raw_text(setting.env, current, secret=False)}, Enter keeps it]"
        check = _checker(setting, required=required, has_secret=True)
        return click.prompt(label, default="", show_default=False, value_proc=check)
    check = _checker(setting, required=required, has_secret=False, replacing=problem is not None)
    if current is None:  # an empty answer reaches ``check``: "is required", or unset
        return click.prompt(label, default="", show_default=False, value_proc=check)
    shown = raw_text(setting.env, current, secret=False)
    return click.prompt(label, default=shown, value_proc=check)


def _record(changes: Changes, setting: Setting, answer: Any, existing: Mapping[str, Any]) -> None:
    """Turn one answer into changes; the other names of an answered setting are removed."""
    if answer is _KEEP:
        return
    changes.remove.update(a for a in _names(setting)[1:] if a in existing)
    if answer is _UNSET:
        if setting.env in existing:
            changes.remove.add(setting.env)
        return
    changes.assign[setting.env] = answer


def _title(cap: Capability) -> str:
    return cap.title[0].upper() + cap.title[1:]


def _needed_by(cap: Capability, enabled: set[str]) -> str:
    """The titles of the capabilities ``cap`` needs that are not enabled, for a message."""
    return " and ".join(
        other.title
        for other in CAPABILITIES
        if other.key in cap.after and not enabled.issuperset(other.enables)
    )


def _say_what_is_invalid(path: str, existing: Mapping[str, Any]) -> None:
    """Warn of the profile's invalid values before the questions, which may never reach them.

    A capability answered No asks nothing of its settings: the wizard would end with "no
    changes" on a profile that stops every run.
    """
    if not existing:
        return
    from .._resolve.validate import check_layer

    problems = check_layer(layer_from_document(LayerData("profile"), path, dict(existing)))
    if not problems:
        return
    invalid = list(dict.fromkeys(p.setting for p in problems))
    asked = {BY_NAME[short].env for cap in CAPABILITIES for short in (*cap.required, *cap.optional)}
    unasked = [name for name in invalid if name not in asked]
    how = []
    if len(unasked) < len(invalid):
        them = [name for name in invalid if name in asked]
        how.append(
            f"answer the capability {'it belongs' if len(them) == 1 else 'each belongs'} to and "
            f"correct {', '.join(them)}"
        )
    if unasked:  # no question reaches them: the command that does
        sets = " ".join(
            f"--set {shell_quote(name + '=')}<{BY_ENV[name].kind.name}>"
            if name in BY_ENV
            else f"--set {shell_quote(name + '=')}"
            for name in unasked[:10]
        )
        command = f"metaflow-config configure aws{profile_flag_of(path)} {sets}"
        it = "it" if len(unasked) == 1 else "them"
        how.append(
            f"no question asks {', '.join(unasked)}: correct {it} with `{command}` (an empty "
            "value removes one)"
        )
    print_warnings(
        [
            f"{path} holds {len(problems)} invalid value(s) ({', '.join(invalid)}), which stop "
            f"every run: {'; '.join(how)}; `metaflow-config check` says what is wrong with each"
        ]
    )


def interview(existing: Mapping[str, Any]) -> Changes:
    """Ask the capability questions and each needed setting; return the changes to make.

    A capability whose required setting is answered ``-`` (or ``skip``) is skipped: none of its
    answers is kept, nothing of it changes, and the capabilities that need it are not asked.
    """
    changes = Changes()
    enabled: set[str] = set()
    for cap in CAPABILITIES:
        if not enabled.issuperset(cap.after):
            click.echo(f"\n{_title(cap)}: not asked (it needs {_needed_by(cap, enabled)}).")
            continue
        click.echo(f"\n{_title(cap)}: {cap.why}")
        default = _is_on(cap, existing) or not existing
        question = f"Configure {cap.title}?"
        with answered(f'"{question}"'):
            enable = yes_or_no(question, default=default)
        if not enable:
            for name, value in cap.fixed.items():
                if existing.get(BY_NAME[name].env) == value:
                    changes.remove.add(BY_NAME[name].env)
            continue
        own = _interview_one(cap, existing, changes)
        if own is None:
            click.echo(f"  Skipped {cap.title}: nothing of it is changed.")
            continue
        enabled.update(cap.enables)
        changes.assign.update(own.assign)
        changes.remove.update(own.remove)
    return changes


def _interview_one(cap: Capability, existing: Mapping[str, Any], before: Changes) -> Changes | None:
    """The changes of one enabled capability, or None when it is skipped (``-`` at a required).

    ``before``: the changes of the capabilities asked before (what derived defaults follow).
    """
    own = Changes()
    for name, value in cap.fixed.items():
        own.assign[BY_NAME[name].env] = value
    for names, required in ((cap.required, cap.title), (cap.optional, None)):
        for name in names:
            setting = BY_NAME[name]
            doc = own.apply(before.apply(existing))
            with answered(setting.env):
                answer = _ask(setting, existing, required=required, doc=doc)
            if answer is _SKIP:
                return None
            _record(own, setting, answer, existing)
    return own


def _complete_set(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """``--set`` completes ``KEY=``: the built-in settings' names, short or full as typed.

    A registered section's key is left out (``--set`` refuses it); after the ``=`` nothing is
    offered (a value is the user's own).
    """
    if "=" in incomplete:
        return []
    names = (item.value for item in complete_setting(ctx, param, incomplete))
    return [CompletionItem(f"{name}=") for name in names if find(name) is not None]


def _check_sets(
    ctx: click.Context, param: click.Parameter, items: tuple[str, ...]
) -> tuple[str, ...]:
    """``--set`` items are ``KEY=VALUE``: one without ``=`` or without a key is a usage error.

    Such an item is named only when it is a setting's name: anything else may hold a value
    typed without its ``=`` (a secret), so it is told by its position. A setting given twice
    (by either of its names) is a usage error too: which value was meant is not known.
    """
    given: dict[str, int] = {}
    for number, item in enumerate(items, 1):
        key, sep, _ = item.partition("=")
        setting = find(key.strip()) if not sep else None
        if setting is not None:
            name = key.strip()
            raise click.BadParameter(
                f"{name} has no '=': expected KEY=VALUE (--set {name}=<{setting.kind.name}> sets "
                f"it, --set {name}= removes it)"
            )
        if not sep or not key.strip():
            what = "no '='" if not sep else "no KEY before its '='"
            which = "" if len(items) == 1 else f"--set number {number} of {len(items)} has "
            raise click.BadParameter(
                f"{which}{what} (not shown: it may hold a secret): expected KEY=VALUE, e.g. "
                "--set BATCH_JOB_QUEUE=my-queue"
            )
        named = find(key.strip())
        name = named.env if named is not None else key.strip()
        if name in given:
            raise click.BadParameter(
                f"{printable(name)} is given twice (--set number {given[name]} and {number}; "
                "values not shown): give it once"
            )
        given[name] = number
    return items


def _secret_answer(label: str) -> str:
    """The answer to a secret's question, never echoed.

    On a terminal, read without echo (``getpass``); from a pipe (answers in a script), read as a
    line: no terminal echoes it, and ``getpass`` would warn that it cannot hide what it reads.

    Raises:
        click.Abort: the input ended (as ``click.prompt`` does).

    """
    if sys.stdin is not None and sys.stdin.isatty():
        return str(click.prompt(label, default="", show_default=False, hide_input=True))
    click.echo(f"{label}: ", nl=False)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        click.echo()
        raise click.Abort
    return line.rstrip("\r\n")


def _not_a_setting(key: str, registered: tuple[Any, str] | None) -> Problem:
    """The problem of ``--set KEY=...`` where KEY is no built-in setting."""
    where = f"--set {key}"
    if registered is not None:
        return Problem.bad_value(
            key,
            "command line",
            where,
            expected=f"a built-in setting, found a key of a registered section "
            f"({registered[0].origin})",
            fix="write it in the profile file, or with `metaflow-config import FILE --merge`",
        )
    return Problem.bad_value(
        key, "command line", where, expected="the name of a setting", fix=suggest(key)
    )


def parse_sets(items: tuple[str, ...], existing: Mapping[str, Any]) -> Changes:
    """``--set KEY=VALUE`` items as changes (``KEY=`` removes); every value validated.

    Each item holds an ``=`` and a key (``_check_sets``, when the command line is parsed).
    ``KEY=`` removes any key the profile holds, a setting's or not (a misspelled key, a
    command line's variable, a retired name: what ``check`` says to remove).
    """
    changes = Changes()
    problems: list[Problem] = []
    for item in items:
        key, _, value = item.partition("=")
        key = key.strip()
        setting = find(key)
        held = next((k for k in (key, PREFIX + key) if k in existing), None)
        if value.strip() == "" and held is not None and (setting is None or held != setting.env):
            changes.remove.add(held)  # a key no setting reads, as the file holds it
            continue
        registered = find_key(key) if setting is None else None
        if setting is None:  # said with every other problem of the command line
            problems.append(_not_a_setting(key, registered))
            continue
        if value.strip() == "":
            _record(changes, setting, _UNSET, existing)
            continue
        where = f"--set {setting.env}"
        try:
            typed = validate_value(setting, value.strip(), layer="command line", location=where)
        except ConfigError as exc:
            fix = f"pass {where}=<{setting.kind.name}>, or {where}= to remove it"
            problems.extend(dataclasses.replace(p, fix=fix) for p in exc.problems)
            continue
        from .._checks.probes_service import malformed_name  # the names services take

        malformed = malformed_name(setting.env, typed)
        if malformed is not None:  # refused, as the same answer typed at the prompt
            problems.append(
                Problem(
                    setting.env,
                    "command line",
                    where,
                    "",  # not said: a blank at its end is not seen (``malformed_name``)
                    f"a name its service takes (it {malformed[0]})",
                    f"pass {where}=<such a name, e.g. {malformed[1]}>",
                )
            )
            continue
        if isinstance(typed, Reference):
            click.echo(f"{setting.env} will be fetched from {typed.service} when it is read.")
            typed = typed.text  # written as the reference
        if setting.name in PLUGIN_SETTINGS:  # a name near a known one: refused, as a run would
            notes: list[str] = []
            plugin_problems([(setting.name, typed, "command line", where)], problems, notes)
            print_warnings(notes)
        _record(changes, setting, typed, existing)
    if problems:
        raise ConfigError(problems)
    return changes


@click.command(
    "aws",
    epilog="""\b
Examples:
  metaflow-config configure aws                  # the default profile, config.json
  metaflow-config configure aws --profile prod   # a named profile, config_prod.json
  metaflow-config configure aws -p ci --yes \\
      --set DATASTORE_SYSROOT_S3=s3://bucket/metaflow --set DEFAULT_DATASTORE=s3
""",
)
@profile_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_check_sets,
    shell_complete=_complete_set,
    help="Set one setting without prompting (repeatable; KEY= removes it, or any key the "
    "profile holds, such as a misspelled one). With --set, no "
    "question is asked but the confirmation of the changes (--yes skips it): the way to "
    "configure from a script. Prefer the prompt for secrets: command lines are visible to "
    "other users.",
)
@yes_option
def aws_cmd(profile: str | None, sets: tuple[str, ...], yes: bool) -> None:
    """Configure Metaflow for AWS: S3, metadata service, AWS Batch, Step Functions.

    Asks which capabilities to enable, then for each setting they need, with the profile's
    current value as the default; answers are checked as you type, and - at a required
    setting skips its capability. Keys it does not ask about are kept. Then shows what will
    be added, changed and removed, and writes it (atomically, mode 0600) once you confirm
    (--yes: without asking). For scripts, --set KEY=VALUE ... --yes asks nothing.
    """
    name = selected_profile(profile)
    path = profile_file(name, "-p/--profile" if profile else None, creating=True)
    home = home_dir()
    check_writable(path, home=home)  # before a question is asked: a refusal wastes no answer
    existing = read_json_object(path)
    state = "new" if existing is None else "exists"
    # --set: refused before anything is said of the profile (nothing is configured then)
    changes = parse_sets(sets, existing or {}) if sets else None
    click.echo(printable(f"Configuring {profile_label(name)}: {path} ({state})."))
    near = nearest_profile(name, list_profiles(home)) if existing is None and name else None
    if near is not None:  # a typo of one that exists makes a new profile: said, not refused
        print_warnings([f"no profile {name} yet (did you mean {near}? -p {near}): it is created"])
    elif existing is None and name == "default":  # Metaflow's name, not the default profile's
        print_warnings(
            [
                "a profile named default is config_default.json, which only -p default or "
                "METAFLOW_PROFILE=default selects; the default profile is config.json (leave "
                "-p out to configure it): config_default.json is created"
            ]
        )
    existing = existing or {}
    if changes is None:
        _say_what_is_invalid(path, existing)
        click.echo(
            "Press Enter to keep the value in [brackets]; type - to clear an optional value, or "
            "at a required one to skip its capability. Answers are checked as you type; nothing "
            "is written before you confirm the changes at the end."
        )
        changes = interview(existing)
    if not changes.apply(dict(existing)) and not os.path.lexists(path):
        click.echo("\nNothing to write: no setting was configured, so Metaflow runs locally.")
        return
    question = f"Write these changes to {profile_label(name)}?"
    if write_changes(path, changes, existing, home=home, question=question, yes=yes) is None:
        return
    click.echo(activation_hint(name))
