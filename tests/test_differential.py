"""Differential test: ``metaflow_config.compat`` against the installed ``metaflow.metaflow_config``.

For each scenario (environment variables, profile files, a project's local config,
``METAFLOW_PROFILE``) one subprocess imports Metaflow's module with exactly that environment,
``METAFLOW_HOME`` and working directory, and prints every upper-case module name as JSON. Here
Metaflow resolves on its own (``METAFLOW_CONFIG_EXTENSION=0``); tests/test_metaflow_extension.py
runs the same scenarios with the extension, where no difference is left. In this
process ``override(env=..., cwd=...)`` resolves the same inputs and every name of
``compat.NAMES`` is read. The two must agree on every name except the documented differences the
scenario declares (``differs``), each of which must be a row of README's "Differences from
Metaflow" table.

Isolation: the subprocess environment is built from scratch (a minimal ``PATH``, ``HOME`` in a
temp directory, the scenario's variables) and never inherits the developer's ``METAFLOW_*``; the
in-process side points ``HOME`` at the same temp directory, so ``~/.metaflowconfig`` is never the
real one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import metaflow_config.compat as compat
from metaflow_config import ConfigError, override
from metaflow_config._sources.profiles import find_local_config
from tests._differential import (
    DIFFERENCES,
    NOT_PROVIDED,
    ONLY_IN_COMPAT,
    Scenario,
    build,
    read_ours,
    run_metaflow,
)
from tests._differential_scenarios import SCENARIOS

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A scenario root under which no stray ``.metaflow`` directory could be picked up."""
    stray = find_local_config(str(tmp_path))
    assert stray is None, f"a .metaflow directory above the test tree would leak in: {stray}"
    return tmp_path


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_compat_matches_metaflow(
    scenario: Scenario, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every compat name equals Metaflow's, except exactly the scenario's documented differences."""
    built = build(scenario, root)
    theirs = run_metaflow(built)
    if scenario.metaflow_fails:
        assert theirs.get("error") == scenario.metaflow_fails, theirs
    else:
        assert "error" not in theirs, theirs
    for name, expected in scenario.metaflow_holds.items():
        assert theirs["values"][name] == expected, name
    if scenario.ours_fails:
        with pytest.raises(ConfigError, match=re.compile(scenario.ours_fails, re.DOTALL)):
            read_ours(built, monkeypatch)
        return
    ours = read_ours(built, monkeypatch)
    for name, expected in scenario.ours_holds.items():
        assert ours[name] == expected, name
    if scenario.metaflow_fails:
        return
    values = theirs["values"]
    differing = {
        name: (values[name], ours[name])
        for name in compat.NAMES
        if name not in ONLY_IN_COMPAT and values[name] != ours[name]
    }
    undocumented = sorted(set(differing) - set(DIFFERENCES))
    assert not undocumented, {n: differing[n] for n in undocumented}
    assert set(differing) == set(scenario.differs), differing


def test_declared_differences_are_documented() -> None:
    """Each scenario's differences and failure topics are DIFFERENCES entries and README rows."""
    rows = readme_difference_topics()
    assert set(DIFFERENCES.values()) <= rows, sorted(set(DIFFERENCES.values()) - rows)
    for param in SCENARIOS:
        scenario: Scenario = param.values[0]
        assert set(scenario.differs) <= set(DIFFERENCES), param.id
        fails = bool(scenario.metaflow_fails or scenario.ours_fails)
        assert fails == bool(scenario.topic), f"{param.id}: a failing side names its README row"
        assert not (fails and scenario.differs), param.id
        assert not scenario.topic or scenario.topic in rows, (param.id, scenario.topic)


def test_every_documented_difference_occurs() -> None:
    """Every DIFFERENCES entry is declared by a scenario (which pins that it really differs)."""
    declared = {name for param in SCENARIOS for name in param.values[0].differs}
    assert set(DIFFERENCES) <= declared, sorted(set(DIFFERENCES) - declared)


@pytest.mark.slow
def test_compat_covers_metaflows_module(root: Path) -> None:
    """compat.NAMES holds every upper-case name of Metaflow's module, save the listed ones."""
    theirs = set(run_metaflow(build(Scenario(), root))["values"])
    assert theirs - set(compat.NAMES) == set(NOT_PROVIDED)
    assert set(compat.NAMES) - theirs == set(ONLY_IN_COMPAT)


@pytest.mark.slow
def test_compat_values_have_metaflows_types(root: Path) -> None:
    """Each compat value is of the type Metaflow's module holds (a list stays a list), or a
    subclass of it (a secret's masked ``str`` or ``dict``); JSON would not tell them apart."""
    scenario = Scenario(
        profiles={
            "config.json": {
                "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml"},
                "METAFLOW_SERVICE_HEADERS": {"a": "b"},
                "METAFLOW_SERVICE_AUTH_KEY": "k",
                "METAFLOW_SPIN_ALLOWED_DECORATORS": ["card"],
                "METAFLOW_BATCH_JOB_QUEUE": "q",
                "METAFLOW_S3_RETRY_COUNT": 3,
            }
        }
    )
    built = build(scenario, root)
    theirs = run_metaflow(built)["types"]
    with override(env=built.env, cwd=built.cwd):
        ours = {name: getattr(compat, name) for name in compat.NAMES}
    wrong = {
        name: (theirs[name], type(value).__name__)
        for name, value in ours.items()
        if name in theirs
        and value is not None
        and theirs[name] != "NoneType"
        and theirs[name] not in {t.__name__ for t in type(value).__mro__}
        and name not in DIFFERENCES
    }
    assert wrong == {}


def readme_difference_topics() -> set[str]:
    """The first cells of README's "Differences from Metaflow" table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Differences from Metaflow", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return {row.split("|")[1].strip() for row in rows[2:]}
