"""``metaflow-config trust``: let a project file set the settings that decide where data goes.

The record is the user's own (``$METAFLOW_HOME/trusted.json``, see ``_sources.trust``).
"""

from __future__ import annotations

import os

import click

from .._display import printable, shell_quote
from .._model.table import BY_NAME
from .._resolve.resolve import MAX_UNKNOWN_REPORTED
from .._sources.data import LayerData
from .._sources.environ import own
from .._sources.files import foreign_keys, layer_from_document
from .._sources.keys import keys_said, read_keys, sensitive_key
from .._sources.profiles import PROJECT_VAR, find_local_config
from .._sources.trust import (
    FileFacts,
    never_trusted,
    read_facts,
    read_store,
    record,
    store_path,
    trust_key,
)
from .._sources.trust import revoke as revoke_trust
from ..errors import ConfigError
from ._common import CliError, home_dir

__all__ = ["trust_cmd"]


def _project_file(path: str | None, *, revoke: bool = False) -> str:
    """The project file meant by ``path`` (a file, a project folder or its ``.metaflow``).

    No ``path``: the one found walking up from the working directory (or from
    ``$METAFLOW_CONFIG_PROJECT``), as the resolver finds it.
    """
    if path is None:
        start = own(os.environ, PROJECT_VAR) or os.getcwd()
        found = find_local_config(start)
        if found is None:
            msg = (
                f"no project file: no .metaflow directory at or above {start}; "
                f"give the file (metaflow-config trust {'--revoke ' if revoke else ''}PATH)"
            )
            raise CliError(msg)
        return found
    target = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(target):
        inner = os.path.join(target, ".metaflow")
        is_meta = os.path.basename(target) == ".metaflow"  # its own, whatever it holds
        folder = inner if not is_meta and os.path.isdir(inner) else target
        target = os.path.join(folder, "config.json")
    parts = target.split(os.sep)
    if not revoke and parts[-2:] != [".metaflow", "config.json"]:  # read as no project file
        msg = (
            f"{path} is not a project file: no resolution reads it. A project's file is "
            "<folder>/.metaflow/config.json, found walking up from where a flow runs; give "
            "that file or its folder (or, for a profile, `metaflow-config import "
            f"{shell_quote(path)}`)"
        )
        raise CliError(msg)
    return trust_key(target)  # the file as the trust store and the resolver name it


def _facts(path: str) -> FileFacts | None:
    """What reading ``path`` saw (``None``: nothing could be read, or there is no file)."""
    try:
        return read_facts(path)[0]
    except FileNotFoundError:
        return None


def _sensitive(data: LayerData) -> list[str]:
    """The keys of ``data`` that only a trusted file may set (built-in or a section's)."""
    keys = [BY_NAME[n].env for n in data.values if BY_NAME[n].sensitive]
    return keys + [k for k in data.extra if sensitive_key(k)]


@click.command(
    "trust",
    epilog="""\b
Examples:
  metaflow-config trust                     # the project file found from here
  metaflow-config trust ~/src/project       # a project folder (its .metaflow/config.json)
  metaflow-config trust --list
  metaflow-config trust --revoke
""",
)
@click.option("--list", "list_", is_flag=True, help="List the trusted files and their state.")
@click.option("--revoke", is_flag=True, help="Stop trusting the file.")
@click.argument("path", required=False, type=click.Path(dir_okay=True))
def trust_cmd(list_: bool, revoke: bool, path: str | None) -> None:
    """Trust a project's .metaflow/config.json to set what decides where data goes.

    A project file (found walking up from the working directory) may set the settings that
    decide where data or credentials go (service URLs and headers, S3 endpoint and roots, roles,
    secrets) only once you trust its current content: an edit needs a new trust. The record is
    kept in $METAFLOW_HOME/trusted.json. A file owned by another user, or writable by others,
    cannot be trusted.
    """
    home = home_dir()
    if list_:
        if revoke or path:
            raise click.UsageError("--list takes no PATH and no --revoke")
        _list(home)
        return
    target = _project_file(path, revoke=revoke)
    if revoke:
        was = revoke_trust(home, target)
        click.echo(
            printable(f"{'Revoked' if was else 'Not trusted (nothing to revoke)'}: {target}")
        )
        return
    try:
        facts, doc, problems = read_facts(target)
    except FileNotFoundError:
        raise CliError(f"{target}: no such file") from None
    if problems or facts is None:
        raise ConfigError(problems)
    record(home, target, facts)
    data = layer_from_document(LayerData("local", target), target, doc)
    # a misspelled key is not applied, trusted or not: its own warning says so
    others, more = read_keys(foreign_keys(data, doc or {}), MAX_UNKNOWN_REPORTED)
    keys = _sensitive(data) + others
    allows = (
        f"it may now set {keys_said(keys, more)}"
        if keys or more
        else "it sets nothing that needs trust today; an edit needs a new trust"
    )
    click.echo(printable(f"Trusted {target} as it is now (sha256 {facts.digest[:12]}): {allows}"))


def _list(home: str) -> None:
    trusted, refused = read_store(home)
    if refused:
        raise CliError(f"{refused}: nothing is trusted until it is repaired")
    if not trusted:
        click.echo(printable(f"No trusted project files ({store_path(home)})."))
        return
    for real, digest in sorted(trusted.items()):
        facts = _facts(real)
        why = "" if facts is None else never_trusted(facts, real)
        if facts is None:
            state = "missing or unreadable"
        elif why:
            state = f"not trusted: {why}"
        elif facts.digest != digest:
            state = "changed since trusted: not trusted until trusted again"
        else:
            state = "trusted"
        click.echo(printable(f"{real}  {state}"))
