"""How near a key is to a name: the measure of the did-you-mean, and a filter that keeps to it.

The measure is the optimal string alignment distance (each insertion, deletion or substitution
of a character, or swap of two neighbouring characters, costs one; no part is edited twice)
between the *tails* of the two names: the name in upper case without ``METAFLOW_`` (nor a
misspelling of it, ``METAFOW_``); a key without the prefix is compared whole, so that
``BATCH_JOB_QUEUE`` in a file is near ``METAFLOW_BATCH_JOB_QUEUE``. A key is near a name when
that distance is at most :func:`allowed` of the name's tail: one edit for a tail under 10
characters, two under 20, three from 20 on. The nearest name wins (the first of a tie).

Why not a ratio over whole names (``difflib``, cutoff 0.75): the shared ``METAFLOW_`` counts as
likeness, so a fork's ``METAFLOW_AWS_ARN`` was "near" ``METAFLOW_USER`` and
``METAFLOW_DATATOOLS_SYSROOT_S3`` near ``METAFLOW_DATASTORE_SYSROOT_S3``; a count of edits on
the part that differs calls a key near only where a slip of the hand made it, and nothing near
otherwise (a key nobody misspelled).

:class:`Index` finds the nearest of many names for one key, cheaply: a name whose length is
too far to be within its allowed edits, or that holds none of the key's pieces (:func:`pieces`),
is passed over without computing the distance.

A name of one of Metaflow's runtime families (``METAFLOW_CONDA_*``, thousands in some tasks)
shares its family's prefix with the family's settings, and is near one of them only one edit
away (:data:`FAMILY_EDITS`: a slip of one character in the short part that differs).
:func:`family_patterns` finds, in C, every name of a family that may be so, so a scan can pass
over the rest of a large environment unread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from .._model.fields import PREFIX

__all__ = ["FAMILY_EDITS", "Index", "allowed", "distance", "family_patterns", "pieces", "tail"]

T = TypeVar("T")

_BARE = PREFIX.rstrip("_")  # METAFLOW


def allowed(length: int) -> int:
    """The edits a key may be from a name whose tail has ``length`` characters, and be near it."""
    return 1 if length < 10 else 2 if length < 20 else 3


def tail(key: str) -> str:
    """The part of ``key`` compared: upper case, without ``METAFLOW_`` or a misspelling of it."""
    key = key.upper()
    if key.startswith(PREFIX):
        return key[len(PREFIX) :]
    head, sep, rest = key.partition("_")
    if sep and rest and 6 <= len(head) <= 10 and distance(head, _BARE, 2) <= 2:
        return rest  # METAFOW_BATCH_JOB_QUEUE, METAFLOWS_BATCH_JOB_QUEUE
    return key


def distance(a: str, b: str, bound: int) -> int:
    """The optimal string alignment distance of ``a`` and ``b``, or ``bound + 1`` if above it."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        before, previous, row = previous, row, [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            best = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, before[j - 2] + 1)
            row[j] = best
        if min(row) > bound:
            return bound + 1
    return min(row[-1], bound + 1)


def pieces(text: str, edits: int) -> list[str] | None:
    """``text`` cut into ``edits + 1`` pieces, one character apart; None when too short to tell.

    A text within ``edits`` edits of ``text`` holds one of the pieces whole: an edit touches one
    piece at most (a swap of two neighbours too, as the pieces are apart), so one comes through.
    """
    size = (len(text) - edits) // (edits + 1)
    if size < 2:
        return None
    cut, start = [], 0
    for piece in range(edits + 1):
        end = start + size if piece < edits else len(text)
        cut.append(text[start:end])
        start = end + 1
    return cut


class Index(Generic[T]):
    """Names to find the nearest of (see the module's measure), each with what it stands for.

    ``edits``: how many edits a key may be from a name, by the length of the name's tail.
    Names are kept by the length of their tails: a key is compared only with names of a length
    within reach, and only with those holding one of its pieces (:func:`pieces`) whole. The
    names of a length are also kept joined in one text: a length none of whose names holds a
    piece (most, for a key nobody misspelled) is passed over by a substring test of each piece.
    """

    __slots__ = ("_by_length", "_edits", "_joined")

    def __init__(
        self, names: Iterable[tuple[str, T]], edits: Callable[[int], int] = allowed
    ) -> None:
        self._edits = edits
        self._by_length: dict[int, list[tuple[int, str, T]]] = {}
        for order, (name, value) in enumerate(names):
            # names as written (not misspelled): without the prefix, in upper case
            t = (name[len(PREFIX) :] if name.startswith(PREFIX) else name).upper()
            self._by_length.setdefault(len(t), []).append((order, t, value))
        # a piece found in the joined text may span two names: then each is tested, as without
        self._joined = {n: "\n".join(t for _, t, _ in of) for n, of in self._by_length.items()}

    def nearest(self, key: str) -> T | None:
        """What the nearest name to ``key`` stands for; ``None`` when no name is near it."""
        mine = tail(key)
        size = len(mine)
        cuts = [pieces(mine, edits) for edits in range(_MOST_EDITS + 1)]
        best: T | None = None
        best_rank = (_MOST_EDITS + 1, 0)  # (distance, order given): the nearest, then the first
        for length in range(size - _MOST_EDITS, size + _MOST_EDITS + 1):
            names = self._by_length.get(length)
            if names is None:
                continue
            bound = min(self._edits(length), best_rank[0])
            if abs(length - size) > bound:
                continue
            cut = cuts[bound] if bound else None
            if cut is not None and not _holds_one(self._joined[length], cut):
                continue  # no name of this length holds a piece whole: none is within reach
            for order, name, value in names:
                if bound == 0:
                    found = 0 if name == mine else 1
                elif cut is None or _holds_one(name, cut):
                    found = distance(mine, name, bound)
                else:
                    continue
                if found <= bound and (found, order) < best_rank:
                    best, best_rank = value, (found, order)
        return best


def _holds_one(name: str, cut: list[str]) -> bool:
    """Whether ``name`` holds one of the pieces of ``cut`` (a loop: no generator to make)."""
    for piece in cut:  # noqa: SIM110 - any() of a generator costs a generator per name
        if piece in name:
            return True
    return False


#: the most edits :func:`allowed` gives
_MOST_EDITS = 3


#: The edits a name of a runtime family may be from one of the family's settings: one.
FAMILY_EDITS = 1


def family_patterns(prefix: str, names: Iterable[str]) -> tuple[str, str]:
    """Regular expressions that find every ``prefix`` name one edit from one of ``names``.

    ``names`` are the family's settings, each ``prefix`` + a rest. Cut a setting's rest in two
    around its middle character: one edit leaves one half whole, the first at the start of the
    key's rest or one character in, the second at its end or one character before. So the first
    pattern (on the names) finds the keys whose rest starts so, the second (on the names
    reversed, and written reversed) those whose rest ends so; what neither finds is no typo of
    these settings, what they find is a candidate (the distance decides). A rest too short to
    cut is found by its length alone. Each is an alternation; the caller frames it.
    """
    forward, backward = [], []
    for name in names:
        rest = name[len(prefix) :]
        half = (len(rest) - 1) // 2
        head, end = rest[:half], rest[half + 1 :]
        if not head or not end:
            low, high = max(len(rest) - FAMILY_EDITS, 0), len(rest) + FAMILY_EDITS
            forward.append(f"[^\\0]{{{low},{high}}}(?![^\\0])")
            continue
        forward.append(re.escape(head))
        backward.append(re.escape(end[::-1]))
    start = re.escape(prefix) + "[^\\0]?(?:" + "|".join(forward) + ")"
    finish = "[^\\0]?(?:" + "|".join(backward or ["(?!)"]) + ")[^\\0]*" + re.escape(prefix[::-1])
    return start, finish
