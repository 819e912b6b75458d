"""Test isolation: no test reads the developer's ~/.metaflowconfig, cwd or METAFLOW_* env."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.database import DirectoryBasedExampleDatabase

from metaflow_config.testing import isolated_process

# The fixtures of the live checks (tests/test_checks_*.py), kept in a module of their own; importing
# fixtures into test modules is what pytest advises against.
pytest_plugins = ["tests._checks_fixtures"]
# Helper modules that assert: pytest rewrites their asserts as in test modules (failure details).
pytest.register_assert_rewrite(
    "tests._checks_helpers", "tests._differential", "tests._remote_helpers"
)

# Hypothesis budgets: "ci" (the default) keeps the suite fast; "dev" digs deeper; "fuzz" is the
# long run of tests/test_fuzz.py (see README "Guarantees"). Pick one with HYPOTHESIS_PROFILE.
# No deadline: a resolution reads files, and a slow disk is not a bug.
# Failing examples of the longer runs are kept in .hypothesis/ at the repository root (tests
# run in temporary working directories).
_EXAMPLES = DirectoryBasedExampleDatabase(Path(__file__).parent.parent / ".hypothesis" / "examples")
# CI is reproducible: the same examples on every run (a failure there is one a rerun shows
# again); `dev` and `fuzz` explore new ones and keep what they find.
hypothesis_settings.register_profile(
    "ci", max_examples=40, deadline=None, database=None, derandomize=True
)
hypothesis_settings.register_profile("dev", max_examples=300, deadline=None, database=_EXAMPLES)
hypothesis_settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    deadline=None,
    database=_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


#: What runs the tests marked slow too (README: the test command runs the others)
SLOW_OPTION = "--slow"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--slow``: also run the tests marked slow (real flows, subprocess batteries)."""
    parser.addoption(
        SLOW_OPTION,
        action="store_true",
        help="also run the tests marked slow: real flows with the metaflow package, subprocess "
        "batteries, pseudo-terminals (several minutes more)",
    )


def _runs_slow(config: pytest.Config) -> bool:
    """Whether this run takes every test marked slow: asked with ``--slow``, ``-m`` or ``-k``.

    A marker or keyword expression (``-m slow``, ``-m "not slow"``, ``-k kubernetes``) selects
    as written. A test named by its node id runs as asked too (:func:`_named`).
    """
    return any(config.getoption(option) for option in (SLOW_OPTION, "markexpr", "keyword"))


def _named(config: pytest.Config) -> list[tuple[Path, str]]:
    """The tests named by node id in the arguments (``tests/test_x.py::test_y``): path, rest."""
    here = config.invocation_params.dir
    named = []
    for arg in config.args:
        path, sep, rest = str(arg).partition("::")
        if sep:
            named.append(((here / path).resolve(), rest))
    return named


def _asked_for(item: pytest.Item, named: list[tuple[Path, str]]) -> bool:
    """Whether ``item`` is (under) a test named by its node id."""
    test = item.nodeid.partition("::")[2]
    return any(
        item.path.resolve() == path and (test == rest or test.startswith((rest + "::", rest + "[")))
        for path, rest in named
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests marked slow unless the run takes them (:func:`_runs_slow`).

    A test named by its node id runs, slow or not; the other tests of the run are left out
    as without it (``tests/test_a.py tests/test_b.py::test_x``: test_a's slow ones are).
    """
    if _runs_slow(config):
        return
    named = _named(config)
    slow = [
        item
        for item in items
        if item.get_closest_marker("slow") is not None and not _asked_for(item, named)
    ]
    if slow:
        kept = set(map(id, slow))
        items[:] = [item for item in items if id(item) not in kept]
        config.hook.pytest_deselected(items=slow)
        config.stash[_LEFT_OUT] = len(slow)


_LEFT_OUT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say how many slow tests were left out, and how to run them."""
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"{left_out} tests marked slow were left out (real flows, subprocess batteries): "
            f"{SLOW_OPTION} runs them too"
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, saying why, where installed distributions register sections.

    The suite installs its own sections where it needs them, and uses names such as
    ``METAFLOW_ACME_*`` (README's example section) as names no section registers: with README's
    example installed in the same environment, a dozen tests would fail for no fault of the
    code. It runs in an environment of its own (README's test command makes one).
    """
    from metaflow_config import ConfigError
    from metaflow_config._sources import sections

    try:
        found = sorted({section.origin for section in sections.registry().values()})
    except ConfigError as exc:
        found = [problem.setting for problem in exc.problems]
    sections.reset()
    if found:
        names = sorted(
            {
                origin.removeprefix("section ").partition(": entry point")[0]
                for origin in found
                if ": entry point" in origin
            }
        )
        uninstall = (
            f" ({shlex.join([sys.executable, '-m', 'pip', 'uninstall', '-y', *names])})"
            if names
            else ""
        )
        pytest.exit(
            "the test suite needs an environment where no installed distribution registers a "
            f"section (entry point group metaflow_config.sections); found: {'; '.join(found)}. "
            "Run it in a virtual environment of its own (README: the test command), or "
            f"uninstall those distributions there{uninstall}.",
            returncode=3,
        )


@pytest.fixture(autouse=True)
def _isolate(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Clear METAFLOW_*, point METAFLOW_HOME at an empty temp dir, run in an empty temp cwd."""
    home = tmp_path_factory.mktemp("mfhome")
    work = tmp_path_factory.mktemp("work")
    with isolated_process(monkeypatch, home=home, cwd=work):  # the plugin's isolation
        yield


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port) for the whole session: its endpoint URL.

    Batch jobs are only recorded (no Docker). Never real AWS: see ``aws_env``.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _moto_api(url, "config", {"batch": {"use_docker": False}})
    try:
        yield url
    finally:
        server.stop()


def _moto_api(url: str, path: str, body: Any) -> None:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        f"{url}/moto-api/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1
        response.read()


@pytest.fixture
def aws_env(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Fake credentials and region for boto3, no AWS config files, a reset moto: its URL."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    _moto_api(moto_server, "reset", {})
    return moto_server


@pytest.fixture
def cannot_lock_a_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system where ``flock`` of a directory fails, as NFS's does (EBADF)."""
    import errno
    import fcntl
    import stat

    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EBADF, "Bad file descriptor")
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Fake the account database: the test's user ``me`` (its uid, its primary gid), whose group
    (any gid asked for) is named ``group`` and lists ``members``; ``primary_of`` are other users
    whose primary group is the user's. ``accounts()`` is a user private group (``useradd``'s)."""
    import grp
    import pwd

    from metaflow_config._sources.profiles import _private_group

    _private_group.cache_clear()  # what the real database said, or another test's fake

    def use(
        *, group: str = "me", members: tuple[str, ...] = (), primary_of: tuple[str, ...] = ()
    ) -> None:
        def user(name: str, uid: int) -> pwd.struct_passwd:
            return pwd.struct_passwd((name, "x", uid, os.getgid(), "", "/nonexistent", "/bin/sh"))

        others = [user(name, 5000 + i) for i, name in enumerate(primary_of)]
        monkeypatch.setattr(
            grp, "getgrgid", lambda gid: grp.struct_group((group, "x", gid, list(members)))
        )
        monkeypatch.setattr(pwd, "getpwuid", lambda uid: user("me", uid))
        monkeypatch.setattr(pwd, "getpwall", lambda: [user("me", os.getuid()), *others])
        _private_group.cache_clear()

    yield use
    _private_group.cache_clear()


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` (creating parents, mode 0600) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Run ``metaflow-config ARGS`` in-process (stdin from ``input``): the click ``Result``.

    The one way the tests run the command line; an unexpected exception fails the test, not
    the command (``SystemExit`` is the exit status).
    """
    from metaflow_config.cli import cli

    return cli_runner().invoke(
        cli, list(args), input=input, env=env, catch_exceptions=False, prog_name="metaflow-config"
    )


def complete(words: str) -> list[str]:
    """What bash's completion gets from the command for the last word of ``words``."""
    from metaflow_config.cli import cli

    env = {
        "_METAFLOW_CONFIG_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    result = cli_runner(env=env).invoke(cli, [], prog_name="metaflow-config")
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def cli_runner(**kwargs: Any) -> Any:
    """A click ``CliRunner`` with stderr captured apart on every click (8.1 needs mix_stderr)."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False, **kwargs)  # click 8.1 (the last for Python 3.9)
    except TypeError:
        return CliRunner(**kwargs)  # click >= 8.2 always keeps stderr apart
