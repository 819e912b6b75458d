"""The names an installed Metaflow extension reads are the extension's, not unknown names.

An organisation's extension (``metaflow_extensions.<org>.config``) reads names of its own with
Metaflow's ``from_conf`` (``METAFLOW_ACME_ENDPOINT``), set in every task of the organisation: a
resolution says nothing of them, ``show`` does not list them as unknown, and ``explain`` says
whose they are. The extension's modules are read as text, never imported; the working
directory's own ``metaflow_extensions`` (a cloned repository's) counts for nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from metaflow_config import ConfigWarning, load
from metaflow_config._sources import extensions, sections
from metaflow_config._sources.keykind import EXTENSION, FOREIGN
from metaflow_config._sources.keys import classify
from tests.conftest import invoke, write_json

_CONFIG = """\
raise RuntimeError("imported")  # read, never run
from metaflow.metaflow_config_funcs import from_conf

ACME_ENDPOINT = from_conf("ACME_ENDPOINT", "https://acme.example")
ACME_RETRIES = from_conf( 'ACME_RETRIES' , 3)
ACME_REGION = from_conf(name="ACME_REGION")
BUILT = from_conf("ACME_" + "BUILT")  # built by code: not read so
from metaflow.metaflow_config_funcs import from_conf as _fc
ACME_ZONE = _fc("ACME_ZONE")
DEBUG_OPTIONS = [
    "acmeclient", 'acmetrace'
]
"""


@pytest.fixture
def fresh_extensions() -> Iterator[None]:
    """What the installed extensions read, and every key told knowing it, read again."""
    sections.reset()
    yield
    sections.reset()


def _extension(root: Path, body: str = _CONFIG, org: str = "acme") -> Path:
    """``root`` holding a ``metaflow_extensions.<org>`` package whose config module is ``body``."""
    module = root / "metaflow_extensions" / org / "config" / f"mfextinit_{org}.py"
    module.parent.mkdir(parents=True)
    module.write_text(body)
    return module


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None) -> Path:
    """The acme extension, installed on the import path (outside the working directory)."""
    _extension(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def test_the_literal_names_of_its_from_conf_calls_are_read(installed: Path) -> None:
    """Positional or by keyword, either quote, blanks around, ``from_conf`` imported under
    another name: each ``METAFLOW_<name>``; a name built by code is not one."""
    names = extensions.config_names()
    for name in ("ACME_ENDPOINT", "ACME_RETRIES", "ACME_REGION", "ACME_ZONE"):
        assert names["METAFLOW_" + name] == "acme"
    assert "METAFLOW_ACME_BUILT" not in names
    assert "imported" not in sys.modules.get("metaflow_extensions.acme.config", "")


def test_its_debug_options_are_its_names(installed: Path) -> None:
    """Metaflow adds an extension's ``DEBUG_OPTIONS`` to its own and reads ``DEBUG_<OPTION>`` of
    each with ``from_conf``: in a profile too, they are the extension's, not unknown keys."""
    names = extensions.config_names()
    assert names["METAFLOW_DEBUG_ACMECLIENT"] == names["METAFLOW_DEBUG_ACMETRACE"] == "acme"
    home = installed / "home"
    home.mkdir()
    write_json(home / "config.json", {"METAFLOW_DEBUG_ACMECLIENT": True})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(env={}, home=home)
    assert not [w for w in caught if issubclass(w.category, ConfigWarning)]
    assert classify("METAFLOW_DEBUG_ACMECLIENT", file=True).kind == EXTENSION


def test_a_resolution_says_nothing_of_the_extensions_names(installed: Path) -> None:
    """Set in the environment or in the profile: no warning for them, the warning for a name
    the extension does not read."""
    home = installed / "home"
    home.mkdir()
    write_json(home / "config.json", {"METAFLOW_ACME_REGION": "eu-west-1"})
    env = {"METAFLOW_ACME_ENDPOINT": "https://x", "METAFLOW_ACME_TIMEOUT": "3"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(env=env, home=home)
    said = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
    assert len(said) == 1, said
    assert "METAFLOW_ACME_TIMEOUT" in said[0]
    assert "not a setting" in said[0]
    assert classify("METAFLOW_ACME_ENDPOINT", file=False).kind == EXTENSION
    assert classify("METAFLOW_ACME_REGION", file=True).kind == EXTENSION
    assert classify("METAFLOW_ACME_TIMEOUT", file=False).kind == FOREIGN


def test_show_and_explain_say_whose_it_is(installed: Path) -> None:
    env = {"METAFLOW_HOME": str(installed / "home"), "METAFLOW_ACME_ENDPOINT": "https://x"}
    shown = invoke("show", env=env)
    assert shown.exit_code == 0, shown.output
    assert "ACME_ENDPOINT" not in shown.output
    explained = invoke("explain", "METAFLOW_ACME_ENDPOINT", env=env)
    assert explained.exit_code == 0, explained.output
    assert "installed Metaflow extension metaflow_extensions.acme" in explained.output
    assert "set:      in this environment" in explained.output


def test_the_working_directorys_extensions_read_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None
) -> None:
    """A cloned repository run in place (the working directory on ``sys.path``) does not make
    its names known: the warning stays."""
    repo = tmp_path / "repo"
    _extension(repo)
    monkeypatch.chdir(repo)
    monkeypatch.syspath_prepend(str(repo))
    importlib.invalidate_caches()
    assert extensions.config_names() == {}
    with pytest.warns(ConfigWarning, match="METAFLOW_ACME_ENDPOINT"):
        load(env={"METAFLOW_ACME_ENDPOINT": "https://x"}, home=tmp_path / "home")


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX's")
def test_a_config_module_that_is_a_fifo_declares_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None
) -> None:
    """The read would block forever: it is not read, and the name is warned about."""
    module = _extension(tmp_path / "site")
    module.unlink()
    os.mkfifo(module)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    monkeypatch.chdir(tmp_path)
    assert extensions.config_names() == {}
    with pytest.warns(ConfigWarning, match="METAFLOW_ACME_ENDPOINT"):
        load(env={"METAFLOW_ACME_ENDPOINT": "https://x"}, home=tmp_path / "home")


def test_explain_says_where_the_name_is_set(installed: Path) -> None:
    """In the environment, in the profile, and in a project file whose trust withholds it:
    each said, the last with why it is not applied."""
    home = installed / "home"
    home.mkdir()
    write_json(home / "config.json", {"METAFLOW_ACME_ENDPOINT": "https://profile"})
    project = Path.cwd()
    (project / ".metaflow").mkdir()
    write_json(project / ".metaflow" / "config.json", {"METAFLOW_ACME_ENDPOINT": "https://repo"})
    env = {"METAFLOW_HOME": str(home), "METAFLOW_ACME_ENDPOINT": "https://env"}
    said = invoke("explain", "METAFLOW_ACME_ENDPOINT", env=env).output
    set_line = next(line for line in said.splitlines() if line.startswith("  set:"))
    assert "in this environment" in set_line
    assert f"in {home / 'config.json'} (profile)" in set_line
    assert "(local), not applied: it is not trusted" in set_line
    del env["METAFLOW_ACME_ENDPOINT"]
    (home / "config.json").unlink()
    (project / ".metaflow" / "config.json").unlink()
    assert "  set:      not here" in invoke("explain", "METAFLOW_ACME_ENDPOINT", env=env).output


def test_settings_an_extension_sets_are_said_to_be_its(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None
) -> None:
    """An organisation's config extension that sets a setting's name in Metaflow's module (its
    own default: ``DEFAULT_DATASTORE = from_conf("DEFAULT_DATASTORE", "s3")``) makes Metaflow
    run on its value: show, explain and check say so, naming the extension."""
    body = 'DEFAULT_DATASTORE = from_conf("DEFAULT_DATASTORE", "s3")\nNOT_A_SETTING = 1\n'
    _extension(tmp_path / "site", body, org="corp")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert extensions.config_settings() == {"DEFAULT_DATASTORE": "corp"}
    env = {"METAFLOW_HOME": str(tmp_path / "home"), "USER": "me"}
    said = "metaflow_extensions.corp sets METAFLOW_DEFAULT_DATASTORE in Metaflow's configuration"
    assert f"# {said}" in invoke("show", env=env).output
    assert said in invoke("check", env=env).stderr
    explained = invoke("explain", "DEFAULT_DATASTORE", env=env).output
    assert "replaced: metaflow_extensions.corp sets DEFAULT_DATASTORE" in explained
    assert "replaced:" not in invoke("explain", "BATCH_JOB_QUEUE", env=env).output


def test_show_target_says_the_extensions_names_stay_behind(installed: Path) -> None:
    """Metaflow passes none of an extension's names to a remote task (nor does ``to_env``):
    ``show --target`` says which of those set here the task will not see."""
    env = {"METAFLOW_HOME": str(installed / "home"), "METAFLOW_ACME_ENDPOINT": "https://x"}
    shown = invoke("show", "--target", "kubernetes", env=env)
    assert shown.exit_code == 0, shown.output
    assert "# not passed to the task, though set here: METAFLOW_ACME_ENDPOINT" in shown.output
    as_json = invoke("show", "--target", "batch", "--json", env=env)
    assert json.loads(as_json.output)["not_passed"] == ["METAFLOW_ACME_ENDPOINT"]
    del env["METAFLOW_ACME_ENDPOINT"]
    assert "not passed" not in invoke("show", "--target", "kubernetes", env=env).output


_DECIDING = """\
from metaflow.metaflow_config_funcs import from_conf

KUBERNETES_SECRETS = "acme-mf-secrets"
ARGO_WORKFLOWS_ENV_VARS_TO_SKIP: str = 'METAFLOW_CLIENT_CACHE_MAX_SIZE'  # kept from pods
ARGO_WORKFLOWS_KUBERNETES_SECRETS = "early"
ARGO_WORKFLOWS_KUBERNETES_SECRETS = from_conf("ARGO_WORKFLOWS_KUBERNETES_SECRETS")
"""


def test_show_target_takes_what_an_extension_sets_for_the_pods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None
) -> None:
    """An extension that sets the Secrets the pods mount and the names they skip, as plain
    text: ``show --target argo`` leaves out what the pods are not given, as the template does,
    and says which settings the extension sets (``set_by_extensions`` in ``--json``). A value
    the extension builds by code (its last assignment) is not read."""
    _extension(tmp_path / "site", _DECIDING)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "metaflow.metaflow_config", raising=False)  # as the CLI
    monkeypatch.chdir(tmp_path)
    assert extensions.config_literals() == {
        "KUBERNETES_SECRETS": "acme-mf-secrets",
        "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": "METAFLOW_CLIENT_CACHE_MAX_SIZE",
    }
    write_json(
        tmp_path / "home" / "config.json",
        {"METAFLOW_CLIENT_CACHE_MAX_SIZE": 500, "METAFLOW_SERVICE_AUTH_KEY": "plain-key"},
    )
    env = {"METAFLOW_HOME": str(tmp_path / "home")}
    shown = invoke("show", "--target", "argo", env=env)
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0]: line for line in shown.output.splitlines() if line[:1] != "#"}
    assert "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP lists it" in rows["METAFLOW_CLIENT_CACHE_MAX_SIZE"]
    assert "acme-mf-secrets" in rows["METAFLOW_SERVICE_AUTH_KEY"]  # left to the Secret
    assert "# metaflow_extensions.acme sets METAFLOW_KUBERNETES_SECRETS" in shown.output
    as_json = json.loads(invoke("show", "--target", "argo", "--json", env=env).output)
    assert as_json["set_by_extensions"]["METAFLOW_KUBERNETES_SECRETS"] == "acme"


def test_the_look_at_an_extensions_folder_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None
) -> None:
    """A folder on the import path that another user fills (a shared directory) costs a bounded
    look, as every folder the package does not own: at most ``MAX_ENTRIES`` organisations."""
    from metaflow_config._sources.profiles import MAX_ENTRIES

    for i in range(MAX_ENTRIES + 50):
        _extension(tmp_path / "site", 'X = from_conf("ACME_X")\n', org=f"org{i}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.chdir(tmp_path)
    found = [path for _, path in extensions.point_files("config") if path.startswith(str(tmp_path))]
    assert len(found) == MAX_ENTRIES


def test_a_launch_says_the_extensions_names_it_leaves_behind(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``argo-workflows create`` with ``METAFLOW_ACME_ENDPOINT`` set: the pods got neither it
    nor a word (only ``show --target`` said so). The launch says it once, with the way out;
    a local run (its tasks inherit the environment), and a container a step's
    ``@environment`` gives it, say nothing."""
    from metaflow_config import settings
    from metaflow_config._metaflow import launch

    monkeypatch.setenv("METAFLOW_HOME", str(installed / "home"))
    monkeypatch.setenv("METAFLOW_ACME_ENDPOINT", "https://x")
    settings.reload()
    with pytest.warns(ConfigWarning) as record:
        launch.say_not_given(launch.task_env("argo"), ["METAFLOW_USER"])
    said = [str(w.message) for w in record]
    assert any(
        text.startswith(
            "METAFLOW_ACME_ENDPOINT is set here and read by an installed Metaflow "
            "extension, but not passed to the tasks (argo)"
        )
        and "with @environment" in text
        for text in said
    ), said
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        launch.say_not_given(launch.task_env("local"), [])
        # a container given the name (a step's @environment): nothing to say of it
        launch.say_not_given(launch.task_env("kubernetes"), ["METAFLOW_ACME_ENDPOINT"])
    assert not [w for w in quiet if "not passed to the tasks" in str(w.message)]


def test_names_metaflow_copies_into_every_task_are_not_said_left_behind(installed: Path) -> None:
    """An extension's debug flag (``DEBUG_OPTIONS``) set in the profile: Metaflow's launchers
    copy every ``METAFLOW_DEBUG_*`` and ``METAFLOW_CONDA_*`` name ``from_conf`` read into their
    tasks, so it is passed (it was said "not passed"); its other names are not."""
    home = installed / "home"
    write_json(
        home / "config.json",
        {"METAFLOW_DEBUG_ACMECLIENT": "1", "METAFLOW_ACME_ENDPOINT": "https://x"},
    )
    shown = invoke("show", "--target", "kubernetes", "--json", env={"METAFLOW_HOME": str(home)})
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["not_passed"] == ["METAFLOW_ACME_ENDPOINT"]


def test_this_packages_own_extension_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_extensions: None
) -> None:
    """It declares no name: a process meeting an unknown name does not read it (its config
    module mentions ``DEBUG_OPTIONS``, which would compile a search)."""
    import metaflow_extensions.metaflow_config as own

    monkeypatch.chdir(tmp_path)  # the package's folder is not the working directory
    ours = [os.path.abspath(p) + os.sep for p in own.__path__]  # a namespace package's folders
    assert [p for p in ours if os.path.isdir(p + "config")]
    listed = [os.path.abspath(path) for _, path in extensions.point_files("config")]
    assert not [path for path in listed if path.startswith(tuple(ours))]
    assert own.__name__.rpartition(".")[2] == extensions.OWN_ORG
