"""A review of the third round's fixes: what they broke, and what they left; each test here
failed before its fix."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_config import load

PY = sys.executable
BIN = Path(sys.executable).parent


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.pop("PYTHONPATH", None)
    env["HOME"] = str(tmp_path / "home")
    env["METAFLOW_HOME"] = str(tmp_path / "home" / ".metaflowconfig")
    env.update(extra)
    return env


def _ext(root: Path, org: str, source: str | bytes) -> Path:
    """A non-installed extension ``metaflow_extensions.<org>`` under ``root`` (on PYTHONPATH)."""
    folder = root / "metaflow_extensions" / org / "config"
    folder.mkdir(parents=True)
    path = folder / f"mfextinit_{org}.py"
    path.write_bytes(source if isinstance(source, bytes) else source.encode())
    return path


_DECLARED = """
import json
from metaflow_config._sources.extensions import config_literals, config_names, config_settings
print(json.dumps([dict(config_names()), dict(config_settings()), dict(config_literals())]))
"""


def _printed(tmp_path: Path, code: str, **env: str) -> str:
    """The last line ``code`` prints in a fresh interpreter (a clean environment and ``env``)."""
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    done = subprocess.run(
        [PY, "-c", code],
        cwd=run,
        env=_clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def _declared(tmp_path: Path, pythonpath: list[Path]) -> tuple[dict, dict, dict]:
    path = os.pathsep.join(map(str, pythonpath))
    names, settings, literals = json.loads(_printed(tmp_path, _DECLARED, PYTHONPATH=path))
    return names, settings, literals


# --- 1 (high, regression of dc03f60): a working directory holding '{{' refuses every resolution


def test_working_directory_with_braces_still_resolves(tmp_path: Path) -> None:
    """A cookiecutter template's folder is literally named ``{{cookiecutter.project_slug}}``.

    ARTIFACT_LOCALROOT derives from the working directory; since dc03f60 a derived value
    holding '{{' is refused, so `import metaflow`, `metaflow-config show`, every `settings[...]`
    run there raises ConfigError (8aeb063 resolved it). The value is local (never exported), and
    the offered fix ('set it explicitly') cannot work: the same path is refused in any layer.
    """
    project = tmp_path / "{{cookiecutter.project_slug}}"
    project.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    settings = load(env={}, home=str(home), cwd=str(project))  # ConfigError today
    assert settings["METAFLOW_ARTIFACT_LOCALROOT"] in (str(project), ".")


# --- 2 (medium, regression of 57dac65): profile on a read-only mount warned as replaceable


# --- 3 (medium, regression of 3898d87): a config module with a UTF-8 BOM declares nothing


def test_config_module_with_utf8_bom_is_read(tmp_path: Path) -> None:
    """Python (and Metaflow) import a module starting with a UTF-8 BOM (Windows editors write
    one); ast.parse of the text decoded with the BOM kept fails ('invalid non-printable character
    U+FEFF'), which _declared takes as 'no Python': METAFLOW_ACME_ENDPOINT is then reported
    UNKNOWN by show/check, and KUBERNETES_NAMESPACE is not said to be the extension's. The regex
    reader of 8aeb063 found both."""
    root = tmp_path / "ext"
    _ext(
        root,
        "acme",
        b"\xef\xbb\xbffrom metaflow.metaflow_config_funcs import from_conf\n"
        b'ACME_ENDPOINT = from_conf("ACME_ENDPOINT")\n'
        b'KUBERNETES_NAMESPACE = "acme-ns"\n',
    )
    names, settings, literals = _declared(tmp_path, [root])
    assert names.get("METAFLOW_ACME_ENDPOINT") == "acme"
    assert settings.get("KUBERNETES_NAMESPACE") == "acme"
    assert literals.get("KUBERNETES_NAMESPACE") == "acme-ns"


def test_config_module_coding_cookie_is_honoured(tmp_path: Path) -> None:
    """(low) A ``# -*- coding: latin-1 -*-`` module's literal is read as Python reads it
    (bytes given to ast.parse honour the cookie and the BOM); today the bytes are decoded as
    UTF-8 with 'replace', so the value said for the setting is 'caf\\ufffd'."""
    root = tmp_path / "ext"
    _ext(
        root,
        "beta",
        b'# -*- coding: latin-1 -*-\nKUBERNETES_SERVICE_ACCOUNT = "caf\xe9"\n',
    )
    _, _, literals = _declared(tmp_path, [root])
    assert literals.get("KUBERNETES_SERVICE_ACCOUNT") == "caf\u00e9"


# --- 4 (medium): which extension's binding runs: not Metaflow's order


_METAFLOW_SAYS = """
import json
from metaflow_config._sources.extensions import config_literals, config_settings
ours = [dict(config_settings()), dict(config_literals())]
import metaflow.metaflow_config as m
print(json.dumps(ours + [m.KUBERNETES_NAMESPACE]))
"""


# --- 5 (low-medium): a valid module with a long elif chain: raw RecursionError on every read


def test_long_elif_chain_does_not_crash_resolution(tmp_path: Path) -> None:
    """An elif chain is nested If nodes in ``orelse``; ``_bind`` recurses once per branch, so
    ~1000 branches (a module Python compiles and Metaflow imports) raise RecursionError out of
    config_names(): with any unknown METAFLOW_* variable set, every resolution (`show`,
    `settings[...]`, `import metaflow`) dies with 'unexpected RecursionError ... a bug'."""
    root = tmp_path / "ext"
    branches = "".join(f"elif MODE == {i}:\n    pass\n" for i in range(1, 1000))
    _ext(
        root,
        "eorg",
        "from metaflow.metaflow_config_funcs import from_conf\n"
        'ACME_X = from_conf("ACME_X")\nMODE = 5\nif MODE == 0:\n    pass\n' + branches,
    )
    compile((root / "metaflow_extensions/eorg/config/mfextinit_eorg.py").read_text(), "m", "exec")
    run = tmp_path / "run"
    run.mkdir()
    env = _clean_env(tmp_path, PYTHONPATH=str(root), METAFLOW_ACME_X="1")
    done = subprocess.run(
        [str(BIN / "metaflow-config"), "show"],
        cwd=run,
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "RecursionError" not in done.stdout + done.stderr, done.stderr[-500:]
    assert done.returncode == 0


# --- 6 (low, pre-existing gap the 'every binding counts' change left): TOGGLE_DECOSPECS


def test_toggle_decospecs_is_said_to_set_default_decospecs(tmp_path: Path) -> None:
    """Metaflow sets DEFAULT_DECOSPECS to the extensions' TOGGLE_DECOSPECS joined when no one
    set it (metaflow_config.py, after the extension loop): with TOGGLE_DECOSPECS = ["retry"]
    every step runs with @retry, while settings (and metaflow-config show/--target) say
    DEFAULT_DECOSPECS is '' and config_settings() names no extension for it."""
    root = tmp_path / "ext"
    _ext(root, "torg", 'TOGGLE_DECOSPECS = ["retry"]\n')
    code = (
        "from metaflow_config import load\n"
        "from metaflow_config._sources.extensions import set_by_extensions\n"
        "print(set_by_extensions(load()).get('DEFAULT_DECOSPECS'))\n"
    )
    for given, said in (({}, "torg"), ({"METAFLOW_DEFAULT_DECOSPECS": "catch"}, "None")):
        assert _printed(tmp_path, code, PYTHONPATH=str(root), **given) == said


@pytest.mark.parametrize("given", ["", "catch"])
def test_a_toggle_is_said_only_where_it_fills_default_decospecs(tmp_path: Path, given: str) -> None:
    """Platform trial: with ``METAFLOW_DEFAULT_DECOSPECS=catch`` set, Metaflow's module holds
    ``catch`` (the toggle fills an empty one only), yet ``explain`` said an extension's
    ``TOGGLE_DECOSPECS`` replaced it. Said where the toggle fills it, and there only."""
    pytest.importorskip("metaflow")
    root = tmp_path / "ext"
    _ext(root, "torg", 'TOGGLE_DECOSPECS = ["retry"]\n')
    run = tmp_path / "run"
    run.mkdir()
    env = _clean_env(tmp_path, PYTHONPATH=str(root))
    if given:
        env["METAFLOW_DEFAULT_DECOSPECS"] = given
    held = subprocess.run(
        [PY, "-c", "import metaflow.metaflow_config as m; print(m.DEFAULT_DECOSPECS)"],
        cwd=run,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert held.stdout.strip().splitlines()[-1] == (given or "retry")
    for command in (["explain", "METAFLOW_DEFAULT_DECOSPECS"], ["show"], ["check"]):
        done = subprocess.run(
            [str(BIN / "metaflow-config"), *command],
            cwd=run,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        said = re.search(r"torg sets (METAFLOW_)?DEFAULT_DECOSPECS", done.stdout + done.stderr)
        assert (said is not None) == (not given), (command, done.stdout, done.stderr)


# --- 7 (low-medium): `reset -p NAME` of a missing profile still offers to create it


@pytest.mark.parametrize("others", ["none", "default-only", "no-home"])
def test_reset_of_missing_profile_offers_nothing_to_create(tmp_path: Path, others: str) -> None:
    """CHANGELOG (7b2dfae/798b9e4): `reset -p NAME` of a profile that does not exist 'offers no
    profile to create (that reset would remove)'. profiles._ways_out honours create=False only
    where named profiles exist: with none, with config.json alone, or with no METAFLOW_HOME, the
    fix is still 'create it with `metaflow-config configure aws --profile nope`'."""
    home = tmp_path / "mfhome"
    if others != "no-home":
        home.mkdir()
    if others == "default-only":
        (home / "config.json").write_text("{}")
    run = tmp_path / "run"
    run.mkdir()
    env = _clean_env(tmp_path, METAFLOW_HOME=str(home))
    done = subprocess.run(
        [str(BIN / "metaflow-config"), "reset", "-p", "nope", "--yes"],
        cwd=run,
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "configure aws --profile nope" not in done.stderr, done.stderr


# --- 8 (medium): SERVICE_RETRY_COUNT's new bounds take 0, which Metaflow treats as no attempt


def test_service_retry_count_zero_is_refused(tmp_path: Path) -> None:
    """9874446 bounded SERVICE_RETRY_COUNT to 0-12 (its kind's own comment: 'Attempts of a
    metadata service call'). Metaflow loops `for i in range(SERVICE_RETRY_COUNT)` around the
    call itself (service.py compute_info/_request, argo_events.publish): with 0 no request is
    ever made, so `import metaflow` with the service says '[url] unreachable' without trying,
    _request ends in UnboundLocalError, and an Argo event is silently never published. The
    least that works is 1; 0 is taken as valid today."""
    from metaflow_config.errors import ConfigError

    home = tmp_path / "home"
    home.mkdir()
    with pytest.raises(ConfigError, match="SERVICE_RETRY_COUNT"):
        load(env={"METAFLOW_SERVICE_RETRY_COUNT": "0"}, home=str(home), cwd=str(tmp_path))


# --- 9 (medium-high, regression of 3ee9b54): a Runner's explicit env value is dropped when the
# shell happens to export the same value: the flow's configuration depends on the machine


def test_runner_env_value_equal_to_shell_is_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a scope that leaves the shell's variables out (override(env={}), as a flow test
    isolates), `Runner("flow.py", env={"METAFLOW_BATCH_JOB_QUEUE": "q-shell"})` gives the flow
    'q-shell' on a machine whose shell does not export it (CI), but '' (unset) on one that exports
    the very same value (a developer's laptop): launch._passed drops every entry equal to
    os.environ's, and child_variables then says the scope left it out. Only a copy of the whole
    os.environ (NBRunner/NBDeployer) was meant; a caller's deliberate value is lost."""
    from metaflow_config import override
    from metaflow_config._metaflow.launch import in_scope

    def original(api, flow_file=None, env=None, profile=None, cwd=None):  # Runner.__init__'s shape
        got.update(env or {})

    results = {}
    for shell in ("q-other", "q-shell"):
        monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", shell)
        got: dict[str, str] = {}
        with override(env={}):
            in_scope(original, object(), "flow.py", env={"METAFLOW_BATCH_JOB_QUEUE": "q-shell"})
        results[shell] = got.get("METAFLOW_BATCH_JOB_QUEUE")
    assert results == {"q-other": "q-shell", "q-shell": "q-shell"}


def test_a_profile_on_aon_read_only_mount_is_not_said_to_be_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Kubernetes ConfigMap volume: its folder mode 0777, the file system read-only. No one
    can replace the profile, and ``chmod go-w`` would fail there (EROFS): no warning."""
    import warnings

    from metaflow_config import ConfigWarning
    from metaflow_config._sources import profiles

    home = tmp_path / "cm"
    home.mkdir()
    (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q1"}')
    (home / "config.json").chmod(0o644)
    home.chmod(0o777)

    def said() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert load(env={}, home=str(home), cwd=str(tmp_path))["BATCH_JOB_QUEUE"] == "q1"
        return [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]

    assert any("writable by everyone without the sticky bit" in w for w in said())
    if not hasattr(os, "ST_RDONLY"):
        return
    real = os.statvfs

    class ReadOnly:
        def __init__(self, path: str) -> None:
            self.f_flag = real(path).f_flag | os.ST_RDONLY

    monkeypatch.setattr(profiles.os, "statvfs", ReadOnly)
    assert not [w for w in said() if "writable by" in w]


def test_the_extension_named_is_the_one_metaflow_applies_last(tmp_path: Path) -> None:
    """Metaflow applies installed distributions' extensions first (by name), then those of no
    distribution (a PYTHONPATH folder) by their folder's path: the last one's value runs, and
    that one is named, whatever the order of ``sys.path``."""
    # a folder of no distribution whose path sorts first, one whose path sorts last, and an
    # installed distribution's folder whose path sorts after both: installed comes first
    c, b, site = tmp_path / "c", tmp_path / "b", tmp_path / "zsite"
    _ext(c, "corg", 'KUBERNETES_NAMESPACE = "ns-from-corg"\n')
    _ext(b, "borg", 'KUBERNETES_NAMESPACE = "ns-from-borg"\n')
    _ext(site, "morg", 'KUBERNETES_NAMESPACE = "ns-from-morg"\n')
    info = site / "morg_ext-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: morg-ext\nVersion: 1.0\n")
    (info / "RECORD").write_text("metaflow_extensions/morg/config/mfextinit_morg.py,,\n")
    (info / "top_level.txt").write_text("metaflow_extensions\n")  # what Metaflow asks first
    _, settings, literals = _declared(tmp_path, [c, site, b])
    assert settings["KUBERNETES_NAMESPACE"] == "corg"  # of no distribution, its path last
    assert literals["KUBERNETES_NAMESPACE"] == "ns-from-corg"
    _, settings, _ = _declared(tmp_path, [site])
    assert settings["KUBERNETES_NAMESPACE"] == "morg"
