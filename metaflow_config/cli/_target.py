"""``show --target T`` and ``explain --target T``: what a task on a remote target resolves.

A task on target T starts with ``to_env(T)`` but what its container is not given (on the
Kubernetes targets, the names of ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP``, and the secret settings
where the pods mount Kubernetes Secrets: ``_snapshot.taskenv``), with what Metaflow itself
sets there (``export.metaflow_sets``), and no profile or project file: :func:`task_settings`
resolves exactly that, in a process of its own making (``load`` of those variables, an empty
home and working directory). Each value is then set beside this machine's: a value that
differs is marked (and why: it stays behind, it is the internal service URL, Metaflow sets
it), and so is every URL that points at this machine (``localhost`` in a task is the task).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._display import entry_text, printable
from .._model.fields import PREFIX, Setting
from .._model.table import BY_NAME, FIELDS, find
from .._snapshot.export import metaflow_sets, stays_elsewhere
from .._snapshot.require import points_here
from .._snapshot.sections import explain_key, model_problems
from .._snapshot.settings import Settings, resolution_of
from .._snapshot.taskenv import (
    DECIDING,
    HEADERS,
    METAFLOW_WRITES,
    POD_TARGETS,
    WHERE,
    TaskEnv,
    launcher_values,
    not_carried,
)
from .._snapshot.taskenv import (
    left_behind as taskenv_left_behind,
)
from .._sources.extensions import config_settings, set_by_extensions
from .._sources.keys import keys_said
from .._sources.sections import find_key
from .._sources.sections import registry as registered_keys
from ..errors import ConfigError, ConfigWarning
from ._show import display, explain_text, extension_settings_text, registered_cell

__all__ = ["TARGET_TITLES", "compare", "target_explain_text", "target_json", "target_text"]

#: The remote targets ``--target`` takes, and what each is.
TARGET_TITLES = {
    "batch": "an AWS Batch job",
    "sfn": "a Step Functions task",
    "kubernetes": "a Kubernetes pod",
    "argo": "an Argo Workflows task",
    "airflow": "an Airflow task",
}


def task_settings(snapshot: Settings, target: str) -> Settings:
    """What a fresh process on ``target`` resolves from what it is given (no file of its own).

    Raises:
        ConfigError: ``snapshot`` cannot be given to a task of ``target`` (a value over a
            limit, one its launch refuses: ``require.not_carried``).

    """
    from .. import load

    problems = not_carried(resolution_of(snapshot), target, launcher_values())
    if problems:
        raise ConfigError(problems)
    left = _left_out(snapshot, target)
    given = {k: v for k, v in snapshot.to_env(target).items() if k not in left}
    env = {**_metaflow_writes(snapshot, target), **given, **_metaflow_sets(snapshot, target)}
    with tempfile.TemporaryDirectory() as empty, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)
        return load(env=env, home=empty, cwd=empty, profile="")


#: What Metaflow's launchers write under another name (``METAFLOW_SERVICE_URL`` from the
#: internal URL, ``export.metaflow_sets`` the internal webhook): not written as themselves.
_WRITTEN_AS_OTHERS = frozenset({"SERVICE_INTERNAL_URL", "ARGO_EVENTS_INTERNAL_WEBHOOK_URL"})


def _metaflow_writes(snapshot: Settings, target: str) -> dict[str, str]:
    """What Metaflow's pod launchers write from their own module into a task of ``target``.

    On Kubernetes, Argo Workflows and Airflow, Metaflow writes a list of its settings
    (``taskenv.METAFLOW_WRITES``) as its module holds them, derived ones too (the datatools and
    card roots): a task gets them even where ``to_env`` leaves them to re-derive, and on
    Kubernetes and Airflow even where ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP`` names them (only
    Argo's templates leave those out); on Argo and Airflow, ``USER`` too, the launching user's
    name (the metadata provider's runtime environment). Elsewhere (Batch, Step Functions)
    nothing is added here.
    """
    if target not in POD_TARGETS:
        return {}
    task = TaskEnv(resolution_of(snapshot), target, launcher=launcher_values())
    values = resolution_of(snapshot).values
    written: dict[str, str] = {}
    for name in METAFLOW_WRITES[target]:
        field = find(name)
        if field is None or field.name in _WRITTEN_AS_OTHERS or field.secret or field.local:
            continue  # a secret: as Metaflow writes it (its headers entry); a local path stays
        if name == HEADERS or (target == "argo" and name in task.skipped):
            continue
        if field.name == "SERVICE_URL":  # Metaflow writes the internal URL under this name
            field = BY_NAME["SERVICE_INTERNAL_URL"]
        text = None if values[field.name] is None else field.export_text(values[field.name])
        if text is not None:
            written[name] = text
    argo_skips_user = target == "argo" and "USER" in task.skipped
    if target in ("argo", "airflow") and values["USER"] is not None and not argo_skips_user:
        # the metadata provider's runtime environment: USER, the launching user's name, which a
        # task's USER derives from where METAFLOW_USER is skipped
        written["USER"] = str(values["USER"])
    return written


def _metaflow_sets(snapshot: Settings, target: str) -> dict[str, str]:
    """What Metaflow sets in a task of ``target``: on Argo, but the names it is told to skip.

    Metaflow's Argo Workflows templates leave out any variable ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP``
    names, its own (``METAFLOW_USER``) too.
    """
    task = TaskEnv(resolution_of(snapshot), target, launcher=launcher_values())
    sets = metaflow_sets(resolution_of(snapshot).values, target)
    headers = task.metaflow_headers()  # every remote target: Metaflow's own entry
    if headers is not None:
        sets[HEADERS] = headers
    if target != "argo":
        return sets
    return {name: value for name, value in sets.items() if name not in task.skipped}


def _left_out(snapshot: Settings, target: str) -> dict[str, str]:
    """The exported names a container of ``target`` is not given, each with why.

    As every container of the target: a step mounting Secrets of its own
    (``@kubernetes(secrets=...)``) leaves the secret settings out of its pods too.
    """
    task = TaskEnv(resolution_of(snapshot), target, launcher=launcher_values())
    return task.left_out(mounted=bool(task.mounted_secrets))


def _unread_deciding(target: str) -> dict[str, str]:
    """The names deciding what a pod of ``target`` is given that an extension sets, unread.

    Name -> the extension's organisation: its ``config`` module binds the name with a value
    built by code or in a block that may not run (``extensions.config_literals`` does not read
    it), and Metaflow's module is not imported here to hold it (``taskenv.launcher_values``).
    """
    if target not in POD_TARGETS:
        return {}
    known = launcher_values()
    return {
        name: org
        for name, org in config_settings().items()
        if name in DECIDING
        and name not in known
        and (target == "argo" or name != "ARGO_WORKFLOWS_KUBERNETES_SECRETS")
    }


def _unread_notes(field: Setting, unread: Mapping[str, str]) -> list[str]:
    """The note of an exported setting whose being given depends on a name not read."""
    names = [n for n in unread if field.secret or n == "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP"]
    if not names:
        return []
    said = ", ".join(f"metaflow_extensions.{unread[n]} sets {n}" for n in names)
    return [
        f"{said} in code not read here (in a block, or built): whether the task is given "
        "this depends on the value Metaflow runs on"
    ]


@dataclass(frozen=True)
class Compared:
    """One setting in a task and here: both values as shown, and what sets them apart."""

    name: str
    task: str
    source: str  # in the task: travels, metaflow, derived, default
    note: str  # "" when the two agree and nothing is to be said


def _raw(s: Settings, field: Setting) -> Any:
    return resolution_of(s).values[field.name]  # a reference as the reference: nothing fetched


def compare(snapshot: Settings, target: str) -> Iterator[Compared]:
    """Every setting of ``target``'s task beside this machine's.

    In table order, then the registered sections' keys by name.
    """
    task = task_settings(snapshot, target)
    there = resolution_of(task).inputs.cwd  # a temporary directory: the task has its own
    sets = _metaflow_sets(snapshot, target)
    writes = _metaflow_writes(snapshot, target)
    exported = snapshot.to_env(target)
    left = _left_out(snapshot, target)
    rules = TaskEnv(resolution_of(snapshot), target, launcher=launcher_values())
    exposed = set(rules.exposed_secrets())
    unread = _unread_deciding(target)
    for field in FIELDS:
        theirs, ours = _raw(task, field), _raw(snapshot, field)
        source, note = _given_as(field.env, target, sets, writes, left, exported)
        source = source or task.source(field.env)
        notes = [note] if note else []
        if field.env in exposed:
            notes.append(_exposed_note(field, target))
        if field.env in exported:
            notes.extend(_unread_notes(field, unread))
        if field.env == HEADERS and field.env in sets and _holds_the_key(sets[HEADERS]):
            notes.append(_KEY_IN_HEADERS[target in POD_TARGETS])
        if theirs != ours:
            if field.env in sets:
                notes.append(f"Metaflow sets it on {target}")
            elif field.name == "SERVICE_URL":
                notes.append("the internal service URL")
            elif stays_elsewhere(field, target):
                notes.append(
                    "stays behind: a setting of another platform's launcher (a pod spec, a "
                    "template, a DAG), which a Batch task builds none of"
                )
            elif field.local or source in ("default", "derived"):
                notes.append("stays behind" if field.local else "re-derived there")
            notes.append(f"here: {display(field, ours, width=None)}")
        if isinstance(theirs, str) and points_here(theirs):
            notes.append("points at this machine: in a task, localhost is the task itself")
        shown = display(field, theirs, width=None).replace(there, "<the task's directory>")
        yield Compared(field.env, shown, source, "; ".join(notes))
    yield from _compare_registered(snapshot, task, target, exported, left, exposed)


def _given_as(  # noqa: PLR0917 - compare()'s state, handed on
    name: str,
    target: str,
    sets: Mapping[str, str],
    writes: Mapping[str, str],
    left: Mapping[str, str],
    exported: Mapping[str, str],
) -> tuple[str | None, str]:
    """How a task of ``target`` is given ``name``, and what is said of it.

    One of the words README lists for the task's values: ``travels`` (``to_env``), ``metaflow``
    (Metaflow sets it, or writes it from its own module where nothing travels), ``left out``;
    ``None``: it is not given, the task resolves it as it does (``default``, ``derived``).
    """
    if name in sets:
        return "metaflow", ""
    if name in left and name in writes:  # the skip list is Argo's templates' only
        return "metaflow", f"Metaflow writes it itself on {target}, whatever the skip list says"
    if name in left:
        return "left out", left[name]
    if name in exported:
        return "travels", ""
    return ("metaflow", "") if name in writes else (None, "")


def _compare_registered(  # noqa: PLR0917 - compare()'s state, handed on
    snapshot: Settings,
    task: Settings,
    target: str,
    exported: Mapping[str, str],
    left: Mapping[str, str],
    exposed: set[str],
) -> Iterator[Compared]:
    """Every registered section's key in ``target``'s task beside this machine's, by name.

    As :func:`compare` sets a setting beside this machine's: a key travels as ``to_env`` gives
    it (a secret one left out where the pods mount Secrets), its value masked if secret.
    """
    registry = registered_keys()
    builds: dict[int, bool] = {}  # whether each model builds, here and in the task
    for key in sorted(registry):
        section = registry[key]
        if id(section.cls) not in builds:
            builds[id(section.cls)] = not (
                model_problems(resolution_of(snapshot), section.cls)
                or model_problems(resolution_of(task), section.cls)
            )
        typed = builds[id(section.cls)]
        ours = explain_key(resolution_of(snapshot), section, key, typed=typed)
        theirs = explain_key(resolution_of(task), section, key, typed=typed)
        source, notes = theirs.source, []
        if key in left:
            source = "left out"
            notes.append(left[key])
        elif key in exported:
            source = "travels"
        secret = key in section.secret
        if key in exposed:
            notes.append(_exposed_text(secret=secret, target=target))
        if entry_text(theirs.value) != entry_text(ours.value):
            notes.append(f"here: {registered_cell(ours.value, secret=secret)}")
        yield Compared(key, registered_cell(theirs.value, secret=secret), source, "; ".join(notes))


def _exposed_note(field: Setting, target: str) -> str:
    """The note of a secret given as text where Metaflow alone writes none, and the way out.

    A secret setting's value, or a URL's password (``TaskEnv.exposed_secrets``).
    """
    return _exposed_text(secret=field.secret, target=target)


def _exposed_text(*, secret: bool, target: str) -> str:
    """:func:`_exposed_note` of a setting or a registered key, by whether it is secret."""
    if not secret:
        return (
            f"its URL's password as text in {WHERE[target]}, where Metaflow alone would not "
            "write it: take the password out of the URL"
        )
    out = "a Kubernetes Secret" if target == "argo" else "a secret reference"
    where = WHERE[target]
    return f"as text in {where}, where Metaflow alone would not write it: {out} keeps it out"


#: What is said of Metaflow's headers entry holding the auth key as text (not a reference), by
#: whether the target runs pods (where a Kubernetes Secret could supply them instead).
_KEY_IN_HEADERS = {
    False: "Metaflow writes it with the auth key merged in (x-api-key), as text in what it submits",
    True: "Metaflow writes it with the auth key merged in (x-api-key), as text in the pod spec, "
    "whatever Secrets the pods mount: list METAFLOW_SERVICE_HEADERS in "
    "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP to leave the headers to a Kubernetes Secret",
}


def _holds_the_key(headers: str) -> bool:
    """Whether Metaflow's headers entry holds the auth key itself (text, not a reference).

    The entry is JSON text, or the headers' own secret reference (``{{resolve:...}}``, which
    the task fetches): that holds no key.
    """
    import json

    try:
        held = json.loads(headers)
    except ValueError:  # a reference: where the headers are kept, not the headers
        return False
    key = held.get("x-api-key") if isinstance(held, dict) else None
    return isinstance(key, str) and "{{resolve:" not in key


def _shown(rows: list[Compared], include_defaults: bool) -> list[Compared]:
    return [r for r in rows if include_defaults or r.note or r.source in ("travels", "metaflow")]


def target_text(snapshot: Settings, target: str, *, include_defaults: bool) -> str:
    """The ``show --target`` table: name, value in the task, where it comes from, the notes."""
    rows = _shown(list(compare(snapshot, target)), include_defaults)
    head = (
        f"# what {TARGET_TITLES[target]} ({target}) resolves: to_env({target!r}), what "
        "Metaflow sets there, no profile or project file"
    )
    table = [("NAME", "VALUE IN THE TASK", "FROM", "NOTE")]
    table += [(r.name, r.task, r.source, r.note) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [printable(head)]
    for row in table:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append(printable("  ".join([*cells, row[3]]).rstrip()))
    differing = sum(bool(r.note) for r in rows)
    if not include_defaults:
        lines.append("# settings at their default in the task are hidden (--all shows them)")
    lines.append(f"# {differing} setting(s) noted: they differ from this machine or point at it")
    replaced = extension_settings_text(snapshot)
    if replaced:  # what decides a launch may be among them (the Secrets mounted, the skip list)
        lines.append(printable(f"# {replaced}"))
    behind = left_behind(snapshot)
    if behind:
        lines.append(
            printable(
                "# not passed to the task, though set here: "
                f"{keys_said(behind[:10], len(behind[10:]))}"
                " (read by installed extensions; Metaflow passes none: give them in the image or "
                "with @environment)"
            )
        )
    return "\n".join(lines) + "\n"


def left_behind(snapshot: Settings) -> list[str]:
    """The names installed extensions read that are set here (``taskenv.left_behind``)."""
    return taskenv_left_behind(resolution_of(snapshot))


def target_json(snapshot: Settings, target: str, *, include_defaults: bool) -> dict[str, Any]:
    """The ``show --target --json`` document."""
    rows = _shown(list(compare(snapshot, target)), include_defaults)
    return {
        "target": target,
        "settings": [
            {"name": r.name, "value": r.task, "from": r.source, "note": r.note} for r in rows
        ],
        "not_passed": left_behind(snapshot),
        "set_by_extensions": {PREFIX + n: org for n, org in set_by_extensions(snapshot).items()},
    }


def target_explain_text(snapshot: Settings, name: str, target: str) -> str:
    """``explain --target``: the setting as the task explains it, then how it compares."""
    text = explain_text(task_settings(snapshot, target), name)
    field = find(name)
    registered = find_key(name) if field is None else None
    full = field.env if field is not None else registered[1] if registered else None
    for row in compare(snapshot, target):
        if full is not None and row.name == full:
            extra = [f"on:       {TARGET_TITLES[target]} ({target}), from: {row.source}"]
            if row.note:
                extra.append(f"note:     {row.note}")
            return "\n".join(printable(line) for line in extra) + "\n" + text
    return text
