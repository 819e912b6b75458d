"""An override scope's snapshot is resolved incrementally; it must equal a full resolution.

Entering ``override()`` validates only the scope's values and derives again only what depends on
them (``_resolve.over.resolve_over``). For any configuration and any values a scope injects (and
removes, entered under another scope), the result equals a resolution of the same inputs from
scratch: every value, every source and location.
"""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import ConfigError, Settings
from metaflow_config._model.table import BY_NAME, DERIVED, FIELDS
from metaflow_config._resolve.resolve import resolve
from metaflow_config._sources.inputs import Inputs
from tests._strategies import configs, place, value_triples, write

#: settings others derive from, and settings of every kind
_BASES = sorted({b for d in DERIVED for b in (d.derive.bases if d.derive else ())})
_NAMES = st.sampled_from(sorted({*(BY_NAME[b].env for b in _BASES), *(f.env for f in FIELDS)}))


@st.composite
def injected(draw: st.DrawFn) -> dict[str, Any]:
    """Values a scope injects: a few settings, some of them bases of derived ones."""
    names = draw(st.lists(_NAMES, max_size=4, unique=True))
    return {n: draw(value_triples(BY_NAME[n[len("METAFLOW_") :]]))[2] for n in names}


#: raw values that most kinds refuse (a text kind's pattern, a number, a boolean, a JSON text)
_WRONG = ("s3://Bad Bucket", "a\x01b", "arn:aws:iam::1:role/r", "-1", "yes please", "[1")


@st.composite
def injected_or_wrong(draw: st.DrawFn) -> dict[str, Any]:
    """Values a scope injects, some of them (often) invalid."""
    names = draw(st.lists(_NAMES, max_size=4, unique=True))
    return {
        n: draw(
            st.one_of(st.sampled_from(_WRONG), value_triples(BY_NAME[n[9:]]).map(lambda t: t[2]))
        )
        for n in names
    }


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


def _entered(base: Inputs, scopes: list[dict[str, Any]]) -> Settings | str:
    """The snapshot of real ``override()`` scopes entered one in another, or the error text."""
    from contextlib import ExitStack

    from metaflow_config import current, override

    try:
        with ExitStack() as stack:
            stack.enter_context(override(env=base.env, home=base.home, cwd=base.cwd))
            for values in scopes:
                stack.enter_context(override(values))
            return current()
    except ConfigError as error:
        return str(error)


@given(configs(max_settings=4), injected(), injected_or_wrong())
def test_entered_scopes_equal_a_full_resolution(
    config: Any, outer: dict[str, Any], inner: dict[str, Any]
) -> None:
    """Real nested scopes (each laying its own values over the outer one's) resolve as from scratch.

    And the one-call path of ``resolve_over`` (text values and what derives from them validated
    together) gives exactly what the two steps give: the same snapshot, or the same message.
    """
    from unittest import mock

    from metaflow_config._resolve import over

    with place() as where, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = write(where, config)
        inputs = Inputs(kwargs["env"], kwargs["home"], None, kwargs["cwd"])
        if not isinstance(_outcome(lambda: _full(inputs)), Settings):
            return
        got = _entered(inputs, [outer, inner])
        with mock.patch.object(over, "_over_at_once", return_value=None):
            two_steps = _entered(inputs, [outer, inner])
        expected = _outcome(lambda: _full(inputs.replace(overrides={**outer, **inner})))
        if isinstance(got, str) or isinstance(two_steps, str):
            assert got == two_steps  # the same message, word for word
            assert not isinstance(expected, Settings)
            return
        assert isinstance(expected, Settings)
        for snapshot in (got, two_steps):
            _assert_same(snapshot, expected)


def _assert_same(got: Settings, expected: Settings) -> None:
    """Every value equal and of the same type (a concealed secret is not a plain ``str``), every
    origin equal."""
    assert got._resolution.values == expected._resolution.values
    assert {n: type(v) for n, v in got._resolution.values.items()} == {
        n: type(v) for n, v in expected._resolution.values.items()
    }
    assert got._resolution.origins == expected._resolution.origins


def test_the_one_call_path_conceals_as_a_full_resolution_does() -> None:
    """Text a scope injects is held as a full resolution holds it: a secret's value masked
    whole, a URL's password masked; neither shows in a repr."""
    from metaflow_config import current, override

    values = {
        "SERVICE_AUTH_KEY": "key-ZQXJ-secret",
        "SERVICE_URL": "https://user:pw-ZQXJ@metadata.example.com/api",
        "BATCH_JOB_QUEUE": "q",
    }
    inputs = Inputs({}, "/nonexistent", None, "/")
    for one in [{k: v} for k, v in values.items()] + [values]:
        with override(env={}, home="/nonexistent", cwd="/"), override(one):
            got = current()
        _assert_same(got, _full(inputs.replace(overrides=one)))
        shown = repr(dict(got._resolution.values)) + repr(got)
        assert "ZQXJ" not in shown


def test_the_one_call_path_is_taken_for_text_and_declined_otherwise() -> None:
    """The one-call path serves text values (and what derives from them), and nothing else."""
    from unittest import mock

    from metaflow_config import load, override
    from metaflow_config._resolve import over

    calls: list[bool] = []
    real = over._over_at_once

    def spy(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    base = load(env={}, home="/nonexistent", cwd="/")
    with mock.patch.object(over, "_over_at_once", spy):
        for values, taken in (
            ({"DATASTORE_SYSROOT_S3": "s3://bucket/x", "BATCH_JOB_QUEUE": "q"}, True),
            ({"S3_RETRY_COUNT": "3"}, False),  # an integer: validation converts it
            ({"BATCH_EMIT_TAGS": "true"}, False),  # a boolean
            ({"SERVICE_AUTH_KEY": "{{resolve:ssm:/q}}"}, False),  # a secret reference
        ):
            with override(env={}, home="/nonexistent", cwd="/"), override(values) as snapshot:
                assert snapshot["METAFLOW_DATATOOLS_S3ROOT"] == (
                    "s3://bucket/x/data" if "DATASTORE_SYSROOT_S3" in values else None
                )
            assert calls[-1] is taken, values
    assert base["METAFLOW_DATATOOLS_S3ROOT"] is None


def test_a_process_that_resolves_once_builds_one_validator_of_its_settings() -> None:
    """A resolution that needs pydantic-core builds a validator of its settings, never the table's.

    So the one resolution of a task process (and of ``import metaflow``) compiles the patterns
    of the settings in force only; the same settings again (an ``override`` scope entered again,
    a warm ``load()``) reuse it.
    """
    from metaflow_config import load, override
    from metaflow_config._resolve import validate

    validate._BUILT.clear()
    validate._TRIED.clear()
    validate._table_validator.cache_clear()
    load(env={"METAFLOW_BATCH_JOB_QUEUE": "q"}, home="/nonexistent", cwd="/")
    assert not validate._BUILT  # plain ASCII text, once: validated in Python (_model.quick)
    load(env={"METAFLOW_BATCH_JOB_QUEUE": "r"}, home="/nonexistent", cwd="/")
    assert frozenset({"BATCH_JOB_QUEUE"}) in validate._BUILT  # again: its validator
    load(env={"METAFLOW_USER": "jos\u00e9"}, home="/nonexistent", cwd="/")  # not ASCII
    assert frozenset({"USER"}) in validate._BUILT  # and the derived settings'
    with override(env={}, home="/nonexistent", cwd="/"):
        sizes = []
        for queue in ("a", "b", "c"):
            with override(BATCH_JOB_QUEUE=queue) as snapshot:
                assert snapshot["METAFLOW_BATCH_JOB_QUEUE"] == queue
            sizes.append(len(validate._BUILT))
    assert validate._table_validator.cache_info().currsize == 0
    assert sizes[0] == sizes[-1]  # the scopes' values: one set of settings, built once
