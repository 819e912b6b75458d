"""A section resolved from the layers alone is exactly what pydantic-settings' sources give.

``MetaflowBaseSettings()`` merges the layers itself when nothing else can contribute (no keyword
arguments, pydantic-settings' hooks and settings-only configuration left alone), instead of
letting ``BaseSettings`` build its default sources first. These tests hold that direct path to
the ``BaseSettings`` path, value for value and message for message, and check that everything
else still goes through ``BaseSettings``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from metaflow_config import ConfigError, ConfigWarning, load
from metaflow_config import pydantic as mf_pydantic
from metaflow_config.pydantic import MetaflowBaseSettings, resolve_model
from metaflow_config.testing import write_local, write_profile
from tests.test_sections import installed, load_layered

RICH = '''
from typing import Any, Dict, List, Literal, Optional
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Inner(BaseModel):
    a: int = 1
    b: str = "x"


class Rich(MetaflowBaseSettings):
    """A section with a field of every shape the layers can merge."""

    model_config = SettingsConfigDict(env_prefix="METAFLOW_RICH_")
    name: Optional[str] = None
    count: int = 3
    flag: bool = False
    tags: Dict[str, Any] = {}
    inner: Inner = Inner()
    sizes: List[int] = []
    token: Optional[SecretStr] = None
    mode: Literal["a", "b"] = "a"
'''

KEYS = ["NAME", "COUNT", "FLAG", "TAGS", "INNER", "SIZES", "TOKEN", "MODE"]
LAYERS = ["profile", "local", "env", "override"]


@pytest.fixture
def rich(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """``rich-mf`` installed (on sys.path) and discovered; its ``Rich`` class."""
    for module in installed(
        tmp_path_factory, monkeypatch, "rich-mf", "rich = rich_mf.config:Rich", RICH
    ):
        yield module.Rich


def _outcome(cls: type[Any], snapshot: Any) -> tuple[Any, ...]:
    """What resolving ``cls`` from ``snapshot`` gives: the model's data and set fields, or the
    error's whole text."""
    try:
        model = resolve_model(cls, snapshot)
    except ConfigError as exc:
        return ("error", str(exc))
    return ("model", model.model_dump(), model.model_fields_set)


def _through_base_settings(cls: type[Any], snapshot: Any) -> tuple[Any, ...]:
    """:func:`_outcome` with the direct path turned off: BaseSettings builds the sources."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mf_pydantic, "_direct", lambda cls: False)
        return _outcome(cls, snapshot)


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**4), st.text("abxy1-", max_size=4))
#: values as a JSON file or override() holds them: scalars, lists, nested dicts
_json = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner),
    max_leaves=6,
)
#: what the environment holds: JSON text of such a value, or any short text
_text = _json.map(json.dumps) | st.text('ab1{}[]":, tru', max_size=8)


@hypothesis_settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    data=st.fixed_dictionaries(
        {
            key: st.fixed_dictionaries(
                {},
                optional={
                    "profile": _json,
                    "local": _json,
                    "env": _text,
                    "override": _json | _text,
                },
            )
            for key in KEYS
        }
    )
)
def test_the_direct_path_equals_base_settings(
    rich: type[Any], tmp_path_factory: pytest.TempPathFactory, data: dict[str, dict[str, Any]]
) -> None:
    """Every layer holding any value for any field, dicts merged across layers, invalid values:
    the same model (data and fields set) or the same message, word for word."""
    layered = {"RICH_" + key: by_layer for key, by_layer in data.items()}
    try:
        snapshot = load_layered(tmp_path_factory.mktemp("direct"), layered)
    except ConfigError:  # a layer refused as a whole (not the model's business)
        return
    assert _outcome(rich, snapshot) == _through_base_settings(rich, snapshot)


def test_dicts_merge_across_layers_in_pydantic_settings_order(
    rich: type[Any], tmp_path: Path
) -> None:
    """Nested dicts merge, each layer laid under the higher ones, as pydantic-settings merges
    its sources: so a scalar between two dicts does not cut the lower dict off."""
    write_profile(tmp_path / "home", {"RICH_TAGS": {"k": {"p": 1}}, "RICH_INNER": {"a": 5}})
    write_local(tmp_path, {"RICH_TAGS": {"k": 2}})
    env = {"METAFLOW_RICH_TAGS": '{"k": {"e": 3}}', "METAFLOW_RICH_INNER": '{"b": "env"}'}
    snapshot = load(env=env, home=tmp_path / "home", cwd=tmp_path)
    model = snapshot.section(rich)
    assert model.tags == {"k": {"p": 1, "e": 3}}
    assert (model.inner.a, model.inner.b) == (5, "env")
    assert _outcome(rich, snapshot) == _through_base_settings(rich, snapshot)


def test_the_direct_path_builds_no_default_source(
    rich: type[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sources BaseSettings would build and discard (they read all of os.environ) are not
    built; with keyword arguments BaseSettings resolves, and builds them."""
    import pydantic_settings.main

    built: list[str] = []

    class Counted(pydantic_settings.main.EnvSettingsSource):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pydantic_settings.main, "EnvSettingsSource", Counted)
    env = {"METAFLOW_RICH_COUNT": "7"}
    snapshot = load(env=env, home=tmp_path / "home", cwd=tmp_path)
    assert snapshot.section(rich).count == 7
    assert built == []
    with mf_pydantic.bound(snapshot):
        assert rich(flag=True).model_dump()["count"] == 7
    assert built == ["Counted"]


def _model(body: str, **config: Any) -> type[Any]:
    """A MetaflowBaseSettings subclass with ``config`` and the class body ``body``."""
    namespace: dict[str, Any] = {
        "model_config": SettingsConfigDict(env_prefix="METAFLOW_SEC_", **config),  # type: ignore[typeddict-item]
        "__annotations__": {"value": "int"},
        "value": 1,
    }
    exec(body, globals(), namespace)  # noqa: S102 - test-made class bodies
    return type("Sec", (MetaflowBaseSettings,), namespace)


HOOK = """
@classmethod
def {name}(cls, *args, **kwargs):
    return getattr(super(Sec, cls), "{name}")(*args, **kwargs)
"""


@pytest.mark.parametrize("hook", sorted(mf_pydantic._HOOKS))
def test_a_model_with_a_hook_of_its_own_goes_through_base_settings(hook: str) -> None:
    """A model (or a base between it and MetaflowBaseSettings) defining one of
    pydantic-settings' hooks is resolved by BaseSettings, which calls it."""
    body = HOOK.format(name=hook).replace("super(Sec, cls)", "super(cls.__mro__[1], cls)")
    base = _model(body)
    assert not mf_pydantic._direct(base)
    below = type("Below", (base,), {})
    assert not mf_pydantic._direct(below)
    assert mf_pydantic._direct(_model(""))


@pytest.mark.parametrize(
    "config",
    [
        {"nested_model_default_partial_update": True},
        {"cli_parse_args": ["--value", "2"]},
        {"case_sensitive": True},
        {"json_file": "settings.json"},
        {"secrets_dir": "/run/secrets"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_settings_only_configuration_goes_through_base_settings(config: dict[str, Any]) -> None:
    """A settings-only configuration key of its own: BaseSettings resolves the model, so its
    meaning (a CLI source, a warning, partial updates) stays pydantic-settings'."""
    assert not mf_pydantic._direct(_model("", **config))


def test_a_model_of_its_own_sources_still_gets_them(tmp_path: Path) -> None:
    """A source a model adds with ``settings_customise_sources`` is applied as before."""

    class Constant(PydanticBaseSettingsSource):
        def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
            return None, "", False

        def __call__(self) -> dict[str, Any]:
            return {"value": 42}

    class Sourced(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_SOURCED_")
        value: int = 1

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], *args: Any, **kwargs: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (Constant(settings_cls),)

    assert Sourced().value == 42


def test_partial_update_of_a_nested_default_is_pydantic_settings(tmp_path: Path) -> None:
    """``nested_model_default_partial_update`` keeps its meaning: a layer's partial dict is
    laid over the nested default, and fields left at their defaults are not "set"."""

    class Inner(BaseModel):
        a: int = 1
        b: str = "x"

    class Partial(MetaflowBaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="METAFLOW_PARTIAL_", nested_model_default_partial_update=True
        )
        inner: Inner = Inner(a=9)
        token: SecretStr = SecretStr("s")

    with pytest.warns(ConfigWarning, match="METAFLOW_PARTIAL_INNER"):  # not registered
        snapshot = load(
            env={"METAFLOW_PARTIAL_INNER": '{"b": "y"}'}, home=tmp_path / "home", cwd=tmp_path
        )
    model = resolve_model(Partial, snapshot)
    assert (model.inner.a, model.inner.b) == (9, "y")


def test_a_model_not_registered_reads_every_layers_keys(tmp_path: Path) -> None:
    """Keys nothing applies are held as each layer read them, and a model that is not
    registered reads its own from every layer: the highest wins, an unset one holds nothing."""

    class Loose(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_LOOSE_")
        value: int = 1
        name: str = "default"
        tags: dict[str, int] = Field(default_factory=dict)

    home = tmp_path / "home"
    write_profile(home, {"METAFLOW_LOOSE_VALUE": 5, "METAFLOW_LOOSE_TAGS": {"a": 1}})
    local = {"METAFLOW_LOOSE_NAME": "", "METAFLOW_LOOSE_VALUE": 6}
    write_local(tmp_path, local, trusted_by=home)
    env = {"METAFLOW_LOOSE_TAGS": '{"b": 2}'}
    with pytest.warns(ConfigWarning):  # its keys are not registered: warned, yet read
        snapshot = load(env=env, home=home, cwd=tmp_path)
    model = resolve_model(Loose, snapshot)
    assert (model.value, model.name, model.tags) == (6, "default", {"a": 1, "b": 2})

    write_local(tmp_path, {**local, "METAFLOW_LOOSE_NAME": None})  # changed since trusted:
    # a key no section declares is not read from it
    with pytest.warns(ConfigWarning):
        snapshot = load(env=env, home=home, cwd=tmp_path)
    assert resolve_model(Loose, snapshot).value == 5  # the profile's


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("[" * 100_000, "nested too deeply", id="nesting-bomb"),
        pytest.param("[1, NaN]", "NaN is not a JSON number", id="nan"),
        pytest.param("[1e400]", "a number out of a float's range", id="infinite"),
        pytest.param(
            "[1,", "the text ends early (a missing ] or value?) at line 1 column 4", id="malformed"
        ),
    ],
)
def test_json_text_that_is_not_json_is_a_config_error_saying_why(
    rich: type[Any], tmp_path: Path, text: str, reason: str
) -> None:
    """A complex field's text that is not strict JSON is a ConfigError naming the key, the
    layer and why (never a RecursionError, never NaN let in), on both paths alike; every bad
    field is reported together."""
    env = {"METAFLOW_RICH_SIZES": text, "METAFLOW_RICH_TAGS": text}
    snapshot = load(env=env, home=tmp_path / "home", cwd=tmp_path)
    with pytest.raises(ConfigError) as info:
        snapshot.section(rich)
    message = str(info.value)
    for key in ("METAFLOW_RICH_SIZES", "METAFLOW_RICH_TAGS"):
        assert f"{key} (env: {key})" in message
    assert message.count(f"(not valid JSON ({reason}") == 2, message
    assert _through_base_settings(rich, snapshot) == ("error", message)


def _nested(depth: int) -> dict[str, Any]:
    """A dict nesting ``depth`` levels, built without recursion."""
    top: dict[str, Any] = {}
    inner = top
    for _ in range(depth):
        inner["k"] = {}
        inner = inner["k"]
    return top


@pytest.mark.parametrize(
    "tags",
    [
        pytest.param({"x": float("nan")}, id="nan"),
        pytest.param({"when": datetime.date(2026, 12, 1)}, id="an-object"),
    ],
)
def test_a_value_that_would_not_read_back_does_not_travel(
    rich: type[Any], tmp_path: Path, tags: dict[str, Any]
) -> None:
    """``to_env`` refuses a registered key's value that an environment variable cannot carry
    (a ConfigError naming the key and the layer, with the others found), never a raw
    RecursionError or TypeError, and never ``NaN`` text a container would refuse."""
    snapshot = load(
        overrides={"RICH_TAGS": tags, "RICH_NAME": "a\0b"}, home=tmp_path / "home", cwd=tmp_path
    )
    with pytest.raises(ConfigError) as info:
        snapshot.to_env("batch")
    found = {(p.setting, p.layer) for p in info.value.problems}
    assert {("METAFLOW_RICH_TAGS", "override"), ("METAFLOW_RICH_NAME", "override")} <= found
    assert "reads back unchanged" in str(info.value)


@pytest.mark.parametrize("depth", [65, 100_000])
def test_a_value_nested_past_the_bound_is_refused_in_every_layer(
    rich: type[Any], tmp_path: Path, depth: int
) -> None:
    """A registered key's value nested deeper than MAX_JSON_DEPTH (64) levels is a problem of
    the layer it comes from, as for built-in JSON settings: given by code, in a file, or as
    environment text (said when its model is built). Never a RecursionError, nor a value that
    ``show`` or ``to_env`` could not carry."""
    deep = {"k": _nested(depth)}
    with pytest.raises(ConfigError) as by_code:
        load(overrides={"RICH_TAGS": deep}, home=tmp_path / "home", cwd=tmp_path)
    (problem,) = by_code.value.problems
    assert (problem.setting, problem.layer) == ("METAFLOW_RICH_TAGS", "override")
    assert "nested at most 64 levels deep" in problem.expected
    if depth < 900:  # deeper than json itself reads: said as "nested too deeply" (above)
        write_profile(tmp_path / "home", {"RICH_TAGS": deep})
        with pytest.raises(ConfigError) as in_file:
            load(env={}, home=tmp_path / "home", cwd=tmp_path)
        (problem,) = in_file.value.problems
        assert (problem.setting, problem.layer) == ("METAFLOW_RICH_TAGS", "profile")
        text = json.dumps(deep)
        snapshot = load(env={"METAFLOW_RICH_TAGS": text}, home=tmp_path / "none", cwd=tmp_path)
        with pytest.raises(ConfigError, match="nested at most 64 levels deep"):
            snapshot.section(rich)


def test_a_value_within_the_bound_travels(rich: type[Any], tmp_path: Path) -> None:
    """What can travel does, and a fresh process builds the same model from it."""
    tags = {"deep": _nested(60), "n": 1.5}
    snapshot = load(overrides={"RICH_TAGS": tags}, home=tmp_path / "home", cwd=tmp_path)
    exported = snapshot.to_env("batch")
    fresh = load(env=exported, home=tmp_path / "none", cwd=tmp_path)
    assert fresh.section(rich).tags == snapshot.section(rich).tags == tags
