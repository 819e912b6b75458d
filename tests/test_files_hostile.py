"""Writes that cannot be redirected: links, files and directories another user could control.

Another user is played for real when the tests run as root (``os.chown`` to a uid nobody has);
otherwise ``os.getuid`` is made to answer another uid, so that every existing entry is someone
else's (the checks run in a fixed order: links, the file, then the directories, so each test
still meets the refusal it is about first).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from metaflow_config import ConfigError
from metaflow_config._sources.writable import check_home_dirs, check_writable
from metaflow_config._sources.writes import (
    locked,
    remove_file,
    update_json,
    write_json_atomic,
    write_text_atomic,
)
from tests.conftest import invoke, write_json

#: a user id nobody on the test machine has
OTHER = 48_213
ROOT = os.name != "nt" and os.getuid() == 0

pytestmark = pytest.mark.skipif(os.name == "nt", reason="owners and modes are POSIX")

Foreign = Callable[[Path], None]


@pytest.fixture
def foreign(monkeypatch: pytest.MonkeyPatch) -> Foreign:
    """``foreign(path)``: make ``path`` (a link itself, not its target) another user's."""
    real_uid = os.getuid()

    def make(path: Path) -> None:
        if ROOT:
            os.chown(path, OTHER, OTHER, follow_symlinks=False)
        else:  # every entry is now someone else's: the first check in order refuses
            monkeypatch.setattr(os, "getuid", lambda: real_uid + OTHER)

    return make


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A METAFLOW_HOME of the user's own, mode 0700."""
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


def entries(directory: Path) -> list[str]:
    """The names in ``directory``, sorted."""
    return sorted(p.name for p in directory.iterdir())


# --- links ------------------------------------------------------------------------------------


def test_a_link_another_user_planted_is_refused(
    home: Path, tmp_path: Path, foreign: Foreign
) -> None:
    """The issue: config.json -> a file elsewhere, planted by another user: nothing written."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = home / "config.json"
    link.symlink_to(victim)
    foreign(link)
    with pytest.raises(ConfigError) as err:
        update_json(link, lambda doc: {**doc, "METAFLOW_X": "1"}, home=home)
    text = str(err.value)
    assert f"{link}: expected a file or a symbolic link of your own, found a symbolic link" in text
    assert "owned by" in text
    assert f"rm {link}" in text
    assert "nothing was written" in text
    assert victim.read_text() == "precious\n"
    assert entries(home) == ["config.json"]  # no lock file, no temporary file


def test_a_link_another_user_planted_is_refused_without_a_home(
    tmp_path: Path, foreign: Foreign
) -> None:
    """An output file named by the user (export, schema): a planted link is refused too."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "backup.json"
    link.symlink_to(victim)
    foreign(link)
    with pytest.raises(ConfigError, match="found a symbolic link"):
        write_json_atomic(link, {"A": 1})
    assert victim.read_text() == "precious\n"


@pytest.mark.skipif(not ROOT, reason="a link of one's own leading to another's: root makes both")
def test_each_link_of_a_chain_is_checked(home: Path, tmp_path: Path) -> None:
    """A link of the user's own that leads to one another user planted: that one is named."""
    victim = tmp_path / "victim"
    victim.write_text("{}")
    planted = home / "config_prod.json"
    planted.symlink_to(victim)
    os.chown(planted, OTHER, OTHER, follow_symlinks=False)
    link = home / "config.json"
    link.symlink_to(planted)
    with pytest.raises(ConfigError, match=f"{planted}: expected a file or a symbolic link"):
        check_writable(link, home=home)


def test_an_own_link_out_of_the_home_is_refused_with_the_ways_on(
    home: Path, tmp_path: Path
) -> None:
    """A link of one's own to a file outside METAFLOW_HOME: edit the target, or replace it."""
    dotfiles = tmp_path / "dotfiles" / "metaflow.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text("{}")
    link = home / "config.json"
    link.symlink_to(dotfiles)
    with pytest.raises(ConfigError) as err:
        update_json(link, lambda doc: {**doc, "A": 1}, home=home)
    text = str(err.value)
    assert (
        f"expected a file inside METAFLOW_HOME ({home}), found a symbolic link to {dotfiles}"
        in (text)
    )
    assert f"edit {dotfiles} directly" in text
    assert f"rm {link} && cp {dotfiles} {link}" in text
    assert dotfiles.read_text() == "{}"


def test_an_own_link_inside_the_home_is_written_through(home: Path) -> None:
    """config.json -> config_prod.json in the same home: the link stays, the target changes."""
    real = home / "config_prod.json"
    real.write_text("{}")
    link = home / "config.json"
    link.symlink_to(real.name)
    update_json(link, lambda doc: {**doc, "A": 1}, home=home)
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {"A": 1}


def test_a_home_that_is_a_link_to_a_directory_of_ones_own_works(tmp_path: Path) -> None:
    """~/.metaflowconfig -> ~/dotfiles/metaflow: its files are inside it."""
    real = tmp_path / "dotfiles"
    real.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.symlink_to(real)
    write_json_atomic(home / "config.json", {"A": 1}, home=home)
    assert json.loads((real / "config.json").read_text()) == {"A": 1}


def test_a_path_outside_the_home_is_refused(home: Path, tmp_path: Path) -> None:
    """A write said to be of the home must be in it (a caller's mistake is not a write)."""
    with pytest.raises(ConfigError, match="expected a file inside METAFLOW_HOME"):
        write_json_atomic(tmp_path / "elsewhere.json", {}, home=home)
    assert not (tmp_path / "elsewhere.json").exists()


# --- the file itself --------------------------------------------------------------------------


def test_a_file_another_user_owns_is_refused(home: Path, foreign: Foreign) -> None:
    """Their file in the home is not replaced (it may be theirs to read back)."""
    target = home / "config.json"
    target.write_text('{"THEIRS": 1}')
    foreign(target)
    with pytest.raises(ConfigError) as err:
        write_json_atomic(target, {"A": 1}, home=home)
    text = str(err.value)
    assert f"{target}: expected a file of your own, found one owned by" in text
    assert f"mv {target} {target}.old" in text
    assert target.read_text() == '{"THEIRS": 1}'


def test_a_directory_where_the_file_goes_is_refused(home: Path) -> None:
    """A directory named config.json: a clear error, not IsADirectoryError from the rename."""
    (home / "config.json").mkdir()
    with pytest.raises(ConfigError, match="expected a file, found a directory"):
        write_json_atomic(home / "config.json", {}, home=home)


# --- the directories --------------------------------------------------------------------------


def test_a_home_another_user_owns_is_refused(home: Path, foreign: Foreign) -> None:
    """Their directory: they could swap the file between the check and the rename."""
    foreign(home)
    with pytest.raises(ConfigError) as err:
        write_json_atomic(home / "config.json", {"A": 1}, home=home)
    text = str(err.value)
    assert f"METAFLOW_HOME (profile: {home}): expected METAFLOW_HOME of your own" in text
    assert "point METAFLOW_HOME at a directory of your own" in text
    assert entries(home) == []


@pytest.mark.parametrize(
    ("mode", "by"), [(0o777, "others"), (0o770, "its group"), (0o703, "others")]
)
def test_a_home_others_may_write_to_is_refused(
    home: Path, mode: int, by: str, accounts: Callable[..., None]
) -> None:
    """Writable by group (one holding another user) or others, without the sticky bit: refused,
    with chmod go-w."""
    accounts(members=("bob",))
    home.chmod(mode)
    with pytest.raises(ConfigError) as err:
        update_json(home / "config.json", lambda doc: {"A": 1}, home=home)
    text = str(err.value)
    assert f"found one writable by {by} (mode {mode:04o})" in text
    assert f"chmod go-w {home}" in text
    assert entries(home) == []


def test_a_sticky_home_others_may_write_to_is_accepted(home: Path) -> None:
    """The sticky bit keeps others off the user's entries (as /tmp): the write goes ahead."""
    home.chmod(0o1777)
    update_json(home / "config.json", lambda doc: {"A": 1}, home=home)
    assert json.loads((home / "config.json").read_text()) == {"A": 1}


def test_a_directory_on_the_way_inside_the_home_is_checked(home: Path) -> None:
    """A profile linked to home/shared/p.json: shared/ writable by others is refused too."""
    shared = home / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "p.json").write_text("{}")
    (home / "config.json").symlink_to(shared / "p.json")
    with pytest.raises(ConfigError, match=f"profile: {shared}\\): expected a directory of"):
        update_json(home / "config.json", lambda doc: {"A": 1}, home=home)


def test_a_directory_swapped_for_a_link_after_resolving_is_refused(
    home: Path, tmp_path: Path
) -> None:
    """A directory of the resolved path that is a link when checked: someone swapped it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / "sub").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="found a symbolic link where it was a moment ago"):
        check_home_dirs(home, str(home / "sub"))


@pytest.mark.skipif(os.name == "nt", reason="writes relative to a directory: POSIX")
def test_a_folder_swapped_for_a_link_between_the_check_and_the_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export FILE`, `schema --output`: the folders are checked, then a user who can write
    where the file goes swaps one of them for a link to theirs; the write goes through the
    folders as checked, or not at all (never into the link's target)."""
    from metaflow_config._sources import writes

    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    real_prepare = writes._prepare

    def swapped(path: str, home: str | None) -> str:
        target = real_prepare(path, home)  # checked as it is now
        out.rename(tmp_path / "work" / "moved")
        out.symlink_to(theirs, target_is_directory=True)  # and swapped since
        return target

    monkeypatch.setattr(writes, "_prepare", swapped)
    with pytest.raises(ConfigError, match="found out replaced \\(by a link, or removed\\) since"):
        write_text_atomic(out / "schema.json", "{}")
    assert entries(theirs) == []
    assert entries(tmp_path / "work" / "moved") == []


def test_a_missing_home_is_created_private_and_written(tmp_path: Path) -> None:
    """A home that does not exist yet is made (0700) and the write goes ahead."""
    home = tmp_path / "new" / "home"
    write_json_atomic(home / "config.json", {"A": 1}, home=home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_owners_are_not_checked_on_windows(
    home: Path, foreign: Foreign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.name == "nt": owners and modes are not POSIX there (as the layers' mode warning)."""
    target = home / "config.json"
    target.write_text("{}")
    foreign(target)
    home.chmod(0o777)
    monkeypatch.setattr(os, "name", "nt")
    assert check_writable(target, home=home) == str(target)


# --- the lock and the temporary file ----------------------------------------------------------


def test_no_lock_file_is_left(home: Path) -> None:
    """Writes and removals lock the home itself: nothing but the profile is ever in it."""
    update_json(home / "config_prod.json", lambda doc: {"A": 1}, home=home)
    assert entries(home) == ["config_prod.json"]
    remove_file(home / "config_prod.json", home=home)
    assert entries(home) == []


def test_a_directory_another_user_owns_is_refused_before_it_is_opened(
    tmp_path: Path, foreign: Foreign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a home to check, the directory to lock is checked first: never opened."""
    directory = tmp_path / "theirs"
    directory.mkdir()
    foreign(directory)
    opened: list[str] = []
    real_open = os.open

    def spy(path: str, flags: int, *args: int, **kwargs: int) -> int:
        opened.append(os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    with (
        pytest.raises(ConfigError, match="a directory of your own to lock, found one owned by"),
        locked(directory / "config.json"),
    ):
        pass
    assert str(directory) not in opened
    assert entries(directory) == []


@pytest.mark.usefixtures("cannot_lock_a_directory")
def test_a_lock_file_that_is_a_link_is_refused_not_followed(home: Path, tmp_path: Path) -> None:
    """config.json.lock -> elsewhere: opened with O_NOFOLLOW, refused; nothing is created."""
    victim = tmp_path / "victim"
    (home / "config.json.lock").symlink_to(victim)
    with pytest.raises(ConfigError, match="lock file of your own, found a symbolic link"):
        update_json(home / "config.json", lambda doc: {"A": 1}, home=home)
    assert not victim.exists()
    assert entries(home) == ["config.json.lock"]


@pytest.mark.usefixtures("cannot_lock_a_directory")
def test_a_lock_file_another_user_owns_is_refused(tmp_path: Path, foreign: Foreign) -> None:
    """Their lock file: they could hold it forever, or it is not a lock at all."""
    lock = tmp_path / "config.json.lock"
    lock.write_text("")
    foreign(lock)
    with (
        pytest.raises(ConfigError, match="lock file of your own, found one owned by"),
        locked(tmp_path / "config.json"),
    ):
        pass


def test_the_temporary_file_is_new_and_beside_the_target(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The content goes to a file made O_CREAT | O_EXCL | O_NOFOLLOW in the target's directory
    (by its path, or within the directory's descriptor)."""
    opened: list[tuple[str, int, tuple[int, int]]] = []
    real_open = os.open

    def spy(path: str, flags: int, *args: int, **kwargs: int) -> int:
        dir_fd = kwargs.get("dir_fd")
        where = os.stat(os.path.dirname(path) or ".") if dir_fd is None else os.fstat(dir_fd)
        opened.append((os.fspath(path), flags, (where.st_dev, where.st_ino)))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    write_json_atomic(home / "config.json", {"A": 1}, home=home)
    temps = [t for t in opened if os.path.basename(t[0]).startswith(".config.json.")]
    assert len(temps) == 1
    _, flags, where = temps[0]
    assert where == (home.stat().st_dev, home.stat().st_ino)  # the target's directory
    must = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    assert flags & must == must


# --- removing ---------------------------------------------------------------------------------


def test_remove_takes_the_link_and_locks_its_directory(home: Path, tmp_path: Path) -> None:
    """reset of a link to a file outside the home: the link goes; nothing is made out there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.json").write_text("{}")
    link = home / "config.json"
    link.symlink_to(outside / "p.json")
    assert remove_file(link, home=home) is True
    assert entries(home) == []
    assert entries(outside) == ["p.json"]


def test_remove_in_a_home_others_may_write_to_is_refused(home: Path) -> None:
    """The directories are checked as for a write."""
    (home / "config.json").write_text("{}")
    home.chmod(0o777)
    with pytest.raises(ConfigError, match="writable by others"):
        remove_file(home / "config.json", home=home)
    assert (home / "config.json").exists()


# --- the commands -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["configure", "aws", "-y", "--set", "BATCH_JOB_QUEUE=q"], id="configure"),
        pytest.param(["import", "in.json", "-y"], id="import"),
    ],
)
def test_commands_refuse_a_planted_profile_link_before_anything(
    args: list[str],
    tmp_path: Path,
    foreign: Foreign,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue, end to end: a sticky world-writable home, a link another user planted."""
    home = tmp_path / "shared-home"
    home.mkdir()
    home.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (home / "config.json").symlink_to(victim)
    foreign(home / "config.json")
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    write_json(Path("in.json"), {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    result = invoke(*args)
    assert result.exit_code == 1
    assert "found a symbolic link owned by" in result.stderr
    assert result.stdout == ""  # refused before a question, a diff or "written"
    assert victim.read_text() == "precious\n"
    assert entries(home) == ["config.json"]


def test_the_wizard_refuses_before_its_first_question(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interactive: the refusal comes first, so no answer is typed in vain."""
    home.chmod(0o777)
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    result = invoke("configure", "aws", input="y\n")
    assert result.exit_code == 1
    assert "writable by others" in result.stderr
    assert "Configure" not in result.stdout


def test_export_refuses_a_planted_link(
    tmp_path: Path, home: Path, foreign: Foreign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export FILE where FILE is another user's link: refused before the overwrite question."""
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    write_json(home / "config.json", {"METAFLOW_BATCH_JOB_QUEUE": "q"})
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "backup.json"
    link.symlink_to(victim)
    foreign(link)
    result = invoke("export", str(link))
    assert result.exit_code == 1
    assert "found a symbolic link" in result.stderr
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("command", [["export"], ["schema", "--output"]])
def test_a_file_named_on_the_command_line_is_not_written_through_ones_own_link(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A cloned repository's link is the cloner's own: ``export backup.json`` (the profile,
    secrets in the clear) or ``schema -o`` is not written where it points, nor asked about."""
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    write_json(home / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": "sekrit-4242"})
    victim = tmp_path / "bashrc"
    victim.write_text("precious\n")
    for name, target in (("backup.json", victim), ("new.json", tmp_path / "elsewhere.json")):
        link = tmp_path / name
        link.symlink_to(target)
        result = (
            invoke(*command, str(link), "--yes")
            if command == ["export"]
            else invoke(*command, str(link))
        )
        assert result.exit_code == 1, result.output
        assert "found a symbolic link to" in result.stderr
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "elsewhere.json").exists()


@pytest.mark.parametrize("named", ["out/backup.json", "sub/../out/backup.json", "{repo}/out/x"])
def test_a_file_named_on_the_command_line_is_not_written_through_a_linked_directory(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    """A cloned repository's directory link (``out -> ~/.ssh``) is not followed either, however
    the path reaches it; a link above the working directory (the user's own ``/tmp``) is."""
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    write_json(home / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": "sekrit-4242"})
    repo, private = tmp_path / "repo", tmp_path / "private"
    (repo / "sub").mkdir(parents=True)
    private.mkdir()
    (repo / "out").symlink_to(private, target_is_directory=True)
    monkeypatch.chdir(repo)
    result = invoke("export", named.format(repo=repo), "--yes")
    assert result.exit_code == 1, result.output
    assert f"found a symbolic link to {private}/" in result.stderr
    assert f"(the directory {repo / 'out'} is one)" in result.stderr
    assert list(private.iterdir()) == []
    above = tmp_path / "above"
    above.symlink_to(tmp_path / "private", target_is_directory=True)
    assert invoke("export", str(above / "ok.json"), "--yes").exit_code == 0
    assert (private / "ok.json").exists()


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_export_never_replaces_what_is_not_a_regular_file(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A named pipe, a socket, a device (``/dev/null`` as root) is refused: the atomic write
    would replace the node with a file holding the profile, secrets in the clear."""
    import socket

    monkeypatch.setenv("METAFLOW_HOME", str(home))
    write_json(home / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": "sekrit-4242"})
    target = tmp_path / "f.json"
    with socket.socket(socket.AF_UNIX) as sock:
        if kind == "fifo":
            os.mkfifo(target)
        else:
            sock.bind(str(target))
        result = invoke("export", str(target), "--yes")
    assert result.exit_code == 1, result.output
    assert f"found a {'named pipe' if kind == 'fifo' else 'socket'}" in result.stderr
    assert not stat.S_ISREG(os.lstat(target).st_mode)
