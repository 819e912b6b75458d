"""The installed distribution: Metaflow's loader and type checkers outside the repository see it."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest


def test_the_distribution_declares_its_top_level_names() -> None:
    """Metaflow recognises extension distributions by ``metaflow_extensions`` in top_level.txt."""
    names = (metadata.distribution("metaflow-config").read_text("top_level.txt") or "").split()
    assert sorted(names) == ["metaflow_config", "metaflow_extensions"]


def test_boto3_is_a_plain_dependency() -> None:
    """boto3 is required without an extra (Metaflow requires it too)."""
    requires = metadata.requires("metaflow-config") or []
    assert any(r.startswith("boto3") and "extra ==" not in r for r in requires), requires


def test_the_editable_install_is_a_path_entry() -> None:
    """No import-hook finder: the package is found on a plain ``sys.path`` entry."""
    import metaflow_config

    root = Path(metaflow_config.__file__).resolve().parent.parent
    assert str(root) in [str(Path(p).resolve()) for p in sys.path if p]
    assert not [m for m in sys.meta_path if "editable" in type(m).__module__]


@pytest.mark.slow
def test_mypy_outside_the_repository_sees_the_types(tmp_path: Path) -> None:
    """``py.typed`` is seen: section values are typed, and a wrong use is an error."""
    (tmp_path / "use.py").write_text(
        "from metaflow_config import settings\n"
        "reveal_type(settings.batch.job_queue)\n"
        "wrong: int = settings.batch.job_queue\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 'Revealed type is "Union[builtins.str, None]"' in proc.stdout or (
        'Revealed type is "str | None"' in proc.stdout
    ), proc.stdout
    assert "use.py:3: error: Incompatible types in assignment" in proc.stdout, proc.stdout
    assert "missing library stubs or py.typed" not in proc.stdout
