"""The pytest plugin of metaflow_config: the ``metaflow_settings`` fixture and marker.

Registered through the ``pytest11`` entry point, so it loads in every pytest session where
metaflow-config is installed. It only declares the marker and the fixture: a test that uses
neither runs exactly as it would without the plugin.

::

    def test_queue(metaflow_settings):
        metaflow_settings.write_profile({"BATCH_JOB_QUEUE": "q"})
        assert settings.batch.job_queue == "q"

    @pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="q")
    def test_marked():
        assert settings.batch.job_queue == "q"

"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from ._display import mask_value, show_value
from ._sources.layers import BY_LAYER
from .errors import ConfigError, Problem
from .testing import SettingsFixture, isolated_process

__all__ = ["metaflow_settings"]

_NAME = "metaflow_settings"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{_NAME}(**values): run the test with an isolated Metaflow configuration (the "
        f"{_NAME} fixture) and these settings overridden (short or full names)",
    )


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """A failed comparison with a secret on either side explains itself without it.

    pytest's own explanation of ``assert settings.service.auth_key == "..."`` is a string diff
    of the values as they are (its ``+`` line is the secret), and it takes apart what holds one
    (``to_env()``'s dict, a dataclass's fields) to diff their plain values: where either side
    conceals something, itself or anywhere inside (:func:`_conceals`), each side that does is
    shown as its masked ``repr``, the other by its type alone (it may be the secret read
    elsewhere), and no diff. Any other comparison is left to pytest.
    """
    sides = (left, right)
    hiding = [_conceals(side) for side in sides]
    if not any(hiding):
        return None
    left_shown, right_shown = (
        repr(_masked(side)) if hides else f"<a {type(side).__name__}, not shown>"
        for side, hides in zip(sides, hiding)
    )
    return [
        f"{left_shown} {op} {right_shown}",
        "(a secret is compared: metaflow-config shows neither value, nor how they differ)",
    ]


#: How many objects :func:`_conceals` looks at, at most (a larger value is taken as hiding).
_LOOKED_AT = 100_000
_PLAIN_REPRS = {str: str.__repr__, dict: dict.__repr__, list: list.__repr__, tuple: tuple.__repr__}


def _conceals(value: object) -> bool:
    """Whether showing ``value`` as pytest takes it apart would show something it conceals.

    Anything inside counts (items, keys, an object's attributes): a string shown masked (a
    secret's ``SecretText``, a URL's password), or a ``str``, ``dict``, ``list`` or ``tuple``
    whose class masks what it holds in its own ``repr`` (``to_env()``'s ``ExportedEnv``, whose
    values are plain text). Each object once; past :data:`_LOOKED_AT` of them, as if it did.
    """
    pending: list[object] = [value]
    seen: set[int] = set()
    while pending:
        if len(seen) >= _LOOKED_AT:
            return True
        item = pending.pop()
        if item is None or isinstance(item, (bool, int, float, bytes)) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, str):
            if _masked(item) is not item:
                return True
            continue
        plain = next((r for t, r in _PLAIN_REPRS.items() if isinstance(item, t)), None)
        masks = plain is not None and type(item).__repr__ is not plain
        if masks and plain is not None and _shown_apart(item, plain):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        else:
            pending.extend(_attributes(item))
    return False


def _attributes(item: object) -> list[object]:
    """The values of ``item``'s attributes that pytest's diff may show.

    Its ``__dict__``'s and its slots' (a ``@dataclass(slots=True)``, an ``attrs`` class: no
    ``__dict__`` at all).
    """
    found: list[object] = []
    own = getattr(item, "__dict__", None)
    if isinstance(own, dict):
        found.extend(own.values())
    for cls in type(item).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if not isinstance(name, str) or name in ("__dict__", "__weakref__"):
                continue
            try:
                found.append(object.__getattribute__(item, _mangled(cls, name)))
            except Exception:  # noqa: S112 - unset, or a descriptor that raises: nothing shown
                continue
    return found


def _mangled(cls: type, name: str) -> str:
    """A slot's attribute name as Python stores it (``__x`` of class ``C`` is ``_C__x``)."""
    if name.startswith("__") and not name.endswith("__"):
        return f"_{cls.__name__.lstrip('_')}{name}"
    return name


def _shown_apart(item: object, plain: Callable[[Any], str]) -> bool:
    """Whether a container's own ``repr`` shows less than the plain one would (it masks)."""
    try:
        return repr(item) != plain(item)
    except (RecursionError, ValueError, TypeError):  # cannot tell: as if it masked
        return True


def _masked(value: object) -> object:
    """``value`` as shown masked (the same object when it conceals nothing)."""
    try:
        return mask_value(value)
    except RecursionError:  # too deep to tell: as if it concealed something
        return "<too deep to show>"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each test carrying the marker the isolation fixture, set up before all others.

    Before the autouse fixtures too: a fixture of the test that sets a variable or writes a
    file then does so inside the isolation, as it would after a fixture argument.
    """
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and _NAME not in item.fixturenames
            and item.get_closest_marker(_NAME) is not None
        ):
            # a new list: parametrized siblings share the old one, and may not carry the marker
            item.fixturenames = [_NAME, *item.fixturenames]


_MARK = f"@pytest.mark.{_NAME}"


def _marker_values(node: pytest.Item) -> dict[str, Any]:
    values: dict[str, Any] = {}
    # farthest first (module, class, then the test itself), so that the closest marker wins
    for mark in reversed(list(node.iter_markers(_NAME))):
        for arg in mark.args:
            if not isinstance(arg, Mapping):
                problem = Problem.bad_argument(
                    _MARK,
                    show_value(arg, secret=False),
                    "a mapping of settings, or keywords",
                    f"write {_MARK}(BATCH_JOB_QUEUE=...) or {_MARK}({{...}})",
                )
                raise ConfigError([problem])
            values.update(arg)
        values.update(mark.kwargs)
    return values


def _from_marker(problem: Problem) -> Problem:
    """A problem of a marker's value, said of the marker (not of an ``override()`` call).

    The override layer's own advice (pass a valid value to ``override()``) becomes the
    marker's; any other fix (an unknown name's did-you-mean) is kept, and says where.
    """
    if problem.layer != "override":
        return problem
    key = problem.location.partition("(")[2].rstrip(")") or problem.setting
    where = f"in the {_MARK} marker of the test, its class or its module"
    fix = f"correct {key} {where}"
    if problem.fix != BY_LAYER["override"].fix(problem.location):
        fix = f"{problem.fix} ({fix})"
    return dataclasses.replace(problem, location=f"{_MARK}({key})", fix=fix)


@pytest.fixture
def metaflow_settings(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SettingsFixture]:
    """An isolated Metaflow configuration for the test (see ``SettingsFixture``).

    ``~/.metaflowconfig``, the project file of the working directory's tree and ``METAFLOW_*``
    variables of the machine are out of reach: ``METAFLOW_HOME`` is an empty temporary
    directory, the project file is looked for in an empty temporary project
    (``$METAFLOW_CONFIG_PROJECT``), the environment has no other ``METAFLOW_*``. The working
    directory is left as it is, so paths relative to it keep working. Values of a
    ``metaflow_settings`` marker on the test, its class or module apply as overrides. Undone
    after the test.
    """
    home = tmp_path_factory.mktemp("metaflow_home")
    project = tmp_path_factory.mktemp("metaflow_project")
    (project / ".metaflow").mkdir()
    with isolated_process(monkeypatch, home=home, project=project):
        fixture = SettingsFixture(monkeypatch, home, project)
        try:
            _apply_marker(request.node, fixture)
            yield fixture
        finally:
            fixture.close()


def _apply_marker(node: pytest.Item, fixture: SettingsFixture) -> None:
    """Set what the node's markers give; a bad marker fails the test's setup.

    With the message alone, not this plugin's source and locals: the fault is the marker's.
    """
    said = ""
    try:
        values = _marker_values(node)
        if values:
            try:
                fixture.set(values)
            except ConfigError as exc:
                problems = [_from_marker(p) for p in exc.problems]
                raise ConfigError(problems, also=exc.also) from None
    except ConfigError as exc:
        said = f"ConfigError: {exc}"
    if said:  # outside the handler: nothing chained
        pytest.fail(said, pytrace=False)
