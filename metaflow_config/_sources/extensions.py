"""What the installed Metaflow extensions declare, read from their sources, never imported.

An organisation's Metaflow extension is a ``metaflow_extensions.<org>`` package; Metaflow imports
its extension points, each a folder of modules (``config/mfextinit_<org>.py``,
``plugins/__init__.py``, ...). This package must know some of what they declare without importing
Metaflow (which would run this package's own extension and cost a resolution a fifth of a second)
and without running their code: :func:`point_files` lists an extension point's modules, which
their readers read as text, bounded (``jsonfile.read_regular``). :func:`config_names` gives the
configuration names the ``config`` modules read with Metaflow's ``from_conf`` (a variable such as
``METAFLOW_ACME_ENDPOINT`` is then the extension's, not an unknown name); the ``plugins`` modules
are read by ``plugins`` (the plugin names).

The working directory's own ``metaflow_extensions`` (a cloned repository's) counts for none of it
(``sections.outside_working_directory``). Each is read once per process, at the first name that
needs it: a process that meets no unknown name reads none of this.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from collections.abc import Mapping

from .jsonfile import read_regular
from .sections import on_reset, outside_working_directory

__all__ = ["MOST_BYTES", "config_names", "config_settings", "point_files"]

#: The most of an extension's module read (Metaflow's own plugins module is 10 KB).
MOST_BYTES = 1 << 20


def point_files(point: str) -> list[tuple[str, str]]:
    """The modules of extension point ``point`` of every ``metaflow_extensions`` package.

    Each as (the organisation's package name, the module's path), in Metaflow's order of names:
    the point's ``__init__.py`` and its ``mfextinit_*.py`` modules.
    """
    try:
        spec = importlib.util.find_spec("metaflow_extensions")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    found: list[tuple[str, str]] = []
    for root in outside_working_directory(spec.submodule_search_locations):
        try:
            organisations = sorted(os.listdir(root))
        except OSError:
            continue
        for org in organisations:
            folder = os.path.join(root, org, point)
            try:
                files = sorted(os.listdir(folder))
            except OSError:
                continue
            found.extend(
                (org, os.path.join(folder, f))
                for f in files
                if f == "__init__.py" or (f.startswith("mfextinit_") and f.endswith(".py"))
            )
    return found


#: A call of ``from_conf`` with a literal name: ``from_conf("ACME_ENDPOINT"``, or ``name=`` it.
_FROM_CONF = re.compile(r"""\bfrom_conf\(\s*(?:name\s*=\s*)?(["'])([A-Za-z_][A-Za-z0-9_]*)\1""")


def config_names() -> Mapping[str, str]:
    """The variables the installed extensions' ``config`` modules read: name -> organisation.

    A name is ``METAFLOW_`` and what a ``from_conf`` call names as a literal (as Metaflow reads
    it: the environment variable, and the key of a profile or project file). A name built by
    code cannot be read so. This package's own extension reads nothing so.
    """
    return _config_scan()[0]


def config_settings() -> Mapping[str, str]:
    """The settings (by short name) that installed extensions' ``config`` modules assign.

    Metaflow copies a config extension's names over its module's, so for these Metaflow runs on
    the extension's value (its ``from_conf`` default, say), not on this resolution's. A
    top-level ``NAME = ...`` of a setting's name, read as text: name -> organisation.
    """
    return _config_scan()[1]


#: ``from_conf`` imported under another name: ``from_conf as fc``.
_ALIAS = re.compile(r"\bfrom_conf[ \t]+as[ \t]+([A-Za-z_][A-Za-z0-9_]*)")
#: A top-level assignment: ``NAME = ...``, ``NAME: str = ...`` (not ``==``).
_ASSIGNED = re.compile(r"^([A-Z][A-Z0-9_]*)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def _config_scan() -> tuple[Mapping[str, str], Mapping[str, str]]:
    from .._model.table import BY_NAME

    names: dict[str, str] = {}
    assigned: dict[str, str] = {}
    for org, path in point_files("config"):
        data = read_regular(path, MOST_BYTES)[0]  # a FIFO, a device, a huge file: nothing
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        calls = _FROM_CONF
        aliases = _ALIAS.findall(text)  # from ... import from_conf as fc
        if aliases:
            called = "|".join(["from_conf", *map(re.escape, aliases)])
            calls = re.compile(_FROM_CONF.pattern.replace("from_conf", f"(?:{called})", 1))
        for match in calls.finditer(text):
            names.setdefault("METAFLOW_" + match.group(2), org)
        for match in _ASSIGNED.finditer(text):
            if match.group(1) in BY_NAME:
                assigned.setdefault(match.group(1), org)
    return names, assigned


on_reset(_config_scan.cache_clear)  # a test that adds an extension reads them again
