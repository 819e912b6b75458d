"""What a key of a layer is (``_sources.keys``), the did-you-mean's measure (``_sources.near``)
and the old names of settings, applied with one warning each."""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from metaflow_config import ConfigError, ConfigWarning, load
from metaflow_config._model import metaflow_names as mf
from metaflow_config._model.table import BY_ENV, OLD_NAMES
from metaflow_config._sources import keys, near
from metaflow_config._sources.data import LayerData, Raw
from metaflow_config._sources.environ import metaflow_items
from tests.conftest import invoke

# --- the measure --------------------------------------------------------------------------------


def _osa(a: str, b: str) -> int:
    """The optimal string alignment distance, by the textbook recurrence (no early exit)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


TEXT = st.text(alphabet="ABC_S3", max_size=12)


@given(TEXT, TEXT, st.integers(0, 4))
def test_distance_is_the_osa_distance_up_to_its_bound(a: str, b: str, bound: int) -> None:
    """The early exits never change the answer: the distance, or ``bound + 1`` above it."""
    assert near.distance(a, b, bound) == min(_osa(a, b), bound + 1)


@given(TEXT, TEXT, st.integers(1, 3))
@example("ABCDEFG", "ABCEDFG", 1)  # a swap across where the pieces are cut
@example("ABCDEFG", "XABCDEFG", 1)
def test_a_text_within_the_edits_holds_a_piece(a: str, b: str, edits: int) -> None:
    """The filter of the index never drops a name within reach: one of the key's pieces is in it."""
    cut = near.pieces(a, edits)
    if cut is not None and _osa(a, b) <= edits:
        assert any(piece in b for piece in cut), (a, b, cut)


NAMES = st.lists(st.text(alphabet="ABCD_", min_size=1, max_size=14), max_size=30, unique=True)


@given(NAMES, st.text(alphabet="ABCD_", max_size=14))
def test_the_index_finds_what_a_search_of_every_name_finds(names: list[str], key: str) -> None:
    """The nearest name, then the first of a tie; none when no name is within its edits."""
    index = near.Index([(name, name) for name in names])
    best = None
    for name in names:
        found = _osa(key, name)
        if found <= near.allowed(len(name)) and (best is None or found < best[0]):
            best = (found, name)
    assert index.nearest(key) == (best[1] if best else None)


@pytest.mark.parametrize(
    ("key", "tail"),
    [
        pytest.param("METAFLOW_BATCH_JOB_QUEUE", "BATCH_JOB_QUEUE", id="prefixed"),
        pytest.param("metaflow_batch_job_queue", "BATCH_JOB_QUEUE", id="lower-case"),
        pytest.param("METAFOW_BATCH_JOB_QUEUE", "BATCH_JOB_QUEUE", id="misspelled-prefix"),
        pytest.param("BATCH_JOB_QUEUE", "BATCH_JOB_QUEUE", id="no-prefix"),
        pytest.param("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI", id="another-prefix"),
        pytest.param("METADATA_SERVICE_URL", "METADATA_SERVICE_URL", id="not-a-misspelling"),
    ],
)
def test_the_part_compared(key: str, tail: str) -> None:
    """The measure compares what follows ``METAFLOW_`` (or a misspelling of it), in upper case."""
    assert near.tail(key) == tail


# --- what a key is ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "in_file", "kind", "near_name"),
    [
        ("METAFLOW_BATCH_JOB_QUEUE", True, "setting", ""),
        ("METAFLOW_JOB_QUEUE_NAME", True, "setting", ""),
        ("METAFLOW_SPIN_PERSIST", False, "setting", ""),  # also `spin --persist`: a setting
        ("METAFLOW_DATATOOLS_SYSROOT_S3", True, "old", ""),
        ("METAFLOW_DATATOOLS_SYSROOT_S3", False, "old", ""),
        ("METADATA_SERVICE_URL", True, "old", ""),
        ("METAFLOW_DECOSPECS", True, "old", ""),
        ("METAFLOW_DECOSPECS", False, "cli", ""),  # `--with` of `python flow.py`
        ("METAFLOW_RUN_MAX_WORKERS", False, "cli", ""),
        ("METAFLOW_RUN_MAX_WORKERS", True, "env-only", ""),
        ("METAFLOW_KUBERNETES_STEP_CPU", False, "cli", ""),  # near KUBERNETES_CPU: exact first
        ("METAFLOW_BRANCH", False, "cli", ""),
        ("METAFLOW_FLOW_BRANCH", False, "cli", ""),
        ("METAFLOW_RUN_BOOL_PARAM", False, "parameter", ""),
        ("METAFLOW_INIT_ALPHA", False, "parameter", ""),
        ("METAFLOW_FLOW_MY_DECORATOR_OPTION", False, "parameter", ""),
        ("METAFLOW_RUN_BOOL_PARAM", True, "foreign", ""),  # a file is no command line
        ("METAFLOW_CONDA_ENVS_DIRNAME", False, "runtime", ""),
        ("METAFLOW_RUN_ID", False, "runtime", ""),
        ("METAFLOW_PROFILE", False, "runtime", ""),  # this library's own: the environment's
        ("METAFLOW_PROFILE", True, "env-only", ""),  # in a file it selects nothing: said
        ("METAFLOW_CONFIG_STRICT", True, "env-only", ""),
        ("METAFLOW_ENABLED_STEP_DECORATOR", True, "metaflow", ""),
        ("METAFLOW_SKIP_CARD_DUALWRITE", True, "retired", ""),
        ("METAFLOW_BATCH_JOB_QEUE", True, "typo", "METAFLOW_BATCH_JOB_QUEUE"),
        ("METAFLOW_DEBUG_S3CLEINT", False, "typo", "METAFLOW_DEBUG_S3CLIENT"),
        (
            "METAFLOW_RUN_TIME_CARD_RENDER_INTERVAL",
            False,
            "typo",
            "METAFLOW_RUNTIME_CARD_RENDER_INTERVAL",
        ),
        ("METAFLOW_PROFLE", False, "typo", "METAFLOW_PROFILE"),  # this library's own
        ("METAFLOW_HOEM", True, "typo", "METAFLOW_HOME"),
        ("metaflow_batch_job_queue", False, "typo", "METAFLOW_BATCH_JOB_QUEUE"),  # a case slip
        ("metaflow_run_max_workers", False, "typo", "METAFLOW_RUN_MAX_WORKERS"),  # of Metaflow's
        ("metaflow_acme", False, "foreign", ""),
        ("metaflow_datatools_sysroot_s3", False, "typo", "METAFLOW_DATATOOLS_S3ROOT"),  # old
        ("METAFLOW_METADATA_SERVICE_URL", True, "typo", "METAFLOW_SERVICE_URL"),  # old name's
        ("METADATA_SERVICE_HEADERS", True, "typo", "METAFLOW_SERVICE_HEADERS"),  # an attribute
        ("METAFLOW_AWS_ARN", True, "foreign", ""),  # difflib said METAFLOW_USER
        ("METAFLOW_AWS_S3_REGION", True, "foreign", ""),
        ("METAFLOW_S3_ENDPOINT_URL_KUBERNETES", True, "foreign", ""),
        ("KFP_SDK_NAMESPACE", True, "foreign", ""),  # difflib said KUBERNETES_NAMESPACE
        ("OBP_METAFLOW_CONFIG_URL", True, "foreign", ""),
        ("MLFLOW_S3_ENDPOINT_URL", True, "foreign", ""),
    ],
)
def test_what_a_key_is(key: str, in_file: bool, kind: str, near_name: str) -> None:
    """Each kind, in a file and in the environment; a typo's did-you-mean, a foreign key's none."""
    found = keys.classify(key, file=in_file)
    assert (found.kind, found.near) == (kind, near_name)


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("METAFLOW_DEBUG_ACMEDEBUG", "a debug flag of Metaflow or of an extension"),
        ("METAFLOW_CONDA_ENVS_DIRNAME", "a variable of Metaflow's Conda environments"),
        ("METAFLOW_RUN_ID", "a variable Metaflow sets for its own processes at run time"),
        ("METAFLOW_PROFILE", "a variable of metaflow-config's own, which chooses where"),
        ("METAFLOW_CONFIG_STRICT", "a variable of metaflow-config's own, which chooses where"),
    ],
)
def test_a_runtime_name_is_said_as_what_it_is(key: str, said: str) -> None:
    """A debug flag is the user's to set (an extension's DEBUG_OPTIONS too), not Metaflow's."""
    assert keys.classify(key, file=False).what().startswith(said)


def test_metaflows_own_names_are_not_under_its_prefixes() -> None:
    """No name known exactly (a CLI variable, an old or retired name, a plugin list, a runtime
    variable) is under a runtime family's prefix: the environment scan passes over those."""
    exact = {*mf.CLI_VARIABLES, *OLD_NAMES, *mf.RETIRED, *mf.ENABLED}
    assert not [n for n in exact if n.startswith(mf.RUNTIME_PREFIXES)]
    assert not [n for n in BY_ENV if n.startswith(mf.PARAMETER_PREFIXES)]


def test_a_setting_that_stands_behind_a_cli_variable_exists() -> None:
    """Each command-line variable that stands for a setting in a file names a real setting."""
    assert all(mf.PREFIX + name in BY_ENV for name in mf.STANDS_FOR.values())
    assert all(name in mf.CLI_VARIABLES for name in mf.STANDS_FOR)


FAMILY_NAME = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["METAFLOW_CONDA_", "METAFLOW_DEBUG_", "METAFLOW_PARENT_"]),
    st.one_of(
        st.sampled_from(["S3CLIENT", "PACKAGE_S3ROOT", "CONDA", "ENVS_DIRNAME", "0_TASK_ID"]),
        st.text(alphabet="ACDEGIKLNOPRSTU3_", max_size=16),
    ),
)
SOME_NAME = st.one_of(
    FAMILY_NAME,
    st.sampled_from(["METAFLOW_BATCH_JOB_QUEUE", "METAFLOW_X", "PATH", "METAFLOW_RUN_P"]),
)


@given(st.dictionaries(SOME_NAME, st.sampled_from(["x", ""]), max_size=12))
def test_the_environment_scan_passes_over_only_what_is_left_alone(env: dict[str, str]) -> None:
    """A layer read with the families passed over in C is the layer read name by name."""
    whole, skipped = LayerData("env"), LayerData("env")
    prefixed = [(k, v) for k, v in env.items() if k.startswith("METAFLOW_")]
    keys.take_all(whole, dict(prefixed), file=None, fix=str)
    keys.take_all(skipped, dict(metaflow_items(dict(env), keys.ENV_SKIP)), file=None, fix=str)
    assert skipped == whole


def test_a_typo_in_a_family_is_told_among_thousands(tmp_path: Path) -> None:
    """5,000 names of a family are passed over; the one a slip away from a setting is told."""
    env = {f"METAFLOW_CONDA_GUARD_{i:05d}": "x" for i in range(5000)}
    env["METAFLOW_CONDA_PACKAGE_S3ROTO"] = "s3://bucket/c"  # two letters swapped at its end
    env["METAFLOW_DEBUG_SUBCOMAND"] = "1"  # one letter missing
    env["METAFLOW_DEBUG_XS3CLIENT"] = "1"  # one letter before it
    with pytest.warns(ConfigWarning) as record:
        load(env=env, home=str(tmp_path), cwd=str(tmp_path))
    said = "\n".join(str(w.message) for w in record)
    assert "did you mean METAFLOW_CONDA_PACKAGE_S3ROOT?" in said
    assert "did you mean METAFLOW_DEBUG_SUBCOMMAND?" in said
    assert "METAFLOW_DEBUG_XS3CLIENT (env: METAFLOW_DEBUG_XS3CLIENT); did you mean" in said
    assert "GUARD" not in said


def test_the_command_lines_variables_are_quiet(tmp_path: Path) -> None:
    """Command-line variables, parameters' and flow options' are no warning, in any number."""
    env = {
        "METAFLOW_RUN_MAX_WORKERS": "4",
        "METAFLOW_RUN_BOOL_PARAM": "False",
        "METAFLOW_RUN_NO_DEFAULT_PARAM": "test_str",
        "METAFLOW_BRANCH": "feature",
        "METAFLOW_FLOW_PRODUCTION": "1",
        "METAFLOW_DATASTORE": "local",
        "METAFLOW_KUBERNETES_STEP_CPU": "2",
        "METAFLOW_ENABLED_STEP_DECORATOR": '["batch"]',
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = load(env=env, home=str(tmp_path), cwd=str(tmp_path), strict=True)
    assert s.defaults.datastore == "local"  # METAFLOW_DATASTORE is the CLI's, not the setting


# --- old names ----------------------------------------------------------------------------------


def _profile(tmp_path: Path, doc: dict[str, object]) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(doc))
    return tmp_path / "config.json"


def test_an_old_name_is_applied_as_its_setting_with_one_warning(tmp_path: Path) -> None:
    """Source and location say the file and the old key; the warning names both names."""
    path = _profile(tmp_path, {"METAFLOW_DATATOOLS_SYSROOT_S3": "s3://bucket/tools"})
    with pytest.warns(ConfigWarning) as record:
        s = load(env={}, home=str(tmp_path), cwd=str(tmp_path))
    assert s.datatools.s3root == "s3://bucket/tools"
    info = s.explain("METAFLOW_DATATOOLS_S3ROOT")
    assert (info.source, info.location) == ("profile", f"{path}:METAFLOW_DATATOOLS_SYSROOT_S3")
    (warning,) = [str(w.message) for w in record]
    assert warning.startswith(
        f"METAFLOW_DATATOOLS_SYSROOT_S3 (profile: {path}) is an old name of "
        "METAFLOW_DATATOOLS_S3ROOT (written by `metaflow configure aws` 2.0.0 to 2.8.2"
    )
    assert warning.endswith(
        "applied as METAFLOW_DATATOOLS_S3ROOT; `metaflow-config migrate` renames it"
    )
    assert s.to_env("local")["METAFLOW_DATATOOLS_S3ROOT"] == "s3://bucket/tools"


def test_where_the_new_name_is_set_too_it_wins_and_the_warning_says_so(tmp_path: Path) -> None:
    """In whatever order the two keys come."""
    for doc in (
        {
            "METAFLOW_DATATOOLS_SYSROOT_S3": "s3://bucket/old",
            "METAFLOW_DATATOOLS_S3ROOT": "s3://bucket/new",
        },
        {
            "METAFLOW_DATATOOLS_S3ROOT": "s3://bucket/new",
            "METAFLOW_DATATOOLS_SYSROOT_S3": "s3://bucket/old",
        },
    ):
        _profile(tmp_path, doc)
        with pytest.warns(
            ConfigWarning, match="METAFLOW_DATATOOLS_S3ROOT is set there too and wins"
        ):
            s = load(env={}, home=str(tmp_path), cwd=str(tmp_path))
        assert s.datatools.s3root == "s3://bucket/new"


def test_an_old_name_in_the_environment_says_to_rename_the_variable(tmp_path: Path) -> None:
    """The environment's fix is its own: rename the variable (migrate is for profiles)."""
    env = {"METAFLOW_DATASTORE_CARD_AZUREROOT": "mf-cards/cards"}
    with pytest.warns(ConfigWarning, match="rename the variable to METAFLOW_CARD_AZUREROOT"):
        s = load(env=env, home=str(tmp_path), cwd=str(tmp_path))
    assert s["METAFLOW_CARD_AZUREROOT"] == "mf-cards/cards"


def test_an_old_name_is_no_name_to_set_in_code(tmp_path: Path) -> None:
    """``override()`` and ``settings[...]`` take current names; an old one gets the new one."""
    with pytest.raises(ConfigError, match=r"did you mean METAFLOW_DEFAULT_DECOSPECS\? "):
        load(env={}, home=str(tmp_path), cwd=str(tmp_path), overrides={"DECOSPECS": "retry"})
    s = load(env={}, home=str(tmp_path), cwd=str(tmp_path))
    with pytest.raises(KeyError, match="did you mean METAFLOW_SERVICE_URL"):
        s["METADATA_SERVICE_URL"]


def test_a_command_says_a_misspelling_first_whatever_precedes_it(tmp_path: Path) -> None:
    """Ten harmless unknown keys before a misspelling hid it in one counted line, in ``check``'s
    error as in its warnings: a command tells apart the keys (up to ``TOLD_APART``) and says the
    errors first, each with its did-you-mean."""
    from metaflow_config._resolve.resolve import TOLD_APART

    doc: dict[str, object] = {f"METAFLOW_ACME_OPTION_{c}": "v" for c in "ABCDEFGHIJKL"}
    doc["METAFLOW_BATCH_JOB_QEUE"] = "gpu"
    _profile(tmp_path, doc)
    checked = invoke("check", env={"METAFLOW_HOME": str(tmp_path)})
    assert checked.exit_code == 1
    assert "METAFLOW_BATCH_JOB_QEUE" in checked.stderr
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE?" in checked.stderr
    assert "3 more unknown keys" in checked.stderr  # ten said one by one: the error, then nine
    # past what a command tells apart, keys are counted, not worked out one by one
    _profile(tmp_path, {f"METAFLOW_ACME_{i}": "v" for i in range(TOLD_APART + 50)})
    told: list[str] = []
    real = keys.classify
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "metaflow_config._resolve.resolve.classify",
            lambda k, **kw: told.append(k) or real(k, **kw),
        )
        checked = invoke("check", env={"METAFLOW_HOME": str(tmp_path)})
    assert len(told) == TOLD_APART
    assert "50 more unknown keys in" in checked.stderr
    assert "not told apart past the first" in checked.stderr


def test_strict_mode_errs_on_keys_not_applied_but_not_on_old_names(tmp_path: Path) -> None:
    """An old name is applied: a warning even when strict; a foreign or retired key is an error."""
    _profile(
        tmp_path,
        {"METAFLOW_DECOSPECS": "retry", "METAFLOW_SKIP_CARD_DUALWRITE": True, "ACME_KEY": 1},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError) as info:
            load(env={}, home=str(tmp_path), cwd=str(tmp_path), strict=True)
    assert [p.setting for p in info.value.problems] == ["METAFLOW_SKIP_CARD_DUALWRITE", "ACME_KEY"]


# --- registered sections may not take Metaflow's names ------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "field", "said"),
    [
        ("METAFLOW_RUN_X_", "a", "not under Metaflow's own METAFLOW_RUN_"),
        ("METAFLOW_CONDA_X_", "b", "not under Metaflow's own METAFLOW_CONDA_"),
        ("METAFLOW_RESUME_", "max_workers", "METAFLOW_RESUME_MAX_WORKERS is also a variable of"),
        ("METAFLOW_SKIP_CARD_", "dualwrite", "is also a name Metaflow uses itself"),
    ],
)
def test_a_section_cannot_take_metaflows_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str, field: str, said: str
) -> None:
    """A section under a prefix Metaflow's command line or runtime uses, or with a key that is
    one of Metaflow's names, is a problem naming its entry point."""
    from tests.test_sections import _install

    module = (
        "from pydantic_settings import SettingsConfigDict\n"
        "from metaflow_config.pydantic import MetaflowBaseSettings\n"
        "class Clash(MetaflowBaseSettings):\n"
        f"    model_config = SettingsConfigDict(env_prefix={prefix!r})\n"
        f"    {field}: str = ''\n"
    )
    import importlib
    import sys

    package = f"clash_{field}_mf"
    _install(tmp_path, package.replace("_", "-"), f"clash = {package}.config:Clash", module)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    from metaflow_config._sources import sections

    sections.reset()
    try:
        with pytest.raises(ConfigError, match=re.escape(said)):
            load(env={"METAFLOW_SOMETHING": "x"}, home="/nonexistent")
    finally:
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]
        sections.reset()


# --- entry points, read cheaply -----------------------------------------------------------------


def test_the_entry_points_are_those_importlib_metadata_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading entry_points.txt alone finds what importlib.metadata finds: the first of a
    distribution installed twice, egg-info folders, and a zip file's distributions."""
    import zipfile
    from importlib import metadata

    from metaflow_config._sources import sections

    def dist(root: Path, folder: str, name: str, group: str, value: str = "m:C") -> None:
        info = root / folder
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1\n")
        (info / "entry_points.txt").write_text(f"[{group}]\n{name.replace('-', '_')} = {value}\n")

    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "twice_mf-1.dist-info", "twice-mf", sections.GROUP)
    dist(second, "twice_mf-2.dist-info", "twice-mf", sections.GROUP, "m:Shadowed")
    dist(second, "other_mf-1.dist-info", "other-mf", "console_scripts")
    dist(second, "eggy_mf.egg-info", "eggy-mf", sections.GROUP)
    archive = tmp_path / "dists.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_mf-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped-mf\n")
        zf.writestr("zipped_mf-1.dist-info/entry_points.txt", f"[{sections.GROUP}]\nz = m:C\n")
    for entry in (archive, second, first):
        monkeypatch.syspath_prepend(str(entry))
    found = {(ep.name, ep.value, name) for ep, name in sections._entry_points()}
    if sys.version_info >= (3, 10):  # 3.9's takes no group, and lists a shadowed distribution
        theirs = {
            (ep.name, ep.value, ep.dist.name if ep.dist else "")
            for ep in metadata.entry_points(group=sections.GROUP)
        }
        assert found == theirs
    assert ("twice_mf", "m:C", "twice-mf") in found
    assert not [f for f in found if f[1] == "m:Shadowed"]
    assert {name for _, _, name in found} >= {"eggy-mf", "zipped-mf"}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_an_entry_points_file_that_is_no_file_is_no_distributions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A sys.path directory anyone wrote (a cloned repository holding the flow) may hold a
    metadata folder whose entry_points.txt is a named pipe (a read would block forever), a
    device or a directory: it is passed over, and the distributions beside it are found."""
    from metaflow_config._sources import sections

    bad = tmp_path / "evil-1.dist-info" / "entry_points.txt"
    bad.parent.mkdir()
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(bad)
    elif kind == "device":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero on this platform")
        bad.symlink_to("/dev/zero")
    else:
        bad.mkdir()
    good = tmp_path / "good_mf-1.dist-info"
    good.mkdir()
    (good / "METADATA").write_text("Metadata-Version: 2.1\nName: good-mf\nVersion: 1\n")
    (good / "entry_points.txt").write_text(f"[{sections.GROUP}]\ngood = m:C\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {(ep.name, name) for ep, name in sections._entry_points()}
    assert ("good", "good-mf") in found
    assert not [f for f in found if f[1] == "evil"]


@pytest.mark.parametrize(
    ("before", "found"),
    [
        pytest.param(0, True, id="small"),
        pytest.param(600_000, True, id="group-after-600-KB"),
        pytest.param(1 << 20, False, id="group-past-the-1-MiB-bound"),
    ],
)
def test_an_entry_points_file_is_read_whole_up_to_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: int, found: bool
) -> None:
    """The group is found wherever it is in entry_points.txt, within the first MiB (a file is
    read as large as it is, no more: one MiB allocated per file cost every scan)."""
    from metaflow_config._sources import sections

    info = tmp_path / "big_mf-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: big-mf\nVersion: 1\n")
    filler = "[console_scripts]\n" + "".join(f"x{i:06d} = y:z\n" for i in range(before // 14))
    (info / "entry_points.txt").write_text(f"{filler}[{sections.GROUP}]\nbig = m:C\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert (("big", "big-mf") in {(ep.name, n) for ep, n in sections._entry_points()}) is found


#: what load() says of an entry_points.txt that importlib.metadata cannot read
_UNREADABLE = r"section broken-mf \(.*broken_mf-1\.dist-info\): expected an entry_points.txt im"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param(b"[{group}]\nno equals sign here\n", _UNREADABLE, id="a-line-without-equals"),
        # Python 3.9's parser refuses a name given twice; later ones take both (neither imports)
        pytest.param(b"[{group}]\nx = m:C\nx = m:D\n", "section broken-mf", id="a-name-twice"),
        pytest.param(b"[{group}]\nx = m:C\n\xff\xfe\n", _UNREADABLE, id="not-utf-8"),
    ],
)
def test_an_entry_points_file_importlib_cannot_read_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: bytes, said: str
) -> None:
    """A metadata folder in a sys.path directory (a cloned repository's) whose entry_points.txt
    names the group but is malformed: importlib.metadata raises on it (which error depends on
    the Python), and load() says so as a ConfigError naming the folder, not a traceback."""
    from metaflow_config._sources import sections

    info = tmp_path / "broken_mf-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-mf\nVersion: 1\n")
    (info / "entry_points.txt").write_bytes(text.replace(b"{group}", sections.GROUP.encode()))
    monkeypatch.syspath_prepend(str(tmp_path))
    sections.reset()
    try:
        with pytest.raises(ConfigError, match=said):
            load(env={"METAFLOW_ACME_X": "1"}, home=tmp_path / "home", cwd=tmp_path)
    finally:
        sections.reset()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("file", ["METADATA", "PKG-INFO"])
def test_a_declaring_folder_whose_metadata_is_no_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str
) -> None:
    """A metadata folder (a cloned repository's) whose entry_points.txt names the group and
    whose METADATA or PKG-INFO is a named pipe: importlib.metadata would block on it forever;
    load() says which file instead, without reading it."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    info = tmp_path / "piped_mf-1.dist-info"
    info.mkdir()
    os.mkfifo(info / file)
    _declaring_folder_is_refused(
        info, monkeypatch, f"piped_mf-1.dist-info.*regular file as its {file}"
    )


def test_a_declaring_folder_whose_metadata_is_huge_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """importlib.metadata reads METADATA whole: one over the 1 MiB bound (a cloned repository's
    link to a huge file, here a sparse one) is said, not read."""
    info = tmp_path / "huge_mf-1.dist-info"
    info.mkdir()
    with open(info / "METADATA", "wb") as f:
        f.truncate(64 << 20)
    _declaring_folder_is_refused(
        info, monkeypatch, r"huge_mf-1\.dist-info.*its METADATA within 1 MiB"
    )


def _declaring_folder_is_refused(info: Path, monkeypatch: pytest.MonkeyPatch, match: str) -> None:
    """``info`` (a metadata folder) declares a section; a resolution looking for one refuses it."""
    from metaflow_config._sources import sections

    (info / "entry_points.txt").write_text(f"[{sections.GROUP}]\nx = m:C\n")
    monkeypatch.syspath_prepend(str(info.parent))
    sections.reset()
    try:
        with pytest.raises(ConfigError, match=match):
            load(env={"METAFLOW_ACME_X": "1"}, home=info.parent / "home", cwd=info.parent)
    finally:
        sections.reset()


def test_the_keys_not_applied_keep_their_order_values_and_locations() -> None:
    """Keys nothing applies, held in bulk, read as each was: in the file's order (a retired
    name among foreign keys too), each at ``<file>:<key>``, an unset one holding nothing; the
    settings are applied, and ``extra`` holds registered sections' keys only."""
    path = "/p/config.json"
    doc = {
        "METAFLOW_ZZZ_FOREIGN": "a",
        "METAFLOW_SKIP_CARD_DUALWRITE": "b",  # retired: told apart by name
        "METAFLOW_BATCH_JOB_QUEUE": "q",
        "AAA_OTHER": "",
        "METAFLOW_MID": {"x": 1},
        "METAFLOW_SERVICE_AUTH_KEY": "sekrit",  # a secret: in the source, never in a repr
    }
    data = LayerData("profile", path)
    keys.take_all(data, doc, file=path, fix=str)
    order = ["METAFLOW_ZZZ_FOREIGN", "METAFLOW_SKIP_CARD_DUALWRITE", "AAA_OTHER", "METAFLOW_MID"]
    assert data.loose.located() == [(key, f"{path}:{key}") for key in order]
    assert data.loose.located(2) == data.loose.located()[:2]
    assert len(data.loose) == 4
    assert data.values["BATCH_JOB_QUEUE"] == Raw("q", f"{path}:METAFLOW_BATCH_JOB_QUEUE")
    assert data.raw("METAFLOW_MID") == Raw({"x": 1}, f"{path}:METAFLOW_MID")
    assert data.raw("METAFLOW_SKIP_CARD_DUALWRITE") == Raw(
        "b", f"{path}:METAFLOW_SKIP_CARD_DUALWRITE"
    )
    assert data.raw("AAA_OTHER") is None  # "" is unset, as in every layer
    assert data.raw("METAFLOW_BATCH_JOB_QUEUE") is None  # a setting: in values
    assert data.extra == {}
    assert "sekrit" not in repr(data.loose)
    assert "/p/" not in repr(data.loose)


def test_a_long_key_is_said_in_a_line_a_reader_can_take_in(tmp_path: Path) -> None:
    """A file's key of 90,000 characters (ten of them, and a sensitive key) flooded the terminal
    with every warning, ``check`` and ``show`` alike: a name is said by its start and its end."""
    long = {f"METAFLOW_Z{i}_" + "X" * 90_000: "x" for i in range(10)}
    _profile(tmp_path, long)
    with pytest.warns(ConfigWarning) as caught:
        load(env={}, home=str(tmp_path), cwd=str(tmp_path))
    assert caught
    assert all(len(str(w.message)) < 1_000 for w in caught)
    assert any("METAFLOW_Z3_XXX" in str(w.message) and "..." in str(w.message) for w in caught)
    env = {"METAFLOW_HOME": str(tmp_path)}
    for args in (["check"], ["check", "--strict"], ["show"]):
        result = invoke(*args, env=env)
        assert len(result.output) + len(result.stderr) < 20_000, args


def test_the_counted_keys_are_said_as_their_layer_says_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the ten said one by one: "1 more unknown key in the environment; ... unset it" (not
    "env (env: env)", "remove them"), a file's path once, and where they are told apart."""
    for i in range(11):
        monkeypatch.setenv(f"METAFLOW_ZZBAR_{i}", "x")
    with pytest.warns(ConfigWarning) as caught:
        load(home=str(tmp_path), cwd=str(tmp_path))
    said = [str(w.message) for w in caught if "more unknown" in str(w.message)]
    assert said == [
        "1 more unknown key in the environment; `metaflow-config check` tells it apart (a "
        "misspelling is an error there); else unset it; `metaflow-config docs` lists every setting"
    ]
    strict = invoke("check", "--strict", env={"METAFLOW_HOME": str(tmp_path)}).stderr
    assert (
        "  - 1 more unknown key in the environment: expected known settings only. Fix: unset it"
        in strict
    )


@pytest.mark.parametrize("key", ["METAFLOW_BATCH_JOB_QUEUE ", " METAFLOW_BATCH_JOB_QUEUE"])
def test_a_key_with_a_blank_at_an_end_is_quoted_and_the_blank_named(
    key: str, tmp_path: Path
) -> None:
    """``"METAFLOW_BATCH_JOB_QUEUE "`` (a space typed inside the quotes) is not applied: its
    warning quotes it and names the blank, not "did you mean" the very name it shows."""
    from metaflow_config import load

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({key: "q"}), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load(env={}, home=str(home), cwd=tmp_path)
    assert s.batch.job_queue is None
    said = " ".join(str(w.message) for w in caught)
    assert f"unknown setting '{key}' (profile:" in said
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE? (the key has a blank at its start or end" in (
        said
    )
