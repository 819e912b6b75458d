"""Registered sections under hostile or careless input: every case a ConfigError, no secret shown.

Found by an adversarial pass over the sections (each test names the hole it closes): values that
travel merged or not at all, JSON text of union fields, secrets nested in models, URL passwords,
the model's own validators, keys spelled in the wrong case, lone surrogates, a wrong argument.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, ConfigWarning, load, override
from metaflow_config.testing import write_profile
from tests.conftest import invoke
from tests.test_sections import installed

SECRET = "pw-ZQXJ-secret"

HOSTILE = '''
from typing import Any, Dict, List, Optional, Union
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Creds(BaseModel):
    user: str = ""
    password: SecretStr = SecretStr("")


class Host(MetaflowBaseSettings):
    """A section with unions, a nested secret and validators of its own."""

    model_config = SettingsConfigDict(env_prefix="METAFLOW_HOST_")
    name: str = "h"
    count: int = 1
    tags: Dict[str, Any] = {}
    maybe: Optional[Dict[str, int]] = None
    either: Union[int, List[int]] = 0
    creds: Optional[Creds] = None
    hidden: Optional[str] = Field(None, json_schema_extra={"secret": True})
    token: Optional[SecretStr] = None
    region: str = Field("r0", alias="zone")
    port: int = Field(80, validation_alias="p")

    @field_validator("count")
    @classmethod
    def not_thirteen(cls, value: int) -> int:
        if value == 13:
            raise TypeError("unlucky")
        return value

    @model_validator(mode="after")
    def not_both(self) -> "Host":
        if self.name == "both" and self.count == 2:
            raise ValueError("name both and count 2 do not go together")
        return self
'''


@pytest.fixture
def host(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """``host-mf`` installed (on sys.path) and discovered; its ``Host`` class."""
    for module in installed(
        tmp_path_factory, monkeypatch, "host-mf", "host = host_mf.config:Host", HOSTILE
    ):
        yield module.Host


def _load(tmp_path: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("env", {})
    return load(home=tmp_path / "home", cwd=tmp_path, **kwargs)


def test_a_dict_set_in_two_layers_travels_merged(host: type[Any], tmp_path: Path) -> None:
    """The model merges a dict across layers; ``to_env`` carries the merge, not the top layer."""
    write_profile(tmp_path / "home", {"HOST_TAGS": {"p": 1}})
    snapshot = _load(tmp_path, env={"METAFLOW_HOST_TAGS": '{"e": 3}'})
    assert snapshot.section(host).tags == {"p": 1, "e": 3}
    exported = snapshot.to_env("batch")
    assert json.loads(exported["METAFLOW_HOST_TAGS"]) == {"p": 1, "e": 3}
    fresh = load(env=dict(exported), home=tmp_path / "none", cwd=tmp_path)
    assert fresh.section(host) == snapshot.section(host)


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("maybe", '{"a": 1}', {"a": 1}),
        ("either", "[1, 2]", [1, 2]),
        ("either", "7", 7),  # a scalar arm: the text as it is
        ("creds", '{"user": "u"}', "u"),
    ],
)
def test_json_text_of_a_union_with_a_complex_arm_is_read(
    host: type[Any], tmp_path: Path, field: str, text: str, value: Any
) -> None:
    """``Optional[dict]``, ``Union[int, list]``, ``Optional[Model]``: JSON objects and arrays
    are decoded, as pydantic-settings does; and what ``to_env`` exports reads back."""
    snapshot = _load(tmp_path, env={f"METAFLOW_HOST_{field.upper()}": text})
    got = getattr(snapshot.section(host), field)
    assert (got.user if field == "creds" else got) == value
    fresh = load(env=dict(snapshot.to_env("batch")), home=tmp_path / "none", cwd=tmp_path)
    assert fresh.section(host) == snapshot.section(host)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"HOST_TAGS": {"a": {1: "x"}}}, id="non-string-key"),
        pytest.param({"HOST_TAGS": {"a": (1, 2)}}, id="tuple"),
        pytest.param({"HOST_COUNT": True}, id="bool-for-int"),
    ],
)
def test_a_value_that_would_come_back_changed_does_not_travel(
    host: type[Any], tmp_path: Path, overrides: dict[str, Any]
) -> None:
    """A value code gave that would read back as something else is refused by ``to_env``."""
    (key,) = overrides
    snapshot = _load(tmp_path, overrides=overrides)
    snapshot.section(host)  # valid in this process
    with pytest.raises(ConfigError) as info:
        snapshot.to_env("batch")
    assert [p.setting for p in info.value.problems] == [f"METAFLOW_{key}"]
    assert "reads back unchanged" in str(info.value)


def test_a_secret_inside_a_nested_model_is_masked_everywhere(
    host: type[Any], tmp_path: Path
) -> None:
    """A model field holding a SecretStr is a secret key: masked in reprs, explain, show,
    errors and ``env`` (exported for the container all the same)."""
    creds = {"user": "u", "password": SECRET}
    write_profile(tmp_path / "home", {"HOST_CREDS": creds})
    snapshot = _load(tmp_path, overrides={"HOST_CREDS": creds, "HOST_HIDDEN": SECRET})
    assert "METAFLOW_HOST_CREDS" in host.secret_keys()
    exported = snapshot.to_env("batch")
    assert json.loads(exported["METAFLOW_HOST_CREDS"])["password"] == SECRET
    shown = [
        repr(exported),
        str(snapshot.explain("HOST_CREDS")),
        repr(override(HOST_CREDS=creds, HOST_HIDDEN=SECRET)),
    ]
    for text in shown:
        assert SECRET not in text
    bad = {"user": 5, "password": SECRET}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, overrides={"HOST_CREDS": bad}).section(host)
    assert SECRET not in str(info.value)


def test_the_command_line_masks_url_passwords_in_section_values(
    host: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get`` and ``show --json`` mask a URL's password inside a registered value, as for
    built-in settings; ``--reveal-secrets`` shows it."""
    monkeypatch.setenv("METAFLOW_HOST_NAME", f"https://u:{SECRET}@example.com")
    monkeypatch.setenv("METAFLOW_HOST_TAGS", json.dumps({"url": f"https://u:{SECRET}@h"}))
    for args in (["get", "HOST_NAME"], ["get", "HOST_TAGS"], ["show", "--json"], ["show"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output, args
    assert SECRET in invoke("get", "HOST_NAME", "--reveal-secrets").output


def test_the_models_own_validators_give_config_errors(host: type[Any], tmp_path: Path) -> None:
    """A model validator's refusal names the section's keys, shows no input (no secret); a
    validator raising another exception is a ConfigError too, not a raw traceback."""
    snapshot = _load(
        tmp_path,
        env={"METAFLOW_HOST_NAME": "both", "METAFLOW_HOST_COUNT": "2"},
        overrides={"HOST_HIDDEN": SECRET},
    )
    with pytest.raises(ConfigError) as together:
        snapshot.section(host)
    (problem,) = together.value.problems
    assert problem.setting == "METAFLOW_HOST_* (Host)"
    assert "do not go together" in problem.expected
    assert SECRET not in str(together.value)
    assert together.value.__context__ is None  # pydantic's error holds the inputs: not kept
    assert together.value.__cause__ is None
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, env={"METAFLOW_HOST_COUNT": "13"}).section(host)
    assert "raised TypeError" in str(raised.value)
    assert "unlucky" not in str(raised.value)  # its message may quote a secret: Host has some
    assert raised.value.__context__ is None
    assert raised.value.__cause__ is None
    result = invoke("show", env={"METAFLOW_HOST_COUNT": "13"})
    assert result.exit_code == 1
    assert "a bug in metaflow-config" not in result.output + result.stderr


PLAIN = """
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Plain(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_PLAIN_")
    count: int = 1

    @field_validator("count")
    @classmethod
    def not_thirteen(cls, value: int) -> int:
        if value == 13:
            raise TypeError("thirteen")
        return value
"""


def test_the_message_of_a_validator_of_a_model_without_secrets_is_shown(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where the model holds no secret, a validator's own message is part of the problem."""
    for module in installed(
        tmp_path_factory, monkeypatch, "plain-mf", "plain = plain_mf.config:Plain", PLAIN
    ):
        assert not module.Plain.secret_keys()
        with pytest.raises(ConfigError) as raised:
            _load(tmp_path, overrides={"PLAIN_COUNT": 13}).section(module.Plain)
        assert "raised TypeError: thirteen" in str(raised.value)


QUOTING = """
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Quoting(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_QUOTING_")
    url: str = ""

    queue: str = ""

    @field_validator("url")
    @classmethod
    def port(cls, value: str) -> str:
        if "@" in value:  # as http.client words it: a piece of the URL, no URL shape left
            raise TypeError(f"nonnumeric port: {value.rpartition(':')[2]!r}")
        return value

    @field_validator("queue")
    @classmethod
    def queue_name(cls, value: str) -> str:
        if value:  # pydantic's "Value error, ...": the validator's words quote the value
            raise ValueError(f"bad queue {value.rpartition(':')[2]!r}")
        return value
"""


def test_a_validators_message_quoting_a_piece_of_a_urls_password_is_masked(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A model without secrets: its validator's message is shown, an input's URL password
    masked in it even where the message quotes only a piece of the URL."""
    for module in installed(
        tmp_path_factory, monkeypatch, "quoting-mf", "quoting = quoting_mf.config:Quoting", QUOTING
    ):
        url = "https://alice:pa55word@mf.example.com"
        with pytest.raises(ConfigError) as raised:
            _load(tmp_path, overrides={"QUOTING_URL": url}).section(module.Quoting)
        assert "raised TypeError: nonnumeric port" in str(raised.value)
        assert "****@mf.example.com'" in str(raised.value)
        assert "pa55word" not in str(raised.value)
        with pytest.raises(ConfigError) as raised:
            module.Quoting(url=url)
        assert "****@mf.example.com'" in str(raised.value)
        assert "pa55word" not in str(raised.value)
        for given in (
            {"overrides": {"QUOTING_QUEUE": url}},
            {"env": {"METAFLOW_QUOTING_QUEUE": url}},
        ):
            with pytest.raises(ConfigError) as raised:
                _load(tmp_path, **given).section(module.Quoting)
            assert "bad queue '****@mf.example.com'" in str(raised.value)
            assert "pa55word" not in str(raised.value)
        with pytest.raises(ConfigError) as raised:
            module.Quoting(queue=url)
        assert "pa55word" not in str(raised.value)


HOLDING = """
from typing import Optional, Set
from pydantic import BaseModel, Field, HttpUrl
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Conn(BaseModel):
    url: str
    port: int = 1


class Holding(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_HOLD_")
    token: Optional[str] = Field(None, json_schema_extra={"secret": True})
    params: Optional[dict] = Field(None, json_schema_extra={"secret": True})
    db_url: Optional[str] = None
    http_url: Optional[HttpUrl] = None
    hosts: Optional[Set[str]] = None
    conn: Optional[Conn] = None
"""


def test_a_sections_values_show_no_secret_anywhere(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A registered section's secret fields and URL passwords are masked as the built-ins' are:
    repr and str of the model, vars, pprint, the snapshot's item, explain (a password holding a
    quote and a comma, in a set or a nested model, too)."""
    import pprint

    for module in installed(
        tmp_path_factory, monkeypatch, "holding-mf", "holding = holding_mf.config:Holding", HOLDING
    ):
        env = {
            "METAFLOW_HOLD_TOKEN": "QZSEC_token",
            "METAFLOW_HOLD_PARAMS": '{"k": "QZSEC_param"}',
            "METAFLOW_HOLD_DB_URL": "postgres://u:QZSEC_db@h/x",
            "METAFLOW_HOLD_HTTP_URL": "https://u:QZSEC_http@h/x",
            "METAFLOW_HOLD_HOSTS": json.dumps(["https://u:QZ', 'SEC_set@h"]),
            "METAFLOW_HOLD_CONN": json.dumps({"url": "https://u:QZ', 'SEC_conn@h"}),
        }
        snapshot = _load(tmp_path, env=env)
        section = snapshot.section(module.Holding)
        held = {k: v for k, v in vars(section).items() if k != "http_url"}  # pydantic's own repr
        shown = [repr(section), str(section), repr(held), pprint.pformat(section)]
        shown += [repr(snapshot["METAFLOW_HOLD_TOKEN"]), repr(snapshot["METAFLOW_HOLD_PARAMS"])]
        shown += [str(snapshot.explain(f"METAFLOW_HOLD_{k}")) for k in ("HOSTS", "CONN", "TOKEN")]
        for text in shown:
            assert "QZSEC" not in text, text
            assert "SEC_" not in text, text
        assert section.token == "QZSEC_token"  # read in code: the value
        assert section.params == {"k": "QZSEC_param"}
        assert str(section.db_url) == "postgres://u:QZSEC_db@h/x"


def test_a_key_in_the_wrong_case_is_reported_not_dropped(host: type[Any], tmp_path: Path) -> None:
    """``metaflow_host_name`` in a file is an unknown key with a did-you-mean (it was dropped
    without a word), as a built-in key in the wrong case is."""
    write_profile(tmp_path / "home", {})
    (tmp_path / "home" / "config.json").write_text('{"metaflow_host_name": "x"}')
    with pytest.warns(UserWarning, match="did you mean METAFLOW_HOST_NAME"):
        snapshot = _load(tmp_path)
    assert snapshot.section(host).name == "h"


@pytest.mark.parametrize("layer", ["profile", "override"])
def test_a_lone_surrogate_is_a_problem_of_its_layer(
    host: type[Any], tmp_path: Path, layer: str
) -> None:
    """Text no output or variable can carry (a lone surrogate, e.g. a JSON ``\\ud800`` escape)
    is refused where it comes from, with its position, not a crash of ``show``."""
    if layer == "profile":
        (tmp_path / "home").mkdir()
        (tmp_path / "home" / "config.json").write_text('{"METAFLOW_HOST_NAME": "x\\ud800"}')
        kwargs: dict[str, Any] = {}
    else:
        kwargs = {"overrides": {"HOST_TAGS": {"k": ["x\ud800"]}}}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **kwargs)
    (problem,) = info.value.problems
    assert problem.layer == layer
    assert "not '\\ud800' at position" in problem.expected


@pytest.mark.parametrize("given", [int, dict, "host", None])
def test_section_takes_only_a_model_class(given: Any, tmp_path: Path) -> None:
    """``section(x)`` for anything but a MetaflowBaseSettings subclass is a ConfigError."""
    with pytest.raises(ConfigError, match=r"a subclass of metaflow_config\.pydantic"):
        _load(tmp_path).section(given)


def _home() -> Path:
    return Path(os.environ["METAFLOW_HOME"])


def test_import_refuses_a_value_its_model_refuses(host: type[Any], tmp_path: Path) -> None:
    """``import`` checks registered keys by their models before it writes (it wrote them and
    said "Imported 0 setting(s)")."""
    source = tmp_path / "team.json"
    source.write_text('{"METAFLOW_HOST_COUNT": "many", "METAFLOW_BATCH_JOB_QUEUE": "q"}')
    result = invoke("import", str(source), "-y")
    assert result.exit_code == 1
    assert "METAFLOW_HOST_COUNT" in result.output + result.stderr
    assert not (_home() / "config.json").exists()
    source.write_text('{"METAFLOW_HOST_COUNT": 4}')
    assert invoke("import", str(source), "-y").exit_code == 0
    assert json.loads((_home() / "config.json").read_text()) == {"METAFLOW_HOST_COUNT": 4}


def test_diff_compares_registered_keys_too(host: type[Any]) -> None:
    """Two profiles that differ in a registered key differ (``diff`` said "No difference");
    a secret that differs is masked and said to differ."""
    write_profile(_home(), {"HOST_NAME": "a", "HOST_HIDDEN": "x-ZQXJ"}, profile="one")
    write_profile(_home(), {"HOST_NAME": "b", "HOST_HIDDEN": "y-ZQXJ"}, profile="two")
    result = invoke("diff", "one", "two")
    assert result.exit_code == 1
    rows = {line.split()[0]: line for line in result.output.splitlines()}
    assert rows["METAFLOW_HOST_NAME"].split()[1:] == ["a", "b"]
    assert "(differs)" in rows["METAFLOW_HOST_HIDDEN"]
    assert "ZQXJ" not in result.output


def test_configure_set_says_a_registered_key_is_not_its_business(host: type[Any]) -> None:
    """``configure aws --set`` on a registered key says where to set it (it suggested the key
    itself as a did-you-mean)."""
    result = invoke("configure", "aws", "--set", "METAFLOW_HOST_COUNT=5", "-y")
    assert result.exit_code != 0
    text = result.output + result.stderr
    assert "registered section" in text
    assert "did you mean" not in text


def test_control_characters_are_shown_escaped(
    host: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered text holding CR or LF cannot fake a row of ``show`` or a line of
    ``explain``: the characters are shown escaped."""
    monkeypatch.setenv("METAFLOW_HOST_NAME", "ok\rMETAFLOW_HOST_COUNT  9  profile\nX")
    for args in (["show"], ["explain", "HOST_NAME"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "\r" not in result.output
        line = next(x for x in result.output.splitlines() if "METAFLOW_HOST_NAME" in x)
        assert "ok\\rMETAFLOW_HOST_COUNT" in line
        assert not any(x.startswith("X") for x in result.output.splitlines())


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_a_readable_file_holding_a_registered_secret_warns(host: type[Any]) -> None:
    """A profile others can read that holds a registered secret gets the chmod warning, as
    one holding a built-in secret does."""
    path = write_profile(_home(), {"HOST_HIDDEN": "x"})
    path.chmod(0o644)
    with pytest.warns(ConfigWarning, match="holds secrets .METAFLOW_HOST_HIDDEN"):
        load(env={}, home=_home(), cwd=_home())


def test_a_field_with_an_alias_is_set_by_its_key(host: type[Any], tmp_path: Path) -> None:
    """A key is ``env_prefix`` + field name, aliased field or not (its value was refused with
    "Extra inputs are not permitted"); an error names that key; the value travels."""
    snapshot = _load(tmp_path, env={"METAFLOW_HOST_REGION": "eu", "METAFLOW_HOST_PORT": "8080"})
    model = snapshot.section(host)
    assert (model.region, model.port) == ("eu", 8080)
    fresh = load(env=dict(snapshot.to_env("batch")), home=tmp_path / "none", cwd=tmp_path)
    assert fresh.section(host) == model
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, env={"METAFLOW_HOST_PORT": "eighty"}).section(host)
    (problem,) = info.value.problems
    assert (problem.setting, problem.layer) == ("METAFLOW_HOST_PORT", "env")


def test_a_secret_str_given_by_code_travels(host: type[Any], tmp_path: Path) -> None:
    """``override(HOST_TOKEN=SecretStr(...))``, the natural value of a SecretStr field, travels
    as its secret (it was refused as an object); the container's model holds the same value."""
    from pydantic import SecretStr

    snapshot = _load(tmp_path, overrides={"HOST_TOKEN": SecretStr(SECRET)})
    assert snapshot.section(host).token.get_secret_value() == SECRET
    exported = snapshot.to_env("batch")
    assert exported["METAFLOW_HOST_TOKEN"] == SECRET
    assert SECRET not in repr(exported)
    fresh = load(env=dict(exported), home=tmp_path / "none", cwd=tmp_path)
    assert fresh.section(host).token.get_secret_value() == SECRET


def test_check_counts_registered_keys_and_explain_names_their_type(host: type[Any]) -> None:
    """``check`` counts the registered keys a layer sets (it said "0 setting(s) set"), and
    ``explain`` gives a field's type as written (``Optional[SecretStr]``, not ``Optional``)."""
    write_profile(_home(), {"HOST_NAME": "x", "HOST_COUNT": 3})
    checked = invoke("check")
    assert checked.exit_code == 0, checked.output
    assert "(2 setting(s) set" in checked.output
    explained = invoke("explain", "HOST_TOKEN").output
    assert "type:     Optional[SecretStr]" in explained


VAULT = '''
from typing import Optional
from pydantic import Secret, SecretStr
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Token(SecretStr):
    """A secret type of the program's own."""


class Vault(MetaflowBaseSettings):
    model_config = SettingsConfigDict(env_prefix="METAFLOW_VAULT_")
    tok: Optional[Token] = None
    gen: Optional[Secret[str]] = None
    pin: Optional[Secret[int]] = None
    name: str = "v"
'''


@pytest.fixture
def vault(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """``vault-mf`` installed and discovered: fields of pydantic's other secret types."""
    for module in installed(
        tmp_path_factory, monkeypatch, "vault-mf", "vault = vault_mf.config:Vault", VAULT
    ):
        yield module.Vault


def test_every_secret_type_of_pydantic_is_a_secret(
    vault: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Secret[T]`` and a subclass of ``SecretStr`` are secrets as ``SecretStr`` is: masked by
    ``env``, ``show`` (also when a value is invalid) and ``get``."""
    assert vault.secret_keys() == {"METAFLOW_VAULT_TOK", "METAFLOW_VAULT_GEN", "METAFLOW_VAULT_PIN"}
    monkeypatch.setenv("METAFLOW_VAULT_TOK", SECRET + "tok")
    monkeypatch.setenv("METAFLOW_VAULT_GEN", SECRET + "gen")
    for args in (["env"], ["show"], ["show", "--json"], ["get", "VAULT_TOK"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output, args
    monkeypatch.setenv("METAFLOW_VAULT_PIN", SECRET + "pin")  # not an int: show marks it
    result = invoke("show")
    assert result.exit_code == 1
    assert SECRET not in result.output
    assert "METAFLOW_VAULT_PIN" in result.output


def test_a_validator_s_words_about_a_secret_are_not_repeated() -> None:
    """A field validator's ``ValueError`` text may quote the value: not shown for a secret."""
    from metaflow_config.pydantic import _said

    assert _said(f"Value error, {SECRET} is too short", secret=True) == (
        "a value its validator accepts"
    )
    assert _said("Value error, too short") == "a value its validator accepts (too short)"
    assert _said("Input should be a valid integer") == "a valid integer"


TELLING = '''
from typing import Dict, Optional
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import SettingsConfigDict
from metaflow_config.pydantic import MetaflowBaseSettings


class Telling(MetaflowBaseSettings):
    """Validators whose messages quote the secrets they judge, in the shapes pydantic allows."""

    model_config = SettingsConfigDict(env_prefix="METAFLOW_TELLING_")
    token: Optional[SecretStr] = None
    key: Optional[str] = Field(None, json_schema_extra={"secret": True})
    creds: Dict[str, str] = Field({}, json_schema_extra={"secret": True})
    mode: str = "open"
    count: int = 1

    @field_validator("token")
    @classmethod
    def ok_token(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:
        if value is not None and not value.get_secret_value().startswith("ok-"):
            raise PydanticCustomError(
                "token", "token {token} must start with ok-", {"token": value.get_secret_value()}
            )
        return value

    @model_validator(mode="after")
    def closed_takes_no_secret(self) -> "Telling":
        if self.mode == "closed" and (self.key or self.creds):
            raise ValueError(f"mode closed takes no key, got {self.key!r} and {self.creds}")
        return self
'''


@pytest.fixture
def telling(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """``telling-mf`` installed (on sys.path) and discovered; its ``Telling`` class."""
    for module in installed(
        tmp_path_factory, monkeypatch, "telling-mf", "telling = telling_mf.config:Telling", TELLING
    ):
        yield module.Telling


#: the values of Telling's secret fields that its validators refuse, and quote
_REFUSED = {
    "token": ("TELLING_TOKEN", SECRET + "-token", "must start with ok-"),
    "model": ("TELLING_KEY", SECRET + "-key", "mode closed takes no key"),
    "dict": ("TELLING_CREDS", {"user": SECRET + "-creds"}, "mode closed takes no key"),
    # quoted by its repr: a backslash and a tab are written escaped, the secret differently
    "escaped": ("TELLING_KEY", SECRET + "-a\\b\tc", "mode closed takes no key"),
}


@pytest.mark.parametrize("layer", ["env", "override", "profile", "init"])
@pytest.mark.parametrize("case", sorted(_REFUSED))
def test_a_validators_message_quoting_a_secret_is_redacted(
    telling: type[Any], tmp_path: Path, layer: str, case: str
) -> None:
    """A custom error (``PydanticCustomError``, no ``Value error, `` prefix) and a model
    validator's message quoting a secret field's value: said with the value masked, from
    every layer and from code's own arguments."""
    key, value, said = _REFUSED[case]
    mode = {"TELLING_MODE": "closed"} if case != "token" else {}
    given = {key: value, **mode}
    if layer == "profile":
        write_profile(tmp_path / "home", given)

    def call() -> Any:
        if layer == "init":
            return telling(**{k[len("TELLING_") :].lower(): v for k, v in given.items()})
        if layer == "env":
            texts = {k: v if isinstance(v, str) else json.dumps(v) for k, v in given.items()}
            env = {f"METAFLOW_{k}": v for k, v in texts.items()}
            return _load(tmp_path, env=env).section(telling)
        return _load(tmp_path, overrides=given if layer == "override" else {}).section(telling)

    with pytest.raises(ConfigError) as raised:
        call()
    assert said in str(raised.value)
    assert SECRET not in str(raised.value)
    assert "****" in str(raised.value)
    assert "-a\\\\b" not in str(raised.value)  # nor what follows it, escaped


def test_the_commands_redact_a_validators_message_quoting_a_secret(
    telling: type[Any], tmp_path: Path
) -> None:
    """``check``, ``show`` and ``import`` say the problem, never the secret it quotes."""
    env = {"METAFLOW_TELLING_TOKEN": SECRET, "METAFLOW_TELLING_KEY": SECRET + "-key"}
    env["METAFLOW_TELLING_MODE"] = "closed"
    for args in (["check"], ["show"], ["show", "--json"]):
        result = invoke(*args, env=env)
        assert result.exit_code == 1, args
        assert "must start with ok-" in result.output + result.stderr, args
        assert SECRET not in result.output + result.stderr, args
    source = tmp_path / "team.json"
    source.write_text(json.dumps({"METAFLOW_TELLING_TOKEN": SECRET}))
    result = invoke("import", str(source), "-y")
    assert result.exit_code == 1
    assert "must start with ok-" in result.output + result.stderr
    assert SECRET not in result.output + result.stderr


def test_no_frame_a_sections_error_passes_through_holds_its_secrets(
    telling: type[Any], tmp_path: Path
) -> None:
    """``pytest -l``, Sentry and rich tracebacks show every frame's locals: a section's error
    leaves no frame holding the layers' values (or code's arguments) in plain text."""
    from tests._frames import frames_showing, raised

    good = {"TELLING_TOKEN": "ok-" + SECRET, "TELLING_KEY": SECRET, "TELLING_COUNT": "many"}
    env = {f"METAFLOW_{k}": v for k, v in good.items()}
    snapshot = _load(tmp_path, env=env)
    assert frames_showing(raised(lambda: snapshot.section(telling)), SECRET) == []
    error = raised(lambda: telling(token="ok-" + SECRET, key=SECRET, count="many"))
    assert frames_showing(error, SECRET) == []
