"""Settings users add: a pydantic-settings model registered by a throwaway distribution.

Each test that needs it installs ``acme-mf`` on ``sys.path`` (a ``*.dist-info`` with an
``entry_points.txt`` is enough for ``importlib.metadata``), registering ``Acme`` in the group
``metaflow_config.sections``; the registry is reset around every test.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config import (
    ConfigError,
    ConfigWarning,
    Settings,
    load,
    override,
    settings,
)
from metaflow_config._sources import sections as _sections
from metaflow_config.testing import write_local, write_profile
from tests.conftest import invoke

TOKEN = "tok-ZQXJ-secret"

ACME = '''
from typing import Optional
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Acme(MetaflowBaseSettings):
    """ACME's Metaflow settings."""

    model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
    gpu_queue: Optional[str] = Field(None, description="The GPU queue.")
    cost_center: str = "ml"
    spot: bool = False
    api_token: Optional[SecretStr] = None
    retries: int = 3
'''


def _install(root: Path, name: str, entry: str, module: str) -> None:
    package = name.replace("-", "_")
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "config.py").write_text(module)
    info = root / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[metaflow_config.sections]\n{entry}\n")


def installed(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    entry: str,
    module: str,
) -> Iterator[Any]:
    """The distribution ``name`` installed (on sys.path) and discovered, registering ``entry``;
    yields its ``config`` module, forgotten afterwards (a generator for a fixture)."""
    root = tmp_path_factory.mktemp("site")
    _install(root, name, entry, module)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    _sections.reset()
    package = name.replace("-", "_")
    try:
        yield importlib.import_module(f"{package}.config")
    finally:
        for loaded in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[loaded]
        _sections.reset()


@pytest.fixture
def registered(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """``acme-mf`` installed (on sys.path) and discovered; its ``Acme`` class."""
    for module in installed(
        tmp_path_factory, monkeypatch, "acme-mf", "acme = acme_mf.config:Acme", ACME
    ):
        yield module.Acme


def load_layered(
    root: Path,
    data: dict[str, dict[str, Any]],
    env_text: Callable[[str, Any], str] = lambda key, value: value,
) -> Settings:
    """A snapshot whose layers hold ``data`` (short key -> layer -> value), from files written
    under ``root``; ``env_text(key, value)`` is what the environment layer holds."""
    files: dict[str, dict[str, Any]] = {"profile": {}, "local": {}}
    env: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    for key, by_layer in data.items():
        for layer, value in by_layer.items():
            if layer in files:
                files[layer][key] = value
            elif layer == "env":
                env["METAFLOW_" + key] = env_text(key, value)
            else:
                overrides[key] = value
    write_profile(root / "home", files["profile"])
    write_local(root, files["local"], trusted_by=root / "home")
    return load(env=env, home=root / "home", cwd=root, overrides=overrides)


def home() -> Path:
    return Path(os.environ["METAFLOW_HOME"])


# --- the model, standalone and in a snapshot --------------------------------------------------


LAYER_PAIRS = [
    pytest.param("default", "profile", id="profile-beats-default"),
    pytest.param("profile", "local", id="local-beats-profile"),
    pytest.param("local", "env", id="env-beats-local"),
    pytest.param("env", "override", id="override-beats-env"),
    pytest.param("override", "init", id="init-beats-override"),
]


def _set(layer: str, value: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Put ``value`` for ACME_GPU_QUEUE in ``layer``; return a scope to enter (or None)."""
    if layer == "profile":
        write_profile(home(), {"ACME_GPU_QUEUE": value})
    elif layer == "local":
        write_local(Path.cwd(), {"ACME_GPU_QUEUE": value})
    elif layer == "env":
        monkeypatch.setenv("METAFLOW_ACME_GPU_QUEUE", value)
    elif layer == "override":
        return override(ACME_GPU_QUEUE=value)
    return None


@pytest.mark.parametrize(("lower", "higher"), LAYER_PAIRS)
def test_standalone_precedence(
    registered: type[Any], monkeypatch: pytest.MonkeyPatch, lower: str, higher: str
) -> None:
    """``Acme()``: defaults < profile < local < METAFLOW_ACME_* < override() < keyword args."""
    (Path.cwd() / ".metaflow").mkdir(exist_ok=True)
    scopes = [_set(lower, "low", monkeypatch)]
    if higher != "init":
        scopes.append(_set(higher, "high", monkeypatch))
    settings.reload()
    entered = [scope for scope in scopes if scope is not None]
    for scope in entered:
        scope.__enter__()
    try:
        made = registered(gpu_queue="high") if higher == "init" else registered()
        assert made.gpu_queue == "high"
        if lower != "default" and higher == "init":
            assert registered().gpu_queue == "low"  # without the keyword: the lower layer
    finally:
        for scope in reversed(entered):
            scope.__exit__(None, None, None)


def test_the_snapshot_reads_a_registered_section(
    registered: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """section(cls), [name], source and explain, as for built-in settings."""
    write_profile(home(), {"ACME_GPU_QUEUE": "from-profile", "ACME_SPOT": True})
    monkeypatch.setenv("METAFLOW_ACME_GPU_QUEUE", "from-env")
    s = load()
    acme = s.section(registered)
    assert isinstance(acme, registered)
    assert acme is s.section(registered)  # once per snapshot
    assert (acme.gpu_queue, acme.spot, acme.cost_center) == ("from-env", True, "ml")
    assert s["METAFLOW_ACME_GPU_QUEUE"] == s["ACME_GPU_QUEUE"] == "from-env"
    assert s.source("METAFLOW_ACME_GPU_QUEUE") == "env"
    info = s.explain("ACME_GPU_QUEUE")
    assert (info.value, info.source, info.location) == (
        "from-env",
        "env",
        "METAFLOW_ACME_GPU_QUEUE",
    )
    assert [(x.source, x.value) for x in info.shadowed] == [("profile", "'from-profile'")]
    assert info.doc == "The GPU queue."
    assert s.explain("ACME_SPOT").location == f"{home() / 'config.json'}:METAFLOW_ACME_SPOT"
    assert s.source("ACME_RETRIES") == "default"


NESTED = """
from typing import List, Optional
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Endpoint(BaseModel):
    url: str = Field("https://good.example.com", json_schema_extra={"sensitive": True})


class Acme(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
    api_url: str = Field("https://acme.example.com", json_schema_extra={"sensitive": True})
    endpoint: Endpoint = Endpoint()
    mirrors: Optional[List[Endpoint]] = None
    team: str = "ml"
"""


def test_a_field_holding_a_sensitive_field_is_sensitive(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint's fields grouped in a model: the field holding them decides where data goes
    as much as the endpoint does, and an untrusted project file does not set it."""
    for module in installed(
        tmp_path_factory, monkeypatch, "acme-mf", "acme = acme_mf.config:Acme", NESTED
    ):
        acme = module.Acme
        assert acme.sensitive_keys() == {
            "METAFLOW_ACME_API_URL", "METAFLOW_ACME_ENDPOINT", "METAFLOW_ACME_MIRRORS"
        }  # fmt: skip
        project = tmp_path / "repo"
        write_local(
            project,
            {"ACME_ENDPOINT": {"url": "https://evil.example.com"}, "ACME_TEAM": "theirs"},
        )
        with pytest.warns(ConfigWarning, match="METAFLOW_ACME_ENDPOINT"):
            snapshot = load(env={}, home=tmp_path / "home", cwd=project)
        section = snapshot.section(acme)
        assert section.endpoint.url == "https://good.example.com"
        assert section.team == "theirs"  # not sensitive: applied


MARKED_INSIDE = """
import dataclasses
from typing import Annotated, List, NamedTuple, Optional
from typing_extensions import TypedDict
from pydantic import BaseModel, Field, SecretStr
from pydantic.dataclasses import dataclass
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


@dataclass
class Creds:
    user: str = ""
    password: SecretStr = SecretStr("")


@dataclasses.dataclass
class Plain:
    key: Annotated[str, Field(json_schema_extra={"secret": True})] = ""


class Token(TypedDict):
    name: str
    token: SecretStr


class Pair(NamedTuple):
    name: str
    token: SecretStr


class Tree(BaseModel):
    label: str = ""
    children: List["Tree"] = []


class Acme(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
    creds: Optional[Creds] = None
    plain: Optional[Plain] = None
    tok: Optional[Token] = None
    pair: Optional[Pair] = None
    endpoint: Optional[Annotated[str, Field(json_schema_extra={"sensitive": True})]] = None
    token: Annotated[str, Field(json_schema_extra={"secret": True})] | None = None
    tree: Optional[Tree] = None
    team: str = "ml"
"""
SECRET = "SEKRET-inside-7f3a"


def test_a_mark_or_secret_type_anywhere_in_a_field_type_counts(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where pydantic keeps a field's parts, the marks are found: an ``Annotated`` part inside
    ``Optional`` (the modern ``Annotated[...] | None``), a secret type inside a pydantic or
    standard dataclass, a ``TypedDict``, a ``NamedTuple``; a recursive model ends the walk. A
    secret found so is masked where it is shown, and a cloned repository sets none of them."""
    if sys.version_info < (3, 10):  # `X | None` needs 3.10
        module = MARKED_INSIDE.replace(
            'Annotated[str, Field(json_schema_extra={"secret": True})] | None',
            'Optional[Annotated[str, Field(json_schema_extra={"secret": True})]]',
        )
    else:
        module = MARKED_INSIDE
    for loaded in installed(
        tmp_path_factory, monkeypatch, "acme-mf", "acme = acme_mf.config:Acme", module
    ):
        acme = loaded.Acme
        secret = {f"METAFLOW_ACME_{n}" for n in ("CREDS", "PLAIN", "TOK", "PAIR", "TOKEN")}
        assert acme.secret_keys() == secret
        assert acme.sensitive_keys() == secret | {"METAFLOW_ACME_ENDPOINT"}
        doc = {
            "ACME_CREDS": {"user": "bob", "password": SECRET},
            "ACME_TOK": {"name": "n", "token": SECRET},
            "ACME_TOKEN": SECRET,
            "ACME_ENDPOINT": "https://acme.example.com",
        }
        write_profile(home(), doc)
        s = load(env={}, home=home(), cwd=tmp_path)
        exported = s.to_env("batch")
        assert json.loads(exported["METAFLOW_ACME_CREDS"])["password"] == SECRET  # it travels
        assert SECRET not in repr(exported)
        result = invoke("env", "--target", "batch", env={"METAFLOW_HOME": str(home())})
        assert result.exit_code == 0, result.output
        assert "METAFLOW_ACME_CREDS" in result.output
        assert SECRET not in result.output
        write_profile(home(), {"ACME_CREDS": {"user": ["not", "text"], "password": SECRET}})
        with pytest.raises(ConfigError, match="METAFLOW_ACME_CREDS") as caught:
            load(env={}, home=home(), cwd=tmp_path).section(acme)
        assert SECRET not in str(caught.value)
        write_profile(home(), {})
        project = tmp_path / "repo"
        write_local(project, {**doc, "ACME_TEAM": "theirs"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            untrusted = load(env={}, home=home(), cwd=project)
        assert untrusted.section(acme).team == "theirs"  # not sensitive: applied
        for name in ("CREDS", "TOK", "TOKEN", "ENDPOINT"):
            assert untrusted.source(f"ACME_{name}") == "default", name


def test_its_keys_are_known_and_typos_get_a_suggestion(registered: type[Any]) -> None:
    """No unknown-key warning for its keys; a typo gets "did you mean" one of them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(env={"METAFLOW_ACME_SPOT": "1"}, home="/nonexistent")
    assert caught == []
    with pytest.warns(ConfigWarning, match="did you mean METAFLOW_ACME_SPOT"):
        load(env={"METAFLOW_ACME_SPOTT": "1"}, home="/nonexistent")
    with pytest.raises(ConfigError, match="did you mean METAFLOW_ACME_SPOT"):
        load(env={"METAFLOW_ACME_SPOTT": "1"}, home="/nonexistent", strict=True)


def test_override_and_load_take_its_names(registered: type[Any]) -> None:
    """Short and full names, in override() and load(overrides=...)."""
    with override(ACME_GPU_QUEUE="scoped"):
        assert settings["ACME_GPU_QUEUE"] == "scoped"
        assert settings.source("ACME_GPU_QUEUE") == "override"
    s = load(env={}, home="/nonexistent", overrides={"METAFLOW_ACME_RETRIES": 7})
    assert s.section(registered).retries == 7
    with pytest.raises(ConfigError, match="ACME_GPU_QUEU"):
        override(ACME_GPU_QUEU="typo")


def test_to_env_carries_what_a_layer_set_and_masks_secrets(
    registered: type[Any], tmp_path: Path
) -> None:
    """Its values travel to containers; a SecretStr field is masked wherever shown."""
    write_profile(home(), {"ACME_API_TOKEN": TOKEN, "ACME_SPOT": True})
    s = load(env={"METAFLOW_ACME_GPU_QUEUE": "gq"}, home=home(), cwd=tmp_path)
    exported = s.to_env("batch")
    assert exported["METAFLOW_ACME_GPU_QUEUE"] == "gq"
    assert exported["METAFLOW_ACME_API_TOKEN"] == TOKEN
    assert json.loads(exported["METAFLOW_ACME_SPOT"]) is True
    assert "METAFLOW_ACME_COST_CENTER" not in exported  # a default
    fresh = load(env=exported, home="/nonexistent", cwd=tmp_path).section(registered)
    assert fresh.api_token.get_secret_value() == TOKEN
    assert fresh.spot is True
    for text in (repr(exported), str(s.explain("ACME_API_TOKEN")), repr(s.section(registered))):
        assert TOKEN not in text


def test_a_bad_value_is_a_config_error_naming_where(registered: type[Any]) -> None:
    """Setting, layer, file:key or variable, masked value, what was expected, the fix."""
    write_profile(home(), {"ACME_RETRIES": "many", "ACME_API_TOKEN": 5})
    s = load(env={"METAFLOW_ACME_SPOT": "maybe"}, home=home(), cwd="/")
    with pytest.raises(ConfigError) as info:
        s.section(registered)
    by_key = {p.setting: p for p in info.value.problems}
    assert by_key["METAFLOW_ACME_SPOT"].layer == "env"
    assert by_key["METAFLOW_ACME_SPOT"].location == "METAFLOW_ACME_SPOT"
    assert by_key["METAFLOW_ACME_RETRIES"].location.endswith("config.json:METAFLOW_ACME_RETRIES")
    assert by_key["METAFLOW_ACME_API_TOKEN"].value == "****"
    assert "correct or unset the environment variable" in by_key["METAFLOW_ACME_SPOT"].fix
    # pydantic's sentence, said as what was expected
    assert by_key["METAFLOW_ACME_SPOT"].expected == (
        "a boolean: true/false, 1/0, yes/no, on/off, t/f or y/n, in any case"
    )
    assert by_key["METAFLOW_ACME_RETRIES"].expected.startswith("a whole number (e.g. 60")
    # a JSON number for a text field: said as the built-in settings say it (the token: no value)
    assert by_key["METAFLOW_ACME_API_TOKEN"].expected.endswith(
        "(found a JSON number: if the text is meant, write it in quotes)"
    )


@pytest.mark.parametrize("scoped", [False, True], ids=["load", "override"])
def test_a_failed_resolution_names_the_sections_problems_too(
    registered: type[Any], monkeypatch: pytest.MonkeyPatch, scoped: bool
) -> None:
    """One bad built-in value and one bad section value: one ConfigError naming both (the
    built-in's first). A resolution that succeeds builds no section: it costs nothing more."""
    built: list[Any] = []
    real = registered._metaflow_resolve.__func__

    def counted(cls: type[Any], layers: Any) -> Any:
        built.append(cls)
        return real(cls, layers)

    monkeypatch.setattr(registered, "_metaflow_resolve", classmethod(counted))
    good = load(env={"METAFLOW_ACME_RETRIES": "many"}, home=home(), cwd="/")
    assert built == []
    bad = {"SFN_IAM_ROLE": "not-a-role", "ACME_RETRIES": "many"}

    def resolve() -> None:
        if scoped:
            with override(env={}, home=home(), cwd="/"), override(bad):
                pass
        else:
            load(env={f"METAFLOW_{k}": v for k, v in bad.items()}, home=home(), cwd="/")

    with pytest.raises(ConfigError) as info:
        resolve()
    assert [p.setting for p in info.value.problems] == [
        "METAFLOW_SFN_IAM_ROLE",
        "METAFLOW_ACME_RETRIES",
    ]
    assert info.value.problems[1].expected.startswith("a whole number (e.g. 60")
    assert built == [registered]
    with pytest.raises(ConfigError, match="METAFLOW_ACME_RETRIES"):
        good.section(registered)


def test_the_command_line_exports_and_masks_it(registered: type[Any]) -> None:
    """``env`` exports its keys; its secret is a comment unless --reveal-secrets."""
    write_profile(home(), {"ACME_API_TOKEN": TOKEN, "ACME_GPU_QUEUE": "gq"})
    out = invoke("env").stdout
    assert "export METAFLOW_ACME_GPU_QUEUE=gq" in out
    assert "# METAFLOW_ACME_API_TOKEN=****" in out
    assert TOKEN not in out
    assert TOKEN in invoke("env", "--reveal-secrets").stdout


@hypothesis_settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.lists(st.sampled_from(["profile", "local", "env", "override"]), unique=True))
def test_precedence_law_for_its_keys(
    registered: type[Any], tmp_path_factory: pytest.TempPathFactory, layers: list[str]
) -> None:
    """The highest layer that sets the key wins, as for built-in settings."""
    root = tmp_path_factory.mktemp("law")
    (root / ".metaflow").mkdir()
    env: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for layer in layers:
        if layer == "profile":
            write_profile(root / "home", {"ACME_GPU_QUEUE": layer})
        elif layer == "local":
            write_local(root, {"ACME_GPU_QUEUE": layer})
        elif layer == "env":
            env["METAFLOW_ACME_GPU_QUEUE"] = layer
        else:
            overrides["ACME_GPU_QUEUE"] = layer
    s = load(env=env, home=root / "home", cwd=root, overrides=overrides)
    order = ["profile", "local", "env", "override"]
    top = max(layers, key=order.index) if layers else None
    assert s["ACME_GPU_QUEUE"] == top
    assert s.source("ACME_GPU_QUEUE") == (top or "default")


# --- pydantic-settings sources, cost, broken entry points --------------------------------------


def test_the_layers_are_pydantic_settings_sources(registered: type[Any]) -> None:
    """A model of one's own may compose the layers (here: the profile only, under kwargs)."""
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    from metaflow_config.pydantic import LayerSource

    class ProfileOnly(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        gpu_queue: str = "none"

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: Any, init_settings: Any, **others: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, LayerSource(settings_cls, "profile"))

    write_profile(home(), {"ACME_GPU_QUEUE": "from-profile"})
    settings.reload()
    with override(ACME_GPU_QUEUE="ignored-here"):
        assert ProfileOnly().gpu_queue == "from-profile"
    with pytest.raises(ConfigError, match=r"LayerSource\(layer=\.\.\.\).*one of"):
        LayerSource(ProfileOnly, "cloud")


def test_import_does_not_import_pydantic_settings() -> None:
    """``import metaflow_config`` and a resolution with no unknown key import neither."""
    code = (
        "import sys, metaflow_config\n"
        "metaflow_config.load(env={'METAFLOW_BATCH_JOB_QUEUE': 'q'}, home='/nonexistent')\n"
        "print('pydantic_settings' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


BROKEN = [
    pytest.param("bad = acme_bad.config:Missing", "", "an importable section", id="import-error"),
    pytest.param(
        "bad = acme_bad.config:NotSettings",
        "class NotSettings:\n    pass\n",
        "a subclass of metaflow_config.pydantic.MetaflowBaseSettings",
        id="not-a-model",
    ),
    pytest.param(
        "bad = acme_bad.config:Outside",
        ACME.replace("class Acme", "class Outside").replace("METAFLOW_ACME_", "ACME_"),
        "an env_prefix of its own under METAFLOW_",
        id="prefix-outside",
    ),
    pytest.param(
        "bad = acme_bad.config:Clash",
        "from pydantic_settings import SettingsConfigDict\n"
        "from metaflow_config.pydantic import MetaflowBaseSettings\n"
        "class Clash(MetaflowBaseSettings):\n"
        "    model_config = SettingsConfigDict(env_prefix='METAFLOW_BATCH_')\n"
        "    job_queue: str = 'x'\n",
        "METAFLOW_BATCH_JOB_QUEUE is also a built-in setting",
        id="clash-with-built-in",
    ),
]


@pytest.mark.parametrize(("entry", "module", "expected"), BROKEN)
def test_a_broken_entry_point_is_a_config_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, module: str, expected: str
) -> None:
    """Naming the distribution and the entry point, when a key needs the registry."""
    _install(tmp_path, "acme-bad", entry, module)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    _sections.reset()
    try:
        with pytest.raises(ConfigError) as info:
            load(env={"METAFLOW_SOMETHING_ELSE": "x"}, home="/nonexistent")
        message = str(info.value)
        assert "acme-bad: entry point bad" in message
        assert expected in message
        assert load(env={"METAFLOW_BATCH_JOB_QUEUE": "q"}, home="/nonexistent")  # unaffected
    finally:
        for name in [m for m in sys.modules if m.startswith("acme_bad")]:
            del sys.modules[name]
        _sections.reset()


def test_a_distribution_declaring_much_before_the_group_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ``entry_points.txt`` whose group comes past the scan's first read (many console
    scripts first) is read whole: its section is registered."""
    from metaflow_config._sources import jsonfile

    _install(tmp_path, "acme-big", "acme = acme_big.config:Acme", ACME)
    scripts = "".join(f"acme-tool-{i} = acme_big.config:main\n" for i in range(400))
    group = "[metaflow_config.sections]\nacme = acme_big.config:Acme\n"
    text = f"[console_scripts]\n{scripts}\n{group}"
    assert text.index("[metaflow_config.sections]") > jsonfile._FIRST_READ
    (tmp_path / "acme_big-0.1.dist-info" / "entry_points.txt").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    _sections.reset()
    try:
        assert "METAFLOW_ACME_GPU_QUEUE" in _sections.registry()
    finally:
        for name in [m for m in sys.modules if m.startswith("acme_big")]:
            del sys.modules[name]
        _sections.reset()


def test_the_scans_test_of_a_file_reads_what_it_may_only(tmp_path: Path) -> None:
    """``holds``: missing, a directory, a FIFO without a writer (no hang) and a file over the
    bound hold nothing; a file holds what it holds, before or past its first read."""
    from metaflow_config._sources.jsonfile import _FIRST_READ, holds

    needle = b"[metaflow_config.sections]"
    assert not holds(str(tmp_path / "missing"), needle, 1 << 20)
    assert not holds(str(tmp_path), needle, 1 << 20)
    small, late, big = tmp_path / "small", tmp_path / "late", tmp_path / "big"
    small.write_bytes(b"[console_scripts]\n" + needle)
    late.write_bytes(b"#" * (_FIRST_READ + 10) + b"\n" + needle)
    big.write_bytes(b"#" * 4096 + needle)
    assert holds(str(small), needle, 1 << 20)
    assert not holds(str(small), b"[other]", 1 << 20)
    assert holds(str(late), needle, 1 << 20)
    assert not holds(str(late), needle, _FIRST_READ)  # over the bound: nothing
    assert holds(str(big), needle, 1 << 20)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        assert not holds(str(fifo), needle, 1 << 20)


# --- the command line lists them -------------------------------------------------------------


def test_show_lists_its_keys_with_their_sources(registered: type[Any]) -> None:
    """``show`` lists the keys a layer set (secret masked); ``--all`` its defaults too."""
    write_profile(home(), {"ACME_API_TOKEN": TOKEN, "ACME_GPU_QUEUE": "gq"})
    shown = invoke("show", env={"METAFLOW_ACME_SPOT": "yes"})
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line.split() for line in shown.stdout.splitlines() if line}
    assert lines["METAFLOW_ACME_GPU_QUEUE"][1:3] == ["gq", "profile"]
    assert lines["METAFLOW_ACME_SPOT"][1:] == ["true", "env"]  # the variable of its own name
    assert lines["METAFLOW_ACME_API_TOKEN"][1:3] == ["****", "profile"]
    assert "METAFLOW_ACME_COST_CENTER" not in lines
    assert TOKEN not in shown.output
    every = invoke("show", "--all").stdout
    assert any(
        line.split()[:3] == ["METAFLOW_ACME_COST_CENTER", "ml", "default"]
        for line in every.splitlines()
    )
    doc = json.loads(invoke("show", "--json").stdout)
    by_name = {e["name"]: e for e in doc["settings"]}
    assert by_name["METAFLOW_ACME_API_TOKEN"]["value"] == "****"
    assert by_name["METAFLOW_ACME_API_TOKEN"]["secret"] is True
    assert by_name["METAFLOW_ACME_GPU_QUEUE"] == {
        "name": "METAFLOW_ACME_GPU_QUEUE",
        "value": "gq",
        "source": "profile",
        "location": f"{home() / 'config.json'}:METAFLOW_ACME_GPU_QUEUE",
        "secret": False,
        "masked": False,
    }
    assert by_name["METAFLOW_ACME_API_TOKEN"]["masked"] is True


def test_show_marks_its_invalid_values_and_fails(registered: type[Any]) -> None:
    """An invalid value of a registered key is marked in place; every other row still shows."""
    write_profile(home(), {"ACME_RETRIES": "many", "BATCH_JOB_QUEUE": "q"})
    shown = invoke("show")
    assert shown.exit_code == 1, (shown.stdout, shown.stderr)
    row = next(
        line for line in shown.stdout.splitlines() if line.startswith("METAFLOW_ACME_RETRIES")
    )
    assert "INVALID" in row
    assert "METAFLOW_BATCH_JOB_QUEUE" in shown.stdout
    assert "METAFLOW_ACME_RETRIES" in shown.stderr
    doc = json.loads(invoke("show", "--json").stdout)
    assert any(e["name"] == "METAFLOW_ACME_RETRIES" and "problem" in e for e in doc["settings"])


def test_explain_and_get_take_its_keys(registered: type[Any]) -> None:
    """``explain`` and ``get`` know its keys, short or full; its secret masked unless revealed."""
    write_profile(home(), {"ACME_API_TOKEN": TOKEN, "ACME_GPU_QUEUE": "low"})
    explained = invoke("explain", "ACME_GPU_QUEUE", env={"METAFLOW_ACME_GPU_QUEUE": "high"})
    assert explained.exit_code == 0, explained.output
    lines = explained.stdout.splitlines()
    assert lines[0] == "METAFLOW_ACME_GPU_QUEUE = high"
    assert "  source:   env" in lines
    assert any(line.startswith("  shadows:  profile ") and "'low'" in line for line in lines)
    assert "  doc:      The GPU queue." in lines
    assert "acme-mf: entry point acme" in explained.stdout
    secret = invoke("explain", "METAFLOW_ACME_API_TOKEN")
    assert TOKEN not in secret.output
    assert "secret:   yes" in secret.stdout
    assert invoke("get", "ACME_GPU_QUEUE").stdout == "low\n"
    assert invoke("get", "ACME_SPOT").stdout == "false\n"
    assert invoke("get", "ACME_API_TOKEN").stdout == "****\n"
    assert invoke("get", "ACME_API_TOKEN", "--reveal-secrets").stdout == TOKEN + "\n"
    unset = invoke("get", "ACME_COST_CENTER")
    assert unset.stdout == "ml\n"


def test_an_invalid_value_does_not_travel(registered: type[Any]) -> None:
    """``to_env`` and ``env`` refuse a registered key that does not validate, printing nothing."""
    write_profile(home(), {"ACME_RETRIES": "many", "BATCH_JOB_QUEUE": "q"})
    with pytest.raises(ConfigError, match="METAFLOW_ACME_RETRIES"):
        load().to_env("batch")
    exported = invoke("env", "--target", "batch")
    assert exported.exit_code == 1
    assert exported.stdout == ""
    assert "METAFLOW_ACME_RETRIES" in exported.stderr
    explained = invoke("explain", "ACME_RETRIES")
    assert explained.exit_code == 1
    assert "METAFLOW_ACME_RETRIES = 'many' (INVALID)" in explained.stdout
    assert "problem:" in explained.stdout
    spot = invoke("explain", "ACME_SPOT")  # a valid key of the same model: as the layer holds it
    assert "METAFLOW_ACME_SPOT = (unset)" not in spot.stdout
    assert spot.stdout.startswith("METAFLOW_ACME_SPOT = false")


def test_completion_offers_its_keys(registered: type[Any]) -> None:
    """Shell completion of setting names includes its keys, short and full."""
    from tests.conftest import complete

    assert complete("metaflow-config explain ACME_GP") == ["ACME_GPU_QUEUE"]
    assert complete("metaflow-config get METAFLOW_ACME_SP") == ["METAFLOW_ACME_SPOT"]


def test_schema_types_its_keys(registered: type[Any]) -> None:
    """``schema`` types its keys from the model's JSON Schema: valid values pass, bad ones fail."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(invoke("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"METAFLOW_ACME_GPU_QUEUE": "q", "METAFLOW_ACME_SPOT": True, "METAFLOW_ACME_RETRIES": 2}
    assert list(validator.iter_errors({**good, "METAFLOW_ACME_API_TOKEN": None})) == []
    assert list(validator.iter_errors({"METAFLOW_ACME_RETRIES": "many"})) != []
    assert list(validator.iter_errors({"METAFLOW_ACME_SPOTT": True})) != []
    assert "The GPU queue." in schema["properties"]["METAFLOW_ACME_GPU_QUEUE"]["description"]
    assert "acme-mf" in schema["properties"]["METAFLOW_ACME_GPU_QUEUE"]["description"]


def test_docs_list_its_keys(registered: type[Any]) -> None:
    """``docs`` adds a table of its keys after the built-in sections; no secret default shown."""
    text = invoke("docs").stdout
    head = "## Acme (registered: acme-mf: entry point acme = acme_mf.config:Acme)"
    assert head in text
    after = text.split(head, 1)[1]
    assert (
        "| `METAFLOW_ACME_COST_CENTER`<br>`settings.section(Acme).cost_center` | str | `ml` |"
        in after
    )
    assert "The GPU queue." in after
    token_row = next(line for line in after.splitlines() if "METAFLOW_ACME_API_TOKEN" in line)
    assert "| yes |" in token_row
    # its type as the code writes it (it said "Optional"), its default unset (it said nothing)
    assert "| Optional[SecretStr] | unset | yes |" in token_row
    queue_row = next(line for line in after.splitlines() if "METAFLOW_ACME_GPU_QUEUE" in line)
    assert "| Optional[str] | unset |" in queue_row


def test_check_fails_on_its_invalid_values(registered: type[Any]) -> None:
    """``check`` validates the registered models too: an invalid value is not "OK"."""
    write_profile(home(), {"ACME_RETRIES": "many"})
    checked = invoke("check")
    assert checked.exit_code == 1
    assert "OK" not in checked.stdout
    assert "METAFLOW_ACME_RETRIES" in checked.stderr
    write_profile(home(), {"ACME_RETRIES": 4})
    assert invoke("check").exit_code == 0


_LAW_ORDER = ["profile", "local", "env", "override"]
#: key -> (strategy of typed values, how the env layer writes one)
_LAW_KEYS: dict[str, tuple[Any, Any]] = {
    "ACME_GPU_QUEUE": (st.text("abcxyz-_", min_size=1, max_size=8), str),
    "ACME_RETRIES": (st.integers(0, 10**6), str),
    "ACME_SPOT": (st.booleans(), lambda b: "true" if b else "false"),
}


@hypothesis_settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.fixed_dictionaries(
        {
            key: st.dictionaries(st.sampled_from(_LAW_ORDER), values, max_size=4)
            for key, (values, _) in _LAW_KEYS.items()
        }
    )
)
def test_precedence_law_for_several_typed_keys(
    registered: type[Any], tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]
) -> None:
    """For every key independently: the highest layer wins, typed; the others are shadowed in
    order; and what ``to_env`` exports resolves to the same model in a fresh process."""
    s = load_layered(
        tmp_path_factory.mktemp("law"), data, env_text=lambda key, value: _LAW_KEYS[key][1](value)
    )
    model = s.section(registered)
    for key, by_layer in data.items():
        held = [layer for layer in _LAW_ORDER if layer in by_layer]
        field = key[len("ACME_") :].lower()
        default = registered.model_fields[field].get_default()
        assert getattr(model, field) == (by_layer[held[-1]] if held else default)
        info = s.explain(key)
        assert info.source == (held[-1] if held else "default")
        assert [x.source for x in info.shadowed] == held[:-1]
    bare = tmp_path_factory.mktemp("container")  # no profile, no .metaflow above it
    fresh = load(env=s.to_env("batch"), home=bare / "home", cwd=bare)
    assert fresh.section(registered) == model


def test_the_working_directory_registers_no_section(tmp_path: Path) -> None:
    """A cloned repository one runs ``python -c``/``-m``/a notebook in has the working directory
    on sys.path: its ``*.dist-info`` is not read, so its module is never imported."""
    marker = tmp_path / "imported"
    evil = f'open({str(marker)!r}, "w").close()\n' + ACME
    _install(tmp_path, "evil-mf", "evil = evil_mf.config:Acme", evil)
    code = "from metaflow_config._sources.sections import registry\nprint(sorted(registry()))\n"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "METAFLOW_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert not marker.exists()
    link = tmp_path.parent / f"{tmp_path.name}-link"  # the same folder, spelled through a link
    link.symlink_to(tmp_path, target_is_directory=True)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=link,
        env={**env, "PYTHONPATH": str(link)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.strip() == "[]", proc.stderr
    assert not marker.exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(  # the same folder on sys.path but not the working directory: read
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + code],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "METAFLOW_ACME_GPU_QUEUE" in proc.stdout, proc.stderr
    assert marker.exists()


def test_the_suite_stops_where_a_section_is_installed_and_says_how_to_remove_it(
    tmp_path: Path,
) -> None:
    """README's example section installed beside the suite: it stops at once (rc 3), naming
    the distribution and the ``pip uninstall`` command that removes it from this environment."""
    _install(tmp_path / "site", "acme-mf", "acme = acme_mf.config:Acme", ACME)
    tests = Path(__file__).parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", str(tests)],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        cwd=tests.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "acme-mf: entry point acme = acme_mf.config:Acme" in said
    assert f"{sys.executable} -m pip uninstall -y acme-mf" in said


def test_a_sections_wrong_type_is_said_in_the_words_of_where_it_came_from(
    registered: type[Any],
) -> None:
    """A number given in code is a Python int to pass as a str; an object in a file is a
    JSON object for a field that reads text (pydantic said "a valid string")."""
    with pytest.raises(ConfigError) as info, override(ACME_COST_CENTER=5):
        settings.section(registered)
    (problem,) = info.value.problems
    assert problem.expected.endswith("(found a Python int: pass it as a str)")
    write_profile(home(), {"ACME_COST_CENTER": {"team": "ml"}})
    s = load(env={}, home=home(), cwd="/")
    with pytest.raises(ConfigError) as info:
        s.section(registered)
    (problem,) = info.value.problems
    assert problem.expected.endswith("(found a JSON object: this field reads text)")


def test_an_explanation_of_a_field_without_a_description_has_no_empty_doc_line(
    registered: type[Any],
) -> None:
    """``print(settings.explain("ACME_COST_CENTER"))`` ended with ``doc:`` and nothing."""
    s = load(env={"METAFLOW_ACME_COST_CENTER": "ml"}, home=home(), cwd="/")
    assert "doc:" not in str(s.explain("METAFLOW_ACME_COST_CENTER"))
    assert "doc:      The GPU queue." in str(s.explain("METAFLOW_ACME_GPU_QUEUE"))
