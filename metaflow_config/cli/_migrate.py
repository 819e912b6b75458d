"""``migrate``: a profile's old names of settings renamed to the current ones, values unchanged."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import click

from .._display import printable
from .._model import metaflow_names as mf
from .._model.fields import Setting, is_unset
from .._model.table import BY_ENV
from .._resolve.validate import validate
from .._sources.data import LayerData, Raw
from .._sources.keykind import OLD, RETIRED
from .._sources.keys import classify
from .._sources.writes import read_json_object
from ..errors import ConfigError
from ._changes import Changes, write_changes
from ._common import (
    CliError,
    home_dir,
    missing_profile,
    profile_file,
    profile_label,
    profile_option,
    selected_profile,
    yes_option,
)

__all__ = ["migrate_cmd", "migration"]


def migration(doc: Mapping[str, Any]) -> tuple[Changes, dict[str, str]]:
    """What migrating the profile ``doc`` changes, and a note on each key it renames or drops.

    An old name in force is renamed to the setting's own name, in place; one not in force is
    removed, as is a name Metaflow no longer reads. In force as the resolver applies a file's
    keys (``_sources.keys.put``): a key holding ``""`` or ``null`` sets nothing, the setting's
    own name beats its other names, and of those the first applies. The own name holding
    ``""`` or ``null`` beside the old name in force goes with the rename. So the profile
    resolves to the same values after as before.
    """
    changes = Changes()
    notes: dict[str, str] = {}
    in_force: dict[str, str] = {}  # setting -> the key the profile applies it from
    old: dict[str, Setting] = {}  # the old names the profile holds, with their settings
    for key, value in doc.items():
        field = BY_ENV.get(key)
        if field is None:
            found = classify(key, file=True)
            if found.kind == RETIRED:
                changes.remove.add(key)
                notes[key] = f"no effect since Metaflow {mf.RETIRED[key][0]}"
                continue
            if found.kind != OLD or found.field is None:
                continue
            field = old[key] = found.field
        if is_unset(value):
            continue
        if key in (field.env, field.name) or field.name not in in_force:
            in_force[field.name] = key
    for key, field in old.items():
        if in_force.get(field.name) == key:
            changes.rename[key] = field.env
            if field.env in doc:  # holding "" or null: the old name's value takes its place
                changes.remove.add(field.env)
        else:
            changes.remove.add(key)
            notes[key] = (
                f"old name of {field.env}, not in force: {in_force[field.name]} is"
                if field.name in in_force
                else f"old name of {field.env}, set to {json.dumps(doc[key])}: sets nothing"
            )
    return changes, notes


def _refuse_invalid_renames(changes: Changes, doc: Mapping[str, Any], path: str) -> None:
    """Refuse to rename an old name whose value its setting refuses (nothing is written).

    No Metaflow release read some old names (``METAFLOW_DATATOOLS_SYSROOT_S3``): renamed, an
    invalid value would reach Metaflow's own reading too, where the derived one worked.
    """
    layer = LayerData("profile")
    raws = {
        BY_ENV[name].name: (layer, Raw(doc[key], f"{path}:{key}"))
        for key, name in changes.rename.items()
    }
    problems = validate(raws)[1]
    if problems:
        keys = {f"{path}:{key}": key for key in changes.rename}
        raise ConfigError(
            [
                dataclasses.replace(
                    p,
                    fix=f"correct (or remove) {keys.get(p.location, p.setting)} in {path} first, "
                    "then migrate: renamed, its value would be Metaflow's own reading's too",
                )
                for p in problems
            ]
        )


@click.command(
    "migrate",
    epilog="""\b
Examples:
  metaflow-config migrate               # the default profile: shows the renames, asks
  metaflow-config migrate -p prod --yes # without asking
""",
)
@profile_option
@yes_option
def migrate_cmd(profile: str | None, yes: bool) -> None:
    """Rename the old names of settings in a profile to the current ones (values unchanged).

    An old name Metaflow or its wizard used (METAFLOW_DATATOOLS_SYSROOT_S3 for
    METAFLOW_DATATOOLS_S3ROOT, METAFLOW_DECOSPECS, METADATA_SERVICE_URL, ...: `metaflow-config
    explain` lists a setting's) is renamed in place; where it is not the key in force (the
    profile sets the current name too), it is removed, and so is a name Metaflow no longer reads
    at all. The profile resolves to the same values after as before. Shows the changes and asks
    before writing (atomically, mode 0600).
    """
    name = selected_profile(profile)
    flag = "-p/--profile" if profile else None
    path = profile_file(name, flag)
    doc = read_json_object(path)
    if doc is None:
        if name:
            raise missing_profile(name, path, flag)
        raise CliError(f"nothing to migrate: {path} does not exist")
    changes, notes = migration(doc)
    _refuse_invalid_renames(changes, doc, path)
    if not changes.rename and not changes.remove:
        click.echo(printable(f"Nothing to migrate: {path} holds no old name of a setting."))
        return
    question = f"Write these changes to {profile_label(name)}?"
    new = write_changes(
        path, changes, doc, home=home_dir(), question=question, yes=yes, notes=notes
    )
    if new is not None:
        count = len(changes.rename) + len(changes.remove - set(changes.rename.values()))
        click.echo(f"Migrated {count} key(s); the values in force are unchanged.")
