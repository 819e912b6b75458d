"""``Resolution``: what one resolution gives, values and origins by setting, and its layers."""

from __future__ import annotations

from typing import Any

from .._model.record import Record
from .._sources.data import LayerData
from .._sources.inputs import Inputs

__all__ = ["Resolution"]


class Resolution(Record):
    """The result of one pass: values and origins by short name, and what each layer held.

    ``layers`` holds each layer's data by layer name, in the order of ``_sources.layers.LAYERS``.
    ``fetched`` holds what secret references of this snapshot fetched, by setting (see
    ``_snapshot.fetch``), and ``sections`` the models of registered sections resolved from it
    (``Settings.section``): neither takes part in equality. Immutable by convention, as
    ``Inputs``; a record (``_model.record``).
    """

    __slots__ = (
        "fetched",
        "inputs",
        "layers",
        "origins",
        "sections",
        "values",
        "warnings",
    )
    __match_args__ = ("inputs", "values", "origins", "layers", "warnings", "fetched", "sections")
    inputs: Inputs
    values: dict[str, Any]
    origins: dict[str, tuple[str, str]]
    layers: dict[str, LayerData]
    warnings: tuple[str, ...]
    fetched: dict[str, Any]
    sections: dict[Any, Any]

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        inputs: Inputs,
        values: dict[str, Any],
        origins: dict[str, tuple[str, str]],
        layers: dict[str, LayerData],
        warnings: tuple[str, ...],
        fetched: dict[str, Any] | None = None,
        sections: dict[Any, Any] | None = None,
    ) -> None:
        self.inputs = inputs
        self.values = values
        self.origins = origins
        self.layers = layers
        self.warnings = warnings
        self.fetched = {} if fetched is None else fetched
        self.sections = {} if sections is None else sections

    def _compared(self) -> tuple[Any, ...]:  # the caches, fetched and sections, are left out
        return (self.inputs, self.values, self.origins, self.layers, self.warnings)

    def __repr__(self) -> str:  # the values are read through a Settings, which masks them
        return f"<Resolution of {len(self.values)} settings from {self.inputs!r}>"

    def portable(self) -> Resolution:
        """The resolution with :meth:`Inputs.portable` inputs (picklable, nothing else kept)."""
        fields = (self.values, self.origins, self.layers, self.warnings)
        return Resolution(self.inputs.portable(), *fields)
