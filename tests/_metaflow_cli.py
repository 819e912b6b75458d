"""The environment variables the installed Metaflow's command line reads, from its click tree.

Metaflow starts a flow's command line with click's ``auto_envvar_prefix="METAFLOW"``
(``metaflow/cli.py``): each option of each command reads ``<prefix>_<OPTION>`` from the
environment, where a command's prefix is its parent's plus ``_<COMMAND>`` (upper case, ``-`` as
``_``) and the top level's is ``METAFLOW``. This module builds that command line for a flow as
``python flow.py`` does (``metaflow.cli.start`` inside ``parameters.flow_context``) and walks
every command, making a click ``Context`` per level so that click's own rule names the prefixes.

It regenerates ``metaflow_config/_model/metaflow_cli.py`` (run it where Metaflow is installed;
it sets ``METAFLOW_CONFIG_EXTENSION=0`` and an empty ``METAFLOW_HOME`` itself)::

    python tests/_metaflow_cli.py > metaflow_config/_model/metaflow_cli.py

and ``--json`` prints the same data for ``tests/test_metaflow_cli.py``, which compares it with the
module.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

#: ``from_conf("ENABLED_...")`` calls of Metaflow's extension support besides the plugin categories
_ENABLED_CALL = re.compile(r"from_conf\(\s*[\"'](ENABLED_[A-Z_]+)[\"']")


def _isolate() -> None:
    """Metaflow on its own reading of an empty configuration (not this package's extension)."""
    os.environ["METAFLOW_CONFIG_EXTENSION"] = "0"
    os.environ["METAFLOW_HOME"] = tempfile.mkdtemp(prefix="metaflow-cli-walk-")
    for name in [n for n in os.environ if n.startswith("METAFLOW_")]:
        if name not in ("METAFLOW_CONFIG_EXTENSION", "METAFLOW_HOME"):
            del os.environ[name]


def _option(param: Any) -> str:
    """How the option is typed: its first long spelling (``--max-workers``)."""
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def derive() -> dict[str, Any]:
    """Every variable of the installed Metaflow's command line, as the generated module holds them.

    ``commands``: command path (``""`` for the top level) -> [prefix, [[suffix, option], ...]],
    the options every flow has (a flow's parameters left out); ``parameter_commands``: prefix ->
    command path of the commands that take the flow's parameters; ``flow_options``: the top-level
    options that core flow decorators and a flow's ``Config`` add, suffix -> [option, what adds
    it]; ``enabled``: the plugin lists Metaflow reads itself (``ENABLED_<CATEGORY>``).
    """
    _isolate()
    from metaflow import Config, FlowSpec, Parameter, project, step, trigger_on_finish
    from metaflow import parameters as mf_parameters
    from metaflow._vendor import click
    from metaflow.extension_support import plugins as mf_plugins
    from metaflow.metaflow_version import get_version

    class Plain(FlowSpec):  # type: ignore[misc]
        """A flow with one parameter: which commands take parameters, and nothing else."""

        the_parameter = Parameter("the-parameter", default=1)

        @step  # type: ignore[misc]
        def start(self) -> None:
            self.next(self.end)

        @step  # type: ignore[misc]
        def end(self) -> None:
            pass

    @project(name="walk")  # type: ignore[misc]
    @trigger_on_finish(flow="Other")  # type: ignore[misc]
    class Rich(FlowSpec):  # type: ignore[misc]
        """A flow with core flow decorators' options and a Config."""

        cfg = Config("cfg", default_value={"a": 1})

        @step  # type: ignore[misc]
        def start(self) -> None:
            self.next(self.end)

        @step  # type: ignore[misc]
        def end(self) -> None:
            pass

    def walk(flow: type, visit: Any) -> None:
        with mf_parameters.flow_context(flow):
            import importlib

            from metaflow import cli

            cli = importlib.reload(cli)  # its top level is built for the flow in context

            root = click.Context(cli.start, info_name="flow.py", auto_envvar_prefix="METAFLOW")

            def down(cmd: Any, ctx: Any, path: tuple[str, ...]) -> None:
                visit(cmd, ctx, " ".join(path))
                if isinstance(cmd, click.MultiCommand):
                    for name in cmd.list_commands(ctx):
                        sub = cmd.get_command(ctx, name)
                        if sub is not None:
                            down(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name))

            down(cli.start, root, ())

    commands: dict[str, Any] = {}
    parameter_commands: dict[str, str] = {}

    def plain(cmd: Any, ctx: Any, path: str) -> None:
        flow_params = getattr(cmd, "has_flow_params", False)
        original = getattr(cmd, "original_params", cmd.params)
        if flow_params:
            parameter_commands[ctx.auto_envvar_prefix + "_"] = path
        options = [
            [p.name.upper(), _option(p)]
            for p in cmd.params
            if isinstance(p, click.Option)
            and p.allow_from_autoenv
            and (not flow_params or p in original)
        ]
        if options:
            commands[path] = [ctx.auto_envvar_prefix + "_", options]

    walk(Plain, plain)
    top = {suffix for suffix, _ in commands[""][1]}
    flow_options: dict[str, list[str]] = {}

    def rich(cmd: Any, ctx: Any, path: str) -> None:
        if path:
            return
        for p in cmd.params:
            name = p.name.upper()
            if isinstance(p, click.Option) and name not in top:
                explicit = p.envvar if isinstance(p.envvar, str) else ""
                assert explicit == "METAFLOW_FLOW_" + name, (name, explicit)
                adds = {"BRANCH": "@project", "PRODUCTION": "@project", "TRIGGER": ""}.get(
                    name, "a flow's Config"
                )
                flow_options[name] = [_option(p), adds or "@trigger_on_finish"]

    walk(Rich, rich)
    enabled = {"ENABLED_" + c.upper() for c in mf_plugins._plugin_categories}
    support = Path(mf_plugins.__file__).parent
    for path in sorted(support.glob("*.py")):
        enabled.update(_ENABLED_CALL.findall(path.read_text(encoding="utf-8")))
    return {
        "version": get_version(),
        "commands": commands,
        "parameter_commands": parameter_commands,
        "flow_options": flow_options,
        "enabled": sorted("METAFLOW_" + name for name in enabled),
    }


def _q(text: str) -> str:
    """A string literal in double quotes, as the formatter writes it."""
    return json.dumps(text)


def render(data: dict[str, Any]) -> str:
    """The text of ``metaflow_config/_model/metaflow_cli.py`` for ``data`` (from :func:`derive`)."""
    out = [
        '"""The environment variables Metaflow\'s command line reads (generated: do not edit).',
        "",
        "Metaflow starts a flow's command line with click's ``auto_envvar_prefix=\"METAFLOW\"``: "
        "every",
        "option of every command reads ``<prefix><OPTION>`` from the environment (the top "
        "level's prefix",
        "is ``METAFLOW_``, a command's its parent's plus ``<COMMAND>_``). Walked from Metaflow "
        f"{data['version']}'s",
        "click tree by ``tests/_metaflow_cli.py``, which regenerates it (``python "
        "tests/_metaflow_cli.py >",
        "metaflow_config/_model/metaflow_cli.py``); ``tests/test_metaflow_cli.py`` compares it "
        "with the",
        "installed Metaflow.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "#: The Metaflow release these names were read from.",
        f"METAFLOW_VERSION = {_q(data['version'])}",
        "",
        '#: Each command of ``python flow.py`` that has options (``""``: the top level): the',
        "#: prefix of its variables, and each option as (the variable's suffix, the option).",
        "COMMANDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {",
    ]
    for path, (prefix, options) in sorted(data["commands"].items()):
        out.append(f"    {_q(path)}: (")
        out.append(f"        {_q(prefix)},")
        pairs = [f"({_q(suffix)}, {_q(option)})" for suffix, option in options]
        line = f"        ({', '.join(pairs)}{',' if len(pairs) == 1 else ''}),"
        if len(line) <= 100:
            out.append(line)
        else:
            out.append("        (")
            out.extend(f"            {pair}," for pair in pairs)
            out.append("        ),")
        out.append("    ),")
    out.append("}")
    out += [
        "",
        "#: The commands that take the flow's parameters as options, by prefix: a parameter",
        "#: ``my-param`` of ``run`` is read from ``METAFLOW_RUN_MY_PARAM``.",
        "PARAMETER_COMMANDS: dict[str, str] = {",
        *(f"    {_q(k)}: {_q(v)}," for k, v in sorted(data["parameter_commands"].items())),
        "}",
        "",
        "#: Top-level options that core flow decorators and a flow's ``Config`` add, by suffix:",
        "#: (the option, what adds it); each reads ``METAFLOW_<SUFFIX>`` and, first,",
        "#: ``METAFLOW_FLOW_<SUFFIX>`` (the explicit variable of every flow decorator's option).",
        "FLOW_OPTIONS: dict[str, tuple[str, str]] = {",
        *(f"    {_q(k)}: ({_q(o)}, {_q(w)})," for k, (o, w) in data["flow_options"].items()),
        "}",
        "",
        "#: The plugin lists Metaflow reads with its own ``from_conf`` (``ENABLED_<CATEGORY>``):",
        "#: not settings of this package's table, which leaves them to Metaflow.",
        "ENABLED: tuple[str, ...] = (",
        *(f"    {_q(name)}," for name in data["enabled"]),
        ")",
    ]
    return "\n".join(out) + "\n"


def module_data() -> dict[str, Any]:
    """What the generated module holds, in :func:`derive`'s shape (for comparing the two)."""
    from metaflow_config._model import metaflow_cli

    return {
        "commands": {
            path: [prefix, [list(o) for o in options]]
            for path, (prefix, options) in metaflow_cli.COMMANDS.items()
        },
        "parameter_commands": dict(metaflow_cli.PARAMETER_COMMANDS),
        "flow_options": {k: list(v) for k, v in metaflow_cli.FLOW_OPTIONS.items()},
        "enabled": list(metaflow_cli.ENABLED),
    }


if __name__ == "__main__":
    derived = derive()
    sys.stdout.write(json.dumps(derived) + "\n" if "--json" in sys.argv else render(derived))
