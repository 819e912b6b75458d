"""A property: whatever shape a secret has and wherever it is set, no output surface shows it.

A canary (``SEKRIT`` and a unique tail, wrapped in text drawn from the characters that break
naive masking: quotes, ``@``, ``:``, ``/``, backslashes, braces, spaces, non-ASCII, bidi and line
controls) is planted as a secret setting's value, as a password in a service URL (well-formed or
mistyped), or as a registered-looking secret key's value, in any layer (the profile, a trusted or
an untrusted project file, the environment, ``override``). Valid or not, the configuration is
then shown every way the library and the command line show it: reprs and strings of the snapshot,
its sections, accessors and ``compat`` names, ``explain``, ``to_env``'s repr, every error and
warning and log record, and ``show``, ``show --json``, ``explain``, ``get``, ``env``, ``check``.
The canary must appear in none (``tests/test_secrets.py`` pins each surface with fixed values;
this is the same promise over any input shape).
"""

from __future__ import annotations

import json
import logging
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import metaflow_config.compat as compat
from metaflow_config import ConfigError, load, override
from metaflow_config._model.table import FIELDS
from metaflow_config.testing import trust
from tests.conftest import invoke, write_json

MARK = "SEKRIT"
SECRETS = [f for f in FIELDS if f.secret]
#: Characters that end, quote or split a value in a rendered container, a URL or a terminal
_TRICKY = "\"'@:/\\{}[], =;#%$`éü€\u202e\u200f\u2028\u0085\t"
_around = st.text(alphabet=_TRICKY + "abcXYZ019", max_size=6)
_LAYERS = ("profile", "local-trusted", "local-untrusted", "env", "override")


@st.composite
def _plantings(draw: st.DrawFn) -> tuple[str, str, Any, str]:
    """(layer, full name, the value planted, the canary it carries)."""
    canary = MARK + uuid.uuid4().hex[:12]
    text = draw(_around) + canary + draw(_around)
    shape = draw(st.sampled_from(("secret", "url-password", "mistyped-url", "secret-key-in-map")))
    if shape == "secret":
        setting = draw(st.sampled_from(SECRETS))
        value: Any = text
        if setting.kind.json_valued:
            key = "Authorization" if "strings" in setting.kind.name else "aws_secret_access_key"
            value = {key: text}
        name = setting.env
    elif shape == "url-password":
        name = draw(st.sampled_from(["METAFLOW_SERVICE_URL", "METAFLOW_S3_ENDPOINT_URL"]))
        value = f"https://user:{text}@host.example/api"
    elif shape == "mistyped-url":
        name = draw(st.sampled_from(["METAFLOW_SERVICE_URL", "METAFLOW_BATCH_JOB_QUEUE"]))
        value = draw(
            st.sampled_from(
                [
                    f"https:/admin:{text}@host",
                    f"//u:{text}@h",
                    f"u:{text}@host",
                    f"user:{text}@host/path",
                ]
            )
        )
    else:  # a header whose name carries it: the keys of a secret map are secret too
        name = "METAFLOW_SERVICE_HEADERS"
        value = {text: "v"}
    return draw(st.sampled_from(_LAYERS)), name, value, canary


def _assert_clean(text: str, canary: str, where: str) -> None:
    assert canary not in text, f"the canary leaked into {where}: ...{_near(text, canary)}..."


def _near(text: str, canary: str) -> str:
    i = text.find(canary)
    return repr(text[max(0, i - 60) : i + 40])


def _place(root: Path, layer: str, name: str, value: Any) -> dict[str, Any]:
    """Write or pass ``name = value`` in ``layer``; the keyword arguments of ``load``."""
    home, project = root / "home", root / "project"
    (project / ".metaflow").mkdir(parents=True)
    home.mkdir()
    kwargs: dict[str, Any] = {"env": {}, "home": home, "cwd": project}
    if layer == "profile":
        write_json(home / "config.json", {name: value})
    elif layer.startswith("local"):
        path = write_json(project / ".metaflow" / "config.json", {name: value})
        if layer == "local-trusted":
            trust(home, path)
    elif layer == "env":
        kwargs["env"] = {name: value if isinstance(value, str) else json.dumps(value)}
    else:
        kwargs["overrides"] = {name: value}
    return kwargs


def _library_surfaces(s: Any) -> list[tuple[str, str]]:
    """Every way a snapshot shows itself in code, with a label."""
    shown = [("repr(settings)", repr(s)), ("str(settings)", str(s))]
    for f in FIELDS:
        info = s.explain(f.env)
        shown += [(f"explain({f.env})", str(info)), (f"repr(explain({f.env}))", repr(info))]
    for attr in ("service", "s3", "datatools", "batch", "sfn", "sandbox"):
        shown.append((f"repr(settings.{attr})", repr(getattr(s, attr))))
    accessors = {
        "effective_headers": lambda: s.service.effective_headers,
        "client_kwargs": lambda: s.s3.client_kwargs,
        "client_params": lambda: s.datatools.client_params,
    }
    for label, read in accessors.items():
        value = read()
        shown += [(f"repr({label})", repr(value)), (f"str({label})", str(value))]
    with override(env=dict(s._resolution.inputs.env), home=s.home, cwd=s._resolution.inputs.cwd):
        for name in compat.NAMES:
            shown.append((f"repr(compat.{name})", repr(getattr(compat, name))))
    shown += [(f"to_env({target})", _exported(s, target)) for target in ("local", "batch", "sfn")]
    return shown


def _exported(s: Any, target: str) -> str:
    """The repr of ``to_env(target)``, or its error's message (a value Step Functions refuses)."""
    try:
        return repr(s.to_env(target))
    except ConfigError as exc:
        return str(exc)


def _command_surfaces(kwargs: dict[str, Any], name: str) -> list[tuple[str, str]]:
    """What the commands print for the same configuration (no secret revealed on purpose)."""
    env = {**kwargs["env"], "METAFLOW_HOME": str(kwargs["home"])}
    shown = []
    for args in (
        ["show", "--all"],
        ["show", "--json"],
        ["explain", name],
        ["get", name],
        ["env", "--format", "shell"],
        ["env", "--format", "json"],
        ["check", "--lenient"],
    ):
        result = invoke(*args, env=env)
        shown.append((" ".join(args), result.output))
    return shown


@hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(planting=_plantings())
def test_no_surface_shows_a_secret_of_any_shape(
    planting: tuple[str, str, Any, str],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Valid or invalid, applied or held back: the canary is in no output."""
    layer, name, value, canary = planting
    root = tmp_path_factory.mktemp("canary")
    kwargs = _place(root, layer, name, value)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    shown: list[tuple[str, str]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            snapshot = load(**kwargs)
        except ConfigError as exc:
            shown += [("str(ConfigError)", str(exc)), ("repr(ConfigError)", repr(exc))]
            shown += [("repr(Problem)", repr(p)) for p in exc.problems]
        else:
            shown += _library_surfaces(snapshot)
            exported = json.dumps(dict(snapshot.to_env("local")))
            # the planting took: revealed on purpose (to_env's values), the canary is there
            assert (canary in exported) == (layer != "local-untrusted"), (layer, name)
        if "overrides" not in kwargs:
            monkeypatch.chdir(kwargs["cwd"])
            shown += _command_surfaces(kwargs, name)
    shown += [("warning", str(w.message)) for w in caught]
    shown += [("log record", r.getMessage()) for r in caplog.records]
    for where, text in shown:
        _assert_clean(text, canary, where)
