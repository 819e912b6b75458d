"""The values a snapshot holds: frozen JSON values, and what holds a secret without showing it.

JSON-valued settings are held frozen (:func:`freeze`: objects become :class:`FrozenDict`, lists
tuples), so nobody changes a snapshot in place; :func:`thaw` gives a mutable copy. What holds a
secret shows the mask in its ``repr`` and is the plain value everywhere else: a secret's text
(:class:`SecretText`), its JSON object (:class:`SecretMapping`, and the mutable
:class:`SecretDict` handed out to be changed), text holding a URL with a password
(:class:`PasswordURL`); :func:`conceal` picks the holder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .._display import MASK, has_url_password, mask_url_password

__all__ = [
    "MAX_JSON_DEPTH",
    "FrozenDict",
    "SecretDict",
    "TooDeep",
    "conceal",
    "freeze",
    "freeze_top",
    "frozen_object_hook",
    "secret_copy",
    "thaw",
]


class FrozenDict(dict):  # type: ignore[type-arg]
    """A ``dict`` that refuses changes: how snapshots hold JSON objects.

    Still a ``dict`` for everything that reads one (``json.dumps``, ``isinstance``, ``==``,
    ``dict(...)`` for a mutable copy); every mutating method raises ``TypeError``.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        msg = "settings are read-only: copy with dict(...) or use metaflow_config.override()"
        raise TypeError(msg)

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self  # immutable all the way down (see freeze)


class SecretText(str):
    """A secret setting's text: a ``str`` in every way but its ``repr``, which is masked.

    So a secret stays out of every ``repr`` (``vars(settings.service)``, ``%r`` in a log line, a
    plain ``dict`` or a ``requests`` header map holding it) while code reads, compares and sends
    it as the string it is (``str(x)``, an f-string, ``json.dumps`` give the plain text).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)

    def _masked(self) -> str:
        """What shows it (``_display.mask_value``): the mask."""
        return MASK

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretText, (str(self),))


class PasswordURL(str):
    """Text holding a URL with a password: a ``str`` whose ``repr`` masks the password."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(self._masked())

    def _masked(self) -> str:
        """What shows it (``_display.mask_value``): the text, its password masked."""
        return mask_url_password(str(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (PasswordURL, (str(self),))


def _masked_mapping(mapping: Mapping[Any, Any]) -> str:
    """The ``repr`` of a secret's JSON object: neither its keys nor its values."""
    return "{" + MASK + "}" if mapping else "{}"


def _mask(value: Any) -> str:
    """What shows a secret's JSON object as a value (``_display.mask_value``): the mask."""
    return MASK


def _handed_out(value: Any) -> Any:
    """What a :class:`SecretMapping` hands out of what it holds: masked, as it is read.

    Text as :class:`SecretText`, an object as a ``SecretMapping`` (a copy of its top level), an
    array as a tuple of these; numbers, booleans and ``null`` as they are.
    """
    if isinstance(value, str):
        return value if type(value) is SecretText else SecretText(value)
    if isinstance(value, Mapping):
        return value if type(value) is SecretMapping else SecretMapping(value)
    if isinstance(value, (list, tuple)):
        return tuple(map(_handed_out, value))
    return value


class SecretMapping(FrozenDict):
    """A secret setting's JSON object (headers, client parameters): a ``FrozenDict``, masked.

    Its ``repr`` shows neither keys nor values, and what is read out of it is masked too
    (:func:`_handed_out`): an item, ``get``, ``values()``, ``items()``, ``dict(...)``, ``{**x}``
    and ``copy()`` give :class:`SecretText` for its strings, ``SecretMapping`` for its objects,
    tuples for its arrays, made as they are read: a snapshot holding a large secret value walks
    none of it. ``==``, ``json.dumps`` and ``str(text)`` give the values themselves; a mutable
    copy stays masked all the way down (:func:`thaw`, :func:`secret_copy`).
    """

    __slots__ = ()

    __repr__ = __str__ = _masked_mapping
    _masked = _mask

    def __getitem__(self, key: Any) -> Any:
        return _handed_out(dict.__getitem__(self, key))

    def __iter__(self) -> Iterator[Any]:
        # Defined here, so that ``dict(x)`` and ``{**x}`` read it by its keys and items (CPython
        # copies a dict whose iteration is dict's own without asking it for its values)
        return dict.__iter__(self)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key`` (masked), else ``default``."""
        return _handed_out(dict.get(self, key, default))

    def values(self) -> Any:
        """The values, masked (a list: the mapping never changes)."""
        return [_handed_out(v) for v in dict.values(self)]

    def items(self) -> Any:
        """The ``(key, value)`` pairs, values masked (a list: the mapping never changes)."""
        return [(k, _handed_out(v)) for k, v in dict.items(self)]

    def copy(self) -> SecretDict:
        """A mutable deep copy, masked all the way down (``SecretDict``)."""
        return secret_copy(self)

    def __or__(self, other: Any) -> Any:
        return _merged(self.copy(), other)

    def __ror__(self, other: Any) -> Any:
        return _merged(other, self.copy())

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretMapping, (dict(dict.items(self)),))


class SecretDict(dict):  # type: ignore[type-arg]
    """A secret's JSON object handed out to be changed: a plain mutable ``dict``, masked.

    What ``settings.service.effective_headers``, ``settings.s3.client_kwargs``,
    ``settings.datatools.client_params`` and the ``compat`` names of secret settings return:
    ``json.dumps``, ``==``, ``dict(...)``, ``**kwargs`` and ``pickle`` take it as the dict it
    is, and its ``repr``/``str`` (``%r``, an f-string, ``pprint``, ``logging``) show neither its
    keys nor its values. ``copy()``, ``copy.copy`` and ``|`` give a ``SecretDict`` (Metaflow
    passes ``SERVICE_HEADERS.copy()`` to ``requests``), and its strings are
    :class:`SecretText`, so what is copied out of it (``headers.update(x)``) stays masked too.
    """

    __slots__ = ()

    __repr__ = __str__ = _masked_mapping
    _masked = _mask

    def copy(self) -> SecretDict:
        """A shallow copy, masked as this one."""
        return SecretDict(self)

    __copy__ = copy

    def __or__(self, other: Any) -> Any:
        return _merged(self.copy(), other)

    def __ror__(self, other: Any) -> Any:
        return _merged(other, self.copy())

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretDict, (dict(self),))


def _merged(left: Any, right: Any) -> Any:
    """``left | right`` of a secret's mapping (a masked copy on its side): a ``SecretDict``.

    ``NotImplemented`` where the other side is no mapping, as ``dict``'s ``|`` says.
    """
    if not isinstance(left, Mapping) or not isinstance(right, Mapping):
        return NotImplemented
    merged = SecretDict(left)
    merged.update(right)
    return merged


def _concealed(value: Any, depth: int = 0) -> Any:
    """A mutable deep copy of ``value``: strings :class:`SecretText`, objects ``SecretDict``.

    Down to :data:`MAX_JSON_DEPTH` levels (a value nested deeper is refused by the resolution
    and kept as it is here, inside its masked mapping): no ``RecursionError``.
    """
    if isinstance(value, str):
        return value if type(value) is SecretText else SecretText(value)
    if depth > MAX_JSON_DEPTH:
        return value
    if isinstance(value, Mapping):
        return SecretDict({k: _concealed(v, depth + 1) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return [_concealed(item, depth + 1) for item in value]
    return value


def secret_copy(value: Mapping[str, Any]) -> SecretDict:
    """A mutable deep copy of a secret's JSON object, masked all the way down (``SecretDict``).

    Its objects are ``SecretDict`` and its strings :class:`SecretText`: what is copied out of
    it (``x["config"]``, ``headers.update(x)``, ``requests``' header map) stays masked too.
    """
    copied: SecretDict = _concealed(value)
    return copied


def conceal(value: Any, *, secret: bool) -> Any:
    """``value`` held so that its ``repr`` never shows a secret (its ``str`` is the value).

    A secret setting's value is masked all the way down: text as :class:`SecretText`, a JSON
    object as a :class:`SecretMapping`, which hands out what it holds masked (so what is read
    out of it, ``dict(headers)`` or ``headers["Authorization"]``, shows no secret either). Any
    other text masks a URL's password (:class:`PasswordURL`).
    """
    if secret:  # one copy of the top level: a large value costs no walk (masked as read)
        if isinstance(value, str):
            return SecretText(value)
        return SecretMapping(value) if isinstance(value, Mapping) else value
    if type(value) is str and "@" in value and has_url_password(value):
        return PasswordURL(value)
    return value


#: How deep a JSON value may nest (objects and arrays): far more than any setting needs, and well
#: inside every recursion limit of what walks values afterwards (freezing, export, repr).
MAX_JSON_DEPTH = 64


class TooDeep(ValueError):  # noqa: N818 - raised and caught inside the package only
    """A JSON value nested deeper than :data:`MAX_JSON_DEPTH`."""


_LEAVES = frozenset((str, int, float, bool, type(None)))


def freeze(value: Any, _depth: int = 0) -> Any:
    """A read-only deep copy of a JSON value: objects become :class:`FrozenDict`, lists tuples.

    Snapshots hold JSON-valued settings frozen, so nobody can change a snapshot in place (or the
    caller's dict that an ``override`` was given). One walk, which also bounds the nesting: it
    recurses at most :data:`MAX_JSON_DEPTH` levels (no ``RecursionError`` however deep a value
    comes) and raises :class:`TooDeep` past them.

    Raises:
        TooDeep: ``value`` nests objects or arrays deeper than ``MAX_JSON_DEPTH``.

    """
    kind = type(value)
    if kind in _LEAVES:
        return value
    if _depth >= MAX_JSON_DEPTH:
        msg = f"a JSON value nested at most {MAX_JSON_DEPTH} levels deep"
        raise TooDeep(msg)
    inner = _depth + 1
    leaves = _LEAVES
    # A list of leaves inside (the common case of large values) becomes a tuple in C, without a
    # call of its own; within the depth bound it is a leaf container, so nothing nests deeper.
    flat = inner < MAX_JSON_DEPTH
    if kind is dict or isinstance(value, Mapping):
        return FrozenDict(
            {
                k: v
                if type(v) in leaves
                else tuple(v)
                if flat and type(v) is list and leaves.issuperset(map(type, v))
                else freeze(v, inner)
                for k, v in value.items()
            }
        )
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        if leaves.issuperset(map(type, value)):  # a list of leaves: copied in C
            return value if kind is tuple else tuple(value)
        return tuple(
            [
                v
                if type(v) in leaves
                else tuple(v)
                if flat and type(v) is list and leaves.issuperset(map(type, v))
                else freeze(v, inner)
                for v in value
            ]
        )
    return value


def freeze_top(value: Any) -> Any:
    """A JSON value whose objects and arrays inside are frozen already, frozen at its top.

    What :func:`freeze` gives for such a value (one built of :func:`frozen_object_hook`'s, as
    validation copies its top level), without walking what is inside again.
    """
    kind = type(value)
    if kind is FrozenDict or kind is tuple:
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return value


def frozen_object_hook(
    duplicate: Callable[[list[tuple[str, Any]]], None], *, arrays: bool
) -> Callable[[list[tuple[str, Any]]], FrozenDict]:
    """A ``json`` ``object_pairs_hook`` building frozen values as the text is parsed.

    Each object becomes a :class:`FrozenDict` (the last value of a key given twice, as
    ``json`` keeps it; ``duplicate`` is told the object's pairs), each array in it a tuple:
    what :func:`freeze` makes of the parsed value, with no walk afterwards (``arrays``: whether
    the text holds any array at all; without, objects are all there is to build). Unbounded:
    the caller knows that the text nests within :data:`MAX_JSON_DEPTH` (``jsontext.nests_within``).
    """
    setitem = dict.__setitem__

    def hook(pairs: list[tuple[str, Any]]) -> FrozenDict:
        built = FrozenDict(pairs)  # in C; only a key given twice makes it shorter
        if len(built) != len(pairs):
            duplicate(pairs)
            pairs = list(built.items())  # the values that stay
        if arrays:
            for key, value in pairs:
                if type(value) is list:
                    tupled = _tupled(value) if list in map(type, value) else tuple(value)
                    setitem(built, key, tupled)
        return built

    return hook


def _tupled(items: list[Any]) -> tuple[Any, ...]:
    """A parsed array as a tuple, the arrays directly in it too (its objects are frozen)."""
    if list in map(type, items):
        return tuple([_tupled(v) if v.__class__ is list else v for v in items])
    return tuple(items)


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a (frozen) JSON-like value: dicts and lists.

    A secret's object stays masked: its copy is a :class:`SecretDict` (see :func:`secret_copy`).
    """
    if type(value) in _LEAVES:  # most settings' values: no ABC checks
        return value
    if isinstance(value, (SecretMapping, SecretDict)):
        return secret_copy(value)
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value
