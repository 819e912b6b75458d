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
import os
import re
import sys
from collections.abc import Mapping
from itertools import islice

from .jsonfile import read_regular
from .profiles import MAX_ENTRIES
from .sections import on_reset, outside_working_directory

__all__ = [
    "MOST_BYTES",
    "OWN_ORG",
    "config_literals",
    "config_names",
    "config_settings",
    "point_files",
]

#: The organisation name of this package's own extension (``metaflow_extensions.metaflow_config``):
#: Metaflow imports one package of a name, so any folder of this name is this package's.
OWN_ORG = "metaflow_config"

#: The most of an extension's module read (Metaflow's own plugins module is 10 KB).
MOST_BYTES = 1 << 20


def point_files(point: str) -> list[tuple[str, str]]:
    """The modules of extension point ``point`` of every ``metaflow_extensions`` package.

    Each as (the organisation's package name, the module's path), in Metaflow's order of names:
    the point's ``__init__.py`` and its ``mfextinit_*.py`` modules. This package's own extension
    (:data:`OWN_ORG`) is not listed: it declares nothing a reader here reads, and a process
    meeting an unknown name would pay for reading it.
    """
    found: list[tuple[str, str]] = []
    for root in outside_working_directory(_roots()):
        for org in _listed(root):
            if org == OWN_ORG:
                continue
            folder = os.path.join(root, org, point)
            found.extend(
                (org, os.path.join(folder, f))
                for f in _listed(folder)
                if f == "__init__.py" or (f.startswith("mfextinit_") and f.endswith(".py"))
            )
    return found


def _listed(folder: str) -> list[str]:
    """The names in ``folder``, sorted; nothing where it cannot be listed.

    A bounded look (``MAX_ENTRIES``), as every look at a folder this package does not own.
    """
    try:
        with os.scandir(folder) as entries:
            return sorted(entry.name for entry in islice(entries, MAX_ENTRIES))
    except (OSError, ValueError):
        return []


def _roots() -> list[str]:
    """The ``metaflow_extensions`` folders of the ``sys.path`` entries, in their order.

    Where the namespace package's portions are (as ``importlib`` finds them: a folder of that
    name in an entry), without ``importlib.util`` (a process that meets an unknown name and has
    not imported it would pay more for it than for the whole look).
    """
    roots: list[str] = []
    for entry in list(sys.path):
        if not isinstance(entry, str):
            continue
        root = os.path.join(entry or os.curdir, "metaflow_extensions")
        if root not in roots and os.path.isdir(root):
            roots.append(root)
    return roots


#: A call of ``from_conf`` with a literal name: ``from_conf("ACME_ENDPOINT"``, or ``name=`` it.
_FROM_CONF = r"""\bfrom_conf\(\s*(?:name\s*=\s*)?(["'])([A-Za-z_][A-Za-z0-9_]*)\1"""
#: ``from_conf`` imported under another name: ``from_conf as fc``.
_ALIAS = r"\bfrom_conf[ \t]+as[ \t]+([A-Za-z_][A-Za-z0-9_]*)"
#: A top-level assignment: ``NAME = ...``, ``NAME: str = ...`` (not ``==``).
_ASSIGNED = r"^([A-Z][A-Z0-9_]*)[ \t]*(?::[^=\n]*)?=(?!=)"
#: A top-level list of debug options (``DEBUG_OPTIONS = ["acmeclient"]``): Metaflow adds each to
#: its own and reads ``METAFLOW_DEBUG_<OPTION>`` with ``from_conf`` (its profile key too).
_DEBUG_OPTIONS = r"^DEBUG_OPTIONS[ \t]*(?::[^=\n]*)?\+?=[ \t]*\[([^\]]*)\]"
_OPTION = r"""(["'])([A-Za-z0-9_]+)\1"""


@functools.lru_cache(maxsize=1)
def _config_texts() -> tuple[tuple[str, str], ...]:
    """The text of each installed extension's ``config`` module, with its organisation."""
    texts = []
    for org, path in point_files("config"):
        data = read_regular(path, MOST_BYTES)[0]  # a FIFO, a device, a huge file: nothing
        if data is not None:
            texts.append((org, data.decode("utf-8", "replace")))
    return tuple(texts)


@functools.lru_cache(maxsize=1)
def config_names() -> Mapping[str, str]:
    """The variables the installed extensions' ``config`` modules read: name -> organisation.

    A name is ``METAFLOW_`` and what a ``from_conf`` call names as a literal (as Metaflow reads
    it: the environment variable, and the key of a profile or project file), ``from_conf``
    imported under another name too, and ``METAFLOW_DEBUG_<OPTION>`` of each option a
    top-level ``DEBUG_OPTIONS`` list names (Metaflow reads those with ``from_conf`` too). A name
    built by code cannot be read so. This package's
    own extension reads nothing so. The patterns are compiled only for a module that calls
    ``from_conf`` at all: a process meeting an unknown name pays for no more.
    """
    names: dict[str, str] = {}
    for org, text in _config_texts():
        if "DEBUG_OPTIONS" in text:  # Metaflow reads DEBUG_<OPTION> of each with from_conf
            for listed in re.finditer(_DEBUG_OPTIONS, text, re.MULTILINE):
                for option in re.finditer(_OPTION, listed.group(1)):
                    names.setdefault("METAFLOW_DEBUG_" + option.group(2).upper(), org)
        if "from_conf" not in text:
            continue
        called = ["from_conf", *map(re.escape, re.findall(_ALIAS, text))]
        calls = _FROM_CONF.replace("from_conf", f"(?:{'|'.join(called)})", 1)
        for match in re.finditer(calls, text):
            names.setdefault("METAFLOW_" + match.group(2), org)
    return names


@functools.lru_cache(maxsize=1)
def config_settings() -> Mapping[str, str]:
    """The settings (by short name) that installed extensions' ``config`` modules assign.

    Metaflow copies a config extension's names over its module's, so for these Metaflow runs on
    the extension's value (its ``from_conf`` default, say), not on this resolution's. A
    top-level ``NAME = ...`` of a setting's name, read as text: name -> organisation.
    """
    from .._model.table import BY_NAME

    assigned: dict[str, str] = {}
    for org, text in _config_texts():
        for match in re.finditer(_ASSIGNED, text, re.MULTILINE):
            if match.group(1) in BY_NAME:
                assigned.setdefault(match.group(1), org)
    return assigned


#: A top-level assignment of a string literal on one line: ``NAME = "text"`` (group 3).
_LITERAL = r"""^([A-Z][A-Z0-9_]*)[ \t]*(?::[^=\n]*)?=[ \t]*(["'])([^"'\\\n]*)\2[ \t]*(?:#.*)?$"""


@functools.lru_cache(maxsize=1)
def config_literals() -> Mapping[str, str]:
    """The settings installed extensions' ``config`` modules assign a plain string literal.

    ``KUBERNETES_SECRETS = "acme-secrets"`` as text: short name -> the string, where the last
    assignment of the name (Metaflow applies the extensions in order, each over the last) is
    such a literal. A value built by code, or a string with a quote or an escape in it, is not
    read so: :func:`config_settings` still names the setting.
    """
    last: dict[str, str | None] = {}
    for _, text in _config_texts():
        for match in re.finditer(_ASSIGNED, text, re.MULTILINE):
            end = text.find("\n", match.start())
            line = text[match.start() : end if end >= 0 else len(text)]
            literal = re.fullmatch(_LITERAL, line)
            last[match.group(1)] = literal.group(3) if literal else None
    settings = config_settings()
    return {n: v for n, v in last.items() if v is not None and n in settings}


def _forget() -> None:
    for cached in (_config_texts, config_names, config_settings, config_literals):
        cached.cache_clear()


on_reset(_forget)  # a test that adds an extension reads them again
