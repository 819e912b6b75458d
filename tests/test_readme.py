"""The README is the manual: its commands are what CI runs, its examples and commands run.

Python blocks run in this process, in an isolated, unconfigured environment. Shell blocks
(```sh) after Quick start run as a new user runs them: with ``bash -euo pipefail``, in a fresh
home and an empty working directory, the environment's ``bin`` first on ``PATH``, no
``METAFLOW_*`` or ``AWS_*`` variable. A block whose first line is ``# not run (...)``, or a
command whose comment says ``# not run (...)``, is left out; ``# -> TEXT`` after a command is
the whole of what it prints. Quick start's two commands are what CI runs (``.ci/run``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_QUICK_START_END = README.index("\n## ", README.index("## Quick start"))


def _sh_blocks() -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", README, re.S)]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_quick_start_has_exactly_two_commands() -> None:
    """The Quick start section gives one run command and one test command."""
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick, re.S)
    assert len(blocks) == 2
    run, test = (b.strip() for b in blocks)
    assert run.endswith("python -m metaflow_config")
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls README's test command verbatim."""
    test_command = _sh_blocks()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_ci_runs_the_slow_tests_on_the_oldest_and_newest(pytestconfig: pytest.Config) -> None:
    """README's command leaves the slow tests out; CI's whole runs ask for them with ``--slow``."""
    from tests.conftest import SLOW_OPTION, _runs_slow

    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f'suite "$version" {SLOW_OPTION}' in run
    assert "-m slow" in run  # the main Python's own slow run, where it is the oldest or newest
    assert f"pytest -q {SLOW_OPTION}" in README
    args = pytestconfig.invocation_params.args
    if not any(arg.startswith((SLOW_OPTION, "-m", "-k")) or "::" in arg for arg in args):
        assert not _runs_slow(pytestconfig)  # a plain `pytest -q`, as README's command is


def test_a_test_named_by_node_id_runs_and_the_others_slow_ones_stay_out() -> None:
    """``pytest tests/test_pod_literals.py tests/test_cli.py::test_version`` ran every slow
    test of the first file too (review trial): only the test named is asked for."""
    import subprocess
    import sys

    named = ["tests/test_pod_literals.py", "tests/test_cli.py::test_version"]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *named],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    collected = [line for line in out.splitlines() if "::" in line]
    assert collected == ["tests/test_cli.py::test_version"], out


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_examples_run(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each python example of the README runs in an isolated, unconfigured environment."""
    block = _python_blocks()[index]
    if block.lstrip().startswith("# not run"):
        pytest.skip("example marked `# not run` (needs AWS or a real flow)")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"README.md python block {index}", "exec"), {"__name__": "readme"})  # noqa: S102


# --- shell blocks -----------------------------------------------------------------------------


class Command(NamedTuple):
    """One command of a shell block: its text (continued lines joined) and what it prints."""

    text: str
    expected: str | None


#: ``# -> TEXT``: the command prints TEXT
_EXPECTED = re.compile(r"\s#\s+->\s+(.*)$")
_NOT_RUN = "# not run ("
#: printed before each command, to cut the block's output by command
_MARK = "@@readme-command {}@@"
_MARKS = re.compile(r"\n@@readme-command (\d+)@@\n")


def _later_sh_blocks() -> list[tuple[int, str]]:
    """Each ``sh`` block after Quick start, with the README line its fence opens on."""
    return [
        (README.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(r"```sh\n(.*?)```", README, re.S)
        if m.start() > _QUICK_START_END
    ]


def _commands(block: str) -> list[Command]:
    """The commands of a block, without comment lines and the commands marked not run."""
    logical: list[str] = []
    pending = ""
    for line in block.splitlines():
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"a block ends in a continued line: {pending!r}"
    commands = []
    for line in logical:
        text = line.strip()
        if not text or text.startswith("#") or _NOT_RUN in text:
            continue
        found = _EXPECTED.search(text)
        commands.append(Command(text, None if found is None else found.group(1).strip()))
    return commands


def _fresh_environment(root: Path) -> dict[str, str]:
    """What a new user's shell has after activating the venv: no Metaflow or AWS settings."""
    home = root / "home"
    home.mkdir()
    env = {
        k: os.environ[k] for k in ("USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ
    }
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no credentials from an instance either
    return env


def test_shell_block_parsing() -> None:
    """Continued lines are joined; comments, `# not run` commands and `# -> TEXT` are read."""
    block = (
        "# a comment\n"
        "first --a \\\n    --b   # -> out put\n"
        "skipped   # not run (needs AWS credentials)\n"
        "\n"
        "last\n"
    )
    assert _commands(block) == [
        Command("first --a     --b   # -> out put", "out put"),
        Command("last", None),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("block", [pytest.param(b, id=f"line-{n}") for n, b in _later_sh_blocks()])
def test_shell_blocks_run_as_written(block: str, tmp_path: Path) -> None:
    """Each command of each sh block after Quick start succeeds and prints what README shows."""
    if block.lstrip().startswith(_NOT_RUN):
        pytest.skip(block.lstrip().splitlines()[0].lstrip("# "))
    if shutil.which("bash") is None:
        pytest.skip("no bash on this machine")
    commands = _commands(block)
    script = "\n".join(
        f"printf '\\n%s\\n' '{_MARK.format(i)}'\n{c.text}" for i, c in enumerate(commands)
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=_fresh_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    parts = _MARKS.split("\n" + proc.stdout)
    outputs = dict(zip((int(i) for i in parts[1::2]), parts[2::2]))
    if proc.returncode != 0:
        last = max(outputs, default=0)
        pytest.fail(
            f"README command failed (exit status {proc.returncode}): {commands[last].text}\n"
            f"stdout: {outputs.get(last, '')}\nstderr: {proc.stderr}"
        )
    assert sorted(outputs) == list(range(len(commands)))
    for i, command in enumerate(commands):
        if command.expected is not None:
            assert outputs[i].strip() == command.expected, command.text


# --- README's flow test ---------------------------------------------------------------------


def _project_files() -> dict[str, str]:
    """README's python blocks that are files of a project: named on their first comment line."""
    files = {}
    for block in _python_blocks():
        named = re.match(r"(?:# not run \(.*\)\n)?# (\w+\.py)\n", block)
        if named:
            files[named.group(1)] = block
    return files


@pytest.mark.slow
def test_readme_flow_test_passes_as_written(tmp_path: Path) -> None:
    """README's flow.py and its test, side by side in a folder, pass under pytest run there."""
    files = _project_files()
    for name in ("flow.py", "test_flow.py"):
        (tmp_path / name).write_text(files[name], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=_fresh_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tests = len(re.findall(r"^def test_", files["test_flow.py"], re.M))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"^{tests} passed\b", proc.stdout, re.M), proc.stdout


# --- the command table ------------------------------------------------------------------------


def _table_synopses() -> dict[str, str]:
    """Each command of README's command table with what its first cells say it takes."""
    section = README.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    synopses: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        for span in re.findall(r"`([^`]+)`", first_cell):
            words = span.split()
            name = " ".join(words[:2]) if words[0] == "configure" else words[0]
            synopses[name] = f"{synopses.get(name, '')} {span}"
    return synopses


def _cli_commands() -> dict[str, list[list[str]]]:
    """Each command of the command line with the names of each of its options.

    ``configure``'s subcommands that are top-level commands too (``configure show``) are left out.
    """
    import click

    from metaflow_config.cli import cli

    found: dict[str, list[list[str]]] = {}
    for name, command in cli.commands.items():
        subcommands = command.commands if isinstance(command, click.Group) else {name: command}
        for sub, cmd in subcommands.items():
            if cmd is not command and cli.commands.get(sub) is cmd:
                continue  # `configure show` is `show`
            key = name if cmd is command else f"{name} {sub}"
            found[key] = [
                [*p.opts, *p.secondary_opts] for p in cmd.params if isinstance(p, click.Option)
            ]
    return found


#: Commands whose row in README's command table is known not to list every option (strict: once
#: the row lists them, these cases fail until they are taken out of this set).
_INCOMPLETE_ROWS: set[str] = set()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(
                name in _INCOMPLETE_ROWS, reason="row lacks -p/--yes", strict=True
            ),
        )
        for name in _cli_commands()
    ],
)
def test_command_table_lists_every_option(command: str) -> None:
    """README's command table has a row for each command, naming each option it takes."""
    synopsis = _table_synopses().get(command)
    assert synopsis is not None, f"README's command table has no row for {command}"
    missing = [
        "/".join(names)
        for names in _cli_commands()[command]
        if not any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", synopsis) for n in names)
    ]
    assert missing == [], f"README's row for {command} does not list {missing}"
