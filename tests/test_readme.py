"""The README is the manual: its commands are what CI runs, its examples run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


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


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_examples_run(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each python example of the README runs in an isolated, unconfigured environment."""
    block = _python_blocks()[index]
    if block.lstrip().startswith("# not run"):
        pytest.skip("example marked `# not run` (needs AWS or a real flow)")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"README.md python block {index}", "exec"), {"__name__": "readme"})  # noqa: S102
