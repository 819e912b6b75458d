"""override() as a scope: entering, nesting, restoring, validating, what reads through it."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import metaflow_config.compat as mc
from metaflow_config import ConfigError, Settings, current, override, settings
from metaflow_config.testing import write_profile
from tests._override_helpers import ROLE, Q, _observed_queue, home

# --- the context manager ----------------------------------------------------------------------


def test_block_sets_value_and_restores_it() -> None:
    """Inside the block the override is read; after it, the value before is back."""
    assert settings.batch.job_queue is None
    with override(BATCH_JOB_QUEUE="q"):
        assert settings.batch.job_queue == "q"
        assert settings[Q] == "q"
    assert settings.batch.job_queue is None


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("BATCH_JOB_QUEUE", id="short"),
        pytest.param(Q, id="full"),
        pytest.param("JOB_QUEUE_NAME", id="alias"),
    ],
)
def test_keys_by_short_full_or_alias_name(key: str) -> None:
    """A setting is overridden by its short name, full name or alias; explain names the key."""
    with override({key: "q"}):
        info = settings.explain(Q)
    assert (info.value, info.source, info.location) == ("q", "override", f"override({key})")


def test_enter_returns_the_snapshot_in_force() -> None:
    """``with override(...) as s`` gives the snapshot that ``settings`` reads in the block."""
    with override(BATCH_JOB_QUEUE="q") as snapshot:
        assert isinstance(snapshot, Settings)
        assert snapshot.batch.job_queue == "q"
        assert current() is snapshot


def test_empty_override_changes_nothing() -> None:
    """``override()`` with nothing to change is the snapshot it was entered under."""
    outside = current()
    with override() as snapshot:
        assert snapshot is outside


def test_override_beats_profile_and_env_and_shows_them_shadowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The override layer wins over the profile and the environment, which explain lists."""
    write_profile(home(), {Q: "from-profile"})
    monkeypatch.setenv(Q, "from-env")
    with override(BATCH_JOB_QUEUE="from-code"):
        info = settings.explain(Q)
    assert info.value == "from-code"
    assert [s.source for s in info.shadowed] == ["profile", "env"]
    assert settings.batch.job_queue == "from-env"


# --- nesting and restoration ------------------------------------------------------------------


def test_nesting_innermost_wins_and_each_exit_restores_the_outer() -> None:
    """Nested scopes combine; the innermost wins; leaving one brings back exactly the outer."""
    with override(BATCH_JOB_QUEUE="outer", SFN_IAM_ROLE=ROLE):
        with override(BATCH_JOB_QUEUE="middle"):
            with override(BATCH_JOB_QUEUE="inner", BATCH_EMIT_TAGS=True):
                assert settings.batch.job_queue == "inner"
                assert settings.batch.emit_tags is True
                assert settings.sfn.iam_role == ROLE
            assert settings.batch.job_queue == "middle"
            assert settings.batch.emit_tags is False
        assert settings.batch.job_queue == "outer"
        assert settings.sfn.iam_role == ROLE
    assert settings.batch.job_queue is None
    assert settings.sfn.iam_role is None


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        pytest.param(Q, "BATCH_JOB_QUEUE", id="full-then-short"),
        pytest.param("BATCH_JOB_QUEUE", Q, id="short-then-full"),
        pytest.param("BATCH_JOB_QUEUE", "JOB_QUEUE_NAME", id="name-then-alias"),
    ],
)
def test_inner_wins_however_the_key_is_spelled(outer: str, inner: str) -> None:
    """Nested scopes merge by setting, so a different spelling of the key still wins inside."""
    with override({outer: "outer"}), override({inner: "inner"}):
        assert settings.batch.job_queue == "inner"
        assert settings.explain(Q).location == f"override({inner})"


@pytest.mark.parametrize("unset", [None, ""], ids=["none", "empty"])
def test_inner_none_leaves_the_outer_value(unset: Any) -> None:
    """None (or "") in a scope means "not set here": the outer scope's value stays in force."""
    with override(BATCH_JOB_QUEUE="outer"), override(BATCH_JOB_QUEUE=unset):
        assert settings.batch.job_queue == "outer"


def test_exception_in_block_restores_and_propagates() -> None:
    """An exception leaving nested blocks restores each outer scope and reaches the caller."""
    seen: list[Any] = []

    def fail_inside(*scopes: Any) -> None:
        with contextlib.ExitStack() as stack:
            for scope in scopes:
                stack.enter_context(scope)
            seen.append(_observed_queue())
            raise KeyError("boom")

    with override(BATCH_JOB_QUEUE="outer"):
        with pytest.raises(KeyError, match="boom"):
            fail_inside(override(BATCH_JOB_QUEUE="inner"))
        assert settings.batch.job_queue == "outer"
    with pytest.raises(KeyError, match="boom"):
        fail_inside(override(BATCH_JOB_QUEUE="x"), override(SFN_IAM_ROLE=ROLE))
    assert seen == [("inner", "inner"), ("x", "x")]
    assert (settings.batch.job_queue, settings.sfn.iam_role) == (None, None)


def test_same_instance_nests_and_restores() -> None:
    """One override object entered twice, nested, unwinds one level per exit."""
    scope = override(BATCH_JOB_QUEUE="q")
    with override(SFN_IAM_ROLE=ROLE):
        with scope:
            with scope:
                assert settings.batch.job_queue == "q"
            assert settings.batch.job_queue == "q"
        assert settings.batch.job_queue is None
        assert settings.sfn.iam_role == ROLE


def test_exit_where_it_was_not_entered_is_an_error() -> None:
    """Leaving a scope in a context that never entered it raises instead of corrupting state."""
    scope = override(BATCH_JOB_QUEUE="q")
    with pytest.raises(RuntimeError, match="not active"):
        scope.__exit__(None, None, None)


# --- validation -------------------------------------------------------------------------------


def test_bad_value_raises_on_entry_naming_the_override() -> None:
    """A value that does not validate raises ConfigError on entry; nothing is left in force."""
    scope = override(BATCH_EMIT_TAGS="maybe")
    with pytest.raises(ConfigError, match=r"override\(BATCH_EMIT_TAGS\)") as caught, scope:
        pytest.fail("the block must not run")
    (problem,) = caught.value.problems
    assert (problem.setting, problem.layer) == ("METAFLOW_BATCH_EMIT_TAGS", "override")
    assert "'maybe'" in problem.value
    assert current() == settings._snapshot()  # type: ignore[attr-defined]
    assert settings.batch.emit_tags is False


def test_every_bad_value_is_reported_together() -> None:
    """Two bad values in one scope come back as two problems of one ConfigError."""
    with pytest.raises(ConfigError) as caught, override(BATCH_EMIT_TAGS="maybe", SFN_IAM_ROLE="x"):
        pass
    assert {p.setting for p in caught.value.problems} == {
        "METAFLOW_BATCH_EMIT_TAGS",
        "METAFLOW_SFN_IAM_ROLE",
    }


def test_unknown_key_is_an_error_with_a_suggestion() -> None:
    """A misspelled name raises ConfigError at the call, with a did-you-mean, and with every
    bad value beside it (one run shows all that is wrong)."""
    with pytest.raises(ConfigError, match="did you mean METAFLOW_BATCH_JOB_QUEUE"):
        override(BATCH_JOB_QUEU="q")
    with pytest.raises(ConfigError) as caught:
        override(
            BATCH_JOB_QUEU="q", SERVICE_URL="x", BATCH_EMIT_TAGS="maybe", DEFAULT_DATASTORE="S3"
        )
    assert [p.setting for p in caught.value.problems] == [
        "BATCH_JOB_QUEU",
        "METAFLOW_SERVICE_URL",
        "METAFLOW_BATCH_EMIT_TAGS",
        "METAFLOW_DEFAULT_DATASTORE",  # a plugin's name near a known one
    ]


def test_unknown_key_in_a_decorator_fails_at_decoration() -> None:
    """A decorator with a misspelled name fails where it is written, not when called."""
    with pytest.raises(ConfigError, match="BATCH_JOB_QUEU"):

        @override(BATCH_JOB_QUEU="q")
        def step() -> None:  # pragma: no cover - never defined
            pass


def test_typed_values_validate_like_any_layer() -> None:
    """Python values (bool, int, dict) and strings parse and validate as in files and env."""
    tags = {"team": "ml"}
    with override(BATCH_EMIT_TAGS="yes", KUBERNETES_PORT=8080, BATCH_DEFAULT_TAGS=tags):
        assert settings.batch.emit_tags is True
        assert settings.kubernetes.port == 8080
        assert settings.batch.default_tags == tags
    with pytest.raises(ConfigError, match="DATASTORE_SYSROOT_S3"):
        override(DATASTORE_SYSROOT_S3="not-a-url").__enter__()


def test_repr_masks_secrets() -> None:
    """The repr of a scope names its keys but never shows a secret value."""
    text = repr(override(SERVICE_AUTH_KEY="s3cr3t", BATCH_JOB_QUEUE="q"))
    assert "SERVICE_AUTH_KEY" in text
    assert "'q'" in text
    assert "s3cr3t" not in text


# --- derived defaults -------------------------------------------------------------------------


def test_derived_defaults_follow_an_overridden_base() -> None:
    """Overriding the sysroot moves every root derived from it, with source 'derived'."""
    with override(DATASTORE_SYSROOT_S3="s3://bucket/mf"):
        assert settings.datatools.s3root == "s3://bucket/mf/data"
        assert settings.explain("METAFLOW_DATATOOLS_S3ROOT").source == "derived"
        assert mc.CARD_S3ROOT == "s3://bucket/mf/mf.cards"
        assert mc.CONDA_PACKAGE_S3ROOT == "s3://bucket/mf/conda"
    assert settings.datatools.s3root is None


def test_derived_follows_inner_base_but_an_explicit_value_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An inner sysroot re-derives DATATOOLS_S3ROOT, unless an outer scope set it explicitly."""
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://env/mf")
    with override(DATASTORE_SYSROOT_S3="s3://aaa/mf"):
        assert settings.datatools.s3root == "s3://aaa/mf/data"
        with (
            override(DATATOOLS_S3ROOT="s3://pinned/data"),
            override(DATASTORE_SYSROOT_S3="s3://bbb/mf"),
        ):
            assert settings.datatools.s3root == "s3://pinned/data"
            assert settings.cards.s3root == "s3://bbb/mf/mf.cards"
    assert settings.datatools.s3root == "s3://env/mf/data"


# --- what reads through the override ----------------------------------------------------------


def test_compat_and_snapshot_methods_see_the_override() -> None:
    """compat names, lookup by name, explain and to_env all read the scope in force."""
    with override(BATCH_JOB_QUEUE="q", SERVICE_URL="https://mf.example.com/api"):
        assert mc.BATCH_JOB_QUEUE == "q"
        assert mc.SERVICE_INTERNAL_URL == "https://mf.example.com/api"
        assert settings.to_env("batch")[Q] == "q"
        assert "METAFLOW_BATCH_JOB_QUEUE='q'" in repr(settings)
    assert mc.BATCH_JOB_QUEUE is None
    assert Q not in settings.to_env("batch")


def test_an_override_whose_arguments_failed_has_a_repr() -> None:
    """A traceback of a mistyped override() shows the object: its repr must not raise."""
    import traceback

    from metaflow_config._override import Override

    try:
        override(BATCH_JOB_QUEU="q")
    except ConfigError as exc:
        frames = traceback.TracebackException.from_exception(exc, capture_locals=True)
        assert "AttributeError" not in "".join(frames.format())
    assert repr(Override.__new__(Override)) == "override(<not made: invalid arguments>)"
