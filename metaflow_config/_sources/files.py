"""A config file read into a layer: the profile, or the project's ``.metaflow/config.json``.

:class:`FileLayer` reads one file (bounded and strict: ``jsonfile``) and records its keys
(``keys.take``); a project file's sensitive values are set aside unless the user trusts it
(``trust``), and a file holding secrets that others may read gets a warning.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Any

from .._display import shell_quote
from .._model.references import MARK, Reference, parse_reference
from .._model.table import BY_ENV, BY_NAME, OLD_NAMES
from .._model.values import FrozenDict
from ..errors import ConfigError, Problem
from .data import LayerData, Raw
from .keys import is_section_key, sensitive_key, take_all
from .profiles import planted_by_another, written_by_others
from .sections import registry

__all__ = ["FileLayer", "fix_file_key", "foreign_keys", "layer_from_document"]


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
        return self.read_document()[0]

    def read_document(self) -> tuple[LayerData, Mapping[str, Any] | None]:
        """Read the file: the layer, and the document it was made of.

        The document is read-only, and ``None`` when there is no file or none could be read.
        One read: what the layer withholds is judged on the very bytes the document holds.
        """
        data = LayerData(self.layer, self.path or "", problems=list(self._problems))
        if not self.path or data.problems:
            return data, None
        link = None
        try:
            info = os.lstat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return data, None  # absent: an empty layer (any other failure: said by the read)
        except (OSError, ValueError):
            pass
        else:
            link = info if stat.S_ISLNK(info.st_mode) else None
        anothers = "" if self.home is None else _anothers(self.path, link)  # a project file
        if anothers:
            return _not_read(data, self.path, anothers), FrozenDict()
        from .jsonfile import read_json_file  # a file is there (a task often has none)

        read: list[tuple[bytes, os.stat_result]] = []
        doc, problems = read_json_file(
            self.path, self.layer, lambda raw, st: read.append((raw, st)), frozen=True
        )
        if self.home is not None:  # a project file
            anothers = planted_by_another(read[0][1], link, self.path) if read else ""
            if anothers:  # swapped since it was looked at
                return _not_read(data, self.path, anothers), FrozenDict()
        elif read:  # the user's own file: applied whole, so said where others may write it
            _check_writers(data, self.path, read[0][1], link)
        data.problems.extend(problems)
        data.frozen = type(doc) is FrozenDict  # read frozen: within the depth bound
        layer_from_document(data, self.path, doc)
        if self.home is not None and doc:
            _distrust(data, self.path, read, link, self.home, doc)
        return data, doc


def _check_writers(
    data: LayerData, path: str, info: os.stat_result, link: os.stat_result | None
) -> None:
    """Warn where others may write the profile ``path`` (``info``: the file read), as ssh does.

    A profile is applied whole, its settings that decide where data and credentials go
    included: whoever may write it decides them. The rule a project file is judged by
    (:func:`profiles.written_by_others`): the file's owner and mode, its symlink's
    (``link``) owner, and ``METAFLOW_HOME``'s owner and mode.
    """
    why, fix = written_by_others(info, link, path, home=True)
    if why:
        data.warnings.append(
            f"{path} ({data.layer}) is applied, but {why}: whoever can write it decides where "
            f"your data and credentials go (a profile is applied whole); {fix}"
        )


def _anothers(path: str, link: os.stat_result | None) -> str:
    """Why the project file at ``path`` is another user's (``profiles.planted_by_another``)."""
    try:
        target: os.stat_result | None = os.stat(path)
    except (OSError, ValueError):  # a dangling link, or a folder not to be looked in
        target = None
    return planted_by_another(target, link, path)


def _not_read(data: LayerData, path: str, why: str) -> LayerData:
    """The layer of a project file that is another user's: nothing of it, and why.

    Such a file (``/tmp/.metaflow/config.json`` above a user's working directory, a shared
    folder's) is never trusted, and is not read at all: whatever it holds (a value Metaflow
    refuses, bytes that are no JSON) would otherwise stop every run below it.
    """
    data.warnings.append(
        f"{path} is not read: {why}, so it is never trusted and nothing of it applies (as if "
        "it were absent); set what you need in your own profile or environment, or make the "
        "file yours and not writable by others"
    )
    return data


def _distrust(  # noqa: PLR0917 - what one read of the file saw
    data: LayerData,
    path: str,
    read: list[tuple[bytes, os.stat_result]],
    link: os.stat_result | None,
    home: str,
    doc: Mapping[str, Any],
) -> None:
    """Set aside what a project file the user has not trusted as it is may not decide.

    Its sensitive values (moved from ``values``/``extra`` to ``untrusted``), and every key that
    is no setting of the table or of a registered section (:func:`foreign_keys`: Metaflow's own
    plugin lists, an extension's names), which this package cannot judge: recorded in
    ``untrusted`` too, so that Metaflow (``_metaflow.parsing``) and a model reading the layer
    are not given them. ``distrust`` says why. Only a file that holds such a key is judged (the
    trust store is read then, not otherwise).
    """
    names = [n for n in data.values if BY_NAME[n].sensitive]
    keys = [k for k in data.extra if sensitive_key(k)]
    foreign = foreign_keys(data, doc)
    if not names and not keys and not foreign:
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
    for key in foreign:
        data.untrusted[key] = Raw(doc[key], f"{path}:{key}")


def foreign_keys(data: LayerData, doc: Mapping[str, Any]) -> list[str]:
    """The keys of the file ``doc`` that set something no setting of this package declares.

    Neither a setting (by its name, an alias or an old name it is read by), nor a registered
    section's key, nor ``$schema``; a key whose value is ``null`` sets nothing. Such a key is
    left to Metaflow (its plugin lists, an extension's names), whose ``from_conf`` takes ``""``
    as the empty string, from a file as from the environment: ``""`` is a value of it.
    """
    return [
        key
        for key, value in doc.items()
        if key not in BY_ENV
        and key not in data.extra
        and key not in _APPLIED_OLD_NAMES
        and key != "$schema"
        and value is not None
        and not is_section_key(key)
    ]


#: the old names a layer applies (as their setting): not foreign to it
_APPLIED_OLD_NAMES = frozenset(key for key, (_, how) in OLD_NAMES.items() if how.applied)


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

    Built-in secrets, and the secret keys of registered sections the file holds. A secret
    reference (``{{resolve:...}}``) is no secret: it says where one is kept, as README's
    "Keeping secrets out of files" has a profile hold it.
    """
    secrets = sorted(
        BY_NAME[n].env
        for n, raw in data.values.items()
        if BY_NAME[n].secret and not _is_reference(raw.value)
    )
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


def _is_reference(value: object) -> bool:
    """Whether ``value`` is a secret reference's text (a value that only looks like one: no)."""
    if not isinstance(value, str) or MARK not in value:
        return False
    return isinstance(parse_reference(value), Reference)


def fix_file_key(location: str) -> str:
    """How to fix a bad value at ``location`` (``<path>:<key>``) of a config file."""
    path, _, key = location.rpartition(":")
    return f"correct or remove the key {key} in {path}"
