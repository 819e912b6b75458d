"""What a layer read: :class:`Raw` values by setting, and :class:`LayerData`, the whole read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice
from operator import itemgetter
from typing import Any

from .._model.fields import is_unset
from .._model.record import Record
from ..errors import Problem

__all__ = ["LayerData", "Loose", "Raw"]


class Raw(tuple[Any, str]):
    """One raw value a layer holds for a setting, and where it was found: ``(value, location)``.

    Immutable; a tuple rather than a frozen dataclass because a resolution makes one per value
    it reads, and a tuple is built in 60% of the time. Written out rather than a ``NamedTuple``,
    whose class is made by compiling source at import (every ``import metaflow`` of a task).
    """

    __slots__ = ()

    def __new__(cls, value: Any, location: str) -> Raw:
        return tuple.__new__(cls, (value, location))

    def __getnewargs__(self) -> tuple[Any, str]:  # pickle and copy make one by __new__
        return (self[0], self[1])

    #: the value as the layer holds it (text, or what JSON parsed)
    value: Any = property(itemgetter(0))
    #: where it was found: ``<file>:<key>``, the variable's name, ``override``
    location: str = property(itemgetter(1))  # type: ignore[assignment]

    def __repr__(self) -> str:  # a raw value may be a secret's: which setting is not known here
        return f"Raw(<value>, {self.location!r})"


class Loose(Record):
    """The keys of one layer that nothing applies, held in bulk, as the layer read them.

    ``keys``: the keys; ``source``: the layer's keys and values, in its order (the parsed file,
    the variables read); ``prefix``: what a key's location starts with (``<file>:``, nothing in
    the environment). A Raw and a location are made only for a key asked for: a file of many
    keys nothing knows (another program's) costs no object a key beyond what parsing made.
    Iterating gives the keys in the layer's order.
    """

    __slots__ = ("keys", "prefix", "source")
    __match_args__ = ("keys", "source", "prefix")
    keys: frozenset[str] | set[str]
    source: Mapping[str, Any]
    prefix: str

    def __init__(
        self,
        keys: frozenset[str] | set[str] = frozenset(),
        source: Mapping[str, Any] | None = None,
        prefix: str = "",
    ) -> None:
        self.keys = keys
        self.source = {} if source is None else source
        self.prefix = prefix

    def _compared(self) -> tuple[Any, ...]:
        """Equal when the keys, their values and their order, and the prefix are."""
        source = self.source
        return self.prefix, [(key, source[key]) for key in self]

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:  # a count only: the source holds every value the layer read
        return f"<Loose: {len(self.keys)} keys not applied>"

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __iter__(self) -> Iterator[str]:
        if len(self.keys) == len(self.source):
            return iter(self.source)
        return filter(self.keys.__contains__, self.source)

    def located(self, limit: int | None = None) -> list[tuple[str, str]]:
        """(key, location) of the keys, in the layer's order: the first ``limit`` of them."""
        keys = iter(self) if limit is None else islice(self, limit)
        prefix = self.prefix
        return [(key, prefix + key) for key in keys]

    def get(self, key: str) -> Raw | None:
        """The raw value of ``key``, and where; None when the layer holds no such key, or unset."""
        if key not in self.keys:
            return None
        value = self.source[key]
        return None if is_unset(value) else Raw(value, self.prefix + key)


class LayerData(Record):
    """What one layer read: values by short setting name, keys not applied, problems.

    ``loose``: the keys it held that nothing applies (a misspelled or foreign key, a retired
    name, a command-line variable in a file: ``_sources.keys`` says which), with their values,
    where a model resolved from the layers reads its keys, registered or not (:meth:`raw`),
    each at its location (``Loose.located``). ``renamed``: (key, location) of the old names
    of settings it held, applied as their settings (in ``values``, unless the setting's own
    name was there too).

    ``warnings``: oddities that are not errors (a secret in a file others can read), said as
    ConfigWarnings. ``extra``: raw values of the keys of registered sections
    (``_sources.sections``), by full name, read by their models. ``untrusted``: the
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
        "loose",
        "path",
        "problems",
        "renamed",
        "untrusted",
        "values",
        "warnings",
    )
    __match_args__ = (
        "layer",
        "path",
        "values",
        "loose",
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
    loose: Loose
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
        loose: Loose | None = None,
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
        self.loose = _NO_KEYS if loose is None else loose
        self.problems = [] if problems is None else problems
        self.warnings = [] if warnings is None else warnings
        self.extra = {} if extra is None else extra
        self.untrusted = {} if untrusted is None else untrusted
        self.distrust = distrust
        self.frozen = frozen
        self.renamed = [] if renamed is None else renamed

    def raw(self, key: str) -> Raw | None:
        """The raw value the layer holds for ``key``, a key the table does not declare, if set.

        A registered section's, or one nothing applies (a model that is not registered reads
        its keys so); never one an untrusted project file holds (``untrusted``).
        """
        found = self.extra.get(key)
        if found is None and key not in self.untrusted:
            return self.loose.get(key)
        return found

    def __repr__(self) -> str:  # names and counts only: the values may be secrets
        return (
            f"<{self.layer} layer {self.path!r}: {len(self.values)} values, "
            f"{len(self.loose)} unknown keys, {len(self.problems)} problems>"
        )


#: a layer that holds no key nothing applies (never changed: a layer is given a new Loose)
_NO_KEYS = Loose()
