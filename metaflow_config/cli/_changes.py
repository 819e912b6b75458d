"""Writing changes to a profile: the one path of ``configure aws``, ``import`` and the stacks.

A change is shown as a diff against the profile on disk (``+`` added, ``~`` changed, ``-``
removed; secrets masked), confirmed unless ``--yes`` (an input that ends before the answer is an
error saying that nothing was written), and applied with ``update_json``: under the profile's
lock, on top of what is on disk at that moment, atomically, mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import click

from .._display import printable, shell_quote
from .._model.metaflow_names import ENABLED
from .._model.table import BY_ENV, OLD_NAMES
from .._resolve.validate import check_layer
from .._sources.environ import own
from .._sources.files import FileLayer
from .._sources.profiles import profile_flag_of
from .._sources.writable import check_writable
from .._sources.writes import update_json
from ..errors import ConfigError
from ._common import CliError, home_dir, print_warnings, raw_text, yes_or_no
from ._common import answered as _answered

__all__ = ["Changes", "activation_hint", "answered", "is_masked", "write_changes"]

#: What to do when piped answers run out: the wizard's advice (other commands give their own)
_WIZARD_FIX = (
    "Give one line per question, or configure without questions with --set KEY=VALUE ... --yes"
)


@dataclass
class Changes:
    """What a command will do to a profile: keys to set (values as written) and keys to remove.

    ``replace``: the profile becomes ``assign`` alone (every other key goes, whatever the file
    holds when it is written), as ``import FILE`` without ``--merge`` does. ``rename``: keys to
    give another name, in place and with their values as they are (``migrate``).
    """

    assign: dict[str, Any] = field(default_factory=dict)
    remove: set[str] = field(default_factory=set)
    replace: bool = False
    rename: dict[str, str] = field(default_factory=dict)

    def apply(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """``doc`` with the changes applied (the other keys kept, unless ``replace``)."""
        if self.replace:
            return dict(self.assign)
        renamed = self.renamed(doc)
        result = {
            renamed.get(k, k): v
            for k, v in doc.items()
            if k not in self.remove and (k in renamed or k not in self.rename)
        }
        result.update(self.assign)
        return result

    def renamed(self, doc: Mapping[str, Any]) -> dict[str, str]:
        """The renames that apply to ``doc``.

        A key it holds, to a name it does not hold or that is removed (an old name in force
        beside its setting's own name set to ``""``). A rename to a name ``doc`` keeps drops
        the key renamed (the name kept is in force).
        """
        return {
            before: after
            for before, after in self.rename.items()
            if before in doc and (after not in doc or after in self.remove)
        }

    def removed(self, doc: Mapping[str, Any]) -> set[str]:
        """The keys of ``doc`` that applying the changes removes."""
        return set(doc).difference(self.apply(doc))


def is_masked(key: str) -> bool:
    """Whether the value of the profile key ``key`` is masked when shown.

    A built-in or registered secret is; so is the value of a key no setting knows (a misspelled
    ``METAFLOW_SERVICE_AUTH_KEYS`` may hold the key itself), as every warning about it hides it.
    Metaflow's plugin lists (``METAFLOW_ENABLED_*``) are shown: which plugins Metaflow loads is
    what a change of them is to be reviewed for.
    """
    if key in BY_ENV:
        return BY_ENV[key].secret
    if key in ENABLED:
        return False
    if key in OLD_NAMES:  # an old name holds its setting's value
        return OLD_NAMES[key][0].secret
    from .._sources.sections import find_key, is_secret

    try:
        known = find_key(key) is not None
    except ConfigError:  # a section that does not load: what cannot be told apart is masked
        return True
    return not known or is_secret(key)


def describe(
    changes: Changes,
    existing: Mapping[str, Any],
    *,
    masked: Collection[str] = (),
    notes: Mapping[str, str] | None = None,
) -> list[str]:
    """The changes as lines for people: ``+`` added, ``~`` changed or renamed, ``-`` removed.

    Secrets are masked, and so is every key in ``masked`` (values from a source that marks them
    sensitive); ``notes`` adds a word per key (where its value came from).
    """
    lines = []
    renames = changes.renamed(existing)
    for before, after in sorted(renames.items()):
        value = raw_text(after, existing[before], secret=is_masked(after) or after in masked)
        note = f"  ({notes[after]})" if notes and after in notes else ""
        if after in existing:  # its own name held "" or null, which sets nothing
            note += f"  (in place of {after} = {json.dumps(existing[after])})"
        lines.append(f"  ~ {before} -> {after} = {value}{note}")
    said = set(renames) | set(renames.values())
    for key in sorted((set(changes.assign) | changes.removed(existing)) - said):
        secret = is_masked(key)
        old = existing.get(key)
        note = f"  ({notes[key]})" if notes and key in notes else ""
        if key in changes.assign:
            new = raw_text(key, changes.assign[key], secret=secret or key in masked)
            if key not in existing:
                lines.append(f"  + {key} = {new}{note}")
            elif old != changes.assign[key]:
                was = raw_text(key, old, secret=secret)
                lines.append(f"  ~ {key} = {new} (was {was}){note}")
        elif key in existing:
            lines.append(f"  - {key} (was {raw_text(key, old, secret=secret)}){note}")
    return [printable(line) for line in lines]


def answered(question: str, fix: str = _WIZARD_FIX) -> AbstractContextManager[None]:
    """``_common.answered``, with the wizard's advice by default."""
    return _answered(question, fix)


#: The most misspelled keys a removal command offered names
_LISTED = 10


def report_leftovers(path: str) -> None:
    """Warn about problems the profile still has in keys the command did not touch."""
    from .._resolve.resolve import report_keys
    from .._sources.keykind import LENIENT

    data = FileLayer("profile", path).read()
    problems = check_layer(data)
    print_warnings([f"the profile still has a problem: {p}" for p in problems])
    notes: list[str] = []
    report_keys(data, LENIENT, [], notes)
    from .._sources.keys import misspelled

    typos = [key for key in data.loose if misspelled(key)]
    # not applied, whatever was written beside them: said with the way to remove them; --set
    # strips a key's blanks, so one with a blank at an end is removed by hand
    removable = [
        key for key in typos if key == key.strip() and key.isprintable() and "=" not in key
    ]
    if removable:
        unset = " ".join(f"--set {shell_quote(key + '=')}" for key in removable[:_LISTED])
        more = f" (and {len(removable) - _LISTED} more)" if len(removable) > _LISTED else ""
        notes.append(
            f"remove the misspelled key{'s' if len(removable) > 1 else ''} (applied nowhere): "
            f"`metaflow-config configure aws{profile_flag_of(path)} {unset}`{more}"
        )
    if len(removable) < len(typos):  # --set would split or strip it
        notes.append(f"remove the misspelled keys with a blank or '=' from {path} in an editor")
    print_warnings(notes)


def write_changes(
    path: str,
    changes: Changes,
    existing: Mapping[str, Any],
    *,
    home: str,
    question: str | None = None,
    yes: bool = False,
    masked: Collection[str] = (),
    notes: Mapping[str, str] | None = None,
    leftovers: bool = True,
) -> dict[str, Any] | None:
    """Show ``changes`` as a diff against ``existing`` (the profile ``path`` holds), then write.

    ``question``: asked before writing, unless ``yes`` (no answer, as when there is no terminal:
    a :class:`CliError` saying nothing was written, and how to write without asking). The write
    applies the changes to what the file holds at that moment, under its lock. Returns the new
    content, or None when there was nothing to change. ``masked`` and ``notes``: see
    :func:`describe`; ``leftovers``: warn about the problems of the keys left as they were.

    Raises:
        CliError: the question was answered no, or not at all; nothing was written.

    """
    lines = describe(changes, existing, masked=masked, notes=notes)
    if lines:  # refused before the changes are shown (a read-only home, another user's file)
        check_writable(path, home=home)
    if not lines:
        click.echo("\n" + printable(f"No changes: {path} left as it was."))
        return None
    click.echo("\n" + printable(f"Changes to {path}:"))
    click.echo("\n".join(lines))
    print_warnings(malformed_assigned(changes))  # before the question: it may be answered no
    if question is not None and not yes:
        fix = "Run it again with --yes to write without asking."
        with answered(f'"{question}"', fix):
            if not yes_or_no(question, default=False):
                raise CliError(f"not written: {path} left unchanged")
    _, new = update_json(path, changes.apply, home=home)
    if not new:
        flag = profile_flag_of(path)
        click.echo(f"The profile is now empty ({{}}); `metaflow-config reset{flag}` removes it.")
    click.echo("\n" + printable(f"Configuration written to {path} (mode 0600)."))
    if leftovers:
        report_leftovers(path)
    return new


def malformed_assigned(changes: Changes) -> list[str]:
    """What the changes write that is no name its service takes (a job queue with a blank).

    Metaflow takes such a value, and the service refuses the first job (``check`` warns of it
    too: ``probes_service.malformed_name``); never the value.
    """
    from .._checks.probes_service import malformed_name  # the names services take

    said = []
    for key, value in changes.assign.items():
        setting = BY_ENV.get(key)
        found = None if setting is None else malformed_name(setting.env, value)
        if found is not None:
            said.append(f"{key} {found[0]}; set it to such a name, e.g. {found[1]}")
    return said


def activation_hint(profile: str | None) -> str:
    """How to make Metaflow (and metaflow_config) use ``profile``: lines to paste, shell-quoted."""
    lines = []
    if profile:
        lines.append(f"Activate it with:\n  export METAFLOW_PROFILE={shell_quote(profile)}")
    else:
        lines.append(
            "It is the default profile: Metaflow uses it when METAFLOW_PROFILE is not set "
            "(unset METAFLOW_PROFILE)."
        )
    home = home_dir()
    if own(os.environ, "METAFLOW_HOME"):
        if not profile:  # the line to paste needs its own lead-in
            lines.append("In a new shell, point Metaflow at this home with:")
        lines.append(f"  export METAFLOW_HOME={shell_quote(home)}")
    return "\n".join(lines)
