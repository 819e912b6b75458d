"""Laws of resolution, checked by Hypothesis over random configurations.

Budgets come from the Hypothesis profile (tests/conftest.py): ``ci`` by default, ``dev`` or
``fuzz`` with ``HYPOTHESIS_PROFILE=...`` for a longer run.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from metaflow_config import ConfigError, Settings, current, load, override
from metaflow_config._model.fields import Context, join_url
from metaflow_config._model.table import BY_NAME, DERIVED, FIELDS
from metaflow_config._model.values import thaw
from tests._strategies import (
    WRITTEN_LAYERS,
    Config,
    check_round_trip,
    check_views,
    configs,
    json_values,
    kinds_without_strategy,
    place,
    resolve_anything,
    value_triples,
    write,
    write_private,
)

#: Derived settings and everything they derive from: the pool of the derived-law examples.
_DERIVED_FAMILY = sorted(
    {d.env for d in DERIVED}
    | {BY_NAME[b].env for d in DERIVED for b in (d.derive.bases if d.derive else ())}
)


def test_every_kind_has_a_strategy() -> None:
    """The value strategies cover every kind in the table (a new kind needs one)."""
    assert kinds_without_strategy() == set()


def _load_unless_derived_invalid(**kwargs: Any) -> Settings:
    """``load``; a draw whose valid values derive an invalid one (a suffix ``" "`` under a
    sysroot) is rejected: it is a ConfigError by design, not a counterexample of the law.
    """
    try:
        return load(**kwargs)
    except ConfigError as error:
        assume(not all(p.layer == "derived" for p in error.problems))
        raise


@given(config=configs())
def test_precedence_law(config: Config) -> None:
    """The highest layer that sets a key wins; the lower ones are listed as shadowed."""
    with place() as where:
        s = _load_unless_derived_invalid(**write(where, config))
        for layer in WRITTEN_LAYERS:
            for name in config.raw[layer]:
                setters = config.layers_setting(name)
                top = setters[-1]
                info = s.explain(name)
                assert info.source == top
                assert thaw(s[name]) == thaw(config.typed[top][name])
                assert [sh.source for sh in info.shadowed] == setters[:-1]


@given(config=configs(names=st.sampled_from(_DERIVED_FAMILY), max_settings=5))
def test_derived_law(config: Config) -> None:
    """A derived value appears iff no layer sets it, and follows its bases' resolved values."""
    with place() as where:
        kwargs = write(where, config)
        s = load(**kwargs)
        values = {f.name: s[f.env] for f in FIELDS}
        ctx = Context(kwargs["env"], kwargs["cwd"])
        for setting in DERIVED:
            assert setting.derive is not None
            source = s.source(setting.env)
            if config.layers_setting(setting.env):
                assert source in WRITTEN_LAYERS
                continue
            expected, _ = setting.derive.fn(values, ctx)
            if expected is None:
                assert source == "default"
            else:
                assert source == "derived"
                assert s[setting.env] == expected
        sysroot = s["METAFLOW_DATASTORE_SYSROOT_S3"]
        if sysroot is not None and not config.layers_setting("METAFLOW_DATATOOLS_S3ROOT"):
            suffix = s["METAFLOW_DATATOOLS_SUFFIX"]
            assert s["METAFLOW_DATATOOLS_S3ROOT"] == join_url(sysroot, suffix)
            assert (
                "//"
                not in s["METAFLOW_DATATOOLS_S3ROOT"][len("s3://") :].replace(
                    sysroot.rstrip("/")[len("s3://") :], "", 1
                )[:1]
            )


@given(config=configs(max_settings=6))
def test_to_env_round_trip(config: Config) -> None:
    """``load(env=s.to_env(t))`` equals ``s`` on every setting that travels, for every target."""
    with place() as where:
        s = _load_unless_derived_invalid(**write(where, config))
        check_round_trip(s, where.elsewhere, where.elsewhere)


@given(config=configs(max_settings=3))
def test_round_trip_is_a_fixed_point(config: Config) -> None:
    """Exporting what an export resolved to gives the same export (to_env is idempotent)."""
    with place() as where:
        s = _load_unless_derived_invalid(**write(where, config))
        first = s.to_env("local")
        again = load(env=first, home=where.elsewhere, cwd=where.elsewhere).to_env("local")
        assert again == first


def _overrides(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from([f.env for f in FIELDS]), max_size=3, unique=True))
    result: dict[str, Any] = {}
    for name in names:
        _, env_raw, typed = draw(value_triples(BY_NAME[name[len("METAFLOW_") :]]))
        short = draw(st.booleans())
        result[name[len("METAFLOW_") :] if short else name] = draw(
            st.sampled_from([typed, env_raw])
        )
    return result


def _full(values: dict[str, Any]) -> dict[str, Any]:
    return {(k if k.startswith("METAFLOW_") else "METAFLOW_" + k): v for k, v in values.items()}


@given(data=st.data())
def test_override_nesting_law(data: st.DataObject) -> None:
    """Nested overrides compose like one merged override; leaving a scope restores the outer."""
    outer = _overrides(data.draw)
    inner = _overrides(data.draw)
    base = current()
    seen_elsewhere: list[Settings] = []
    with override(outer):
        outer_view = current()
        assert outer_view == load(overrides=outer)
        with override(inner):
            merged = {**_full(outer), **_full(inner)}
            assert current() == load(overrides=merged)
            for name in merged:
                source = current().source(name)
                assert source == "override"
            thread = threading.Thread(target=lambda: seen_elsewhere.append(current()))
            thread.start()
            thread.join()
        assert current() == outer_view
    assert current() == base
    assert seen_elsewhere == [base]  # another thread never sees this thread's overrides


# --- arbitrary input: only ConfigError -------------------------------------------------------

_NAMES = st.sampled_from([f.env for f in FIELDS])
#: JSON-valued settings parse their environment text: the likeliest place for a parser to crash
_JSON_NAMES = st.sampled_from([f.env for f in FIELDS if f.kind.json_valued])
_keys = _NAMES | st.text(max_size=30) | st.builds(lambda t: "METAFLOW_" + t, st.text(max_size=20))
_EDGE = ["", " ", "\0", "\n", "true", "1.5", "-1", "{}", "[]", "null", "NaN", "1e400", "[" * 5000]
_env_values = st.text(max_size=40) | st.sampled_from(_EDGE)
_file_values = json_values | st.sampled_from(["", " ", "\0", "\n", 1e308, -1, 2**70])


@st.composite
def _arbitrary_inputs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "profile": draw(st.none() | st.dictionaries(_NAMES | _keys, _file_values, max_size=6)),
        "local": draw(st.none() | st.dictionaries(_NAMES | _keys, _file_values, max_size=4)),
        "env": draw(st.dictionaries(_NAMES | _JSON_NAMES | _keys, _env_values, max_size=6)),
        "profile_name": draw(st.none() | st.sampled_from(["", "dev", "../x", "a/b", "x\0"])),
    }


def _inputs(**given: Any) -> dict[str, Any]:
    return {"profile": None, "local": None, "env": {}, "profile_name": None, **given}


@given(inputs=_arbitrary_inputs())
@example(inputs=_inputs(profile={"METAFLOW_DATATOOLS_SUFFIX": ""}))  # "" in a file: unset
@example(inputs=_inputs(local={"METAFLOW_BATCH_JOB_QUEUE": ""}))
@example(inputs=_inputs(env={"METAFLOW_SERVICE_HEADERS": "[" * 5000}))  # RecursionError
@example(inputs=_inputs(profile={"\0duplicates": 1}))  # an internal marker as a key
def test_arbitrary_json_and_env_raise_only_config_error(inputs: dict[str, Any]) -> None:
    """Any JSON in the files and any strings in the environment: a snapshot or a ConfigError."""
    with place() as where:
        if inputs["profile"] is not None:
            name = "config_dev.json" if inputs["profile_name"] == "dev" else "config.json"
            write_private(os.path.join(where.home, name), inputs["profile"])
        if inputs["local"] is not None:
            local = os.path.join(where.project, ".metaflow", "config.json")
            write_private(local, inputs["local"])
        kwargs = {"env": inputs["env"], "home": where.home, "cwd": where.project}
        if inputs["profile_name"] is not None:
            kwargs["profile"] = inputs["profile_name"]
        result = resolve_anything(kwargs)
        if isinstance(result, Settings):
            check_views(result)
            check_round_trip(result, where.elsewhere, where.elsewhere)


@pytest.mark.parametrize("layer", ["profile", "env", "override"])
def test_arbitrary_values_for_every_setting(layer: str) -> None:
    """Every setting, fed junk in one layer, gives a snapshot or a ConfigError naming it."""

    # each example resolves all 153 settings: a quarter of the profile's budget is plenty
    @settings(max_examples=max(10, settings.default.max_examples // 4))
    @given(junk=json_values if layer != "env" else st.text(max_size=30))
    def check(junk: Any) -> None:
        with place() as where:
            for f in FIELDS:
                kwargs: dict[str, Any] = {"env": {}, "home": where.home, "cwd": where.elsewhere}
                if layer == "profile":
                    write_private(os.path.join(where.home, "config.json"), {f.env: junk})
                elif layer == "env":
                    kwargs["env"] = {f.env: junk}
                else:
                    kwargs["overrides"] = {f.name: junk}
                result = resolve_anything(kwargs)
                if isinstance(result, ConfigError):
                    assert [p.setting for p in result.problems] == [f.env]

    check()
