"""Rendering the settings in force as a table (used by ``python -m metaflow_config``)."""

from __future__ import annotations

import sys
from typing import TextIO

from ._runtime import load
from ._settings import Settings
from ._table import FIELDS
from .errors import ConfigError


def rows(snapshot: Settings, *, include_defaults: bool) -> list[tuple[str, str, str, str]]:
    """(name, masked value, source, location) for each setting, defaults only if asked."""
    result = []
    for field in FIELDS:
        info = snapshot.explain(field.env)
        if not include_defaults and info.source == "default":
            continue
        result.append((field.env, info.shown, info.source, info.location))
    return result


def render(snapshot: Settings, *, include_defaults: bool, out: TextIO) -> None:
    """Write the table of settings in force to ``out``."""
    profile = snapshot.profile or "default"
    out.write(f"# profile: {profile} ({snapshot.profile_path})\n")
    if snapshot.local_path:
        out.write(f"# local config: {snapshot.local_path}\n")
    table = rows(snapshot, include_defaults=include_defaults)
    if not table:
        out.write(
            "# no setting is configured: local mode, every value is its default "
            "(use --all to list them)\n"
        )
        return
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for name, value, source, location in table:
        out.write(f"{name:<{widths[0]}}  {value:<{widths[1]}}  {source:<{widths[2]}}  {location}\n")


def show_main(argv: list[str]) -> int:
    """``python -m metaflow_config [--all]``: print the settings in force."""
    try:
        snapshot = load()
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    render(snapshot, include_defaults="--all" in argv, out=sys.stdout)
    return 0
