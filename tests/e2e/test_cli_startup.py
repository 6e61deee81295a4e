"""The CLI loads only the command module a command line needs, and the map that says which
module owns which command stays true."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from llmops import cli


def _names(app: typer.Typer) -> set[str]:
    commands = {info.name or info.callback.__name__ for info in app.registered_commands if info.callback}
    groups = {info.name for info in app.registered_groups if info.name}
    return commands | groups


@pytest.mark.parametrize("module", sorted(cli.COMMAND_MODULES))
def test_each_module_registers_exactly_the_commands_the_map_names(module: str) -> None:
    assert _names(cli.build_app([module])) == set(cli.COMMAND_MODULES[module])


def test_a_command_line_loads_only_its_command_module() -> None:
    assert cli.modules_for(["plan", "--stack", "dev"]) == ["llmops.commands.plan"]
    assert cli.modules_for(["keys", "create"]) == ["llmops.commands.serving"]
    assert cli.modules_for(["--help"]) == list(cli.COMMAND_MODULES)
    assert cli.modules_for(["no-such-command"]) == list(cli.COMMAND_MODULES)
    assert _names(cli.app) == {name for names in cli.COMMAND_MODULES.values() for name in names}


def test_planning_imports_no_other_command_module() -> None:
    code = (
        "import sys\n"
        "from llmops import cli\n"
        "sys.argv = ['llmops', 'plan', '--help']\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('llmops.commands.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "['llmops.commands.plan']"
