"""Trust: a project file (a cloned repository's) cannot steer data or credentials until trusted.

A project file may set every setting, but the sensitive ones (``Setting.sensitive``: where data
and credentials go) apply only once the user has trusted the file's content, recorded in the
user's own home. The classes of attack each have a test: a redirected destination, a secret
reference fetched for the attacker, a file someone else can write, an edit after trusting, a
forged trust store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config import ConfigError, ConfigWarning, load
from metaflow_config._model.table import BY_NAME, FIELDS
from metaflow_config._snapshot.settings import resolution_of
from metaflow_config._sources import trust as _trust
from metaflow_config.testing import trust, write_local, write_profile
from tests._strategies import value_triples
from tests.conftest import invoke

SENSITIVE = [f for f in FIELDS if f.sensitive]
#: what a repository's file would set to take the user's data and credentials elsewhere
STEERING = {
    "METAFLOW_SERVICE_URL": "https://collector.example",
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://attacker-bucket/mf",
    "METAFLOW_S3_ENDPOINT_URL": "https://s3.attacker.example",
    "METAFLOW_SERVICE_AUTH_KEY": "{{resolve:secretsmanager:prod/db-password}}",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A cloned repository: its ``.metaflow/config.json`` steers, and sets a harmless key."""
    write_local(tmp_path / "repo", {**STEERING, "METAFLOW_OTEL_SERVICE_NAME": "their-service"})
    return tmp_path / "repo"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    write_profile(home, {"SERVICE_URL": "https://mine.example", "SERVICE_AUTH_KEY": "my-key"})
    return home


def _load(home: Path, cwd: Path, **kwargs: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        snapshot = load(env={}, home=home, cwd=cwd, **kwargs)
    return snapshot, [str(w.message) for w in caught if w.category is ConfigWarning]


# --- the rule -----------------------------------------------------------------------------------


def test_an_untrusted_project_file_steers_nothing(tmp_path: Path, project: Path) -> None:
    """Its sensitive keys are not applied (the user's own values stay); the others are."""
    s, said = _load(_home(tmp_path), project)
    assert s.service.url == "https://mine.example"
    assert s.service.auth_key == "my-key"  # no reference fetched: the profile's own key
    assert s.datastore.sysroot_s3 is None
    assert s.s3.client_kwargs.get("endpoint_url") is None
    assert s["OTEL_SERVICE_NAME"] == "their-service"  # not sensitive: applied
    (warning,) = said  # one warning, naming the file, every key, and the command
    path = str(project / ".metaflow" / "config.json")
    assert path in warning
    for key in STEERING:
        assert key in warning
    assert f"metaflow-config trust {path}" in warning
    assert "their-service" not in warning
    assert "attacker" not in warning


@pytest.mark.parametrize("command", [None, "show", "trust", "configure"])
def test_a_relative_home_is_refused(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, command: str | None
) -> None:
    """A relative ``METAFLOW_HOME`` is a folder of the working directory: a cloned repository
    would hold the profile and the record of what is trusted (trusting itself). Refused, by the
    resolution and by every command, saying the absolute path to set; nothing written."""
    theirs = project / "mfhome"
    write_profile(theirs, {"SERVICE_URL": "https://collector.example"})
    local = project / ".metaflow" / "config.json"
    trust(theirs, local)  # the repository's own record, trusting its own file
    monkeypatch.chdir(project)
    monkeypatch.setenv("METAFLOW_HOME", "mfhome")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    before = sorted(p.name for p in theirs.iterdir())
    if command is None:
        with pytest.raises(ConfigError) as info:
            load()
        message = str(info.value)
    else:
        args = {"configure": ["configure", "aws", "--set", "BATCH_JOB_QUEUE=q", "--yes"]}
        result = invoke(*args.get(command, [command]))
        assert result.exit_code != 0
        message = _said(result)  # stderr too, as click < 8.2 keeps it apart from the output
    assert "METAFLOW_HOME" in message
    assert "an absolute directory path" in message
    assert f"export METAFLOW_HOME={theirs}" in message
    assert "collector" not in message
    assert sorted(p.name for p in theirs.iterdir()) == before


@pytest.mark.parametrize("home_variable", [None, "rel"])
def test_no_home_directory_reads_no_profile_and_trusts_nothing(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, home_variable: str | None
) -> None:
    """Where ``~`` names no directory (``$HOME`` unset, or relative, and no password entry: a
    container's user) and ``METAFLOW_HOME`` is not set, there is no home: no profile is read
    (none is an error but a profile named), and no trust store, where Metaflow alone would read
    ``~/.metaflowconfig`` of the working directory (a cloned repository may hold one, with a
    record trusting its own file)."""
    monkeypatch.chdir(project)
    if home_variable is None:
        monkeypatch.delenv("HOME", raising=False)
        monkeypatch.setattr("pwd.getpwuid", _no_entry)
    else:
        monkeypatch.setenv("HOME", home_variable)
    theirs = project / os.path.expanduser("~/.metaflowconfig")
    assert not os.path.isabs(os.path.expanduser("~/.metaflowconfig"))
    write_profile(theirs, {"SERVICE_URL": "https://collector.example"})
    trust(theirs, project / ".metaflow" / "config.json")  # the repository trusting itself
    env = {"METAFLOW_USER": "ana"}
    s, said = _load_env(env, project)
    assert s.service.url is None  # neither their profile nor their project file's
    assert s.datastore.sysroot_s3 is None
    assert "no home directory holds a trust store here" in " ".join(said)
    assert "chmod" not in " ".join(said)  # the working directory's store is no user's to fix
    monkeypatch.delenv("METAFLOW_HOME", raising=False)  # the suite's own, for the command
    shown = invoke("show", env={"METAFLOW_USER": "ana"})
    assert "# profile: default (none (no home directory" in shown.stdout
    with pytest.raises(ConfigError) as info:
        load(env={**env, "METAFLOW_PROFILE": "prod"}, cwd=project)
    assert "'~' names none here" in str(info.value)
    assert "collector" not in str(info.value)


@pytest.mark.parametrize("call", ["load", "override"])
def test_a_home_given_in_code_as_tilde_with_no_home_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """``load(home="~/.metaflowconfig")`` where ``~`` names no directory would be a folder of
    the working directory (a cloned repository's profile): an invalid argument, read nothing."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", "rel")
    theirs = project / "rel" / ".metaflowconfig"
    write_profile(theirs, {"SERVICE_URL": "https://collector.example"})
    from metaflow_config import override

    def enter() -> None:
        if call == "load":
            load(env={}, home="~/.metaflowconfig", cwd=project)
        else:
            with override(home="~/.metaflowconfig"):
                pass

    with pytest.raises(ConfigError) as info:
        enter()
    assert str(info.value).startswith("invalid argument: ")
    assert "'~' names none here" in str(info.value)
    assert "collector" not in str(info.value)


def _no_entry(uid: int) -> Any:
    raise KeyError(uid)


def _load_env(env: dict[str, str], cwd: Path) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        snapshot = load(env=env, cwd=cwd)
    return snapshot, [str(w.message) for w in caught if w.category is ConfigWarning]


def test_a_home_given_in_code_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load(home="h")``: the program's own choice, as a path in Python reads, made absolute."""
    write_profile(tmp_path / "h", {"BATCH_JOB_QUEUE": "mine"})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    s = load(env={}, home="h", cwd=tmp_path / "elsewhere")
    assert s.batch.job_queue == "mine"
    assert s.explain("BATCH_JOB_QUEUE").location.startswith(str(tmp_path / "h"))


#: keys of a project file that are no settings of metaflow-config: Metaflow reads them itself
#: (a plugin list choosing the code that runs), or an extension does (its own endpoint)
FOREIGN = {
    "METAFLOW_ENABLED_STEP_DECORATOR": ["attacker_decorator"],
    "METAFLOW_ACME_UPLOAD_URL": "https://collector.example/upload",
}


def test_keys_that_are_no_settings_reach_no_reader_until_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metaflow's own reading of an untrusted project file, and a model reading its keys, get
    none of the keys this package cannot judge; the settings that are not sensitive pass. One
    warning names the keys that are not told otherwise (a key near no setting is told as such);
    trusted, the file is read whole."""
    from metaflow_config._metaflow.parsing import metaflows_file

    home, repo = _home(tmp_path), tmp_path / "repo"
    local = write_local(repo, {**FOREIGN, "METAFLOW_OTEL_SERVICE_NAME": "their-service"})
    monkeypatch.chdir(repo)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    assert metaflows_file("local") == {"METAFLOW_OTEL_SERVICE_NAME": "their-service"}
    s, said = _load(home, repo)
    assert s["OTEL_SERVICE_NAME"] == "their-service"
    (warning,) = [w for w in said if "not applied" in w]
    assert "METAFLOW_ENABLED_STEP_DECORATOR" in warning
    assert "attacker_decorator" not in " ".join(said)
    assert s.explain("METAFLOW_OTEL_SERVICE_NAME").source == "local"
    assert resolution_of(s).layers["local"].raw("METAFLOW_ACME_UPLOAD_URL") is None
    with pytest.raises(ConfigError) as info:
        load(env={}, home=home, cwd=repo, strict=True)
    assert "METAFLOW_ENABLED_STEP_DECORATOR" in [p.setting for p in info.value.problems]
    trust(home, local)
    assert metaflows_file("local") == json.loads(local.read_text(encoding="utf-8"))


def test_an_unset_value_hands_metaflow_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """null or "" sets nothing in any layer: Metaflow's reading of the project file does not
    get it either, so a repository's null cannot clear the profile's value (Metaflow takes a
    key that is there, null or not, over the lower file's), trusted or not. A name left to
    Metaflow (a plugin list, an extension's) is Metaflow's to read: its "" is the empty string,
    as an empty variable gives it, once the file is trusted."""
    from metaflow_config._metaflow.parsing import metaflows_file

    home, repo = _home(tmp_path), tmp_path / "repo"
    unset = {
        "METAFLOW_ENABLED_STEP_DECORATOR": None,
        "METAFLOW_ENABLED_FLOW_DECORATOR": "",
        "METAFLOW_ACME_ENDPOINT": "",
        "METAFLOW_SERVICE_URL": None,
        "METAFLOW_BATCH_JOB_QUEUE": "",
    }
    local = write_local(repo, unset)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    assert metaflows_file("local") == {}
    trust(home, local)
    assert metaflows_file("local") == {
        "METAFLOW_ENABLED_FLOW_DECORATOR": "",
        "METAFLOW_ACME_ENDPOINT": "",
    }
    assert metaflows_file("profile")["METAFLOW_SERVICE_URL"] == "https://mine.example"


def test_metaflows_reading_judges_the_bytes_it_hands_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project file is read once for Metaflow: a file swapped for a trusted one between a
    read of its keys and a read for its trust cannot pass its own keys on."""
    from metaflow_config._metaflow.parsing import metaflows_file
    from metaflow_config._sources import jsonfile

    home, repo = _home(tmp_path), tmp_path / "repo"
    write_local(repo, FOREIGN)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    reads: list[str] = []
    real = jsonfile.read_json_file
    monkeypatch.setattr(
        jsonfile, "read_json_file", lambda path, *a, **k: reads.append(path) or real(path, *a, **k)
    )
    assert metaflows_file("local") == {}
    assert len(reads) == 1


def test_strict_makes_each_key_an_error(tmp_path: Path, project: Path) -> None:
    """strict=True: one problem per key, naming the file and key, with the command."""
    with pytest.raises(ConfigError) as info:
        load(env={}, home=_home(tmp_path), cwd=project, strict=True)
    problems = info.value.problems
    assert sorted(p.setting for p in problems) == sorted(STEERING)
    for problem in problems:
        assert problem.layer == "local"
        assert problem.location.endswith(f"config.json:{problem.setting}")
        assert "metaflow-config trust" in problem.fix


def test_trusting_applies_it_and_an_edit_needs_a_new_trust(tmp_path: Path, project: Path) -> None:
    """Trusted content applies whole; a changed byte makes it untrusted again, said as such."""
    home = _home(tmp_path)
    local = project / ".metaflow" / "config.json"
    del_ref = {k: v for k, v in STEERING.items() if k != "METAFLOW_SERVICE_AUTH_KEY"}
    local.write_text(json.dumps(del_ref), encoding="utf-8")
    trust(home, local)
    s, said = _load(home, project)
    assert (s.service.url, said) == ("https://collector.example", [])
    assert s.explain("METAFLOW_SERVICE_URL").source == "local"
    local.write_text(json.dumps({**del_ref, "METAFLOW_SERVICE_URL": "https://x.example"}))
    s, said = _load(home, project)
    assert s.service.url == "https://mine.example"
    assert "it changed since it was trusted" in said[0]


@pytest.mark.parametrize("setting", SENSITIVE, ids=lambda f: f.name)
def test_every_sensitive_setting_is_held_back(
    tmp_path_factory: pytest.TempPathFactory, setting: Any
) -> None:
    """Each setting the table marks sensitive, set by an untrusted file, is not in force."""

    @hypothesis_settings(max_examples=3, deadline=None)
    @given(triple=value_triples(setting))
    def check(triple: Any) -> None:
        root = tmp_path_factory.mktemp("repo")
        write_local(root, {setting.env: triple[0]})
        s, said = _load(root / "home", root)
        assert s.explain(setting.env).source != "local"
        assert setting.env in said[0]
        (ignored,) = s.explain(setting.env).not_applied
        assert ignored.source == "local"

    check()


def test_the_sensitive_set_is_the_documented_one() -> None:
    """Every secret is sensitive; every URL, S3 root and role is; README lists exactly these."""
    names = {f.name for f in SENSITIVE}
    assert {f.name for f in FIELDS if f.secret} <= names
    for f in SENSITIVE:  # what a sensitive value derives from steers it as much
        assert f.derive is None or set(f.derive.bases) <= names, f.name
    for f in FIELDS:
        if f.kind.name in ("URL", "S3 URL", "GCS URL", "IAM role ARN") and not f.local:
            assert f.name in names, f.name
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Trust", 1)[1].split("\n## ", 1)[0]
    listed = {f.name for f in FIELDS if f"`{f.name}`" in section}
    assert listed == names


def test_a_datastore_folder_others_can_steer_is_said(tmp_path: Path) -> None:
    """The nearest .metaflow directory holds local runs and cached environments (``@pypi``,
    ``@conda``: whatever the datastore) when no local root is set: one others can write to,
    swap (its parent is theirs to write) or that links elsewhere is a warning naming it and
    the fix, found as Metaflow finds it (not from ``METAFLOW_CONFIG_PROJECT``)."""
    home, repo = tmp_path / "home", tmp_path / "shared"
    folder = repo / ".metaflow"
    folder.mkdir(parents=True)
    s3 = {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_DATASTORE_SYSROOT_S3": "s3://bkt/mf"}

    def said(env: dict[str, str] | None = None) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load(env={**s3, **(env or {})}, home=home, cwd=repo)
        return [str(w.message) for w in caught if w.category is ConfigWarning]

    assert said() == []
    folder.chmod(0o777)
    (warning,) = said()
    assert f"{folder} is writable by everyone (mode 0777)" in warning
    assert "set METAFLOW_DATASTORE_SYSROOT_LOCAL" in warning
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / ".metaflow").mkdir(parents=True)
    assert len(said({"METAFLOW_CONFIG_PROJECT": str(elsewhere)})) == 1  # Metaflow's walk
    assert said({"METAFLOW_DATASTORE_SYSROOT_LOCAL": str(tmp_path / "mine")}) == []
    folder.chmod(0o700)
    (folder / "HelloFlow").symlink_to(tmp_path / "planted", target_is_directory=True)
    (warning,) = said()
    assert f"holds links to elsewhere (HelloFlow -> {tmp_path / 'planted'})" in warning
    (folder / "HelloFlow").unlink()
    from metaflow_config._sources.profiles import MAX_ENTRIES

    for n in range(MAX_ENTRIES + 1):  # a folder filled to hide a link costs a bounded look
        (folder / f"f{n}").mkdir()
    (warning,) = said()
    assert f"holds more than {MAX_ENTRIES} entries, not all looked at for links" in warning
    for n in range(MAX_ENTRIES + 1):
        (folder / f"f{n}").rmdir()
    repo.chmod(0o777)
    try:
        (warning,) = said()
        assert "which others can write to without the sticky bit" in warning
    finally:
        repo.chmod(0o755)


def test_an_invalid_value_never_hides_what_is_withheld(tmp_path: Path, project: Path) -> None:
    """A project file that breaks the configuration with a harmless key still has its withheld
    keys said, in the error itself (``also``), which survives a pickle; a file with nothing
    withheld adds nothing."""
    import pickle

    local = project / ".metaflow" / "config.json"
    local.write_text(json.dumps({"METAFLOW_KUBERNETES_PORT": "8080a", **STEERING}))
    with pytest.raises(ConfigError) as err:
        load(env={}, home=tmp_path / "home", cwd=project)
    (also,) = err.value.also
    assert also.startswith(f"{local} (local) sets METAFLOW_")
    assert "METAFLOW_SERVICE_URL" in also
    assert f"\nAlso: {also}" in str(err.value)
    again = pickle.loads(pickle.dumps(err.value))  # noqa: S301 - its own bytes
    assert (str(again), again.problems, again.also) == (
        str(err.value),
        err.value.problems,
        err.value.also,
    )
    local.write_text(  # a key near no setting: an extension's own endpoint, say
        json.dumps(
            {"METAFLOW_KUBERNETES_PORT": "8080a", "METAFLOW_ACME_ENDPOINT": "https://x.example"}
        )
    )
    with pytest.raises(ConfigError) as err:
        load(env={}, home=tmp_path / "home", cwd=project)
    (also,) = err.value.also
    assert "METAFLOW_ACME_ENDPOINT" in also
    local.write_text(
        json.dumps({"METAFLOW_KUBERNETES_PORT": "8080a", "METAFLOW_BATCH_JOB_QEUE": "q"})
    )
    with pytest.raises(ConfigError) as err:  # a typo: nothing reads it, trusted or not
        load(env={}, home=tmp_path / "home", cwd=project)
    assert err.value.also == ()
    local.write_text(json.dumps({"METAFLOW_KUBERNETES_PORT": "8080a"}))
    with pytest.raises(ConfigError) as err:
        load(env={}, home=tmp_path / "home", cwd=project)
    assert err.value.also == ()
    assert "Also:" not in str(err.value)


@pytest.mark.skipif(os.name == "nt", reason="POSIX owners and modes")
@pytest.mark.parametrize(
    ("shape", "others"),
    [
        ({}, False),  # a user private group: useradd's, where umask 002 is the default
        ({"members": ("bob",)}, True),
        ({"members": ("me",)}, False),
        ({"primary_of": ("bob",)}, True),  # bob's primary group is the user's
        ({"group": "staff"}, True),  # not named after the user
    ],
)
def test_a_group_of_the_user_alone_is_no_other_writer(
    tmp_path: Path, accounts: Callable[..., None], shape: dict[str, Any], others: bool
) -> None:
    """Group-writable is another writer only when the group holds another user: under a umask of
    002 and user private groups, the user's own folders, project file and home are no warning
    and no refusal; a group holding anyone else is (the .metaflow folder, its parent, the
    project file's trust, the home a command writes to)."""
    from metaflow_config._sources.profiles import others_can_swap, others_can_write, writable_by
    from metaflow_config._sources.writes import update_json

    accounts(**shape)
    repo = tmp_path / "repo"
    (repo / ".metaflow").mkdir(parents=True)
    for path in (repo, repo / ".metaflow"):
        path.chmod(0o775)
    local = write_local(repo, {"METAFLOW_SERVICE_URL": "https://collector.example"})
    local.chmod(0o664)
    home = tmp_path / "home"
    home.mkdir(mode=0o775)
    home.chmod(0o775)
    assert bool(writable_by(local.stat())) is others
    assert bool(others_can_write(str(repo / ".metaflow"))) is others
    assert bool(others_can_swap(str(repo / ".metaflow"))) is others
    result = invoke("trust", str(repo), env={"METAFLOW_HOME": str(home)})
    assert (result.exit_code == 1) is others, _said(result)
    if others:
        with pytest.raises(ConfigError, match="writable by its group"):
            update_json(home / "config.json", lambda doc: {"A": 1}, home=home)
    else:
        update_json(home / "config.json", lambda doc: {"A": 1}, home=home)
    local.chmod(0o666)  # everyone: always another writer
    assert writable_by(local.stat()) == "everyone"


@pytest.mark.parametrize("inner", ["HelloFlow/data", "HelloFlow/latest_run", "HelloFlow/data/1c"])
def test_a_link_where_metaflow_writes_inside_a_flows_folder_is_said(
    tmp_path: Path, inner: str
) -> None:
    """Metaflow writes by name inside a flow's folder (its artifacts under ``data/<xx>``, the
    last run's id in ``latest_run``): a committed link there sends the artifacts, or the write
    of the id, to where it points; said as a link at the top is. A run's own folders are not
    looked at (their names are new)."""
    from metaflow_config._sources.profiles import linked_entries

    folder = tmp_path / "repo" / ".metaflow"
    (folder / "HelloFlow" / "data" / "c5").mkdir(parents=True)
    (folder / "HelloFlow" / "1700000000" / "start").mkdir(parents=True)
    (folder / "HelloFlow" / "1700000000" / "start" / "x").symlink_to(tmp_path)
    assert linked_entries(str(folder)) == ""
    link = folder / inner
    if link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(tmp_path / "stolen")
    assert (
        linked_entries(str(folder))
        == f"holds links to elsewhere ({inner} -> {tmp_path / 'stolen'})"
    )


def test_a_folder_in_another_users_folder_is_swappable(tmp_path: Path) -> None:
    """The owner of the .metaflow folder's parent may rename it away, whatever the modes."""
    from metaflow_config._sources.profiles import others_can_swap

    folder = tmp_path / "theirs" / ".metaflow"
    folder.mkdir(parents=True)
    assert others_can_swap(str(folder)) == ""
    _chown_or_skip(folder.parent, 4242)
    assert (
        others_can_swap(str(folder)) == f"is in {folder.parent}, which another user owns (uid 4242)"
    )


# --- files that can never be trusted --------------------------------------------------------------


def _chown_or_skip(path: Path, uid: int, *, link: bool = False) -> None:
    try:
        (os.lchown if link else os.chown)(path, uid, -1)
    except PermissionError:
        pytest.skip("changing a file's owner needs root")


@pytest.mark.skipif(os.name == "nt", reason="POSIX owners and modes")
@pytest.mark.parametrize("how", ["another-owner", "group-writable", "world-writable", "link"])
def test_a_file_others_can_write_is_never_trusted(
    tmp_path: Path, project: Path, how: str, accounts: Callable[..., None]
) -> None:
    """Owned by another user (or its symlink is), or writable by others (its group holds another
    user): never trusted, and `trust` refuses it with the reason; nothing is applied."""
    accounts(members=("bob",))
    home = _home(tmp_path)
    local = project / ".metaflow" / "config.json"
    if how == "link":  # a link another user planted, to a file of the user's
        target = tmp_path / "real.json"
        local.rename(target)
        local.symlink_to(target)
        _chown_or_skip(local, 4242, link=True)
    elif how == "another-owner":
        _chown_or_skip(local, 4242)
    else:
        local.chmod(0o620 if how == "group-writable" else 0o602)
    result = invoke("trust", str(project), env={"METAFLOW_HOME": str(home)})
    assert result.exit_code == 1
    assert "never trusted" in _said(result) or "yours alone" in _said(result)
    chmod = f"chmod go-w {local}" in _said(result)  # no mode makes another user's file yours
    assert chmod == (how in ("group-writable", "world-writable")), _said(result)
    assert not (home / "trusted.json").exists()
    facts = _trust.read_facts(str(local))[0]
    assert facts is not None
    trusted = {"files": {_trust.trust_key(str(local)): facts.digest}}  # forged into the store
    (home / "trusted.json").write_text(json.dumps(trusted), encoding="utf-8")
    (home / "trusted.json").chmod(0o600)
    s, said = _load(home, project)
    assert s.service.url == "https://mine.example"
    assert "never trusted" in said[0]
    assert s["OTEL_SERVICE_NAME"] != "their-service"  # nothing of it: not its harmless keys


@pytest.mark.skipif(os.name == "nt", reason="POSIX owners and modes")
@pytest.mark.parametrize(
    "content", [b'{"METAFLOW_S3_RETRY_COUNT": "boom"}', b"{not json", b'{"METAFLOW_X": 1}']
)
@pytest.mark.parametrize("how", ["another-owner", "world-writable", "unreadable"])
def test_a_file_another_user_planted_above_stops_nothing(
    tmp_path: Path, content: bytes, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/tmp/.metaflow/config.json`` planted by another user above a user's working directory:
    never trusted, and not read at all, so neither a value Metaflow refuses nor bytes that are
    no JSON stop a run below it (nor Metaflow's own reading); one warning says why."""
    home = _home(tmp_path)
    shared = tmp_path / "shared"
    local = shared / ".metaflow" / "config.json"
    local.parent.mkdir(parents=True)
    local.write_bytes(content)
    work = shared / "mine"
    work.mkdir()
    if how == "world-writable":
        local.chmod(0o666)
    else:
        _chown_or_skip(local, 4242)
        if how == "unreadable":
            local.chmod(0o000)
    s, said = _load(home, work)
    assert s.service.url == "https://mine.example"
    assert s["S3_RETRY_COUNT"] == BY_NAME["S3_RETRY_COUNT"].default
    (warning,) = [w for w in said if str(local) in w]
    assert "is not read" in warning
    assert "nothing of it applies" in warning
    from metaflow_config._metaflow.parsing import metaflows_file

    monkeypatch.chdir(work)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.delenv("METAFLOW_CONFIG_PROJECT", raising=False)
    assert metaflows_file("local") == {}


def test_a_linked_metaflow_folder_borrows_no_trust(tmp_path: Path) -> None:
    """A repository whose ``.metaflow`` links to a trusted project's: the file found there is
    not the one trusted (trust is of the file as found), so nothing that steers applies."""
    home = _home(tmp_path)
    write_local(tmp_path / "trusted", {"DATASTORE_SYSROOT_S3": "s3://prod/mf"})
    trust(home, tmp_path / "trusted" / ".metaflow" / "config.json")
    assert _load(home, tmp_path / "trusted")[0].datastore.sysroot_s3 == "s3://prod/mf"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / ".metaflow").symlink_to(tmp_path / "trusted" / ".metaflow")
    s, said = _load(home, evil)
    assert s.datastore.sysroot_s3 is None
    assert any("not trusted" in w and "DATASTORE_SYSROOT_S3" in w for w in said), said
    result = invoke("trust", env={"METAFLOW_HOME": str(home), "METAFLOW_CONFIG_PROJECT": str(evil)})
    assert result.exit_code == 0, result.output  # trusted as found there, on its own
    assert _load(home, evil)[0].datastore.sysroot_s3 == "s3://prod/mf"


@pytest.mark.skipif(os.name == "nt", reason="POSIX owners and modes")
@pytest.mark.parametrize(
    "how", ["world-writable", "another-owner", "symlink", "not-json", "nested-deep"]
)
def test_a_store_that_is_not_the_users_trusts_nothing(
    tmp_path: Path, project: Path, how: str
) -> None:
    """A trust store others could have written (or that is not one) trusts no file."""
    home = _home(tmp_path)
    local = project / ".metaflow" / "config.json"
    trust(home, local)
    store = home / "trusted.json"
    if how == "world-writable":
        store.chmod(0o666)
    elif how == "another-owner":
        _chown_or_skip(store, 4242)
    elif how == "symlink":
        store.rename(tmp_path / "elsewhere.json")
        store.symlink_to(tmp_path / "elsewhere.json")
    elif how == "nested-deep":  # the JSON decoder's RecursionError, which escaped
        store.write_text('{"files": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    else:
        store.write_text("{", encoding="utf-8")
    s, said = _load(home, project)
    assert s.service.url == "https://mine.example"
    assert "trust store" in said[0]


# --- cost: nothing is read when nothing needs trust ---------------------------------------------


def test_the_store_is_read_only_for_a_file_that_sets_a_sensitive_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No project file, or one of settings that are not sensitive: the store is never opened.

    A key that is no setting (Metaflow's plugin list) needs it, as a sensitive one does."""
    reads: list[str] = []
    real = _trust.read_store
    monkeypatch.setattr(_trust, "read_store", lambda home: reads.append(home) or real(home))
    load(env={}, home=tmp_path / "home", cwd=tmp_path)
    write_local(tmp_path / "plain", {"OTEL_SERVICE_NAME": "q", "S3_RETRY_COUNT": 3})
    load(env={}, home=tmp_path / "home", cwd=tmp_path / "plain")
    assert reads == []
    write_local(tmp_path / "steers", {"SERVICE_URL": "https://x.example"})
    _load(tmp_path / "home", tmp_path / "steers")
    assert len(reads) == 1
    write_local(tmp_path / "plugins", {"ENABLED_STEP_DECORATOR": ["batch"]})
    _load(tmp_path / "home", tmp_path / "plugins")
    assert len(reads) == 2


# --- a property: an untrusted file is the file without its sensitive keys ----------------------


@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chosen=st.lists(st.sampled_from([f.name for f in FIELDS]), min_size=1, max_size=5, unique=True),
    data=st.data(),
)
def test_untrusted_equals_the_file_without_its_sensitive_keys(
    tmp_path_factory: pytest.TempPathFactory, chosen: list[str], data: st.DataObject
) -> None:
    """Whatever a project file sets, untrusted it resolves as if it set only its other keys."""
    root = tmp_path_factory.mktemp("prop")
    values = {BY_NAME[n].env: data.draw(value_triples(BY_NAME[n]))[0] for n in chosen}
    plain = {k: v for k, v in values.items() if not BY_NAME[k[len("METAFLOW_") :]].sensitive}
    write_local(root / "full", values)
    write_local(root / "plain", plain)
    try:
        untrusted, said = _load(root / "home", root / "full")
    except ConfigError:  # a valid value deriving an invalid one: by design, not the law's case
        return
    expected, _ = _load(root / "home", root / "plain")
    machine = "METAFLOW_ARTIFACT_LOCALROOT"  # derived from the working directory: they differ
    assert {k: v for k, v in untrusted.items() if k != machine} == {
        k: v for k, v in expected.items() if k != machine
    }
    assert bool(said) == (plain != values)


# --- the attacks of the issue, end to end ---------------------------------------------------------


class _Capture(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[Any]:
    """A server on 127.0.0.1 recording the headers of every request (the attacker's)."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    server.seen = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_check_sends_the_users_key_nowhere_a_repository_names(tmp_path: Path, capture: Any) -> None:
    """A project file naming the service URL gets nothing from `check`: not the user's key."""
    from metaflow_config._checks.checks import check

    home = tmp_path / "home"
    write_profile(home, {"SERVICE_AUTH_KEY": "users-own-key-4711"})
    write_local(tmp_path / "repo", {"SERVICE_URL": capture.url})
    s, _ = _load(home, tmp_path / "repo")
    results = check(s, ["service"], timeout=2)
    assert capture.seen == []
    assert results[0].status == "FAIL"  # the service URL is not set, as far as the user is
    assert "users-own-key-4711" not in repr(results)


@pytest.mark.slow
def test_metaflow_runs_under_the_same_rule(tmp_path: Path, project: Path) -> None:
    """With the extension, Metaflow's own module holds the user's values, and says why once."""
    home = _home(tmp_path)
    code = (
        "import metaflow.metaflow_config as m\n"
        "print(m.SERVICE_URL, m.DATASTORE_SYSROOT_S3, m.OTEL_SERVICE_NAME)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "METAFLOW_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["https://mine.example", "None", "their-service"]
    assert proc.stderr.count("metaflow-config trust") == 1
    local = project / ".metaflow" / "config.json"
    fetched = {k: v for k, v in STEERING.items() if k != "METAFLOW_SERVICE_AUTH_KEY"}
    local.write_text(json.dumps({**fetched, "METAFLOW_OTEL_SERVICE_NAME": "their-service"}))
    trust(home, local)
    proc = subprocess.run(
        [sys.executable, "-c", code.replace("m.SERVICE_URL, ", "")],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.stdout.split() == ["s3://attacker-bucket/mf", "their-service"], proc.stderr
    assert "metaflow-config trust" not in proc.stderr


# --- the command ----------------------------------------------------------------------------------


def _said(result: Any) -> str:
    """All a command printed: stdout and stderr (click 8.1 keeps stderr apart from ``output``)."""
    return result.output + (result.stderr or "")


def test_trust_list_and_revoke(tmp_path: Path, project: Path) -> None:
    """trust records the file as it is; --list says its state; --revoke forgets it."""
    home = tmp_path / "home"
    env = {"METAFLOW_HOME": str(home)}
    local = project / ".metaflow" / "config.json"
    done = invoke("trust", str(project), env=env)
    assert done.exit_code == 0, done.output
    assert "METAFLOW_SERVICE_URL" in done.output
    assert str(local) in done.output
    assert oct((home / "trusted.json").stat().st_mode & 0o777) == "0o600"
    assert "trusted" in invoke("trust", "--list", env=env).output
    local.write_text(local.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert "changed since trusted" in invoke("trust", "--list", env=env).output
    gone = invoke("trust", "--revoke", str(local), env=env)
    assert gone.exit_code == 0
    assert "Revoked" in gone.output
    assert "No trusted project files" in invoke("trust", "--list", env=env).output


def test_trust_finds_the_project_file_as_the_resolver_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without PATH, from $METAFLOW_CONFIG_PROJECT where it is set; it names what it now lets
    the file set, keys that are no setting included."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    local = write_local(tmp_path / "repo", {**FOREIGN, "SERVICE_URL": "https://x.example"})
    monkeypatch.chdir(elsewhere)
    env = {"METAFLOW_HOME": str(home), "METAFLOW_CONFIG_PROJECT": str(tmp_path / "repo")}
    done = invoke("trust", env=env)
    assert done.exit_code == 0, done.output
    assert f"Trusted {local}" in done.output
    for key in ("METAFLOW_SERVICE_URL", *FOREIGN):
        assert key in done.output


def test_trust_escapes_what_a_path_holds(tmp_path: Path) -> None:
    """A folder named to move the terminal (ESC, BEL, a right-to-left override) is named by
    trust, --list and --revoke with those characters escaped."""
    project = tmp_path / "x\x1b]0;TITLE\x07\u202eevil"
    (project / ".metaflow").mkdir(parents=True)
    local = project / ".metaflow" / "config.json"
    local.write_text(json.dumps({"METAFLOW_SERVICE_URL": "https://evil.example"}), "utf-8")
    env = {"METAFLOW_HOME": str(tmp_path / "home")}
    for args in (["trust", str(project)], ["trust", "--list"], ["trust", "--revoke", str(local)]):
        result = invoke(*args, env=env)
        assert result.exit_code == 0, _said(result)
        assert "evil" in result.output
        assert not {"\x1b", "\x07", "\u202e"} & set(_said(result)), args


def test_no_name_a_repository_chose_starts_a_line_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout's folder, or an extension folder in it, named with a line break and a line
    that passes for the tool's (``OK: ...``): every warning and error is shown on its lines, the
    line break escaped, in ``check``, ``show`` and ``import metaflow``; a file's excerpt under
    its JSON error keeps its own lines."""
    fake = "OK: all good"
    project = tmp_path / f"x\n{fake}"
    (project / "metaflow_extensions" / f"y\n{fake}" / "config").mkdir(parents=True)
    write_local(project, {"SERVICE_URL": "https://theirs.example"})
    monkeypatch.setenv("METAFLOW_HOME", str(_home(tmp_path)))
    monkeypatch.chdir(project)
    for args in (["check"], ["check", "--strict"], ["show"]):
        said = _said(invoke(*args))
        assert "x\\nOK: all good" in said, args  # escaped, and there
        assert not [line for line in said.splitlines() if line.startswith(fake)], args
    code = "import metaflow"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "METAFLOW_CONFIG_STRICT": "1"},
    )
    assert "x\\nOK: all good" in proc.stderr
    assert not [line for line in proc.stderr.splitlines() if line.startswith(fake)]
    bare = tmp_path / f"bare\n{fake}"  # a command's own error (no project file here)
    bare.mkdir()
    monkeypatch.chdir(bare)
    refused = invoke("trust")
    assert refused.exit_code != 0
    assert not [line for line in refused.stderr.splitlines() if line.startswith(fake)]
    monkeypatch.chdir(project)
    (project / ".metaflow" / "config.json").write_text('{\n  "METAFLOW_A": 1\n  "B": 2\n}')
    excerpt = _said(invoke("check"))
    assert "line 3" in excerpt
    assert "\n    Fix: correct line" in excerpt  # the excerpt's own lines, as laid out


def test_trust_refuses_a_file_that_is_not_a_config(tmp_path: Path) -> None:
    """Malformed JSON is not trusted: the error says where it is wrong; nothing is recorded."""
    (tmp_path / "repo" / ".metaflow").mkdir(parents=True)
    (tmp_path / "repo" / ".metaflow" / "config.json").write_text("{nope", encoding="utf-8")
    home = tmp_path / "home"
    result = invoke("trust", str(tmp_path / "repo"), env={"METAFLOW_HOME": str(home)})
    assert result.exit_code == 1
    assert "expected valid JSON" in _said(result)
    assert not (home / "trusted.json").exists()


def test_show_and_check_say_the_working_directorys_extensions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cloned repository's metaflow_extensions is code Metaflow imports where it runs (a flow,
    a notebook, python -c), and its config extension replaces settings no table shows: show and
    check say it is there."""
    repo = tmp_path / "repo"
    (repo / "metaflow_extensions" / "evil" / "config").mkdir(parents=True)
    monkeypatch.setenv("METAFLOW_HOME", str(_home(tmp_path)))
    monkeypatch.chdir(repo)
    said = f"{repo / 'metaflow_extensions'} holds Metaflow extensions (evil): Metaflow imports them"
    assert f"# {said}" in invoke("show").output
    assert said in _said(invoke("check"))
    for decoy in ("a1", "a2", "a3", "a4", "a5", "a6"):  # decoys first: the rest counted
        (repo / "metaflow_extensions" / decoy).mkdir()
    assert "(a1, a2, a3, a4, a5 and 2 more)" in invoke("show").output
    monkeypatch.chdir(tmp_path)
    assert "holds Metaflow extensions" not in invoke("show").output
    # this package's own extension, where it is installed from (its clone's README is followed
    # there): not said; a repository's folder of the same name is
    import metaflow_config

    monkeypatch.chdir(Path(metaflow_config.__file__).resolve().parent.parent)
    assert "holds Metaflow extensions" not in invoke("show").output
    hidden = tmp_path / "hidden"  # a _name runs as any other; files pad the look past its bound
    (hidden / "metaflow_extensions" / "_evil" / "config").mkdir(parents=True)
    monkeypatch.chdir(hidden)
    assert "holds Metaflow extensions (_evil)" in invoke("show").output
    from metaflow_config._sources.profiles import MAX_ENTRIES

    for i in range(MAX_ENTRIES + 1):
        (hidden / "metaflow_extensions" / f"f{i}.txt").touch()
    assert "entries, not all looked at" in invoke("show").output
    copy = tmp_path / "copy"
    (copy / "metaflow_extensions" / "metaflow_config").mkdir(parents=True)
    monkeypatch.chdir(copy)
    said = invoke("show").output  # Metaflow refuses to start beside it: said, no advice to run it
    assert "metaflow_config is another package of this package's Metaflow extension" in said
    assert "pip install" not in said


def test_a_misspelled_key_is_never_said_to_wait_for_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo is not applied, trusted or not (its own warning says so): neither show's list of
    what waits for trust nor trust's list of what it may now set names it."""
    home = _home(tmp_path)
    local = write_local(
        tmp_path / "repo", {"METAFLOW_BATCH_JOB_QUEUE": "q", "METAFLOW_BATCH_JOB_QEUE": "z"}
    )
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.chdir(tmp_path / "repo")
    header = next(line for line in invoke("show").output.splitlines() if "not applied from" in line)
    assert "METAFLOW_BATCH_JOB_QUEUE" in header
    assert "QEUE" not in header
    trusted = invoke("trust", str(local))
    assert "it may now set METAFLOW_BATCH_JOB_QUEUE" in trusted.output
    assert "QEUE" not in trusted.output


def test_show_explain_and_check_say_what_is_not_applied(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """show names the keys held back, explain the value ignored and why, check fails on it."""
    home = _home(tmp_path)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.chdir(project)
    shown = invoke("show")
    assert "not applied from it: METAFLOW_SERVICE_URL" in shown.output
    assert "collector.example" not in shown.output.split("not applied", 1)[0]
    explained = invoke("explain", "SERVICE_URL")
    assert "ignored:  local" in explained.output
    assert "not applied: it is not trusted" in explained.output
    checked = invoke("check")
    assert checked.exit_code == 1
    assert "expected a value from a trusted source" in _said(checked)


def test_thousands_of_withheld_keys_cost_a_few_did_you_means(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository's file of 5,000 keys near a setting (each a did-you-mean to work out) made
    every ``import metaflow`` there take seconds, and ``check`` print one error a key: the first
    few are told apart and named, the rest counted, in the warning, ``check``, ``show`` and
    ``trust``."""
    from metaflow_config._resolve.resolve import MAX_UNKNOWN_REPORTED
    from metaflow_config._sources import keys

    home = _home(tmp_path)
    doc = {f"METAFLOW_ACME_{i}": "x" for i in range(5000)}
    local = write_local(tmp_path / "repo", {"SERVICE_URL": "https://theirs.example", **doc})
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.chdir(tmp_path / "repo")
    told: list[str] = []
    real = keys.misspelled
    monkeypatch.setattr(keys, "misspelled", lambda key: told.append(key) or real(key))
    with pytest.warns(ConfigWarning) as caught:
        load()
    note = next(str(w.message) for w in caught if "not applied" in str(w.message))
    assert "METAFLOW_SERVICE_URL, which decides where data or credentials go, and " in note
    assert f"and {5000 - MAX_UNKNOWN_REPORTED} more keys, which are no settings" in note
    assert len(told) <= 2 * MAX_UNKNOWN_REPORTED, len(told)
    checked = invoke("check")
    assert checked.exit_code == 1
    assert f"{5000 - MAX_UNKNOWN_REPORTED} more keys of" in _said(checked)
    errors = [line for line in checked.stderr.splitlines() if line.startswith("  - ")]
    assert len(errors) == 2 + MAX_UNKNOWN_REPORTED  # SERVICE_URL, ten named, the count
    shown = invoke("show").output
    assert f"and {5000 - MAX_UNKNOWN_REPORTED} more keys (" in shown
    trusted = invoke("trust", str(local))
    assert f"and {5000 - MAX_UNKNOWN_REPORTED} more keys" in trusted.output


def test_an_error_never_hides_a_planted_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository's committed ``.metaflow/HelloFlow`` link and an invalid harmless value: the
    error (of ``check``, ``load()``, ``import metaflow``) says the link too, as ``also``."""
    repo = tmp_path / "repo"
    write_local(repo, {"BATCH_EMIT_TAGS": "maybe"}, trusted_by=_home(tmp_path))
    (repo / ".metaflow" / "HelloFlow").symlink_to(tmp_path / "attacker-store")
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(repo)
    with pytest.raises(ConfigError) as info:
        load()
    assert any("holds links to elsewhere (HelloFlow ->" in note for note in info.value.also)
    assert "Also: " in str(info.value)
    checked = invoke("check")
    assert checked.exit_code == 1
    assert "holds links to elsewhere (HelloFlow ->" in _said(checked)


def test_revoke_without_a_project_file_says_how_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    said = invoke("trust", "--revoke", env={"METAFLOW_HOME": str(tmp_path / "home")}).stderr
    assert "metaflow-config trust --revoke PATH" in said


def test_an_old_name_in_an_untrusted_file_is_not_said_applied(tmp_path: Path) -> None:
    """``METADATA_SERVICE_URL`` in a file not trusted: read as ``METAFLOW_SERVICE_URL``, which
    is not applied until the file is trusted (not "applied as")."""
    home = _home(tmp_path)
    local = tmp_path / "repo" / ".metaflow" / "config.json"
    local.parent.mkdir(parents=True)
    local.write_text(json.dumps({"METADATA_SERVICE_URL": "https://collector.example"}))
    s, said = _load(home, tmp_path / "repo")
    assert s.service.url == "https://mine.example"
    (old,) = [w for w in said if "is an old name of" in w]
    assert "not applied until the file is trusted" in old
    assert "applied as" not in old


@pytest.mark.skipif(os.name == "nt", reason="POSIX owners and modes")
@pytest.mark.parametrize("how", ["folder", "link"])
def test_a_metaflow_entry_another_user_owns_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A ``.metaflow`` folder another user owns (one the user may not even look in), or their
    link to a folder of the user's: whatever it leads to is not read, and stops nothing."""
    home = _home(tmp_path)
    shared = tmp_path / "shared"
    mine = tmp_path / "mine" / ".metaflow"
    mine.mkdir(parents=True)
    (mine / "config.json").write_text('{"METAFLOW_S3_RETRY_COUNT": "not-a-number"}')
    shared.mkdir()
    if how == "folder":
        (shared / ".metaflow").mkdir()
        (shared / ".metaflow" / "config.json").write_text('{"METAFLOW_S3_RETRY_COUNT": "x"}')
        _chown_or_skip(shared / ".metaflow", 4242)
    else:
        (shared / ".metaflow").symlink_to(mine)
        _chown_or_skip(shared / ".metaflow", 4242, link=True)
    (shared / "work").mkdir()
    s, said = _load(home, shared / "work")
    assert s["S3_RETRY_COUNT"] == BY_NAME["S3_RETRY_COUNT"].default
    assert any(f"the .metaflow {how} holding it is owned by another user" in w for w in said), said


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="Linux's extended attributes")
def test_a_file_an_access_list_lets_others_write_is_never_trusted(
    tmp_path: Path, project: Path, accounts: Callable[..., None]
) -> None:
    """Group-writable in a user private group, but with a POSIX access list naming another user
    (its group bits are the list's mask): others may write it, so it is never trusted, and not
    read."""
    import struct

    accounts()  # the owner's group is private: the mode alone would pass
    home = _home(tmp_path)
    local = project / ".metaflow" / "config.json"
    local.chmod(0o664)
    entries = [(1, 6, 0xFFFFFFFF), (2, 6, 4242), (4, 4, 0xFFFFFFFF), (0x10, 6, 0xFFFFFFFF)]
    entries.append((0x20, 4, 0xFFFFFFFF))  # user::rw-, user:4242:rw-, group::r--, mask, other
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    try:
        os.setxattr(local, "system.posix_acl_access", acl)
    except OSError:
        pytest.skip("no POSIX access lists on this file system")
    result = invoke("trust", str(project), env={"METAFLOW_HOME": str(home)})
    assert result.exit_code == 1
    assert "access list" in _said(result)
    s, said = _load(home, project)
    assert s["OTEL_SERVICE_NAME"] != "their-service"
    assert any("access list (ACL)" in w for w in said), said


def test_trust_of_a_metaflow_folder_is_of_its_own_file(tmp_path: Path) -> None:
    """``trust REPO/.metaflow`` is REPO/.metaflow/config.json, whatever that folder holds (a
    link to another project's folder is not followed to its ``.metaflow``)."""
    home = _home(tmp_path)
    write_local(tmp_path / "B", {"SERVICE_URL": "https://other.example"})
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / ".metaflow").symlink_to(tmp_path / "B")
    result = invoke("trust", str(tmp_path / "A" / ".metaflow"), env={"METAFLOW_HOME": str(home)})
    assert result.exit_code == 1
    assert f"{tmp_path / 'A' / '.metaflow' / 'config.json'}: no such file" in _said(result)
    assert _load(home, tmp_path / "B")[0].service.url == "https://mine.example"


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_a_profile_others_can_write_is_warned_about(tmp_path: Path) -> None:
    """The user's own profile is applied whole, its steering settings included: where others
    may write it, one warning says so (as ssh does of its configuration); mode 0644, none."""
    home = _home(tmp_path)
    profile = home / "config.json"
    profile.chmod(0o666)
    _, said = _load(home, tmp_path)
    said_of = f"{profile} (profile) is applied, but the file is writable by everyone (mode 0666)"
    assert any(said_of in w for w in said)
    profile.chmod(0o644)
    _, said = _load(home, tmp_path)
    assert not [w for w in said if "is writable by" in w]


@pytest.mark.parametrize("name", ["team.json", "config.json", "passwd"])
def test_trust_refuses_a_file_no_resolution_reads_as_a_project_file(
    tmp_path: Path, name: str
) -> None:
    """``trust team.json`` recorded a file nothing reads as a project file, and said it "may
    now set" settings: refused, saying where a project's file is; nothing is recorded."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = tmp_path / "work" / name
    target.parent.mkdir()
    target.write_text(json.dumps({"METAFLOW_SERVICE_URL": "https://mf.example.com"}))
    result = invoke("trust", str(target), env={"METAFLOW_HOME": str(home)})
    assert result.exit_code == 1
    assert "is not a project file: no resolution reads it" in result.stderr
    assert "<folder>/.metaflow/config.json" in result.stderr
    assert not (home / "trusted.json").exists()


def test_a_project_variable_naming_no_directory_is_said(tmp_path: Path) -> None:
    """``METAFLOW_CONFIG_PROJECT`` mistyped: the walk starts above what it names, silently
    (a project file of a folder above applied). Said, with what was read."""
    (tmp_path / ".metaflow").mkdir()
    (tmp_path / ".metaflow" / "config.json").write_text('{"METAFLOW_S3_RETRY_COUNT": 3}')
    typo = tmp_path / "proejct"
    with pytest.warns(ConfigWarning, match="METAFLOW_CONFIG_PROJECT=.*proejct names no directory"):
        s = load(env={"METAFLOW_CONFIG_PROJECT": str(typo)}, home=tmp_path / "home")
    assert s.explain("METAFLOW_S3_RETRY_COUNT").source == "local"
    project = tmp_path / "project"
    project.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        load(env={"METAFLOW_CONFIG_PROJECT": str(project)}, home=tmp_path / "home")
