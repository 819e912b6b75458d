"""The kinds of key a layer may hold, and the one way each is told (what ``keys`` decides).

:class:`Key` is what :func:`~metaflow_config._sources.keys.classify` returns: the kind of a key
(see ``keys``), what it is near or stands for, and its words: the warning of a layer holding it
(:meth:`Key.note`), the problem where a strictness makes it an error (:meth:`Key.problem`),
what it is (:meth:`Key.what`) and what to do where a setting's name is expected
(:meth:`Key.hint`). :data:`STRICTNESS` names how strictly keys that are not applied are told.
"""

from __future__ import annotations

from .._display import short_location, short_name
from .._model import metaflow_names as mf
from .._model.fields import PREFIX, Renamed, Setting
from .._model.record import Record
from ..errors import Problem
from .data import LayerData

__all__ = [
    "CLI",
    "ENV_ONLY",
    "EXTENSION",
    "FOREIGN",
    "LENIENT",
    "METAFLOW",
    "OLD",
    "PARAMETER",
    "QUIET",
    "RETIRED",
    "RUNTIME",
    "SECTION",
    "SETTING",
    "STRICT",
    "STRICTNESS",
    "TYPO",
    "TYPOS",
    "UNKNOWN",
    "Key",
]

#: How strictly keys that are not applied are reported: every one a warning; misspellings
#: (typos, command-line variables in a file) errors; every one an error.
LENIENT, TYPOS, STRICT = "lenient", "typos", "strict"
STRICTNESS = (LENIENT, TYPOS, STRICT)

#: The kinds of key (see ``keys``' table); ``unknown``: not told yet (only a registered section,
#: or nearness, can tell it).
SETTING, CLI, OLD, RUNTIME, METAFLOW, RETIRED, ENV_ONLY = (
    "setting",
    "cli",
    "old",
    "runtime",
    "metaflow",
    "retired",
    "env-only",
)
PARAMETER, SECTION, TYPO, FOREIGN, UNKNOWN = "parameter", "section", "typo", "foreign", "unknown"
#: a name an installed Metaflow extension reads (``extensions.config_names``)
EXTENSION = "extension"

#: kinds a layer leaves alone (Metaflow reads them, or sets them)
QUIET = frozenset({CLI, RUNTIME, METAFLOW, PARAMETER, EXTENSION})
#: kinds not applied, and reported: the strictness each becomes an error at
_ERROR_AT = {
    TYPO: (TYPOS, STRICT),
    ENV_ONLY: (TYPOS, STRICT),
    FOREIGN: (STRICT,),
    RETIRED: (STRICT,),
}


_RUNTIME = "a variable Metaflow sets for its own processes at run time, not a setting"
#: what a name of a runtime family is, by its prefix (``METAFLOW_DEBUG_``), where it is more
_RUNTIME_FAMILIES = {
    "METAFLOW_DEBUG_": (
        "a debug flag of Metaflow or of an extension (DEBUG_OPTIONS), which Metaflow reads "
        "itself and copies into its tasks, not a setting"
    ),
    "METAFLOW_CONDA_": (
        "a variable of Metaflow's Conda environments, which Metaflow reads or sets itself and "
        "copies into its tasks, not a setting"
    ),
}


class Key(Record):
    """What a key is (:func:`classify`), and the one wording of its kind.

    ``kind``: see the module's table. ``field``: the setting an old name is applied as, or the
    one a typo is near (``None`` otherwise). ``near``: the name a typo is near (a setting's,
    or a registered key). ``old``: the old name a key is, or is near. ``detail``: for a
    parameter's name, the prefix it is under.
    """

    __slots__ = ("detail", "field", "key", "kind", "near", "old")
    __match_args__ = ("key", "kind", "field", "near", "old", "detail")
    key: str
    kind: str
    field: Setting | None
    near: str
    old: Renamed | None
    detail: str

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        key: str,
        kind: str,
        field: Setting | None = None,
        near: str = "",
        old: Renamed | None = None,
        detail: str = "",
    ) -> None:
        self.key = key
        self.kind = kind
        self.field = field
        self.near = near
        self.old = old
        self.detail = detail

    def error(self, strictness: str) -> bool:
        """Whether it is an error (not a warning) under ``strictness`` (:data:`STRICTNESS`)."""
        return strictness in _ERROR_AT.get(self.kind, ())

    def hint(self) -> str:
        """What to do about the name where a setting's name is expected (``override``, a fix)."""
        if self.kind == TYPO:
            return f"did you mean {self.near}?{self._old_note()}{self._blank_note()}"
        if self.kind == OLD and self.field is not None:
            return f"did you mean {self.field.env}? ({self.key} is {self._story()})"
        if self.kind == FOREIGN:
            return "`metaflow-config docs` lists every setting"
        instead = mf.STANDS_FOR.get(self.key) if self.kind in (ENV_ONLY, CLI) else None
        if instead is not None:  # a command line's variable whose option defaults to a setting
            return f"it is {self.what()}; set {PREFIX}{instead} instead"
        return f"it is {self.what()}"

    def _blank_note(self) -> str:
        """Where the key is the name it is near but for blanks at its ends: said (``""``: not)."""
        if self.key == self.near or self.key.strip() != self.near:
            return ""
        return " (the key has a blank at its start or end: remove it)"

    def meant(self) -> str:
        """The setting's name the key likely stands for (``""``: none), as :meth:`hint` names it.

        A misspelling's nearest setting, the setting an old name is of, the setting a command
        line's variable defaults from.
        """
        if self.kind == TYPO:
            return self.near
        if self.kind == OLD and self.field is not None:
            return self.field.env
        instead = mf.STANDS_FOR.get(self.key) if self.kind in (ENV_ONLY, CLI) else None
        return PREFIX + instead if instead is not None else ""

    def what(self) -> str:  # noqa: PLR0911, PLR0912 - one phrase per kind
        """What the name is, as a noun phrase (``explain`` of a name that is not a setting)."""
        if self.kind == CLI:
            return f"the environment variable of {self._option()}, read by Metaflow itself"
        if self.kind == PARAMETER:
            command = mf.PARAMETER_COMMANDS.get(self.detail)
            if command is None:
                return (
                    "the environment variable of a flow decorator's option (METAFLOW_FLOW_"
                    "<OPTION>), read by Metaflow's command line"
                )
            return (
                f"the value of a flow parameter for `python flow.py {command}` "
                f"({self.detail}<PARAMETER>), read by Metaflow's command line"
            )
        if self.kind == RUNTIME and self.key in mf.SELECTORS:  # the user's, not Metaflow's
            return (
                "a variable of metaflow-config's own, which chooses where the configuration is "
                "read from and how (the profile, its folder, the strictness, the extension's "
                "switch), not a setting"
            )
        if self.kind == RUNTIME:
            return _RUNTIME_FAMILIES.get(self.key[: self.key.find("_", 9) + 1], _RUNTIME)
        if self.kind == METAFLOW:
            return (
                "a list of the plugins Metaflow enables, which Metaflow reads itself from its "
                "configuration (metaflow-config leaves it to Metaflow)"
            )
        if self.kind == RETIRED:
            release, story = mf.RETIRED[self.key]
            return f"a name Metaflow no longer reads (no effect since {release}; {story})"
        if self.kind == ENV_ONLY:
            if self.key in mf.SELECTORS:
                return (
                    "a variable of metaflow-config's own, which chooses where the configuration "
                    "is read from and how: read from the environment only, in a file it selects "
                    "nothing"
                )
            return f"the environment variable of {self._option()}, read from the environment only"
        if self.kind == OLD and self.field is not None and self.old is not None:
            return f"an old name of {self.field.env} ({self.old.note})"
        if self.kind == SECTION:
            return "a key of a registered section"
        if self.kind == EXTENSION:
            return (
                f"a name the installed Metaflow extension metaflow_extensions.{self.detail} "
                "reads (with from_conf, in its config module), not a setting of "
                "metaflow-config: Metaflow gives it to the extension as it is"
            )
        if self.kind == TYPO:
            return f"not a setting (did you mean {self.near}?{self._old_note()})"
        if self.kind == FOREIGN:
            return "not a setting of Metaflow or of a registered section"
        return "a setting"

    def note(self, layer: LayerData, location: str) -> str:
        """The warning of a key a layer holds (``location``: where in it)."""
        where = f"{short_name(self.key)} ({layer.layer}: {layer.path or short_name(location)})"
        if self.kind == TYPO:
            return f"unknown setting {where}; {self.hint()}"
        if self.kind == OLD and self.field is not None:
            held = layer.values.get(self.field.name)
            if held is not None and held.location != location:
                wins = f"{self.field.env} is set there too and wins"
            elif self.field.env in layer.untrusted:  # a project file not trusted: said there
                wins = f"read as {self.field.env}, which is not applied until the file is trusted"
            else:
                wins = f"applied as {self.field.env}"
            assert self.old is not None  # noqa: S101 - an old name's record
            return f"{where} is an old name of {self.field.env} ({self.old.note}); {wins}; " + (
                self._rename(layer)
            )
        return f"{where} is {self.what()}; {self._fix(layer)}"

    def problem(self, layer: LayerData, location: str) -> Problem:
        """The error of a key a layer holds, under a strictness that makes it one."""
        if self.kind == TYPO:
            expected, fix = "a known setting", self.hint()
        elif self.kind == FOREIGN:
            expected = "a setting of Metaflow or of a registered section"
            fix = self._fix(layer)
        elif self.kind == RETIRED:
            expected = f"a name Metaflow reads ({self.key} is {self.what()})"
            fix = self._fix(layer)
        else:
            expected = f"a setting ({self.key} is {self.what()})"
            fix = self._fix(layer)
        return Problem.bad_value(
            short_name(self.key),
            layer.layer,
            short_location(location, layer.path),
            value="",
            expected=expected,
            fix=fix,
        )

    def _fix(self, layer: LayerData) -> str:
        gone = "unset it" if layer.layer == "env" else "remove it"
        if self.kind == FOREIGN:
            if not self.key.startswith(PREFIX):  # names are case-sensitive: metaflow_x too
                return f"Metaflow reads only {PREFIX}* keys: if no other program reads it, {gone}"
            return (
                "if an extension or a fork of Metaflow reads it, register it in a section "
                f"(entry point group metaflow_config.sections), else {gone}"
            )
        if self.kind == ENV_ONLY:
            setting = mf.STANDS_FOR.get(self.key)
            if setting is not None:
                return f"set {PREFIX}{setting} instead"
            return f"set it in the environment instead, or {gone}"
        return gone

    def _rename(self, layer: LayerData) -> str:
        assert self.field is not None  # noqa: S101 - an old name's setting
        if layer.layer == "profile":
            return f"`metaflow-config migrate{_profile_option(layer.path)}` renames it"
        if layer.layer == "env":
            return f"rename the variable to {self.field.env}"
        return f"rename the key to {self.field.env}"

    def _story(self) -> str:
        return self.old.story() if self.old is not None else ""

    def _old_note(self) -> str:
        if self.old is not None:
            return f" ({self.old.name}: {self._story()})"
        if self.near == PREFIX + self.key:  # a setting's short name, where its name is meant
            return (
                f" ({self.key} is its short name, which the command line and override() take; "
                "a file's keys and the environment's names are whole)"
            )
        return ""

    def _option(self) -> str:
        command, option = mf.CLI_VARIABLES.get(self.key, ("", "an option"))
        return f"{option} of `python flow.py{' ' + command if command else ''}`"

    def __repr__(self) -> str:
        return f"Key({self.key!r}, {self.kind!r})"


def _profile_option(path: str) -> str:
    """`` -p NAME`` for ``config_NAME.json``; for the default ``config.json``, ``profile_flag``'s.

    Nothing, or `` -p ''`` where ``METAFLOW_PROFILE`` names another profile.
    """
    from .profiles import profile_flag_of

    return profile_flag_of(path)
