"""What an installed extension's config module binds, and how show, explain and check say it.

The module is parsed, never run: every module-level binding counts (in a block, a tuple's), the
extension whose value runs is the one named, ``check --require`` names the extension that sets
what it lacks, and an extension's own name set to ``""`` means one thing in every layer.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from metaflow_config._sources import extensions, sections
from tests.conftest import invoke, write_json


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on the import path for ``metaflow_extensions`` packages; cwd elsewhere."""
    sections.reset()
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "metaflow.metaflow_config", raising=False)  # as the CLI
    importlib.invalidate_caches()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield root
    sections.reset()


def _extension(root: Path, body: str, org: str = "acme") -> None:
    module = root / "metaflow_extensions" / org / "config" / f"mfextinit_{org}.py"
    module.parent.mkdir(parents=True)
    module.write_text(body)


_BLOCKS = """\
raise RuntimeError("imported")  # parsed, never run
import os
from metaflow.metaflow_config_funcs import from_conf
from acme.defaults import BATCH_JOB_QUEUE

if os.environ.get("ACME_SITE", "prod") == "prod":
    KUBERNETES_SECRETS = "acme-secrets"
try:
    SERVICE_URL = from_conf("SERVICE_URL", "https://acme.example")
except ImportError:
    pass
SERVICE_RETRY_COUNT, (S3_RETRY_COUNT, *S3_WORKER_COUNT) = 9, (11, 12)
KUBERNETES_NAMESPACE, KUBERNETES_SERVICE_ACCOUNT = "acme-jobs", "acme-sa"
ARGO_WORKFLOWS_KUBERNETES_SECRETS: str = "argo-secrets"
for SFN_IAM_ROLE in ():
    pass
with open(os.devnull) as ECS_S3_ACCESS_IAM_ROLE:
    pass
BATCH_CONTAINER_IMAGE: str  # annotated only: binds nothing
CONTACT_INFO = "x"
del CONTACT_INFO


def helper():
    DEFAULT_DATASTORE = "s3"  # the function's own name
    return DEFAULT_DATASTORE
"""


def test_every_module_level_binding_of_a_setting_is_the_extensions(site: Path) -> None:
    """In an ``if``, a ``try``, a ``for`` or ``with`` target, a ``from ... import``, a tuple
    (nested, starred); not in a function, not annotated only, not once deleted."""
    _extension(site, _BLOCKS)
    assert set(extensions.config_settings()) == {
        "BATCH_JOB_QUEUE",
        "KUBERNETES_SECRETS",
        "SERVICE_URL",
        "SERVICE_RETRY_COUNT",
        "S3_RETRY_COUNT",
        "S3_WORKER_COUNT",
        "KUBERNETES_NAMESPACE",
        "KUBERNETES_SERVICE_ACCOUNT",
        "ARGO_WORKFLOWS_KUBERNETES_SECRETS",
        "SFN_IAM_ROLE",
        "ECS_S3_ACCESS_IAM_ROLE",
    }
    assert "imported" not in sys.modules.get("metaflow_extensions.acme.config", "")


def test_only_a_top_level_string_literal_is_taken_as_the_value(site: Path) -> None:
    """A tuple of literals pairs up; a value in a block may not run: not taken."""
    _extension(site, _BLOCKS)
    assert extensions.config_literals() == {
        "KUBERNETES_NAMESPACE": "acme-jobs",
        "KUBERNETES_SERVICE_ACCOUNT": "acme-sa",
        "ARGO_WORKFLOWS_KUBERNETES_SECRETS": "argo-secrets",
    }


def test_show_target_and_explain_name_what_an_extension_sets_in_a_block(site: Path) -> None:
    """``KUBERNETES_SECRETS`` set in an ``if``: ``show --target`` says the extension sets it;
    ``S3_RETRY_COUNT`` set by a tuple: ``explain`` says the extension replaces it."""
    _extension(site, _BLOCKS)
    env = {"METAFLOW_HOME": str(site.parent / "home"), "METAFLOW_SERVICE_AUTH_KEY": "k-1"}
    shown = invoke("show", "--target", "kubernetes", "--json", env=env)
    assert shown.exit_code == 0, shown.output
    by_extensions = json.loads(shown.output)["set_by_extensions"]
    assert by_extensions["METAFLOW_KUBERNETES_SECRETS"] == "acme"
    explained = invoke("explain", "S3_RETRY_COUNT", env=env).output
    assert "replaced: metaflow_extensions.acme sets S3_RETRY_COUNT" in explained


def test_the_extension_named_is_the_one_whose_value_runs(site: Path) -> None:
    """Metaflow applies the extensions in order, each over the last: of two setting one name,
    the later is named, and its value taken."""
    for org in ("acme", "zorg"):
        _extension(site, f'KUBERNETES_SECRETS = "{org}-secret"\n', org=org)
    assert extensions.config_settings() == {"KUBERNETES_SECRETS": "zorg"}
    assert extensions.config_literals() == {"KUBERNETES_SECRETS": "zorg-secret"}
    env = {"METAFLOW_HOME": str(site.parent / "home")}
    explained = invoke("explain", "KUBERNETES_SECRETS", env=env).output
    assert "replaced: metaflow_extensions.zorg sets KUBERNETES_SECRETS" in explained


def test_a_later_value_built_by_code_hides_an_earlier_literal(site: Path) -> None:
    """The value that runs is the later extension's, which is not a literal: none is taken."""
    _extension(site, 'KUBERNETES_SECRETS = "acme-secret"\n', org="acme")
    _extension(site, 'KUBERNETES_SECRETS = "-".join(["z", "s"])\n', org="zorg")
    assert extensions.config_settings() == {"KUBERNETES_SECRETS": "zorg"}
    assert extensions.config_literals() == {}


def test_debug_options_and_from_conf_calls_are_read_in_blocks_too(site: Path) -> None:
    """A ``DEBUG_OPTIONS`` list in a block, added to or appended to; ``from_conf`` called
    through its module; a module that is no Python declares nothing."""
    body = (
        "import os\n"
        "from metaflow import metaflow_config_funcs as funcs\n"
        "if os.environ.get('X'):\n"
        "    DEBUG_OPTIONS = ['acmeclient']\n"
        "    DEBUG_OPTIONS += ('acmetrace',)\n"
        "DEBUG_OPTIONS.append('acmenet')\n"
        "ACME_ZONE = funcs.from_conf(name='ACME_ZONE')\n"
    )
    _extension(site, body)
    _extension(site, "def broken(:\n    from_conf('ZORG_X')\n", org="zorg")
    assert extensions.config_names() == {
        "METAFLOW_DEBUG_ACMECLIENT": "acme",
        "METAFLOW_DEBUG_ACMETRACE": "acme",
        "METAFLOW_DEBUG_ACMENET": "acme",
        "METAFLOW_ACME_ZONE": "acme",
    }
    assert extensions.config_settings() == {}


_PINNED = (
    'KUBERNETES_NAMESPACE = "acme-jobs"\n'
    'KUBERNETES_SERVICE_ACCOUNT = "acme-sa"\n'
    'DATASTORE_SYSROOT_S3 = "s3://acme-bucket/metaflow"\n'
    'DEFAULT_DATASTORE = "s3"\n'
)


def test_check_require_says_which_extension_sets_what_it_lacks(site: Path) -> None:
    """``check --require kubernetes`` fails on settings an extension sets in Metaflow's
    module: it says the extension sets them, as ``check`` does when it passes."""
    _extension(site, _PINNED)
    env = {"METAFLOW_HOME": str(site.parent / "home"), "USER": "me"}
    checked = invoke("check", "--require", "kubernetes", env=env)
    assert checked.exit_code == 1, checked.output
    assert (
        "metaflow_extensions.acme sets METAFLOW_KUBERNETES_NAMESPACE, "
        "METAFLOW_KUBERNETES_SERVICE_ACCOUNT" in checked.stderr
    ), checked.stderr


def test_check_require_on_an_invalid_configuration_says_it_too(site: Path) -> None:
    """The failing path of a configuration that does not resolve says the extension too."""
    _extension(site, _PINNED)
    home = site.parent / "home"
    write_json(home / "config.json", {"METAFLOW_S3_RETRY_COUNT": "many"})
    checked = invoke("check", "--require", "kubernetes", env={"METAFLOW_HOME": str(home)})
    assert checked.exit_code == 1, checked.output
    assert "metaflow_extensions.acme sets METAFLOW_KUBERNETES_NAMESPACE" in checked.stderr


_PROXY = (
    "from metaflow.metaflow_config_funcs import from_conf\n"
    'ACME_PROXY = from_conf("ACME_PROXY", "http://proxy.acme:3128")\n'
)


def test_an_extensions_name_set_empty_in_a_file_is_the_empty_string(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metaflow's reading of the profile keeps ``""`` of a name left to Metaflow (Metaflow
    alone takes it so, from a file as from the environment); a setting's ``""`` sets nothing."""
    from metaflow_config._metaflow.parsing import metaflows_file

    _extension(site, _PROXY)
    home = site.parent / "home"
    write_json(home / "config.json", {"METAFLOW_ACME_PROXY": "", "METAFLOW_BATCH_JOB_QUEUE": ""})
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    assert metaflows_file("profile") == {"METAFLOW_ACME_PROXY": ""}
    explained = invoke("explain", "METAFLOW_ACME_PROXY", env={"METAFLOW_HOME": str(home)})
    assert f"set:      in {home / 'config.json'} (profile)" in explained.output


def test_an_untrusted_project_files_empty_name_reaches_metaflow_not(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``""`` of a name left to Metaflow is a value: an untrusted project file's is withheld
    (a plugin list's ``""`` would turn every plugin of its kind off) and said so."""
    from metaflow_config._metaflow.parsing import metaflows_file

    home, project = site.parent / "home", Path.cwd()
    home.mkdir()
    write_json(project / ".metaflow" / "config.json", {"METAFLOW_ENABLED_FLOW_DECORATOR": ""})
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.delenv("METAFLOW_CONFIG_PROJECT", raising=False)
    assert metaflows_file("local") == {}
    said = invoke("explain", "METAFLOW_ENABLED_FLOW_DECORATOR", env={"METAFLOW_HOME": str(home)})
    assert "(local), not applied: it is not trusted" in said.output


@pytest.mark.slow
def test_metaflow_reads_an_extensions_empty_name_as_in_the_environment(tmp_path: Path) -> None:
    """With this package's extension, ``""`` in the profile gives what ``""`` in the
    environment gives, and what Metaflow alone gives for both: ``''``."""
    import os
    import subprocess

    org = tmp_path / "org"
    _extension(org, _PROXY)
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_ACME_PROXY": ""})
    work = tmp_path / "work"
    work.mkdir()
    bin_dir = os.path.dirname(sys.executable)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "METAFLOW_HOME": str(home)}
    env.update(PYTHONPATH=str(org), USER="tester", LC_ALL="C.UTF-8")
    code = "import metaflow.metaflow_config as m; print(repr(m.ACME_PROXY))"
    got = [
        subprocess.run(
            [sys.executable, "-c", code],
            env={**env, **extra},
            cwd=work,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for extra in ({}, {"METAFLOW_ACME_PROXY": ""}, {"METAFLOW_CONFIG_EXTENSION": "0"})
    ]
    assert [proc.stdout.strip() for proc in got] == ["''", "''", "''"], [p.stderr for p in got]


def test_show_target_says_a_row_hangs_on_a_value_it_did_not_read(site: Path) -> None:
    """``KUBERNETES_SECRETS`` bound in an ``if``: whether the pods get the auth key as text
    hangs on that value, which is not read: the auth key's row says so; a literal is read, and
    the row says where the key goes instead."""
    _extension(site, _BLOCKS)
    env = {"METAFLOW_HOME": str(site.parent / "home"), "METAFLOW_SERVICE_AUTH_KEY": "k-1"}
    env["METAFLOW_DATATOOLS_SUFFIX"] = "d"
    shown = invoke("show", "--target", "kubernetes", "--json", env=env)
    rows = {r["name"]: r for r in json.loads(shown.output)["settings"]}
    note = rows["METAFLOW_SERVICE_AUTH_KEY"]["note"]
    assert "metaflow_extensions.acme sets KUBERNETES_SECRETS in code not read here" in note
    assert "not read here" not in rows["METAFLOW_DATATOOLS_SUFFIX"]["note"]  # no secret
    sections.reset()
    _extension(site, 'KUBERNETES_SECRETS = "acme-secrets"\n', org="zorg")
    shown = invoke("show", "--target", "kubernetes", "--json", env=env)
    rows = {r["name"]: r for r in json.loads(shown.output)["settings"]}
    assert "not read here" not in rows["METAFLOW_SERVICE_AUTH_KEY"]["note"]
    assert rows["METAFLOW_SERVICE_AUTH_KEY"]["from"] == "left out"
