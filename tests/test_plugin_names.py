"""Plugin names (DEFAULT_DATASTORE, DEFAULT_METADATA, CONDA_DEPENDENCY_RESOLVER) are checked.

A case variant or near miss of a name Metaflow knows is a ConfigError with the did-you-mean; a
name nobody here knows is a ConfigWarning; ``check`` compares with what the installed Metaflow
and its extensions register. Extensions are read from their sources, never imported.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from metaflow_config import ConfigError, ConfigWarning, load, override
from metaflow_config._model.table import FIELDS
from metaflow_config._sources import plugins
from tests.conftest import invoke, write_json


@pytest.fixture
def fresh_discovery() -> Iterator[None]:
    """What the installed plugins are is read again in the test, and after it."""
    plugins.installed.cache_clear()
    yield
    plugins.installed.cache_clear()


def _extension(root: Path, body: str) -> Path:
    """A ``metaflow_extensions`` package on ``root`` whose plugins module holds ``body``."""
    module = root / "metaflow_extensions" / "acme" / "plugins" / "mfextinit_acme.py"
    module.parent.mkdir(parents=True)
    module.write_text(body)
    return root


@pytest.mark.parametrize(
    ("name", "value", "meant"),
    [
        pytest.param("DEFAULT_DATASTORE", "S3", "s3", id="case-variant"),
        pytest.param("DEFAULT_DATASTORE", "azur", "azure", id="near-miss"),
        pytest.param("DEFAULT_METADATA", "servce", "service", id="metadata-near-miss"),
        pytest.param("CONDA_DEPENDENCY_RESOLVER", "mambaa", "mamba", id="resolver-near-miss"),
    ],
)
def test_a_near_miss_is_an_error_with_the_did_you_mean(
    tmp_path: Path, name: str, value: str, meant: str
) -> None:
    """From the environment and from a profile, named with its layer and location."""
    env = f"METAFLOW_{name}"
    with pytest.raises(ConfigError, match=rf"{env} \(env: {env}\).*did you mean {meant}\?"):
        load(env={env: value}, home=tmp_path, cwd=tmp_path)
    write_json(tmp_path / "config.json", {env: value})
    with pytest.raises(ConfigError, match=rf"config.json:{env}\).*did you mean {meant}\?"):
        load(env={}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(ConfigError, match=rf"did you mean {meant}\?"):
        override(**{name: value}).__enter__()


def test_a_name_nobody_knows_is_a_warning(tmp_path: Path) -> None:
    """ftp may be an extension's datastore elsewhere: said, not refused."""
    with pytest.warns(ConfigWarning, match=r"'ftp' is not a datastore .*azure, gs, local, s3"):
        s = load(env={"METAFLOW_DEFAULT_DATASTORE": "ftp"}, home=tmp_path, cwd=tmp_path)
    assert s.defaults.datastore == "ftp"
    with (
        pytest.warns(ConfigWarning, match="'ftp' is not a datastore"),
        override(DEFAULT_DATASTORE="ftp"),
    ):
        pass


def test_an_extensions_plugins_count_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    """A datastore an installed extension declares resolves quietly, even one near a core
    name; the extension is read, not imported."""
    root = _extension(
        tmp_path / "ext",
        "raise RuntimeError('imported')\n"
        "DATASTORES_DESC = [('s3x', '.s3x.S3X'), ('acme', '.acme.Acme')]\n",
    )
    monkeypatch.syspath_prepend(str(root))
    for name in ("s3x", "acme"):
        s = load(env={"METAFLOW_DEFAULT_DATASTORE": name}, home=tmp_path, cwd=tmp_path)
        assert s.defaults.datastore == name


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "_STORES = ['gcs']\nDATASTORES_DESC = [(n, '.a.A') for n in _STORES]\n", id="listcomp"
        ),
        pytest.param("DATASTORES_DESC = make()\n", id="call"),
        pytest.param(
            "DATASTORES_DESC = []\nDATASTORES_DESC.append(('gcs', '.a.A'))\n", id="append"
        ),
        pytest.param("ENABLED_DATASTORE = [n for n in ('gcs',)]\n", id="enabled"),
    ],
)
def test_a_list_built_by_code_makes_a_near_miss_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None, body: str
) -> None:
    """An extension registering its datastores in code may register ``gcs``, one edit from the
    core ``gs``: not read here, so the name is warned about (with the did-you-mean), never
    refused, which stopped every ``import metaflow`` of a working setup."""
    monkeypatch.syspath_prepend(str(_extension(tmp_path / "ext", body)))
    assert not plugins.installed()["datastore"].complete
    with pytest.warns(ConfigWarning, match=r"'gcs' is not a datastore .*did you mean gs\?.*code"):
        s = load(env={"METAFLOW_DEFAULT_DATASTORE": "gcs"}, home=tmp_path, cwd=tmp_path)
    assert s.defaults.datastore == "gcs"
    assert plugins.installed()["metadata_provider"].complete  # another category: still read
    checked = invoke(
        "check", env={"METAFLOW_HOME": str(tmp_path), "METAFLOW_DEFAULT_DATASTORE": "gcs"}
    )
    assert checked.exit_code == 0, checked.output  # warned, not failed: a working setup


def test_a_near_miss_is_an_error_where_every_list_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    monkeypatch.syspath_prepend(str(_extension(tmp_path / "ext", "DATASTORES_DESC = []\n")))
    assert plugins.installed()["datastore"].complete
    with pytest.raises(ConfigError, match="did you mean gs"):
        load(env={"METAFLOW_DEFAULT_DATASTORE": "gcs"}, home=tmp_path, cwd=tmp_path)


def test_the_working_directorys_extensions_declare_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    """A cloned repository run in place (``python -c``, a notebook: the working directory on
    ``sys.path``) registers no plugin: its ``metaflow_extensions`` is not read."""
    repo = _extension(tmp_path / "repo", "DATASTORES_DESC = [('evil', '.evil.Evil')]\n")
    monkeypatch.chdir(repo)
    monkeypatch.syspath_prepend("")
    assert "evil" not in plugins.installed()["datastore"]
    plugins.installed.cache_clear()
    monkeypatch.syspath_prepend(str(repo))  # by its path, as a link to it would be
    assert "evil" not in plugins.installed()["datastore"]
    plugins.installed.cache_clear()
    monkeypatch.chdir(tmp_path)  # installed elsewhere: its names count
    assert "evil" in plugins.installed()["datastore"]


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX's")
@pytest.mark.parametrize("what", ["fifo", "device", "huge", "nested", "minus"])
def test_a_hostile_plugins_module_is_not_read_or_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None, what: str
) -> None:
    """A plugins module that is a FIFO (the read would block forever), a link to a device (it
    would never end), larger than a MiB, or text that breaks the parser: read as declaring
    nothing, in bounded time and memory, with no exception but the name's own warning."""
    import os

    root = _extension(tmp_path / "ext", "")
    module = root / "metaflow_extensions" / "acme" / "plugins" / "mfextinit_acme.py"
    module.unlink()
    if what == "fifo":
        os.mkfifo(module)
    elif what == "device":
        module.symlink_to("/dev/zero")
    elif what == "huge":
        module.write_text("DATASTORES_DESC = [('big', '.b.B')]\n" + "#" * (2 << 20))
    elif what == "nested":
        module.write_text("x = a" + ".b" * 200_000 + "\n")
    else:
        module.write_text("x = " + "-" * 200_000 + "1\n")
    monkeypatch.syspath_prepend(str(root))
    with pytest.warns(ConfigWarning, match="'big' is not a datastore"):
        load(env={"METAFLOW_DEFAULT_DATASTORE": "big"}, home=tmp_path, cwd=tmp_path)


def test_only_literal_lists_are_read_and_a_list_built_by_code_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    """Each top-level list of literals counts (comments, trailing commas, ``+=``, an annotation);
    one built by code, or nested past a few levels, declares nothing; nothing is run."""
    root = _extension(
        tmp_path / "ext",
        "import os\n"
        "DATASTORES_DESC = [\n"
        "    ('lit', '.a.A'),  # a comment, and a ',' or ']' in a string: 'x]'\n"
        "    ('br]ack', '.b.B'),\n"
        "]\n"
        "DATASTORES_DESC += [('more', '.m.M')]\n"
        "METADATA_PROVIDERS_DESC: list = [('annotated', '.n.N')]\n"
        "DATASTORES_DESC += [(os.environ['X'], '.c.C')]\n"
        "DATASTORES_DESC += " + "[" * 20 + "('deep', '.d.D')" + "]" * 20 + "\n"
        "DATASTORES_DESC += [('x' + 'y', '.e.E')]\n",
    )
    monkeypatch.syspath_prepend(str(root))
    found = plugins.installed()
    assert {"lit", "br]ack", "more"} <= found["datastore"]
    assert "annotated" in found["metadata_provider"]
    assert not {"deep", "xy"} & found["datastore"]


def test_a_known_name_reads_no_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core name costs a set lookup: the installed sources are not even looked for."""

    def refuse() -> None:
        raise AssertionError("installed() was asked")

    monkeypatch.setattr(plugins, "installed", refuse)
    load(env={"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_DEFAULT_METADATA": "service"})


def test_a_resolution_never_imports_metaflow(tmp_path: Path) -> None:
    """Even an unusual name is judged from Metaflow's sources, in a process that has not
    imported Metaflow and does not afterwards."""
    code = (
        "import sys, warnings\nwarnings.simplefilter('ignore')\n"
        "from metaflow_config import load\n"
        "load(env={'METAFLOW_DEFAULT_DATASTORE': 'ftp'}, home=sys.argv[1], cwd=sys.argv[1])\n"
        "print('metaflow' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "False"


def test_check_compares_with_what_metaflow_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    """An extension's ENABLED_DATASTORE leaves azure out: check fails on DEFAULT_DATASTORE=azure
    (Metaflow would refuse it at run time), naming what is registered."""
    ok = invoke("check", "--lenient")
    assert ok.exit_code == 0, ok.output
    assert "plugin names compared with what the installed Metaflow registers" in ok.stdout
    root = _extension(tmp_path / "ext", "ENABLED_DATASTORE = ['local', 's3']\n")
    monkeypatch.syspath_prepend(str(root))
    plugins.installed.cache_clear()
    monkeypatch.setenv("METAFLOW_DEFAULT_DATASTORE", "azure")
    result = invoke("check", "--lenient")
    assert result.exit_code == 1
    assert "METAFLOW_DEFAULT_DATASTORE = 'azure' (env: METAFLOW_DEFAULT_DATASTORE)" in result.stderr
    assert "register no such datastore (registered: local, s3)" in result.stderr


def test_without_metaflow_the_names_are_not_compared(
    monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    """No installed Metaflow: check says the comparison was skipped; only core names count."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "metaflow" else real(name, *a),
    )
    result = invoke("check", "--lenient")
    assert result.exit_code == 0, result.output
    assert "plugin names not compared: Metaflow is not installed here" in result.stdout


def test_the_plugin_settings_are_the_tables_plugin_name_settings() -> None:
    """Resolution checks the settings of the plugin-name kind; each names a known category."""
    from metaflow_config._model.fields import setting
    from metaflow_config._model.kinds import PLUGIN_NAME, STR
    from metaflow_config._model.metaflow_names import CORE_PLUGINS
    from metaflow_config._resolve.plugins import PLUGIN_SETTINGS

    assert tuple(f.name for f in FIELDS if f.kind is PLUGIN_NAME) == PLUGIN_SETTINGS
    assert {f.plugin for f in FIELDS if f.plugin} == set(CORE_PLUGINS)
    # a declaration holds the two together
    with pytest.raises(ValueError, match="plugin category"):
        setting("X", PLUGIN_NAME, "doc")
    with pytest.raises(ValueError, match="plugin category"):
        setting("X", STR, "doc", plugin="datastore")


def test_the_plugin_name_check_is_the_kinds_pattern(tmp_path: Path) -> None:
    """``is_plugin_name`` (the check before the judge, in C) takes exactly what validation takes."""
    import itertools
    import warnings

    from metaflow_config._model.kinds import is_plugin_name

    assert not is_plugin_name("")  # (an empty variable is unset: never validated)
    for size in range(1, 4):
        for chars in itertools.product("aZ9_.-/ é\n", repeat=size):
            value = "".join(chars)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a name nobody registers: a warning
                    load(env={"METAFLOW_DEFAULT_DATASTORE": value}, home=tmp_path, cwd=tmp_path)
            except ConfigError as exc:
                takes = not any("plugin's name" in p.expected for p in exc.problems)
            else:
                takes = True
            assert is_plugin_name(value) is takes, repr(value)


def test_plugin_problems_are_marked_and_said_in_table_order_with_the_layers_fix() -> None:
    """``show`` marks a misnamed plugin INVALID in place; the fix names the file it is in; and
    the problems come in the table's order, whatever the hash seed."""
    from metaflow_config._resolve.validate import check_layer
    from metaflow_config._sources.data import LayerData, Raw

    data = LayerData("profile", "/p/config.json")
    data.values["DEFAULT_METADATA"] = Raw("servce", "/p/config.json:METAFLOW_DEFAULT_METADATA")
    data.values["DEFAULT_DATASTORE"] = Raw("S3", "/p/config.json:METAFLOW_DEFAULT_DATASTORE")
    problems = check_layer(data)
    assert [p.setting for p in problems] == [
        "METAFLOW_DEFAULT_DATASTORE",
        "METAFLOW_DEFAULT_METADATA",
    ]
    assert problems[0].fix == (
        "did you mean s3? correct or remove the key METAFLOW_DEFAULT_DATASTORE in /p/config.json"
    )


def test_check_says_an_unregistered_name_once_and_beside_other_problems(tmp_path: Path) -> None:
    """An unregistered datastore is check's error, said once (not also as the resolution's
    warning); and still said when another value is invalid (check lists every problem)."""
    env = {"METAFLOW_HOME": str(tmp_path)}
    write_json(tmp_path / "config.json", {"METAFLOW_DEFAULT_DATASTORE": "nope"})
    alone = invoke("check", env=env)
    assert alone.exit_code == 1
    assert alone.stderr.count("'nope'") == 1, alone.stderr
    write_json(
        tmp_path / "config.json",
        {"METAFLOW_DEFAULT_DATASTORE": "nope", "METAFLOW_BATCH_EMIT_TAGS": "maybe"},
    )
    beside = invoke("check", env=env)
    assert beside.exit_code == 1
    assert "METAFLOW_BATCH_EMIT_TAGS" in beside.stderr
    assert beside.stderr.count("'nope'") == 1, beside.stderr
