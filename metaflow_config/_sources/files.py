"""A config file read into a layer: the profile, or the project's ``.metaflow/config.json``.

:class:`FileLayer` reads one file (bounded and strict: ``jsonfile``) and records its keys
(``keys.take``); a project file's sensitive values are set aside unless the user trusts it
(``trust``), and a file holding secrets that others may read gets a warning.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from .._display import shell_quote
from .._model.table import BY_NAME
from .._model.values import FrozenDict
from ..errors import ConfigError, Problem
from .data import LayerData
from .keys import sensitive_key, take_all
from .sections import registry

__all__ = ["FileLayer", "fix_file_key", "layer_from_document"]


class FileLayer:
    """A JSON config file: the profile file or the project's local ``.metaflow/config.json``.

    ``home``: for a project file, the home whose trust store judges it (see :func:`_distrust`);
    ``None`` for the user's own profile.
    """

    def __init__(
        self,
        layer: str,
        path: str | None,
        problems: list[Problem] | None = None,
        home: str | None = None,
    ) -> None:
        self.layer = layer
        self.path = path
        self._problems = problems or []
        self.home = home

    @property
    def problems(self) -> list[Problem]:
        """What is wrong before the file is read: a bad home, an unsafe or missing profile."""
        return list(self._problems)

    def read(self) -> LayerData:
        """Read the file (a missing file is an empty layer)."""
        data = LayerData(self.layer, self.path or "", problems=list(self._problems))
        if not self.path or data.problems:
            return data
        link = None
        try:
            info = os.lstat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return data  # absent: an empty layer (any other failure is reported by the read)
        except (OSError, ValueError):
            pass
        else:
            link = info if stat.S_ISLNK(info.st_mode) else None
        from .jsonfile import read_json_file  # a file is there (a task often has none)

        read: list[tuple[bytes, os.stat_result]] = []
        seen = None if self.home is None else (lambda raw, st: read.append((raw, st)))
        doc, problems = read_json_file(self.path, self.layer, seen, frozen=True)
        data.problems.extend(problems)
        data.frozen = type(doc) is FrozenDict  # read frozen: within the depth bound
        layer_from_document(data, self.path, doc)
        if self.home is not None and (data.values or data.extra):
            _distrust(data, self.path, read, link, self.home)
        return data


def _distrust(
    data: LayerData,
    path: str,
    read: list[tuple[bytes, os.stat_result]],
    link: os.stat_result | None,
    home: str,
) -> None:
    """Set aside the sensitive values of a project file the user has not trusted as it is.

    Only a file that sets a sensitive key is judged (the trust store is read then, not
    otherwise); its sensitive values move from ``values``/``extra`` to ``untrusted``, and
    ``distrust`` says why.
    """
    names = [n for n in data.values if BY_NAME[n].sensitive]
    keys = [k for k in data.extra if sensitive_key(k)]
    if not names and not keys:
        return
    from .trust import FileFacts, verdict  # hashlib (OpenSSL): loaded by such a file only

    facts = FileFacts(read[0][0], read[0][1], link) if read else None
    why, advice = verdict(path, facts, home)
    if not why:
        return
    data.distrust = f"{why}; {advice}"
    for name in names:
        data.untrusted[BY_NAME[name].env] = data.values.pop(name)
    for key in keys:
        data.untrusted[key] = data.extra.pop(key)


def layer_from_document(data: LayerData, path: str, doc: dict[str, Any] | None) -> LayerData:
    """Fill ``data`` from a parsed config file ``doc``: settings, unknown keys, mode warnings.

    What :class:`FileLayer` does after reading; public so that a command that has already read
    (and will write) a document validates exactly what it read.
    """
    take_all(data, doc or {}, file=path, fix=fix_file_key)
    _check_secret_mode(data, path)
    return data


def _check_secret_mode(data: LayerData, path: str) -> None:
    """Warn when a file holding a secret setting can be read by its group or by everyone.

    Built-in secrets, and the secret keys of registered sections the file holds.
    """
    secrets = sorted(BY_NAME[n].env for n in data.values if BY_NAME[n].secret)
    if data.extra:
        try:
            known = registry()
        except ConfigError:  # a broken section: said by the read already
            known = {}
        secrets += sorted(k for k in data.extra if k in known and k in known[k].secret)
    if not secrets or os.name == "nt":
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o044:
        data.warnings.append(
            f"{path} holds secrets ({', '.join(secrets)}) and is readable by "
            f"{'everyone' if mode & 0o004 else 'its group'} (mode {mode:04o}); "
            f"run `chmod 600 {shell_quote(path)}`"
        )


def fix_file_key(location: str) -> str:
    """How to fix a bad value at ``location`` (``<path>:<key>``) of a config file."""
    path, _, key = location.rpartition(":")
    return f"correct or remove the key {key} in {path}"
