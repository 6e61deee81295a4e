"""The ``llmops`` command line. Commands live in ``llmops.commands.*``; each module
registers itself on the shared Typer app through ``register(app)``."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from core.errors import LlmopsError

# Modules that contribute commands, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "llmops.commands.plan",
    "llmops.commands.cost",
    "llmops.commands.policy",
    "llmops.commands.capacity",
    "llmops.commands.spend",
    "llmops.commands.serving",
    "llmops.commands.smoke",
    "llmops.commands.eval",
    "llmops.commands.promote",
    "llmops.commands.deploy",
)

app = typer.Typer(
    name="llmops",
    help="Plan, price, check and run the llmops platform (offline by default: no cloud needed).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from llmops import __version__

        typer.echo(f"llmops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_version, is_eager=True),
) -> None:
    """Plan, price, check and run the llmops platform (offline by default: no cloud needed)."""


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command group not present in this build
                continue
            raise
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point: runs the app and turns project errors into clean exits."""
    try:
        app()
    except LlmopsError as exc:
        # The message is plain text (config paths such as regions[1] are not markup).
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
