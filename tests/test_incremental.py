"""An override scope's snapshot is resolved incrementally; it must equal a full resolution.

Entering ``override()`` validates only the scope's values and derives again only what depends on
them (``_resolve.resolve_over``). For any configuration and any values a scope injects (and
removes, entered under another scope), the result equals a resolution of the same inputs from
scratch: every value, every source and location.
"""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import ConfigError, Settings
from metaflow_config._resolve import Inputs, resolve
from metaflow_config._table import BY_NAME, DERIVED, FIELDS
from tests._strategies import configs, place, value_triples, write

#: settings others derive from, and settings of every kind
_BASES = sorted({b for d in DERIVED for b in (d.derive.bases if d.derive else ())})
_NAMES = st.sampled_from(sorted({*(BY_NAME[b].env for b in _BASES), *(f.env for f in FIELDS)}))


@st.composite
def injected(draw: st.DrawFn) -> dict[str, Any]:
    """Values a scope injects: a few settings, some of them bases of derived ones."""
    names = draw(st.lists(_NAMES, max_size=4, unique=True))
    return {n: draw(value_triples(BY_NAME[n[len("METAFLOW_") :]]))[2] for n in names}


def _full(inputs: Inputs) -> Settings:
    return Settings(resolve(inputs))


def _outcome(make: Any) -> Settings | frozenset[str]:
    """The snapshot, or the settings named by the ConfigError."""
    try:
        result: Settings = make()
    except ConfigError as error:
        return frozenset(p.setting for p in error.problems)
    return result


@given(configs(max_settings=4), injected(), injected())
def test_an_override_snapshot_equals_a_full_resolution(
    config: Any, outer: dict[str, Any], inner: dict[str, Any]
) -> None:
    """Nested scopes (the inner one replacing some of the outer's names) resolve as from scratch."""
    with place() as where, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = write(where, config)
        inputs = Inputs(kwargs["env"], kwargs["home"], None, kwargs["cwd"])
        try:
            base = _full(inputs)
        except ConfigError:
            return
        for overrides in (outer, {**outer, **inner}, inner):
            wanted = Inputs(inputs.env, inputs.home, None, inputs.cwd, overrides)
            expected = _outcome(lambda: _full(wanted))  # noqa: B023 - called at once
            got = _outcome(lambda: base._replace(overrides=overrides))  # noqa: B023
            if isinstance(expected, frozenset) or isinstance(got, frozenset):
                assert got == expected  # both refuse, naming the same settings
                continue
            assert got._resolution.values == expected._resolution.values
            assert got._resolution.origins == expected._resolution.origins
            base = got  # the next scope is entered under this one
