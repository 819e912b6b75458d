"""A profile from the deployed stack: ``import --from-cloudformation`` and ``--from-terraform``.

The outputs of a CloudFormation stack, or of ``terraform output -json``, are mapped to settings
by what the settings table knows: the ``[METAFLOW_*]`` tag in an output's description (the
official template tags each one), else an output named after a setting (the Terraform module's
``METAFLOW_BATCH_JOB_QUEUE``, ..., and the keys of its ``metaflow_profile_json``). Aliases and
registered sections' keys count; an unknown name is listed with its did-you-mean, not imported.
An empty output (``""``, ``null``) is not set; a placeholder (``## Replace ... ##``) is not a
value. The output that holds the API key's id (``ApiKeyId``) is read by that id from API Gateway.

Then the one path of every profile write (``_changes``): every value validated at once as a
profile's (an invalid one names the output, the setting and the fix; nothing is written), the
diff against the profile (secrets and sensitive outputs masked), a confirmation unless ``--yes``,
the keys the source does not set kept, the locked, atomic 0600 write.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from .._display import MASK, printable, shell_quote
from .._model.fields import PREFIX, is_unset
from .._model.kinds import plain_problem
from .._model.table import BY_ENV, BY_NAME, find
from .._resolve.validate import check_layer, validate_value
from .._sources.data import LayerData
from .._sources.files import layer_from_document
from .._sources.keys import suggest
from .._sources.writes import check_writable, read_json_object
from ..errors import ConfigError, Problem
from . import _stack_sources as sources
from ._changes import Changes, activation_hint, is_masked, write_changes
from ._common import (
    home_dir,
    is_placeholder,
    profile_file,
    profile_flag,
    profile_label,
    raw_text,
    selected_profile,
)
from ._stack_sources import Output, Source
from ._wizard import CAPABILITIES

__all__ = ["import_stack"]

#: A setting named in an output's description: ``[METAFLOW_BATCH_JOB_QUEUE]``
_TAG = re.compile(r"\[\s*(METAFLOW_[A-Za-z0-9_]+)\s*\]")
#: The setting whose stack output holds the id of its value, not the value: the API key
_AUTH_KEY = BY_NAME["SERVICE_AUTH_KEY"].env


@dataclass
class Found:
    """The outputs mapped to profile keys: the values, where each came from, what was left out."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, list[Output]] = field(default_factory=dict)
    #: profile key -> the output holding the id of its value (the API key's)
    ids: dict[str, Output] = field(default_factory=dict)
    #: (output key, why it is not imported), in the source's order
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: profile keys set by the source itself (not implied), each with a word on where from
    notes: dict[str, str] = field(default_factory=dict)
    conflicts: list[Problem] = field(default_factory=list)
    #: how many outputs named a setting the table (or a registered section) knows
    claimed: int = 0

    @property
    def masked(self) -> set[str]:
        """The profile keys whose value came from a sensitive output."""
        return {k for k, outs in self.sources.items() if any(o.sensitive for o in outs)}

    def add(self, key: str, value: Any, output: Output, label: str, *, note: str = "") -> None:
        """Record ``value`` for ``key`` from ``output`` (``label``: the source).

        A different value already there is a conflict, naming both outputs.
        """
        if key in self.values and not _same(key, self.values[key], value):
            self.conflicts.append(
                _conflict(key, label, (self.sources[key][0], self.values[key]), (output, value))
            )
            return
        self.values[key] = value
        self.sources.setdefault(key, []).append(output)
        self.notes[key] = note or "from " + ", ".join(o.key for o in self.sources[key])

    def add_id(self, key: str, output: Output, label: str) -> None:
        """Record ``output`` as holding the id of ``key``'s value; another id is a conflict."""
        first = self.ids.setdefault(key, output)
        if first.value != output.value:
            self.conflicts.append(
                _conflict(key, label, (first, first.value), (output, output.value))
            )


def _same(key: str, first: Any, second: Any) -> bool:
    """Whether two outputs give ``key`` one value: equal, or equal as the setting reads them.

    A number and its text (``7`` and ``"7"``), a boolean and its word (``true``, ``"True"``):
    one value, as Metaflow (and a profile) reads either.
    """
    if first == second:
        return True
    setting = BY_ENV.get(key)
    if setting is None:
        return False
    try:
        return bool(validate_value(setting, first) == validate_value(setting, second))
    except ConfigError:  # either is invalid: two different values, and its problem is said
        return False


def _conflict(
    key: str, label: str, first: tuple[Output, Any], second: tuple[Output, Any]
) -> Problem:
    """Two outputs that give ``key`` two values: the problem naming both.

    ``first`` and ``second`` are ``(output, value)``; each value is masked as its setting and
    its source require.
    """
    return Problem.bad_value(
        key,
        label,
        f"outputs {first[0].key} and {second[0].key}",
        expected="one value from the outputs that name it, found two: "
        f"{_shown(key, first[1], first[0])} and {_shown(key, second[1], second[0])}",
        fix="make the outputs agree, or take the setting's tag or name off one",
    )


def _shown(key: str, value: Any, output: Output) -> str:
    """``value`` of ``key`` for a message: masked when secret or from a sensitive output."""
    return f"{output.key} = {raw_text(key, value, secret=output.sensitive or is_masked(key))}"


def _setting_key(name: str) -> str | None:
    """The profile key of the setting ``name`` (an alias gives its setting's), else None."""
    setting = find(name) if name.startswith(PREFIX) else None
    if setting is not None:
        return setting.env
    from .._sources.sections import find_key

    try:
        registered = find_key(name) if name.startswith(PREFIX) else None
    except ConfigError:  # a section that does not load: said where it is used
        return None
    return None if registered is None else registered[1]


def _holds_an_id(output: Output) -> bool:
    """Whether ``output`` holds the id of the API key rather than the key (``ApiKeyId``)."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", output.key)
    return (bool(words) and words[-1].lower() == "id") or "key id" in output.description.lower()


def map_outputs(outputs: Iterable[Output], label: str) -> Found:
    """The outputs mapped to profile keys by the settings table (``label``: the source).

    An output maps by each ``[METAFLOW_*]`` tag of its description, else by its ``name``.
    """
    found = Found()
    for output in outputs:
        names = list(dict.fromkeys(_TAG.findall(output.description)))
        if not names and output.name is not None:
            names = [output.name]
        if not names:
            found.skipped.append((output.key, "no [METAFLOW_*] tag, and not named after a setting"))
            continue
        for name in names:
            key = _setting_key(name)
            if key is None:
                found.skipped.append((output.key, f"{name} is not a setting; {suggest(name)}"))
                continue
            found.claimed += 1
            if is_unset(output.value):
                found.skipped.append((output.key, f"empty: {key} not set"))
            elif is_placeholder(output.value):
                found.skipped.append((output.key, _placeholder(key, output)))
            elif key == _AUTH_KEY and _holds_an_id(output):
                found.add_id(key, output, label)
            else:
                found.add(key, output.value, output, label)
    return found


def _placeholder(key: str, output: Output) -> str:
    """Why a placeholder is not imported, and how to get the value (the API key's command)."""
    # the key's id (letters and digits: the value it names is fetched with permission only),
    # from a sensitive output too: the placeholder holds no secret, and the command is the way
    text = output.value if isinstance(output.value, str) else ""
    key_id = re.search(r"--api-key\s+([A-Za-z0-9]+)", text) if key == _AUTH_KEY else None
    if key_id is None:
        return f"a placeholder, not a value: {key} not set"
    fetch = (
        f"aws apigateway get-api-key --api-key {shell_quote(key_id.group(1))} --include-value "
        "--query value --output text"
    )
    return (
        f"a placeholder, not a value: {key} not set (fetch the key with `{fetch}`; "
        "`metaflow-config configure aws` asks for it unechoed)"
    )


def _implied(found: Found) -> dict[str, tuple[str, str]]:
    """What the guides set once the stack provides a capability (the wizard's fixed values).

    ``DEFAULT_DATASTORE=s3`` with a datastore root, ``DEFAULT_METADATA=service`` with a service
    URL, unless the source sets them itself.
    """
    implied = {}
    for cap in CAPABILITIES:
        given = [BY_NAME[name].env for name in cap.required]
        if cap.fixed and given and all(k in found.values for k in given):
            for name, value in cap.fixed.items():
                if BY_NAME[name].env not in found.values:
                    implied[BY_NAME[name].env] = (value, f"implied by {', '.join(given)}")
    return implied


def _problems(found: Found, label: str, fix: Callable[[list[Output]], str]) -> list[Problem]:
    """Every value validated as a profile's, at once: the problems, each naming its outputs.

    ``fix``: how to correct the outputs given. A sensitive output's value and detail are masked.
    """
    data = layer_from_document(LayerData("profile"), "", dict(found.values))
    problems = check_layer(data)
    if data.extra:  # keys of registered sections: checked by their models
        from ..pydantic import layer_problems

        problems.extend(layer_problems(data))
    told = []
    for problem in problems:
        outputs = found.sources.get(problem.setting)
        if not outputs:
            told.append(problem)
            continue
        hidden = any(o.sensitive for o in outputs)  # the detail may quote the value too
        told.append(
            dataclasses.replace(
                problem,
                layer=label,
                location=f"output {', '.join(o.key for o in outputs)}",
                value=MASK if hidden and problem.value else problem.value,
                expected=_sensitive_detail(problem, found) if hidden else problem.expected,
                fix=f"{fix(outputs)}; nothing was written",
            )
        )
    return told


def _sensitive_detail(problem: Problem, found: Found) -> str:
    """What a setting from a sensitive output expects, with no detail that may quote its value.

    A secret setting's detail is already said as a secret's (the character and its position,
    never its text: ``validate``); of any other setting, only a control character and where.
    """
    setting = BY_ENV.get(problem.setting)
    if setting is None:
        return "a value its section's model accepts (the detail is not shown: it is sensitive)"
    if setting.secret:
        return problem.expected
    raw = found.values.get(problem.setting)
    bad = plain_problem(raw) if isinstance(raw, str) else None
    return f"{setting.kind.expected} ({bad})" if bad else setting.kind.expected


# --- the command ------------------------------------------------------------------------------


def _nothing(source: Source, found: Found) -> ConfigError:
    """The error of a source with no Metaflow output that has a value (naming the source)."""
    fix = (
        "import from the stack (or outputs) that deploys Metaflow; `metaflow-config docs` lists "
        "the settings' names"
    )
    if found.claimed:
        expected = (
            "a Metaflow output with a value (each output that names a setting is empty or a "
            "placeholder)"
        )
    else:
        keys = [o.key for o in source.outputs]
        listed = f"its outputs: {', '.join(keys[:20])}{', ...' if len(keys) > 20 else ''}"
        expected = (
            "Metaflow outputs: an output whose description is tagged [METAFLOW_*], or that is "
            f"named after a setting (none is; {listed if keys else 'it has no outputs'})"
        )
    return ConfigError([Problem.missing(source.label, expected, fix)])


def _changes(found: Found, existing: Mapping[str, Any]) -> Changes:
    """The values as changes: the keys the source does not set kept, an alias replaced."""
    changes = Changes(assign={key: _as_written(key, v) for key, v in found.values.items()})
    for key in found.values:
        setting = BY_ENV.get(key)
        aliases = () if setting is None else (setting.env, *setting.aliases)
        changes.remove.update(a for a in aliases if a != key and a in existing)
    return changes


def _as_written(key: str, value: Any) -> Any:
    """``value`` as the profile holds it: a list or an object for a text setting as its text.

    Metaflow alone reads a text setting's list as ``str(list)`` (``"['s1', 's2']"``: secrets
    named ``['s1'`` and `` 's2']``); written as the text this package holds (``s1,s2``, the
    tolerations' JSON), both read one value. A setting whose value is an object or a list in
    Metaflow too (``SERVICE_HEADERS``) keeps it.
    """
    setting = BY_ENV.get(key)
    if setting is None or not isinstance(value, (dict, list)):
        return value
    try:
        typed = validate_value(setting, value)
    except ConfigError:  # said by the check of the values
        return value
    return str(typed) if isinstance(typed, str) else value


def _read(found: Found, source: Source) -> None:
    """Fetch the values the outputs hold the ids of (offline: listed as not imported)."""
    disputed = {p.setting for p in found.conflicts}
    for key, output in found.ids.items():
        if key in disputed:  # two ids: neither is read
            continue
        if source.fetch is None:
            found.skipped.append((output.key, f"the id of the API key, not {key}"))
            continue
        value = source.fetch(output)
        found.add(key, value, output, source.label, note=f"fetched by the id in {output.key}")
        click.echo(f"Fetched the API key by the id in output {printable(output.key)}.")


def import_stack(
    *,
    profile: str | None,
    yes: bool,
    stack: str | None = None,
    terraform: str | None = None,
    region: str | None = None,
    aws_profile: str | None = None,
) -> None:
    """``import --from-cloudformation STACK`` / ``--from-terraform FILE`` into ``profile``."""
    name = selected_profile(profile)
    target = profile_file(name, "-p/--profile" if profile else None, creating=True)
    home = home_dir()
    check_writable(target, home=home)  # before AWS is asked: a refusal costs nothing
    existing = read_json_object(target) or {}
    if stack is not None:
        source = sources.cloudformation(stack, region, aws_profile)
    else:
        source = sources.terraform(os.path.abspath(os.path.expanduser(str(terraform))))
    found = map_outputs(source.outputs, source.label)
    _read(found, source)
    if found.skipped:
        click.echo(f"Not imported ({len(found.skipped)} output(s)):")
        click.echo("\n".join(printable(f"  {key}: {why}") for key, why in found.skipped))
    if not found.values and not found.conflicts:
        raise _nothing(source, found)
    problems = [*found.conflicts, *_problems(found, source.label, source.fix)]
    if problems:  # every one at once; nothing is written
        raise ConfigError(problems)
    for key, (value, note) in _implied(found).items():
        found.values[key] = value
        found.notes[key] = note
    changes = _changes(found, existing)
    new = write_changes(
        target,
        changes,
        existing,
        home=home,
        question=f"Write these changes to {profile_label(name)}?",
        yes=yes,
        masked=found.masked,
        notes=found.notes,
    )
    if new is None:
        return
    kept = sorted(set(existing) - set(changes.assign) - changes.remove)
    if kept:
        click.echo(f"Kept {len(kept)} key(s) of the profile that the source does not set.")
    click.echo(activation_hint(name))
    check = f"metaflow-config check --aws{profile_flag(name)}"
    click.echo(f"Then check it against AWS:\n  {check}")
