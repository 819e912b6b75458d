"""``Record``: the base of the package's small value classes (inputs, layers' data, a resolution).

Why not dataclasses: every process that imports the package builds these classes, a Metaflow
task among them, and creating a dataclass costs about half a millisecond (it generates its
methods with ``exec``); a resolution also makes several instances, and a frozen dataclass's
``__init__`` costs more than a plain one. So the package's records are plain classes with
``__slots__`` and an ``__init__`` of their own, and this base gives them what a dataclass would:
equality by value, pickling, ``replace``. The package's other small classes made at import or
per resolution (``Context``, ``Derive``, ``Layer``, ``FileFacts``) are plain classes with
``__slots__`` for the same reason.

A record lists its fields in ``__match_args__``, in the order its ``__init__`` takes them
(``__slots__`` may list them in any order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # a bound TypeVar costs a process about 1.5 ms to make: for mypy only
    from typing import TypeVar

    R = TypeVar("R", bound="Record")

__all__ = ["Record"]


class Record:  # noqa: PLW1641 - unhashable: records hold mutable mappings
    """A value of a few fields: equal by value, picklable, copied with :meth:`replace`.

    Not hashable (the fields of most records are mutable mappings): a record whose fields are
    all immutable defines ``__hash__`` itself.
    """

    __slots__ = ()
    #: the fields, in the order ``__init__`` takes them
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _fields(self) -> tuple[Any, ...]:
        """The values of the fields, in ``__match_args__`` order."""
        return tuple([getattr(self, name) for name in self.__match_args__])

    def _compared(self) -> tuple[Any, ...]:
        """What equality compares: every field (a record with a cache leaves it out)."""
        return self._fields()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._compared() == other._compared()

    # defining __eq__ without __hash__ leaves records unhashable (``__hash__`` is None)

    def __reduce__(self) -> tuple[Any, ...]:  # every pickle protocol (slots need it below 2)
        return (type(self), self._fields())

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` (keyword names as ``__init__``'s)."""
        fields = dict(zip(self.__match_args__, self._fields()))
        fields.update(changes)
        return type(self)(**fields)
