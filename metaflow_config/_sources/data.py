"""What a layer read: :class:`Raw` values by setting, and :class:`LayerData`, the whole read."""

from __future__ import annotations

from typing import Any, NamedTuple

from .._model.record import Record
from ..errors import Problem

__all__ = ["LayerData", "Raw"]


class Raw(NamedTuple):
    """One raw value a layer holds for a setting, and where it was found.

    Immutable; a NamedTuple rather than a frozen dataclass because a resolution makes one per
    value it reads, and a NamedTuple is built in 60% of the time.
    """

    value: Any
    location: str

    def __repr__(self) -> str:  # a raw value may be a secret's: which setting is not known here
        return f"Raw(<value>, {self.location!r})"


class LayerData(Record):
    """What one layer read: values by short setting name, keys not applied, problems.

    ``unknown``: (key, location) of the keys it held that nothing applies (a misspelled or
    foreign key, a retired name, a command-line variable in a file: ``_sources.keys`` says
    which). ``renamed``: (key, location) of the old names of settings it held, applied as their
    settings (in ``values``, unless the setting's own name was there too).

    ``warnings``: oddities that are not errors (a secret in a file others can read), said as
    ConfigWarnings. ``extra``: raw values of keys the table does not declare, by full name: those
    of registered sections (``_sources.sections``), read by their models. ``untrusted``: the
    values of sensitive keys (by full name) that the layer held and does not apply, because its
    file is not trusted; ``distrust`` says why, and what to do (``_sources.trust``).
    ``frozen``: the JSON objects and arrays of its values were made read-only as they were
    parsed (``values.frozen_object_hook``, within ``MAX_JSON_DEPTH``): a value given as such
    (not as JSON text) is held as it is. A record (``_model.record``): every resolution makes
    several.
    """

    __slots__ = (
        "distrust",
        "extra",
        "frozen",
        "layer",
        "path",
        "problems",
        "renamed",
        "unknown",
        "untrusted",
        "values",
        "warnings",
    )
    __match_args__ = (
        "layer",
        "path",
        "values",
        "unknown",
        "problems",
        "warnings",
        "extra",
        "untrusted",
        "distrust",
        "frozen",
        "renamed",
    )
    layer: str
    path: str
    values: dict[str, Raw]
    unknown: list[tuple[str, str]]
    problems: list[Problem]
    warnings: list[str]
    extra: dict[str, Raw]
    untrusted: dict[str, Raw]
    distrust: str
    frozen: bool
    renamed: list[tuple[str, str]]

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        layer: str,
        path: str = "",
        values: dict[str, Raw] | None = None,
        unknown: list[tuple[str, str]] | None = None,
        problems: list[Problem] | None = None,
        warnings: list[str] | None = None,
        extra: dict[str, Raw] | None = None,
        untrusted: dict[str, Raw] | None = None,
        distrust: str = "",
        frozen: bool = False,
        renamed: list[tuple[str, str]] | None = None,
    ) -> None:
        self.layer = layer
        self.path = path
        self.values = {} if values is None else values
        self.unknown = [] if unknown is None else unknown
        self.problems = [] if problems is None else problems
        self.warnings = [] if warnings is None else warnings
        self.extra = {} if extra is None else extra
        self.untrusted = {} if untrusted is None else untrusted
        self.distrust = distrust
        self.frozen = frozen
        self.renamed = [] if renamed is None else renamed

    def __repr__(self) -> str:  # names and counts only: the values may be secrets
        return (
            f"<{self.layer} layer {self.path!r}: {len(self.values)} values, "
            f"{len(self.unknown)} unknown keys, {len(self.problems)} problems>"
        )
