"""Rendering settings for people and programs: the ``show`` table, ``explain``, ``env`` exports.

Everything here is read off the settings table and a :class:`Settings` snapshot, and masks secret
values unless a caller explicitly asks to reveal them; every line for a person is escaped
(``_display``). No click here: the commands decide where the text goes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from .._display import (
    CUT,
    MASK,
    entry_text,
    has_url_password,
    mask_url_password,
    mask_value,
    printable,
    short_name,
    shorten,
    shown_text,
)
from .._model.fields import PREFIX, Setting
from .._model.metaflow_names import CLI_VARIABLES
from .._model.references import Reference
from .._model.table import BY_ENV, BY_NAME, DERIVED, FIELDS, find
from .._snapshot.explanation import Explanation
from .._snapshot.export import bears_secret
from .._snapshot.sections import explain_key, model_problems
from .._snapshot.settings import Settings, lookup, resolution_of
from .._sources.extensions import OWN_ORG
from .._sources.keykind import FOREIGN, OLD, QUIET, RETIRED, TYPO
from .._sources.keys import classify, keys_said
from .._sources.profiles import find_local_config, list_profiles
from .._sources.sections import find_key
from .._sources.sections import registry as registered_keys
from ..errors import ConfigError, Problem

__all__ = [
    "ENV_FORMATS",
    "display",
    "entry_text",
    "explain_text",
    "holds_something",
    "local_file_text",
    "profile_file_text",
    "registered_cell",
    "render",
    "render_env",
    "show_json",
]

#: The formats of ``metaflow-config env``.
ENV_FORMATS = ("shell", "dotenv", "docker", "json")
#: Longest value ``diff`` shows in a cell before it is shortened (``_display.shorten``).
_CELL = 60
#: What ``show`` shortens a value to at the least on a narrow terminal; the least room values
#: keep beside the locations (else the locations give way); a location cut shorter than
#: ``_MIN_LOCATION`` is left out.
_MIN_VALUE = 24
_VALUE_BESIDE_LOCATION = 40
_MIN_LOCATION = 12
_UNSET = "(unset)"
_DOTENV_PLAIN = re.compile(r"^[A-Za-z0-9_./:@,+=%\-]*$")
#: every setting, each derived one after what it derives from
DERIVED_FIRST = (*(f for f in FIELDS if f.derive is None), *DERIVED)


def _cut(text: str, width: int | None) -> str:
    """``text`` shortened to ``width`` keeping what tells it apart; whole when ``width`` is None."""
    return text if width is None else shorten(text, width)


def display(field: Setting, value: Any, *, width: int | None = _CELL) -> str:
    """A value as plain text for a table cell: masked if secret, ``(unset)`` for None.

    Escaped (a value cannot move the cursor, fake a row or turn a line around) and shortened to
    ``width`` after masking (a cut keeps no part of a password), keeping what tells it apart
    (``_display.shorten``); ``width=None``: whole.
    """
    if value is None:
        return _UNSET
    if isinstance(value, Reference):
        return _cut(printable(value.text), width)  # where the secret is kept, not the secret
    if field.secret and holds_something(value):
        return MASK
    text = shown_text(field.kind.to_text(value))
    return _cut(text, width) if text != "" else '""'


def _public(field: Setting, value: Any) -> Any:
    """A value for JSON output: the typed value (URL passwords masked), or the mask if secret."""
    if isinstance(value, Reference):
        return value.text
    if field.secret and holds_something(value):
        return MASK
    return mask_value(value)


def holds_something(value: Any) -> bool:
    """Whether a secret's value holds anything to hide (an empty one, ``{}``, is shown so)."""
    return value is not None and (not isinstance(value, (str, Mapping)) or len(value) > 0)


def _short_location(name: str, source: str, location: str) -> str:
    """Where a value of ``show`` came from, in few columns: the header names the files.

    A file's own key and a variable named as the setting are left out (``as KEY`` for an
    alias), a derived value says what from, in short names (``from DATASTORE_SYSROOT_S3,
    DATATOOLS_SUFFIX``).
    """
    if source in ("profile", "local"):
        key = location.rpartition(":")[2]
        return "" if key == name else f"as {key}"
    if source == "derived":
        bases = (b.removeprefix(PREFIX) for b in location.split(", "))
        return f"from {', '.join(bases)}" if location else ""
    if source == "env":
        return "" if location == name else f"as {location}"
    return location


def tilde(path: str) -> str:
    """``path`` with the user's home written ``~`` (for display only)."""
    home = os.path.expanduser("~")
    if home not in ("", "~", os.sep) and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


@dataclass(frozen=True)
class Row:
    """One line of ``show``: a setting, its value as shown, where it came from.

    ``mark``: :data:`INVALID`, :data:`UNKNOWN` or :data:`IGNORED` after the value (never cut),
    or ``""``.
    """

    name: str
    value: str
    source: str
    location: str
    mark: str = ""

    def cell(self, width: int | None = None) -> str:
        """The value and its mark in ``width`` characters: the value is shortened, not the mark."""
        mark = f" {self.mark}" if self.mark else ""
        if width is None or len(self.value) + len(mark) <= width:
            return self.value + mark
        return shorten(self.value, max(width - len(mark), len(CUT) + 1)) + mark


@dataclass(frozen=True)
class Unknown:
    """A key a layer holds and nothing applies: where, what it is (its kind) and what to do."""

    key: str
    layer: str
    location: str
    hint: str
    kind: str
    about: str
    meant: str


def _defaulted(snapshot: Settings) -> set[str]:
    """Settings at their default, or derived only from defaults (or from the context alone)."""
    result: set[str] = set()
    for field in DERIVED_FIRST:
        source = snapshot.source(field.env)
        if source == "default" or (
            source == "derived"
            and field.derive is not None
            and all(PREFIX + base in result for base in field.derive.bases)
        ):
            result.add(field.env)
    return result


_NO_PROBLEMS: Mapping[str, Problem] = {}
#: how an invalid value is marked in ``show``
INVALID = "INVALID"
#: how a key no setting knows is marked in ``show``
UNKNOWN = "UNKNOWN"
#: how a key known but not applied is marked (a name Metaflow retired, a command line's
#: variable in a file): what it is stands in its row
IGNORED = "IGNORED"


def unknown_keys(snapshot: Settings) -> list[Unknown]:
    """The keys nothing applies in the layers ``snapshot`` was resolved from, lowest layer first.

    The first ``MAX_UNKNOWN_REPORTED`` of each layer, as the resolution reports them (the rest
    are counted in its warning); the hint is a typo's did-you-mean, else what the key is.
    """
    from .._resolve.resolve import MAX_UNKNOWN_REPORTED

    found = []
    for data in resolution_of(snapshot).layers.values():
        for key, location in data.loose.located(MAX_UNKNOWN_REPORTED):
            what = classify(key, file=data.layer != "env")
            if what.kind in QUIET:  # an installed extension's: not unknown
                continue
            hint = what.hint() if what.kind == TYPO else what.what()
            found.append(
                Unknown(key, data.layer, location, hint, what.kind, what.what(), what.meant())
            )
    return found


def _registered_value(value: Any, *, secret: bool) -> Any:
    """A registered field's value for JSON output: masked if secret, JSON-able otherwise."""
    if value is None:
        return None
    if secret:
        return MASK
    if isinstance(value, str):
        return mask_url_password(value)
    from pydantic_core import to_jsonable_python

    return mask_value(to_jsonable_python(value))  # a URL's password anywhere inside


def registered_cell(value: Any, *, secret: bool) -> str:
    """A registered key's value as a cell of a table: whole, masked (a secret, a URL password)."""
    if value is None:
        return _UNSET
    text = shown_text(entry_text(value, secret=secret))
    return text if text != "" else '""'


@dataclass(frozen=True)
class _Entry:
    """One setting as ``show`` lists it: its explanation, or the problem of its value."""

    name: str
    field: Setting | None  # None: a registered section's key
    info: Explanation | None  # None: invalid
    problem: Problem | None

    def public(self) -> Any:
        """The value for JSON (masked)."""
        if self.info is None:
            return _problem(self).value
        if self.field is not None:
            return _public(self.field, self.info.value)
        return _registered_value(self.info.value, secret=self.info.secret)

    def cell(self) -> str:
        """The value for the table (masked, whole; :class:`Row` shortens it to fit)."""
        if self.info is None:
            return _problem(self).value
        if self.field is not None:
            return display(self.field, self.info.value, width=None)
        return registered_cell(self.info.value, secret=self.info.secret)

    @property
    def source(self) -> str:
        """The layer the value came from."""
        return self.info.source if self.info is not None else _problem(self).layer

    @property
    def location(self) -> str:
        """Where in that layer."""
        return self.info.location if self.info is not None else _problem(self).location


def _problem(entry: _Entry) -> Problem:
    """The problem of an entry without an explanation (there is always one)."""
    assert entry.problem is not None  # noqa: S101 - an invariant of _Entry
    return entry.problem


def _entries(
    snapshot: Settings, *, include_defaults: bool, invalid: Mapping[str, Problem]
) -> list[_Entry]:
    """Every setting ``show`` lists: the table's, then the registered sections' keys."""
    hidden = set() if include_defaults else _defaulted(snapshot)
    entries = []
    for field in FIELDS:
        problem = invalid.get(field.env)
        if problem is not None:
            entries.append(_Entry(field.env, field, None, problem))
        elif field.env not in hidden:
            entries.append(_Entry(field.env, field, snapshot.explain(field.env), None))
    registry = registered_keys()
    builds: dict[int, bool] = {}  # whether each model builds from the snapshot
    for key in sorted(registry):
        problem = invalid.get(key)
        if problem is not None:
            entries.append(_Entry(key, None, None, problem))
            continue
        cls = registry[key].cls
        if id(cls) not in builds:
            builds[id(cls)] = not model_problems(resolution_of(snapshot), cls)
        # a model that does not build: its other keys as their layers hold them
        info = explain_key(resolution_of(snapshot), registry[key], key, typed=builds[id(cls)])
        if include_defaults or info.source != "default":
            entries.append(_Entry(key, None, info, None))
    return entries


def rows(
    snapshot: Settings, *, include_defaults: bool, invalid: Mapping[str, Problem] = _NO_PROBLEMS
) -> list[Row]:
    """The settings in force (masked, whole), defaults only if asked for; in table order.

    A derived value counts as a default when everything it derives from is at its default. A
    setting in ``invalid`` shows its invalid value (masked) where it was set, marked
    :data:`INVALID`. The keys of registered sections follow the table's, then each key no
    setting knows (its value masked, as every warning about it hides it), marked
    :data:`UNKNOWN`, with its did-you-mean; a key known but not applied (a retired name) is
    marked :data:`IGNORED`, with what it is.
    """
    table = [
        Row(
            printable(e.name),
            printable(e.cell()),
            e.source,
            printable(_short_location(e.name, e.source, e.location)),
            INVALID if e.info is None else "",
        )
        for e in _entries(snapshot, include_defaults=include_defaults, invalid=invalid)
    ]
    table.extend(
        Row(
            printable(short_name(u.key)),
            MASK,
            u.layer,
            printable(u.hint),
            UNKNOWN if u.kind in (TYPO, FOREIGN) else IGNORED,
        )
        for u in unknown_keys(snapshot)
    )
    return table


def profile_found(snapshot: Settings) -> bool:
    """Whether the profile file of ``snapshot`` exists (a mistyped METAFLOW_HOME: it does not)."""
    return bool(snapshot.profile_path) and os.path.lexists(snapshot.profile_path)


def profile_file_text(snapshot: Settings) -> str:
    """The profile file, followed by ``: not found`` when it does not exist.

    When the folder it would be in is missing too, that is said: a mistyped ``METAFLOW_HOME``
    is a missing folder, not a missing ``config.json``.
    """
    if profile_found(snapshot):
        return snapshot.profile_path
    home = snapshot.home
    if not os.path.isabs(home):  # no home directory (``profiles.homeless``): none is read
        return "none (no home directory: '~' names none here; set METAFLOW_HOME)"
    if os.path.isdir(home):
        named = [] if snapshot.profile else list_profiles(home)
        if named:  # configured with -p NAME, METAFLOW_PROFILE not exported: said where seen
            shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
            return (
                f"{snapshot.profile_path}: not found; profiles here: {shown} (select one with "
                f"`-p {named[0]}` or `export METAFLOW_PROFILE={named[0]}`)"
            )
        return snapshot.profile_path + ": not found"
    if os.path.lexists(home) or resolution_of(snapshot).inputs.env.get("METAFLOW_HOME"):
        what = "is not a directory" if os.path.lexists(home) else "does not exist"
        return f"{snapshot.profile_path}: not found, and METAFLOW_HOME {home} {what}"
    return f"{snapshot.profile_path}: not found (its folder does not exist yet)"


def local_file_text(snapshot: Settings) -> str:
    """The local config file, said not found when its ``.metaflow`` directory has none.

    The nearest ``.metaflow`` directory is the one read (a ``python flow.py run`` makes one in
    its working directory): a project's file further up is then not read, which this shows.
    """
    path = snapshot.local_path
    if os.path.lexists(path):
        return path
    above = find_local_config(os.path.dirname(os.path.dirname(os.path.dirname(path))))
    hidden = (
        f"; {above}, further up, is not read: the nearest .metaflow directory is the one read"
        if above is not None and os.path.lexists(above)
        else ""
    )
    return f"{path}: not found (the nearest .metaflow directory has no config.json){hidden}"


#: This package's own Metaflow extension, as installed beside it (a wheel's, an editable one's)
_OWN_EXTENSION = os.path.realpath(
    os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        os.pardir,
        "metaflow_extensions",
        "metaflow_config",
    )
)


def extensions_here_text(snapshot: Settings) -> str:
    """What the working directory's ``metaflow_extensions`` folder would do, or ``""``.

    Metaflow imports the extensions of every ``sys.path`` entry, and a flow's folder, a notebook
    or ``python -c`` puts the working directory there: their code runs, and a ``config``
    extension's names replace settings, which no table here shows. Said where one is; not this
    package's own extension, installed from there (a clone of this repository, where its README
    is followed).
    """
    from itertools import islice

    from .._sources.profiles import MAX_ENTRIES

    folder = os.path.join(resolution_of(snapshot).inputs.cwd, "metaflow_extensions")
    try:  # a folder a repository filled costs a bounded look, as the .metaflow one does
        with os.scandir(folder) as entries:
            seen = list(islice(entries, MAX_ENTRIES + 1))
        names = sorted(  # as Metaflow's loader takes them: a _name too
            entry.name
            for entry in seen[:MAX_ENTRIES]
            if entry.is_dir()
            and not entry.name.startswith(".")
            and entry.name != "__pycache__"
            and os.path.realpath(entry.path) != _OWN_EXTENSION
        )
    except (OSError, ValueError):
        return ""
    unseen = len(seen) > MAX_ENTRIES  # padded with files: what is past the look is said too
    if OWN_ORG in names:  # another package of this extension's name: Metaflow stops at two
        return (
            f"{folder}{os.sep}{OWN_ORG} is another package of this package's Metaflow extension "
            f"(the one in force is {_OWN_EXTENSION}): Metaflow refuses to start here "
            "(\"Conflicts in 'metaflow_extensions' files\"), so no flow runs in this "
            "directory; run flows from another one"
        )
    if not names and not unseen:
        return ""
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if unseen:
        listed += f"{'; ' if names else ''}over {MAX_ENTRIES} entries, not all looked at"
    return (
        f"{folder} holds Metaflow extensions ({listed}): Metaflow imports them when "
        "it runs here (a flow, a notebook, python -c), and a config extension's names replace "
        "what is shown here; review them as code you run"
    )


def extension_settings_text(snapshot: Settings | None) -> str:
    """What installed Metaflow extensions set of the settings in Metaflow's module, or ``""``.

    Metaflow copies a config extension's names over its own: for those it runs on the
    extension's value (its own ``from_conf`` default, say), which this resolution cannot know.
    ``snapshot``: the resolution, if there is one (``extensions.set_by_extensions``).
    """
    from .._sources.extensions import set_by_extensions

    by_org: dict[str, list[str]] = {}
    for name, org in set_by_extensions(snapshot).items():
        by_org.setdefault(org, []).append(PREFIX + name)
    if not by_org:
        return ""
    said = "; ".join(f"metaflow_extensions.{org} sets {', '.join(n)}" for org, n in by_org.items())
    return (
        f"{said} in Metaflow's configuration: Metaflow runs on the extension's values of those "
        "(its own defaults, say), which may differ from what is shown here"
    )


def untrusted_text(snapshot: Settings) -> str:
    """What the project file set and is not applied because it is not trusted, or ``""``."""
    from .._resolve.resolve import untrusted_keys

    local = resolution_of(snapshot).layers["local"]
    keys, more = untrusted_keys(local) if local.untrusted else ([], 0)
    if not keys and not more:
        return ""
    return f"not applied from it: {keys_said(keys, more)} ({local.distrust})"


def render(
    snapshot: Settings,
    *,
    include_defaults: bool,
    out: TextIO,
    invalid: Mapping[str, Problem] = _NO_PROBLEMS,
    width: int | None = None,
) -> None:
    """Write the table of settings in force to ``out`` (the ``show`` command).

    ``width``: the columns to fit (a terminal's); ``None``: every value whole. Names and sources
    are never cut; values are shortened first, keeping what tells them apart
    (``_display.shorten``) and their mark; then the end of a location. Each invalid value and
    unknown key is marked in its row; what is wrong with each is the caller's to say, once.
    """
    profile = snapshot.profile or "default"
    out.write(printable(f"# profile: {profile} ({tilde(profile_file_text(snapshot))})") + "\n")
    if snapshot.local_path:
        out.write(printable(f"# local config: {tilde(local_file_text(snapshot))}") + "\n")
    notes = (
        untrusted_text(snapshot),
        extensions_here_text(snapshot),
        extension_settings_text(snapshot),
    )
    for said in notes:
        if said:
            out.write(printable(f"# {said}") + "\n")
    table = rows(snapshot, include_defaults=include_defaults, invalid=invalid)
    if not table:
        out.write(
            "# no setting is configured: Metaflow runs locally with every default "
            "(--all lists them)\n"
        )
        return
    lines, cut = _layout([Row("NAME", "VALUE", "SOURCE", "LOCATION"), *table], width)
    out.writelines(line + "\n" for line in lines)
    if not include_defaults:
        out.write("# settings at their built-in default are hidden (--all shows them)\n")
    if cut:
        fits = width is None or all(len(line) <= width for line in lines)
        what = (
            f"cut to fit {width} columns"
            if fits
            else (
                f"values and locations cut, and still wider than {width} columns (the names and "
                "the values' least width need more)"
            )
        )
        out.write(f"# {what}: --wide shows every value and location whole\n")
    counts = [(sum(r.mark == mark for r in table), mark) for mark in (INVALID, UNKNOWN, IGNORED)]
    marked = ", ".join(f"{n} {mark}" for n, mark in counts if n)
    if marked:
        out.write(f"# marked above: {marked}; why, and the fix: on stderr\n")


def _least(location: str) -> int:
    """The width of the shortest form of a location that still tells something."""
    if location.startswith("from ") and ", " in location:
        return len(location.partition(", ")[0]) + len(f", {CUT}")
    return len(location)


def _cut_location(text: str, room: int) -> str:
    """A location in ``room`` characters: whole settings of a list, or its start; else nothing.

    ``from A, B, C`` keeps the settings that fit (``from A, ...``); other text, and a list
    whose first setting does not fit, is cut at its end (as the rows around it are). What would
    be cut shorter than ``_MIN_LOCATION`` tells nothing and is left out.
    """
    if len(text) <= room:
        return text
    more = f", {CUT}"
    if text.startswith("from ") and ", " in text:
        kept, *rest = text.split(", ")
        for part in rest:
            if len(kept) + len(part) + 2 + len(more) > room:
                break
            kept += f", {part}"
        if len(kept) + len(more) <= room:
            return kept + more
    return text[: room - len(CUT)] + CUT if room >= _MIN_LOCATION else ""


def _layout(table: list[Row], width: int | None) -> tuple[list[str], bool]:
    """The lines of ``table`` (its head first) in ``width`` columns; whether anything was cut."""
    name_w = max(len(r.name) for r in table)
    source_w = max(len(r.source) for r in table)
    value_w = max(len(r.cell()) for r in table)
    location_w = max(len(r.location) for r in table)
    fixed = name_w + source_w + 6  # and two spaces after each of the first three columns
    if width is not None and fixed + value_w + location_w > width:
        room = width - fixed
        # the locations whole, or each as short as it still tells something, if values keep
        # enough beside them; else the values take the room
        least = max(_least(r.location) for r in table)
        kept = next((n for n in (location_w, least) if room - n >= _VALUE_BESIDE_LOCATION), 0)
        value_w = min(value_w, max(_MIN_VALUE, room - kept))
    lines, cut = [], False
    for row in table:
        value = row.cell(value_w)
        line = f"{row.name:<{name_w}}  {value:<{value_w}}  {row.source:<{source_w}}  "
        location = row.location
        if width is not None and len(line) + len(location) > width:
            location = _cut_location(location, width - len(line))
        cut = cut or value != row.cell() or location != row.location
        lines.append((line + location).rstrip())
    return lines, cut


def show_json(
    snapshot: Settings, *, include_defaults: bool, invalid: Mapping[str, Problem] = _NO_PROBLEMS
) -> dict[str, Any]:
    """The ``show --json`` document: profile, files, and each setting with value and source.

    ``profile`` is ``"default"`` for the default profile (``config.json``), as ``show`` names
    it; ``profile_found`` says whether ``profile_path`` exists. Each setting says whether it is
    ``secret``, and whether its value is shown ``masked`` (a secret's, or a URL's password). An
    invalid setting has its masked value as text and ``"problem"``; ``problems`` lists them
    all; ``unknown`` lists the keys no setting knows (name, source, location, ``kind``,
    ``about``: what the key is, and ``suggestion``: the setting's name it likely stands for,
    else null; their values are not shown).
    """
    entries = []
    for e in _entries(snapshot, include_defaults=include_defaults, invalid=invalid):
        entry = {"name": e.name, "value": e.public(), "source": e.source, "location": e.location}
        if e.problem is not None:
            secret = e.field.secret if e.field is not None else e.problem.value == MASK
            entry.update(secret=secret, problem=str(e.problem))
        else:
            entry["secret"] = e.info.secret if e.info is not None else False
        # what is shown is not the value: a secret, or a URL whose password is masked
        entry["masked"] = bool(entry["secret"]) or (
            e.info is not None and has_url_password(e.info.value)
        )
        if e.info is None:  # an invalid value: its text, masked as its problem shows it
            entry["masked"] = entry["masked"] or MASK in str(entry["value"])
        entries.append(entry)
    return {
        "profile": snapshot.profile or "default",
        "profile_path": snapshot.profile_path,
        "profile_found": profile_found(snapshot),
        "local_path": snapshot.local_path or None,
        "not_applied": list(resolution_of(snapshot).layers["local"].untrusted),
        "settings": entries,
        "unknown": [
            {
                "name": u.key,
                "source": u.layer,
                "location": u.location,
                "kind": u.kind,
                "about": u.about,
                "suggestion": u.meant or None,
            }
            for u in unknown_keys(snapshot)
        ],
        "warnings": list(snapshot.warnings),
        "problems": [str(problem) for problem in invalid.values()],
    }


def _base_lines(snapshot: Settings, bases: tuple[str, ...]) -> list[str]:
    """``explain``'s lines of a derived value's bases: each value, and the layer that set it.

    So that no second ``explain`` is needed to tell where a derived value comes from.
    """
    lines = []
    for name in bases:
        base = BY_NAME[name]
        info = snapshot.explain(base.env)
        where = f"{info.source}: {info.location}" if info.location else info.source
        value = display(base, info.value, width=10_000)
        lines.append(f"  base:     {base.env} = {value} ({where})")
    return lines


def explain_text(
    snapshot: Settings, name: str, *, invalid: Mapping[str, Problem] = _NO_PROBLEMS
) -> str:
    """Everything about one setting: value, source, location, shadowed layers, rule, type, doc.

    A setting in ``invalid``: its invalid value (masked), where it was set and the problem;
    what ``snapshot`` holds (with the invalid value set aside) is what it shadows.
    """
    if find(name) is None:
        other = _explain_other(snapshot, name, invalid)
        if other is not None:
            return other
    field = lookup(name)
    info = snapshot.explain(field.env)
    problem = invalid.get(field.env)
    if problem is not None:
        lines = _invalid_lines(field.env, problem)
        if info.source != "default":
            value = display(field, info.value, width=10_000)
            lines.append(f"  shadows:  {info.source} {info.location} = {value}")
    else:
        value = display(field, info.value, width=10_000)
        lines = [f"{field.env} = {value}", f"  source:   {info.source}"]
        if info.location:
            label = "from:" if info.source != "derived" else "derived:"
            lines.append(f"  {label:<9} {info.location}")
        if info.source == "derived" and field.derive is not None:
            lines.extend(_base_lines(snapshot, field.derive.bases))
        if isinstance(info.value, Reference):
            done = field.name in resolution_of(snapshot).fetched
            lines.append(
                f"  kept in:  {info.value.service}: "
                + ("fetched" if done else "fetched when first read (not yet)")
            )
    lines.extend(f"  shadows:  {s.source} {s.location} = {s.value}" for s in info.shadowed)
    lines.extend(info.ignored_lines())
    lines.extend(_extension_lines(snapshot, field))
    if field.derive is not None:
        lines.append(f"  rule:     {field.derive.text} (when no layer sets it)")
    elif field.default is not None:
        default = field.kind.to_text(field.default)  # the table's default: public, never a secret
        lines.append("  default:  " + (default or '""'))
    lines.append(f"  type:     {field.kind.name}: {field.kind.expected}")
    lines.extend(_name_lines(field))
    if field.secret:
        lines.append("  secret:   yes (masked wherever it is shown)")
    if field.local:
        lines.append("  local:    machine-local; not exported to remote containers")
    lines.append(f"  doc:      {field.doc}")
    return "\n".join(map(printable, lines))  # each line escaped: none can fake another


def _name_lines(field: Setting) -> list[str]:
    """``explain``'s lines of the other names of ``field``: aliases, old names, the CLI's."""
    lines = []
    if field.aliases:
        lines.append(f"  aliases:  {', '.join(field.aliases)}")
    lines.extend(
        f"  {'old name:' if old.applied else 'not:     '} {old.name} ({old.note})"
        for old in field.renamed
    )
    if field.env in CLI_VARIABLES:
        command, option = CLI_VARIABLES[field.env]
        lines.append(
            f"  also:     the environment variable of {option} of "
            f"`python flow.py{' ' + command if command else ''}` (Metaflow's command line "
            "reads it too)"
        )
    return lines


def _explain_other(snapshot: Settings, name: str, invalid: Mapping[str, Problem]) -> str | None:
    """``explain`` of a name that is not a setting but that is known; None for any other.

    A registered section's key is explained by its section (:func:`_explain_registered`). An
    old name is explained as its setting, after a line saying so; a name Metaflow reads or
    sets itself (a command-line variable, a parameter's, a runtime variable, a plugin list, a
    retired name) says what it is, and whether it is set here, without its value.
    """
    registered = find_key(name)
    if registered is not None:
        return _explain_registered(snapshot, *registered, invalid=invalid)
    full = name if name.upper().startswith(PREFIX) else PREFIX + name
    in_env, in_file = classify(full, file=False), classify(full, file=True)
    if in_file.kind == OLD and in_file.field is not None:
        head = [f"{full}: {in_file.what()}"]
        if in_env.kind != OLD:
            head.append(f"  in the environment: {in_env.what()}")
        setting = explain_text(snapshot, in_file.field.env, invalid=invalid)
        return "\n".join([*map(printable, head), setting])
    if in_env.kind not in (*QUIET, RETIRED):
        return None
    lines = [f"{full}: not a setting", f"  what:     {in_env.what()}"]
    if in_file.kind != in_env.kind:
        lines.append(f"  in files: {in_file.what()}")
    where = _where_set(snapshot, full)
    lines.append("  set:      " + ("; ".join(where) if where else "not here"))
    return "\n".join(map(printable, lines))


def _where_set(snapshot: Settings, name: str) -> list[str]:
    """Where ``name`` (no setting: Metaflow's, an extension's) is set, environment and files.

    A project file's key its trust withholds is said so. ``""`` is a value of such a name, in
    the environment as in a file (Metaflow reads it so: ``files.foreign_keys``).
    """
    from .._sources.writes import read_json_object

    resolution = resolution_of(snapshot)
    found = ["in this environment"] if resolution.inputs.env.get(name) is not None else []
    for data in resolution.layers.values():
        if not data.path or data.layer == "env":
            continue
        if name in data.untrusted:
            found.append(f"in {data.path} ({data.layer}), not applied: {data.distrust}")
            continue
        try:
            doc = read_json_object(data.path, data.layer)
        except ConfigError:  # said by the resolution
            continue
        if doc is not None and doc.get(name) is not None:
            found.append(f"in {data.path} ({data.layer})")
    return found


def _extension_lines(snapshot: Settings, field: Setting) -> list[str]:
    """The line of a setting an installed extension sets in Metaflow's module, if one does."""
    from .._sources.extensions import set_by_extensions

    org = set_by_extensions(snapshot).get(field.name)
    if org is None:
        return []
    return [
        f"  replaced: metaflow_extensions.{org} sets {field.name} in Metaflow's configuration: "
        "Metaflow runs on its value, which may differ from this one"
    ]


def _type_name(annotation: Any) -> str:
    """A field's annotation as written (``Optional[SecretStr]``, ``dict[str, int]``, ``int``)."""
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("pydantic.types.", "")


def _invalid_lines(name: str, problem: Problem) -> list[str]:
    """The head of ``explain`` for an invalid value: the value (masked), where, the problem."""
    return [
        f"{name} = {problem.value or '?'} ({INVALID})",
        f"  source:   {problem.layer}",
        f"  from:     {problem.location}",
        f"  problem:  expected {problem.expected}",
        f"  fix:      {problem.fix}",
    ]


def _explain_registered(
    snapshot: Settings, registered: Any, key: str, *, invalid: Mapping[str, Problem]
) -> str:
    """:func:`explain_text` of a registered section's key (``_snapshot.sections.explain_key``)."""
    problem = invalid.get(key)
    broken = problem is not None or any(k in invalid for k in registered.keys)
    info = explain_key(resolution_of(snapshot), registered, key, typed=not broken)
    entry = _Entry(key, None, None if problem else info, problem)
    if problem is not None:
        lines = _invalid_lines(key, problem)
    else:
        lines = [f"{key} = {entry.cell()}", f"  source:   {info.source}"]
        if info.location:
            lines.append(f"  from:     {info.location}")
    lines.extend(f"  shadows:  {s.source} {s.location} = {s.value}" for s in info.shadowed)
    lines.extend(info.ignored_lines())
    model = registered.cls.model_fields[registered.keys[key]]
    default = model.get_default()
    if default is not None and key not in registered.secret:
        lines.append(f"  default:  {shown_text(entry_text(default))}")
    lines.append(f"  type:     {_type_name(model.annotation)}")
    if key in registered.secret:
        lines.append("  secret:   yes (masked wherever it is shown)")
    lines.append(f"  section:  {registered.cls.__module__}.{registered.cls.__qualname__}")
    lines.append(f"            ({registered.origin})")
    if model.description:
        lines.append(f"  doc:      {model.description}")
    return "\n".join(map(printable, lines))


def _dotenv_quote(value: str) -> str | None:
    """``value`` quoted so that POSIX sh, python-dotenv and docker compose read it back alike.

    None when no quoting does: a line break, ``${`` (python-dotenv interpolates it even in single
    quotes), or a quote or backslash together with ``$`` or a backtick.
    """
    if _DOTENV_PLAIN.match(value):
        return value
    if "\n" in value or "\r" in value or "${" in value:
        return None
    if "'" not in value and "\\" not in value:
        return f"'{value}'"  # literal for all three
    if "$" in value or "`" in value:
        return None  # sh expands these in double quotes; python-dotenv keeps a backslash
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _docker_line(value: str) -> str | None:
    """``value`` as docker ``--env-file`` reads it (literally, to the end of the line)."""
    return None if "\n" in value or "\r" in value else value


_WHY = {
    "dotenv": (
        "a value that dotenv output can carry for sh, python-dotenv and docker compose alike "
        "(no line break, no '${', no quote or backslash together with '$' or a backtick)"
    ),
    "docker": "a value on one line (docker --env-file takes each line literally)",
}


def render_env(env: Mapping[str, str], fmt: str, *, reveal: bool) -> tuple[str, list[str]]:
    """``env`` as ``shell``, ``dotenv``, ``docker`` or ``json``; secrets masked unless revealed.

    - ``shell``: ``export KEY='value'`` lines for ``eval``/``source`` in a POSIX shell.
    - ``dotenv``: ``KEY=value`` lines, bare or quoted so that POSIX sh (``set -a; . ./file``),
      python-dotenv and docker compose ``env_file`` read the same value.
    - ``docker``: ``KEY=value`` lines taken literally, no quotes or escapes, for
      ``docker run --env-file`` and ECS ``environmentFiles``.
    - ``json``: one object.

    Returns the text and the names whose values were masked. A masked secret is a comment in
    the line formats (so that reading the output never sets a wrong value) and is left out of
    ``json`` (so that no program passes the mask on as a value).

    Raises:
        ValueError: an unknown format.
        ConfigError: a value the format cannot carry (named, never shown).

    """
    if fmt not in ENV_FORMATS:
        msg = f"format must be one of {', '.join(ENV_FORMATS)}, got {fmt!r}"
        raise ValueError(msg)
    masked = [] if reveal else sorted(k for k in env if bears_secret(k, env[k]))
    if fmt == "json":
        shown = {k: v for k, v in env.items() if k not in masked}
        return json.dumps(shown, indent=2, sort_keys=True) + "\n", masked
    lines: list[str] = []
    refused: list[str] = []
    for key in sorted(env):
        if key in masked:
            field = BY_ENV.get(key)  # None: a registered section's key
            hidden = field.show_text(env[key]) if field else MASK
            lines.append(printable(f"# {key}={hidden} (secret: --reveal-secrets includes it)"))
        elif fmt == "shell":
            lines.append(f"export {key}={shlex.quote(env[key])}")
        else:
            text = _dotenv_quote(env[key]) if fmt == "dotenv" else _docker_line(env[key])
            if text is None:
                refused.append(key)
            else:
                lines.append(f"{key}={text}")
    if refused:
        fix = "use --format shell or --format json for this environment"
        raise ConfigError([Problem.bad_argument(key, "", _WHY[fmt], fix) for key in refused])
    return "".join(line + "\n" for line in lines), masked
