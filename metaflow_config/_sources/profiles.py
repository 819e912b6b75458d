"""Where the files of a configuration are: profiles in ``METAFLOW_HOME``, the project's file.

A profile is ``config.json`` (the default) or ``config_<name>.json`` in ``METAFLOW_HOME``
(:func:`profile_path`, :func:`list_profiles`); the project's file is ``.metaflow/config.json`` in
the nearest ``.metaflow`` directory at or above the working directory (:func:`find_local_config`).
The problems of a missing profile and of a home that is a file are said here, alike for the
resolver and the commands that write a profile.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from itertools import islice

from .._model.fields import PREFIX
from ..errors import Problem

__all__ = [
    "DEFAULT_LISTED",
    "PROJECT_VAR",
    "find_local_config",
    "home_is_a_file",
    "linked_entries",
    "list_profiles",
    "missing_profile",
    "nearest_profile",
    "on_read_only_mount",
    "others_can_swap",
    "others_can_write",
    "profile_flag",
    "profile_flag_of",
    "profile_path",
    "unnamed_profiles",
    "writable_by",
    "written_by_others",
]

_PROFILE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}"  # compiled by re when a profile is named


def profile_path(home: str, profile: str | None) -> tuple[str, list[Problem]]:
    """The profile file for ``profile`` under ``home``, or problems if the name is unsafe."""
    if not profile:
        return os.path.join(home, "config.json"), []
    if not _is_profile_name(profile):
        expected = "a profile name of letters, digits, '_', '-' and '.' (no '/', '..', NUL)"
        inner = profile.strip()
        if inner != profile and _is_profile_name(inner):  # a blank pasted, a Windows line end
            from .._display import around

            expected += around(profile, inner)
        return "", [
            Problem.bad_value(
                "METAFLOW_PROFILE",
                "profile",
                "METAFLOW_PROFILE",
                value=repr(profile),
                expected=expected,
                fix=f"use a plain name; profiles are files config_<name>.json in {home}",
            )
        ]
    return os.path.join(home, f"config_{profile}.json"), []


def list_profiles(home: str) -> list[str]:
    """The named profiles under ``home``: the ``<name>`` of each ``config_<name>.json``.

    Not the default profile, ``config.json``, which no name selects: ``-p default`` and
    ``METAFLOW_PROFILE=default`` select ``config_default.json``, as Metaflow reads them.
    Only a name :func:`profile_path` takes: a file no name selects here (``config_a b.json``,
    ``config_.json``) is one of :func:`unnamed_profiles`.
    """
    return [name for name in _profile_names(home) if _is_profile_name(name)]


def unnamed_profiles(home: str) -> list[str]:
    """The files ``config_<name>.json`` under ``home`` that no profile name selects here.

    Metaflow reads any name (``METAFLOW_PROFILE="a b"``); a name here holds only letters,
    digits, ``_``, ``-`` and ``.`` (no ``/`` nor ``..``: it names a file under ``home``).
    """
    return [f"config_{name}.json" for name in _profile_names(home) if not _is_profile_name(name)]


def _profile_names(home: str) -> list[str]:
    """The ``<name>`` of each ``config_<name>.json`` under ``home``, sorted."""
    return [n[7:-5] for n in listed(home) if n.startswith("config_") and n.endswith(".json")]


def listed(folder: str) -> list[str]:
    """The names in ``folder``, sorted; nothing where it cannot be listed.

    A bounded look (:data:`MAX_ENTRIES`), as every look at a folder this package does not own
    (a home anyone could fill, a ``sys.path`` entry).
    """
    try:
        with os.scandir(folder) as entries:
            return sorted(entry.name for entry in islice(entries, MAX_ENTRIES))
    except (OSError, ValueError):
        return []


def misnamed_profiles(home: str, profile: str | None = None) -> list[tuple[str, str]]:
    """The files under ``home`` named nearly as a profile is, each with the profile meant.

    A profile is read from ``config_<name>.json`` exactly: ``config-prod.json``,
    ``config.prod.json``, ``config_prod.JSON`` (an editor's case), ``config_prod.json.txt``
    (an editor's extension) are read by no one. With ``profile``, the files meant for it,
    ``prod.json`` too (the profile's own name and ``.json``), ``config.json``'s near misses for
    the default (``""``). Bounded as every look at a folder (``MAX_ENTRIES``).
    """
    found = []
    for name in listed(home):
        meant = _meant_profile(name, bare=profile is not None)
        if meant is None or (profile is not None and meant != profile):
            continue
        read = os.path.join(home, f"config_{meant}.json" if meant else "config.json")
        try:  # a file system blind to case (macOS) reads config_prod.JSON as config_prod.json
            if os.path.samefile(read, os.path.join(home, name)):
                continue
        except (OSError, ValueError):
            pass
        found.append((name, meant))
    return found


def _meant_profile(name: str, *, bare: bool) -> str | None:
    """The profile a file ``name`` was meant to be (``""``: the default), if it is near one.

    ``bare``: a name's own ``.json`` (``prod.json``) counts too.
    """
    stem = name[:-4] if name.lower().endswith(".txt") else name
    if not stem.lower().endswith(".json") or name in ("config.json", "trusted.json"):
        return None
    stem = stem[:-5]
    if stem.lower() == "config":
        return ""
    if stem.lower().startswith("config") and stem[6:7] in ("_", "-", "."):
        meant = stem[7:]
        return None if name == f"config_{meant}.json" or not meant else meant
    return stem if bare and stem else None


def _is_profile_name(name: str) -> bool:
    """Whether :func:`profile_path` takes ``name`` as a profile's name."""
    return re.fullmatch(_PROFILE_NAME, name) is not None and ".." not in name


#: How the default profile is listed beside the named ones.
DEFAULT_LISTED = "config.json (the default)"


def missing_profile(
    home: str,
    profile: str,
    path: str,
    source: str = "METAFLOW_PROFILE",
    home_source: str = "METAFLOW_HOME",
    *,
    create: bool = True,
) -> Problem:
    """The problem of a named profile whose file does not exist, and what to do instead.

    Says when ``METAFLOW_HOME`` itself does not exist, lists the profiles that do, and names
    the profile meant when a file name was given for it (``config_prod.json``, ``prod.json``).
    ``source`` is where the name came from, which the fix names: ``METAFLOW_PROFILE``,
    ``profile=`` (of ``load()`` or ``override()``), or a command-line argument (``-p/--profile``);
    ``home_source`` where the home came from (``METAFLOW_HOME``, or ``home=``). ``create``:
    whether making it is a way out (not for ``reset``, which would remove it again).
    """
    existing = list_profiles(home) if os.path.isdir(home) else []
    listed = existing
    if os.path.lexists(os.path.join(home, "config.json")):
        listed = [DEFAULT_LISTED, *existing]
    default_home = home == os.path.expanduser(DEFAULT_HOME)
    if not os.path.isdir(home):
        where = (
            f"{home}, the default home, which does not exist (nothing is configured here yet)"
            if default_home
            else f"{home}, which does not exist ({home_source})"
        )
    else:
        where = f"{home} (profiles there: {', '.join(listed) if listed else 'none'})"
    fix = _ways_out(profile, home, source, home_source, existing, listed, create=create)
    near = nearest_profile(profile, existing)
    if near is not None:  # a typo of one that exists: said first
        fix = f"did you mean {near}? ({_given(source, near)}); or {fix}"
    misnamed = misnamed_profiles(home, profile) if os.path.isdir(home) else []
    if misnamed:  # the file written for it, under a name no one reads: said first
        from .._display import shell_quote

        file = misnamed[0][0]
        target = os.path.join(home, f"config_{profile}.json")
        fix = (
            f"{file} there looks like it, but the profile is read from config_{profile}.json "
            f"only: rename it (mv {shell_quote(os.path.join(home, file))} "
            f"{shell_quote(target)}); or {fix}"
        )
    meant = file_named_profile(profile)
    if meant == "config" or profile == "default":  # config.json: the default profile
        fix = 'config.json is the default profile: leave the profile out (or give "")'
        if profile == "default":
            fix += "; a profile named default is a file config_default.json, as Metaflow reads it"
    elif meant not in ("", profile):
        fix = f"name the profile without config_ and .json: {meant} ({_given(source, meant)})"
        if not os.path.lexists(profile_path(home, meant)[0]):
            fix += f", and create it with `metaflow-config configure aws --profile {meant}`"
    return Problem.bad_value(
        "profile=" if source == "profile=" else "METAFLOW_PROFILE",  # where the name was given
        "profile",
        path,
        value=repr(profile),
        expected=f"an existing profile in {where}",
        fix=fix,
    )


def file_named_profile(profile: str) -> str:
    """The profile meant where its file's name was given; ``profile`` itself otherwise.

    ``config_prod.json``, ``prod.json`` and ``config_prod`` mean ``prod``; ``config`` (or
    ``config.json``) is what the default profile's file is named.
    """
    meant = profile.removesuffix(".json")
    return meant[len("config_") :] if meant.startswith("config_") else meant


def _ways_out(  # noqa: PLR0917 - what missing_profile found, passed on
    profile: str,
    home: str,
    source: str,
    home_source: str,
    existing: list[str],
    listed: list[str],
    *,
    create: bool,
) -> str:
    """The fix of a missing named profile: create it (if ``create``), or select another."""
    if not create:  # where it would be removed (reset): another profile, or nothing to do
        if existing:
            return use_existing_profile(source)
        if listed:
            return "the one profile there is the default, config.json: reset it " + _no_name(source)
        return f"there is no profile in {home}: nothing to remove"
    fix = f"create it with `metaflow-config configure aws --profile {profile}`"
    if existing:
        return fix + ", or " + use_existing_profile(source)
    if listed:  # the default profile alone
        return fix + ", or select the default profile, config.json, " + _no_name(source)
    if not os.path.isdir(home):  # a mistyped METAFLOW_HOME, first of all (if one is set)
        fix += ", or use the defaults " + _no_name(source)
        if home != os.path.expanduser(DEFAULT_HOME):
            fix = f"correct {home_source} if it is mistyped; else {fix}"
    return fix


def home_is_a_file(home: str, blocker: str) -> Problem:
    """The problem of a METAFLOW_HOME that is a file (``blocker`` is ``home``) or lies under one.

    Said alike by the resolver (``home`` itself) and by the commands that write a profile.
    """
    same = os.path.abspath(blocker) == os.path.abspath(home)
    fix = "point METAFLOW_HOME at a directory (default ~/.metaflowconfig)"
    if same and os.path.abspath(home) == os.path.abspath(os.path.expanduser(DEFAULT_HOME)):
        # the default home saved as the profile itself: Metaflow alone ignores it, silently
        fix = (
            f"{DEFAULT_HOME} is the folder of the profiles: if the file is a profile, move it "
            f"to {DEFAULT_HOME}/config.json (`mv {DEFAULT_HOME} {DEFAULT_HOME}.json && mkdir -m "
            f"700 {DEFAULT_HOME} && mv {DEFAULT_HOME}.json {DEFAULT_HOME}/config.json`); else "
            "remove it, or point METAFLOW_HOME at a directory"
        )
    return Problem.bad_value(
        "METAFLOW_HOME",
        "profile",
        home,
        expected="a directory, found a file" + ("" if same else f" at {blocker}"),
        fix=fix,
    )


#: Where the profiles are kept when ``$METAFLOW_HOME`` is not set.
DEFAULT_HOME = "~/.metaflowconfig"


def homeless(home: str) -> bool:
    """Whether ``home`` is the default home where ``~`` names no directory of this user's.

    ``$HOME`` unset (or relative) and no entry for the user in the password database: a
    container's user, often. Metaflow alone then reads ``~/.metaflowconfig`` relative to the
    working directory (a cloned repository may hold one); here there is no home: no profile,
    no trust store.
    """
    return not os.path.isabs(home) and home == os.path.expanduser(DEFAULT_HOME)


def code_home(home: str | os.PathLike[str], call: str) -> str:
    """A home given in code (``load(home=...)``, ``override(home=...)``), made absolute.

    As Python reads a path; but one starting with ``~`` where ``~`` names no directory of
    this user's (:func:`homeless`) is refused: made absolute, it would be a folder of the
    working directory, which a cloned repository may hold with a profile of its own.
    """
    text = os.fspath(home)
    expanded = os.path.expanduser(text)
    if text.startswith("~") and not os.path.isabs(expanded):
        from ..errors import ConfigError

        raise ConfigError(
            [
                Problem.bad_argument(
                    f"{call}(home=...)",
                    repr(text),
                    "a directory: '~' names none here ($HOME is unset or relative, or '~user' "
                    "names no user's home)",
                    "pass an absolute directory path",
                )
            ]
        )
    return os.path.abspath(expanded)


def relative_home(home: str) -> Problem | None:
    """The problem of a relative ``$METAFLOW_HOME`` (a folder of each working directory), if so.

    A cloned repository could hold it, with a profile (applied whole, as the user's own) and a
    record of trusted files of its own. Said alike by the resolver and by the commands.
    """
    if os.path.isabs(home):
        return _wrapped_home(home)
    if os.path.isabs(home.strip()):  # a blank before an absolute path: that one is meant
        return _wrapped_home(home, relative=True)
    from .._display import shell_quote

    if home.startswith("~") or homeless(home):  # "~" expands to no absolute directory here
        return Problem.bad_value(
            "METAFLOW_HOME",
            "profile",
            "METAFLOW_HOME" if not homeless(home) else "the default ~/.metaflowconfig",
            value=repr(home),
            expected="a directory: '~' names none here ($HOME is unset or relative, or names "
            "no user's home)",
            fix="set METAFLOW_HOME (or HOME) to an absolute directory path",
        )
    fix = (
        "point METAFLOW_HOME at it by its absolute path: "
        f"export METAFLOW_HOME={shell_quote(os.path.abspath(home))}"
    )
    bare = home.strip("'\"")
    if bare.startswith("$") or "${" in bare or "%" in bare:  # written where nothing expands it
        fix = (
            f"{home} names a variable that was not expanded (a quoted value, a file that sets "
            "variables without a shell): give the path itself, e.g. "
            '`export METAFLOW_HOME="$HOME/.metaflowconfig"` in a shell'
        )
    elif bare != home:  # quotes a file of variables kept (docker --env-file, systemd)
        meant = (
            f"METAFLOW_HOME={shell_quote(os.path.abspath(bare))}"
            if bare
            else "METAFLOW_HOME unset, for ~/.metaflowconfig"
        )
        fix = (
            f"the value holds quotes, which a file of variables keeps (docker --env-file, "
            f"systemd): remove them ({meant})"
        )
    return Problem.bad_value(
        "METAFLOW_HOME",
        "profile",
        "METAFLOW_HOME",
        value=repr(home),
        expected="an absolute directory path (or one starting with ~): a relative one is a "
        "folder of each working directory, which a cloned repository could hold, with a "
        "profile and a record of trusted files of its own",
        fix=fix,
    )


def _wrapped_home(home: str, *, relative: bool = False) -> Problem | None:
    """The problem of a ``$METAFLOW_HOME`` that names its directory only without its ends.

    A line of a file saved on Windows (``METAFLOW_HOME=/home/me/.metaflowconfig`` and a
    carriage return), a value pasted with a blank: the folder meant holds the profile, the one
    named is not there, and every setting of the profile would be dropped without a word. A
    folder that is there as named is taken as it is; a ``relative`` one (a blank before the
    path) is refused anyway.
    """
    inner = home.strip()
    if not relative and (inner == home or os.path.lexists(home) or not os.path.isdir(inner)):
        return None
    from .._display import around, shell_quote

    return Problem.bad_value(
        "METAFLOW_HOME",
        "profile",
        "METAFLOW_HOME",
        value=repr(home),
        expected=f"{'an absolute' if relative else 'an existing'} directory{around(home, inner)}",
        fix=f"export METAFLOW_HOME={shell_quote(inner)}",
    )


def nearest_profile(profile: str, existing: list[str]) -> str | None:
    """The existing profile ``profile`` is a typo of (case, a few edits), if exactly one is."""
    from .near import allowed, distance

    bound = allowed(len(profile))
    near = [p for p in existing if distance(profile.lower(), p.lower(), bound) <= bound]
    return near[0] if len(near) == 1 else None


def use_existing_profile(source: str) -> str:
    """The fix of a missing profile that names one that exists, where the name was given."""
    if source == "METAFLOW_PROFILE":
        return "set METAFLOW_PROFILE to one of the existing profiles"
    if source == "profile=":
        return "pass one of the existing profiles as profile="
    if source.startswith("-"):  # an option
        return f"pass one of the existing profiles to {source}"
    return f"give one of the existing profiles as {source}"  # an argument (diff's PROFILE_A)


def _no_name(source: str) -> str:
    """How the default profile is selected, where the name was given (:func:`missing_profile`)."""
    if source == "METAFLOW_PROFILE":
        return "by unsetting METAFLOW_PROFILE (`unset METAFLOW_PROFILE`)"
    if source == "profile=":
        return 'with profile=""'
    if source.startswith("-"):  # an option
        return f"by leaving out {source}"
    return 'by giving "" as ' + source  # an argument (diff's PROFILE_A): it cannot be left out


def _given(source: str, profile: str) -> str:
    """``profile`` as it is given at ``source`` (see :func:`missing_profile`)."""
    if source == "METAFLOW_PROFILE":
        return f"METAFLOW_PROFILE={profile}"
    if source == "profile=":
        return f"profile={profile!r}"
    return f"--profile {profile}" if source == "-p/--profile" else f"{profile} as {source}"


def find_local_config(cwd: str) -> str | None:
    """``.metaflow/config.json`` of the nearest ``.metaflow`` directory at or above ``cwd``."""
    current = os.path.abspath(cwd)
    while True:
        candidate = os.path.join(current, ".metaflow")
        if os.path.isdir(candidate):
            return os.path.join(candidate, "config.json")
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


#: The variable naming the directory the search for the project file starts from, in place of
#: the working directory (empty or unset: the working directory). The pytest fixture sets it to
#: a temporary project, so that a test and the processes it starts keep their working directory
#: and read no project file of the real tree (``testing.isolated_process``).
PROJECT_VAR = PREFIX + "CONFIG_PROJECT"


def writable_by(info: os.stat_result, path: str | None = None) -> str:
    """Who besides its owner may write to what ``info`` describes: ``everyone``, ``its group``.

    A group-writable entry whose group is its owner's own (a user private group: named after
    the owner, the owner's primary group, with no other member, as ``useradd`` makes one and a
    umask of 002 then makes every new file group-writable) is writable by no one else, unless
    ``path`` (what ``info`` is of) has a POSIX access list: then the group bits are the list's
    mask, which lets the users and groups it names write. Not on Windows (owners and modes are
    not POSIX's there). ``""``: no one.
    """
    mode = info.st_mode & 0o777
    if os.name == "nt" or not mode & 0o022:
        return ""
    if mode & 0o002:
        return "everyone"
    if path is not None and _access_list(path):
        return "the users and groups its access list (ACL) names"
    return "" if _private_group(info.st_gid, info.st_uid) else "its group"


def _access_list(path: str) -> bool:
    """Whether ``path`` has a POSIX access list (ACL) beyond its mode.

    Linux's extended attribute; nothing where the platform has none.
    """
    try:
        return "system.posix_acl_access" in os.listxattr(path)
    except (OSError, ValueError, AttributeError):
        return False


@functools.lru_cache(maxsize=16)
def _private_group(gid: int, uid: int) -> bool:
    """Whether group ``gid`` is user ``uid``'s own and holds no other user.

    Asked once each: the account database is read whole, and every resolution looks at the
    ``.metaflow`` folder.
    """
    import grp
    import pwd

    try:
        group, owner = grp.getgrgid(gid), pwd.getpwuid(uid)
    except (KeyError, OverflowError):
        return False
    if owner.pw_gid != gid or group.gr_name != owner.pw_name:
        return False
    if set(group.gr_mem) - {owner.pw_name}:
        return False
    return all(user.pw_gid != gid or user.pw_uid == uid for user in pwd.getpwall())


def yours(uid: int) -> bool:
    """Whether what ``uid`` owns is the user's to trust: the user's own, or root's."""
    return uid in (os.getuid(), 0)


def planted_by_another(
    target: os.stat_result | None, link: os.stat_result | None = None, path: str | None = None
) -> str:
    """Why a project file of these stats is another's (never trusted), or ``""``.

    Owned by another user (root aside), or a regular file writable by its group or by others;
    ``link``: the symlink found at its path, whose owner counts too; ``path``: where it is,
    whose access list counts (:func:`writable_by`), and so does the owner of the ``.metaflow``
    entry holding it (a folder the user may not even look in, or a link to one). Nothing on
    Windows (owners and modes are not POSIX's there). :func:`written_by_others`'s rule.
    """
    return written_by_others(target, link, path)[0]


def written_by_others(
    target: os.stat_result | None,
    link: os.stat_result | None = None,
    path: str | None = None,
    *,
    home: bool = False,
) -> tuple[str, str]:
    """Who besides the user may write the config file of these stats: why, and the fix.

    The one rule for a file read (``("", "")``: no one): its owner, its symlink's (``link``)
    and the folder's holding it are the user's or root's, and the file is writable by no one
    else (:func:`writable_by`). A project file (``home`` false) so judged is not read; a
    profile (``home``: the folder is its ``METAFLOW_HOME``) is applied, with a warning, and
    its folder also counts when another user may write to it without the sticky bit (they
    may replace the file at will; writes refuse such a home). Nothing on Windows (owners and
    modes are not POSIX's there).
    """
    if os.name == "nt":  # pragma: no cover - POSIX modes and owners only
        return "", ""
    from .._display import shell_quote

    folder_path = None if path is None else os.path.dirname(os.path.abspath(path))
    why, fix = _folder_writers(folder_path, home) if folder_path is not None else ("", "")
    if why:
        return why, fix
    for what, info in (("the symlink", link), ("the file", target)):
        if info is None:
            continue
        if not yours(info.st_uid):
            quoted = shell_quote(path or "")  # the error path only: the quoting compiles
            fix = (
                f"if you did not make it, remove it (`rm {quoted}`); else make it yours "
                f"(`cp {quoted} {quoted}.mine && mv {quoted}.mine {quoted}`)"
            )
            return f"{what} is owned by another user (uid {info.st_uid})", fix
        # a device's mode says who may use it, not who wrote what it holds (the reader refuses it)
        regular = what == "the file" and stat.S_ISREG(info.st_mode)
        who = writable_by(info, path) if regular else ""
        if who and not on_read_only_mount(path):
            mode = info.st_mode & 0o777
            fix = f"run `chmod go-w {shell_quote(path or '')}`"
            return f"the file is writable by {who} (mode {mode:04o})", fix
    return "", ""


def _folder_writers(folder: str, home: bool) -> tuple[str, str]:
    """Why another user may change the folder ``folder`` holding a config file, and the fix.

    Its entry (a link, or the folder) is another user's; for a home (``home``), the folder it
    leads to is another's too, or writable by others without the sticky bit.
    """
    from .._display import shell_quote

    try:
        entry = os.lstat(folder)
        real = os.stat(folder) if home else entry
    except (OSError, ValueError):
        return "", ""
    what = "link" if stat.S_ISLNK(entry.st_mode) else "folder"
    own = "point METAFLOW_HOME at a folder of your own (default ~/.metaflowconfig)"
    if not home:
        if yours(entry.st_uid):
            return "", ""
        return f"the .metaflow {what} holding it is owned by another user (uid {entry.st_uid})", ""
    for info in (entry, real):
        if not yours(info.st_uid):
            return f"METAFLOW_HOME ({folder}) is owned by another user (uid {info.st_uid})", own
    who = writable_by(real, folder)
    if who and not real.st_mode & stat.S_ISVTX and not on_read_only_mount(folder):
        mode = real.st_mode & 0o777
        return (
            f"METAFLOW_HOME ({folder}) is writable by {who} without the sticky bit (mode "
            f"{mode:04o}), who may replace the file",
            f"run `chmod go-w {shell_quote(folder)}`, or {own}",
        )
    return "", ""


def on_read_only_mount(path: str | None) -> bool:
    """Whether ``path`` is on a file system mounted read-only.

    A Kubernetes ConfigMap or Secret volume, a read-only image: its mode bits then let no one
    write, whatever they say.
    """
    if path is None:
        return False
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, ValueError, AttributeError):  # no statvfs (Windows), or not there
        return False


def others_can_write(directory: str) -> str:
    """Why another user can put files in ``directory``, or ``""``: it is the user's alone.

    Another user's (root's aside), or writable by its group (one holding another user) or by
    others: even with the sticky bit, they may create entries in it. Nothing is said of a
    directory that cannot be looked at, nor on Windows (owners and modes are not POSIX's there).
    """
    if os.name == "nt":  # pragma: no cover - POSIX owners and modes only
        return ""
    try:
        info = os.stat(directory)
    except (OSError, ValueError):
        return ""
    if not yours(info.st_uid):
        return f"is owned by another user (uid {info.st_uid})"
    who = writable_by(info, directory)
    return f"is writable by {who} (mode {info.st_mode & 0o777:04o})" if who else ""


def others_can_swap(directory: str) -> str:
    """Why another user can replace ``directory`` by another, or ``""``.

    Its parent is another user's (root's aside), or writable by its group (one holding another
    user) or by others without the sticky bit: they may rename the directory away and put one
    of theirs in its place. Not on Windows.
    """
    if os.name == "nt":  # pragma: no cover - POSIX modes only
        return ""
    parent = os.path.dirname(os.path.abspath(directory))
    try:
        info = os.stat(parent)
    except (OSError, ValueError):
        return ""
    if not yours(info.st_uid):
        return f"is in {parent}, which another user owns (uid {info.st_uid})"
    if writable_by(info, parent) and not info.st_mode & 0o1000:
        return f"is in {parent}, which others can write to without the sticky bit"
    return ""


#: How many entries of a ``.metaflow`` directory :func:`linked_entries` looks at (a resolution
#: looks each time: a folder a repository filled with entries costs no more than this many).
MAX_ENTRIES = 1024


#: Where Metaflow's local datastore writes by name inside a flow's folder: the artifacts
#: (``<flow>/data/<2 hex digits>/<hash>``) and the id of the last run (``<flow>/latest_run``).
_WRITTEN_BY_NAME = ("data", "latest_run")


def linked_entries(directory: str) -> str:
    """What in the ``.metaflow`` folder ``directory`` could send writes elsewhere, or ``""``.

    The symbolic links among its entries, and where Metaflow writes by name in each flow's
    folder: ``<flow>/data``, ``<flow>/latest_run`` and the folders of ``<flow>/data``; said as
    ``holds links to elsewhere (HelloFlow/data -> target)``. At most :data:`MAX_ENTRIES`
    entries of the folder are looked at, and a folder holding more is said as such (a link could
    be past them); below it, at most as many again (a run's own folders are not looked at: their
    names are new).
    """
    try:
        with os.scandir(directory) as entries:
            seen = list(islice(entries, MAX_ENTRIES + 1))
    except (OSError, ValueError):
        return ""
    if len(seen) > MAX_ENTRIES:
        return f"holds more than {MAX_ENTRIES} entries, not all looked at for links"
    links = [e.name for e in seen if e.is_symlink()]
    budget = MAX_ENTRIES
    for flow in sorted(e.name for e in seen if e.is_dir(follow_symlinks=False)):
        for name in _WRITTEN_BY_NAME:
            inner = os.path.join(directory, flow, name)
            if os.path.islink(inner):
                links.append(f"{flow}/{name}")
            elif name == "data" and budget > 0:
                found = _links_in(inner, budget)
                budget -= found[1]
                links.extend(f"{flow}/data/{link}" for link in found[0])
    if not links:
        return ""
    shown = ", ".join(
        f"{name} -> {_target(os.path.join(directory, name))}" for name in sorted(links)[:3]
    )
    return f"holds links to elsewhere ({shown})"


def _links_in(directory: str, most: int) -> tuple[list[str], int]:
    """The links among the first ``most`` entries of ``directory``, and how many were looked at."""
    try:
        with os.scandir(directory) as entries:
            seen = list(islice(entries, most))
    except (OSError, ValueError):
        return [], 0
    return [e.name for e in seen if e.is_symlink()], len(seen)


def _target(link: str) -> str:
    """Where the symbolic link ``link`` points (``?`` when it cannot be read)."""
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def profile_flag(profile: str | None, option: str = "-p") -> str:
    """The ``option`` that names ``profile`` to a command pasted here (`` -p dev``).

    The default profile is ``-p ''`` where ``METAFLOW_PROFILE`` is set (else the command would
    work on the profile it names), and nothing where it is not.
    """
    from .._display import shell_quote

    if profile:
        return f" {option} {shell_quote(profile)}"
    return f" {option} ''" if os.environ.get("METAFLOW_PROFILE") else ""


def profile_flag_of(path: str) -> str:
    """:func:`profile_flag` of the profile whose file is ``path``.

    ``config_NAME.json``, or the default ``config.json``.
    """
    name = os.path.basename(path)
    named = name.startswith("config_") and name.endswith(".json")
    return profile_flag(name[len("config_") : -len(".json")] if named else None)
