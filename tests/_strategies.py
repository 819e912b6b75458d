"""Hypothesis strategies for settings values and whole configurations, and the invariants checked.

Shared by tests/test_properties.py and tests/test_fuzz.py. A *valid value* is drawn as a triple
``(file_raw, env_raw, typed)``: what a JSON file holds, what an environment variable holds, and
the typed value a resolution must produce from either.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from metaflow_config import ConfigError, Settings, load
from metaflow_config._model.fields import Setting
from metaflow_config._model.kinds import (
    AWS_ENDPOINT,
    AZURE_ROOT,
    BOOL,
    CLIENT_PARAMS,
    COMMA_LIST,
    COMMA_NAMES,
    DYNAMO_TABLE,
    GS_URL,
    HEADERS,
    IAM_ROLE_ARN,
    JSON_OBJECT,
    KEY_VALUE_LIST,
    LOG_GROUP_ARN,
    NAME_LIST,
    NONNEG_INT,
    PATH,
    PLUGIN_NAME,
    QOS_CLASS,
    QUANTITY,
    RETRY_CONFIG,
    S3_RETRIES,
    S3_TRANSIENT_RETRIES,
    S3_URL,
    S3_WORKERS,
    SERVICE_RETRIES,
    SFN_NAME_PREFIX,
    SPACE_LIST,
    STR,
    STR_DICT,
    STR_LIST,
    TAGS,
    TOLERATIONS,
    URL,
    VERIFY,
    VOLUME_CLAIMS,
    Kind,
)
from metaflow_config._model.metaflow_names import CORE_PLUGINS
from metaflow_config._model.references import MARK
from metaflow_config._model.table import BY_NAME, FIELDS
from metaflow_config._snapshot.export import TARGETS, stays_elsewhere
from metaflow_config.testing import trust

#: The layers a person or code writes, lowest first.
WRITTEN_LAYERS = ("profile", "local", "env", "override")

Triple = tuple[Any, Any, Any]

# --- values -----------------------------------------------------------------------------------

#: One line of printable text: no control characters, no lone surrogates.
_PLAIN = st.characters(
    blacklist_categories=("Cc", "Cs"),  # control characters, surrogates
)
plain_text = st.text(_PLAIN, min_size=1, max_size=20)
_SAFE = "abcdefghijklmnopqrstuvwxyz0123456789-_."
_safe_text = st.text(_SAFE, min_size=1, max_size=12)
_bucket = st.from_regex(r"\A[a-z0-9][a-z0-9.\-]{1,10}[a-z0-9]\Z")
_container = st.from_regex(r"\A[a-z0-9][a-z0-9\-]{1,10}[a-z0-9]\Z")
_safe_step = st.from_regex(r"\A[a-z0-9_.\-]{1,12}(/[a-z0-9_.\-]{1,12}){0,2}\Z")
_account = st.from_regex(r"\A[0-9]{12}\Z")
#: a label of a URL's host name (letters, digits, '-', '_': no empty label, no '.')
_host_label = st.from_regex(r"\A[a-z0-9_-]{1,12}\Z")
#: a label of an AWS endpoint's host name (letters, digits, '-' not at either end: no '_')
_endpoint_label = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?\Z")
_label = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?\Z")  # a Kubernetes label's name


def _same(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Triple]:
    """A value written identically in a file and (as text) in the environment."""
    return values.map(lambda v: (v, v, v))


def _json_text(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Triple]:
    """A JSON-valued setting: an object in a file, its JSON text in the environment."""
    return values.map(lambda v: (v, json.dumps(v), v))


def _held_as_text(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Triple]:
    """A setting Metaflow parses as JSON text itself: held as the text; a file writes the
    value itself or its text."""

    def build(value: Any, native: bool) -> Triple:
        text = json.dumps(value, separators=(",", ":"))
        return (value if native else text, text, text)

    return st.builds(build, values, st.booleans())


#: a decorator spec as ``--with`` takes it: a name (or a module path), ``:`` and attributes
_decospec = st.from_regex(
    r"\A[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,5})?(:[a-z_]{1,5}=[a-z0-9_=,{}\"]{0,8})?\Z"
)


def _joined(sep: str) -> st.SearchStrategy[Triple]:
    """Items separated by ``sep``: as text, or in a file as a JSON list of the items.

    Comma-separated items hold no space, quote or bracket; space-separated ones are decorator
    specs (``DEFAULT_DECOSPECS``).
    """

    def build(items: list[str], native: bool) -> Triple:
        text = sep.join(items)
        return (items if native else text, text, text)

    items = _safe_text if sep == "," else _decospec
    return st.builds(build, st.lists(items, min_size=1, max_size=3), st.booleans())


_bool_words = st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "off"])


def _bool_triple() -> st.SearchStrategy[Triple]:
    def build(word: str, upper: bool, native: bool) -> Triple:
        typed = word in ("true", "1", "yes", "on")
        env = word.upper() if upper else word
        return (typed if native else env, env, typed)

    return st.builds(build, _bool_words, st.booleans(), st.booleans())


def _int_triple(least: int = 0, most: int = 2**40) -> st.SearchStrategy[Triple]:
    return st.builds(
        lambda n, as_text: (str(n) if as_text else n, str(n), n),
        st.integers(min_value=least, max_value=most),
        st.booleans(),
    )


def _bounds(kind: Kind) -> tuple[int, int]:
    """The least and the most a counting kind takes (its integer schema's ``ge`` and ``le``)."""
    inner = kind.core_schema()["schema"]
    return inner["ge"], inner["le"]


_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    _json_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_tag_key = st.from_regex(r"\A[A-Za-z0-9 _.:/=+\-@]{1,20}\Z").filter(
    lambda k: not k.lower().startswith("aws:")
)
_tag_value = st.from_regex(r"\A[A-Za-z0-9 _.:/=+\-@]{0,20}\Z")
_path = st.builds(
    lambda head, tail: head + tail, st.sampled_from("/~.aZ_"), st.text(_PLAIN, max_size=15)
)
_verify_path = _path.filter(
    lambda p: p.strip().lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}
)

_BY_KIND: dict[int, st.SearchStrategy[Triple]] = {
    id(STR): _same(plain_text),
    id(PATH): _same(_path),
    id(BOOL): _bool_triple(),
    id(NONNEG_INT): _int_triple(),
    **{
        id(kind): _int_triple(*_bounds(kind))
        for kind in (SERVICE_RETRIES, S3_RETRIES, S3_TRANSIENT_RETRIES, S3_WORKERS)
    },
    id(URL): _same(st.builds(lambda h, p: f"https://{h}.example/{p}", _host_label, _safe_text)),
    id(AWS_ENDPOINT): _same(
        st.builds(lambda h, p: f"https://{h}.example:9000/{p}", _endpoint_label, _safe_text)
    ),
    id(S3_URL): _same(
        st.builds(
            lambda b, p: f"s3://{b}" + (f"/{p}" if p else ""), _bucket, st.none() | _safe_text
        )
    ),
    id(GS_URL): _same(st.builds(lambda b, p: f"gs://{b}/{p}", _bucket, _safe_text)),
    id(AZURE_ROOT): _same(st.builds(lambda c, p: f"{c}/{p}", _container, _safe_step)),
    id(IAM_ROLE_ARN): _same(
        st.builds(lambda a, n: f"arn:aws:iam::{a}:role/{n}", _account, _safe_text)
    ),
    id(LOG_GROUP_ARN): _same(
        st.builds(lambda a, n: f"arn:aws:logs:us-west-2:{a}:log-group:{n}", _account, _safe_text)
    ),
    id(SFN_NAME_PREFIX): _same(st.from_regex(r"\A[A-Za-z0-9_\-]{1,20}\Z")),
    id(DYNAMO_TABLE): _same(st.from_regex(r"\A[A-Za-z0-9_.\-]{3,30}\Z")),
    id(STR_DICT): _json_text(st.dictionaries(plain_text, plain_text, max_size=3)),
    id(TAGS): _json_text(st.dictionaries(_tag_key, _tag_value, max_size=3)),
    id(HEADERS): _json_text(
        st.dictionaries(
            st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,15}\Z"),
            plain_text.filter(
                lambda v: (
                    not v[:1].isspace() and v == v.encode("latin-1", "ignore").decode("latin-1")
                )
            ),
            max_size=3,
        )
    ),
    id(JSON_OBJECT): _json_text(st.dictionaries(st.text(max_size=8), json_values, max_size=3)),
    id(CLIENT_PARAMS): _json_text(
        st.fixed_dictionaries(
            {},
            optional={
                "endpoint_url": st.builds(lambda h: f"http://{h}.internal:9000", _endpoint_label),
                "region_name": st.sampled_from(["us-east-1", "eu-west-1"]),
            },
        )
    ),
    id(STR_LIST): _json_text(st.lists(plain_text, max_size=3)),
    id(RETRY_CONFIG): _json_text(
        st.fixed_dictionaries(
            {},
            optional={
                "max_attempts": st.integers(0, 20),
                "total_max_attempts": st.integers(1, 20),
                "mode": st.sampled_from(["legacy", "standard", "adaptive"]),
            },
        )
    ),
    id(VERIFY): _bool_triple() | _same(_verify_path),
    id(COMMA_LIST): _joined(","),
    id(COMMA_NAMES): _joined(","),
    id(SPACE_LIST): _joined(" "),
    id(TOLERATIONS): _held_as_text(
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "key": _safe_text,
                    "operator": st.sampled_from(["Exists", "Equal"]),
                    "value": plain_text,
                    "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
                    "toleration_seconds": st.integers(0, 3600),
                },
            ),
            max_size=3,
        )
    ),
    id(VOLUME_CLAIMS): _held_as_text(
        st.dictionaries(_safe_text, st.builds(lambda p: "/" + p, _safe_text), max_size=3)
    ),
    id(NAME_LIST): _held_as_text(st.lists(_safe_text, max_size=3)),
    id(KEY_VALUE_LIST): _same(  # each key once, as Metaflow takes them
        st.dictionaries(_label, _label, min_size=1, max_size=3).map(
            lambda pairs: ",".join(f"{k}={v}" for k, v in pairs.items())
        )
    ),
    id(QOS_CLASS): _same(st.sampled_from(["Guaranteed", "Burstable", "burstable", "GUARANTEED"])),
    id(PLUGIN_NAME): _same(st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.\-]{0,12}\Z")),
    # a file may write the number itself; the typed value is its text either way
    id(QUANTITY): st.builds(
        lambda n, as_number: (n if as_number else str(n), str(n), str(n)),
        st.integers(min_value=0, max_value=2**20),
        st.booleans(),
    ),
}


def _no_reference_mark(triple: Triple) -> bool:
    """No text of ``triple`` holds ``{{``: a layer's text holding it is read as a reference.

    Hypothesis draws the code's own string literals (``MARK`` among them) into text, so the
    strategies above would produce it, and a plain value holding it is a ``ConfigError``.
    """
    return not any(isinstance(raw, str) and MARK in raw for raw in triple)


def value_triples(setting: Setting) -> st.SearchStrategy[Triple]:
    """Valid values of ``setting`` as ``(file_raw, env_raw, typed)``.

    A plugin's name is one Metaflow knows (another warns, or is an error near a known one).
    """
    if setting.kind.choices:
        return _same(st.sampled_from(setting.kind.choices))
    if setting.plugin:
        return _same(st.sampled_from(sorted(CORE_PLUGINS[setting.plugin])))
    return _BY_KIND[id(setting.kind)].filter(_no_reference_mark)


def kinds_without_strategy() -> set[str]:
    """Kinds used by the table that ``value_triples`` cannot draw (must stay empty)."""
    return {f.kind.name for f in FIELDS if not f.kind.choices and id(f.kind) not in _BY_KIND}


# --- whole configurations ---------------------------------------------------------------------


@dataclass
class Config:
    """Raw values per written layer, by environment name, and the typed value of each."""

    raw: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in WRITTEN_LAYERS})
    typed: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: {} for k in WRITTEN_LAYERS}
    )

    def set(self, layer: str, name: str, triple: Triple) -> None:
        file_raw, env_raw, typed = triple
        if layer == "env":
            self.raw[layer][name] = env_raw
        elif layer == "override":
            self.raw[layer][name] = typed
        else:
            self.raw[layer][name] = file_raw
        self.typed[layer][name] = typed

    def layers_setting(self, name: str) -> list[str]:
        """The written layers that set ``name``, lowest first."""
        return [layer for layer in WRITTEN_LAYERS if name in self.raw[layer]]


@st.composite
def configs(
    draw: st.DrawFn, names: st.SearchStrategy[str] | None = None, max_settings: int = 4
) -> Config:
    """A configuration: a few settings, each set (validly) in a random subset of the layers."""
    pool = names if names is not None else st.sampled_from([f.env for f in FIELDS])
    chosen = draw(st.lists(pool, max_size=max_settings, unique=True))
    config = Config()
    for name in chosen:
        setting = BY_NAME[name[len("METAFLOW_") :]]
        for layer in draw(st.lists(st.sampled_from(WRITTEN_LAYERS), unique=True)):
            config.set(layer, name, draw(value_triples(setting)))
    return config


@dataclass(frozen=True)
class Place:
    """Where a configuration is written: METAFLOW_HOME and a project directory."""

    home: str
    project: str
    elsewhere: str  # an empty working directory (no .metaflow above it)


@contextmanager
def place() -> Iterator[Place]:
    """Fresh directories for one example (Hypothesis re-runs a test body many times)."""
    with tempfile.TemporaryDirectory(prefix="mfcfg-prop-") as root:
        home = os.path.join(root, "home")
        project = os.path.join(root, "project")
        elsewhere = os.path.join(root, "elsewhere")
        for d in (home, project, elsewhere):
            os.mkdir(d)
        yield Place(home, project, elsewhere)


def write_private(path: str, doc: Any) -> None:
    """Write ``doc`` as JSON to ``path`` with mode 0600 (a file that may hold secrets)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def write(where: Place, config: Config, *, trusted: bool = True) -> dict[str, Any]:
    """Write the file layers of ``config``; return the keyword arguments of ``load``.

    ``trusted``: the home trusts the project file written (every key of it applies).
    """
    if config.raw["profile"]:
        write_private(os.path.join(where.home, "config.json"), config.raw["profile"])
    if config.raw["local"]:
        local = os.path.join(where.project, ".metaflow", "config.json")
        write_private(local, config.raw["local"])
        if trusted:
            trust(where.home, local)
    return {
        "env": dict(config.raw["env"]),
        "home": where.home,
        "cwd": where.project,
        "overrides": dict(config.raw["override"]),
    }


# --- the invariants of any successful resolution ----------------------------------------------


def travels(setting: Setting, target: str) -> bool:
    """Whether ``setting`` must come out the same after a round trip through ``to_env(target)``.

    Everything for ``local``; for containers all but machine-local paths, what derives from them,
    the service URLs (the internal one becomes ``SERVICE_URL`` there), and on AWS Batch the
    settings of other platforms' launchers (``stays_elsewhere``).
    """
    if target == "local":
        return True
    if setting.local or setting.name in ("SERVICE_URL", "SERVICE_INTERNAL_URL"):
        return False
    if stays_elsewhere(setting, target):
        return False
    bases = setting.derive.bases if setting.derive else ()
    return not any(BY_NAME[b].local or not travels(BY_NAME[b], target) for b in bases)


def check_round_trip(s: Settings, cwd: str, empty_home: str) -> None:
    """``load(env=s.to_env(t))`` equals ``s`` on every setting that travels, for every target."""
    for target in TARGETS:
        try:
            exported = s.to_env(target)
        except ConfigError as exc:
            refused: ConfigError | None = exc
        else:
            refused = None
        if refused is not None:  # only the Step Functions size limit may refuse an export
            assert target == "sfn", refused
            assert "8192" in str(refused)
            continue
        for key, value in exported.items():
            assert key.startswith("METAFLOW_"), key
            assert isinstance(value, str)
            assert value, f"{key} exported as the empty string (it would read back as unset)"
            assert "\0" not in value, key
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fresh = load(env=exported, home=empty_home, cwd=cwd, profile="")
        for f in FIELDS:
            if travels(f, target):
                assert fresh[f.env] == s[f.env], (target, f.env, fresh[f.env], s[f.env])


def check_views(s: Settings) -> None:
    """Every read-only view of a snapshot works: repr, sections, explain of every setting."""
    repr(s)
    for f in FIELDS:
        info = s.explain(f.env)
        str(info)
        repr(info)
        assert info.source in ("default", "derived", *WRITTEN_LAYERS)


def resolve_anything(kwargs: Mapping[str, Any]) -> Settings | ConfigError:
    """Resolve; return the snapshot or the ConfigError. Anything else propagates (a bug)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown keys warn; that is not what is tested here
        try:
            return load(**kwargs)
        except ConfigError as exc:
            error = exc
    assert error.problems
    str(error)
    return error
