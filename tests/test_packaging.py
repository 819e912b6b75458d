"""The installed distribution: Metaflow's loader and type checkers outside the repository see it."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_distribution_declares_its_top_level_names() -> None:
    """Metaflow recognises extension distributions by ``metaflow_extensions`` in top_level.txt."""
    names = (metadata.distribution("metaflow-config").read_text("top_level.txt") or "").split()
    assert sorted(names) == ["metaflow_config", "metaflow_extensions"]


def test_the_distributions_metadata_stays_small() -> None:
    """Metaflow's extension loader parses the METADATA of every extension distribution (its
    name and version, with the email parser) at each ``import metaflow``: every task pays for
    its long description. README.md there (160 KB) cost each task 30 M instructions (3 % of
    Metaflow's own import's); the description is docs/description.md."""
    text = metadata.distribution("metaflow-config").read_text("METADATA") or ""
    assert 0 < len(text.encode()) < 8 * 1024, len(text)
    assert "# metaflow-config" in text  # the description, not README.md


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


@pytest.mark.slow
def test_the_wheel_and_the_sdist_carry_the_license(tmp_path: Path) -> None:
    """The built wheel's metadata names Apache-2.0 and carries LICENSE (and top_level.txt,
    whose file the build hook leaves nowhere once the wheel holds it); the sdist holds it too."""
    pytest.importorskip("hatchling", reason="the build backend, in the test extra")
    build = (
        "import sys; from hatchling.build import build_sdist, build_wheel; "
        "print(build_wheel(sys.argv[1])); print(build_sdist(sys.argv[1]))"
    )
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temporary)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert not list(temporary.iterdir())
    wheel, sdist = (tmp_path / name for name in proc.stdout.split())
    license_text = (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in license_text
    with zipfile.ZipFile(wheel) as zf:
        (info,) = {n.split("/")[0] for n in zf.namelist() if n.endswith(".dist-info/METADATA")}
        meta = HeaderParser().parsestr(zf.read(f"{info}/METADATA").decode("utf-8"))
        assert zf.read(f"{info}/licenses/LICENSE") == license_text
        assert zf.read(f"{info}/top_level.txt") == b"metaflow_config\nmetaflow_extensions\n"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    with tarfile.open(sdist) as tf:
        (top,) = {n.split("/")[0] for n in tf.getnames()}
        member = tf.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read() == license_text
