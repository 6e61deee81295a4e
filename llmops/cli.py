"""The ``llmops`` command line. Commands live in ``llmops.commands.*``; each module
registers itself on the shared Typer app through ``register(app)``.

Only what a command line needs is imported: ``llmops plan ...`` loads the plan command's
module alone (building every command's parameters costs more than most commands' own
start-up), while ``llmops --help`` and anything unrecognised load them all.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from core.errors import LlmopsError

if TYPE_CHECKING:
    import typer

# Modules that contribute commands, in the order they appear in --help, with the commands
# (or command groups) each registers.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "llmops.commands.plan": ("plan",),
    "llmops.commands.render": ("render",),
    "llmops.commands.cost": ("cost",),
    "llmops.commands.policy": ("policy",),
    "llmops.commands.capacity": ("capacity",),
    "llmops.commands.spend": ("spend",),
    "llmops.commands.serving": ("serve", "ingest", "stats", "ask", "serve-config", "keys"),
    "llmops.commands.smoke": ("smoke",),
    "llmops.commands.eval": ("eval",),
    "llmops.commands.promote": ("promote", "release"),
    "llmops.commands.deploy": ("deploy",),
    "llmops.commands.doctor": ("doctor",),
}
HELP = "Plan, price, check and run the llmops platform (offline by default: no cloud needed)."


def _version(value: bool) -> None:
    if value:
        import typer

        from llmops import __version__

        typer.echo(f"llmops {__version__}")
        raise typer.Exit()


def build_app(modules: Iterable[str] = COMMAND_MODULES) -> typer.Typer:
    """The Typer app with the commands of ``modules`` registered."""
    import typer

    app = typer.Typer(name="llmops", help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ) -> None:
        """Plan, price, check and run the llmops platform (offline by default: no cloud needed)."""

    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command group not present in this build
                continue
            raise
        module.register(app)
    return app


def modules_for(argv: list[str]) -> list[str]:
    """The command modules a command line needs: the one owning its command, else all."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    owners = [module for module, commands in COMMAND_MODULES.items() if command in commands]
    return owners or list(COMMAND_MODULES)


def __getattr__(name: str) -> Any:
    """``app``: the app with every command (what tests and ``--help`` use)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point: runs the app and turns project errors into clean exits."""
    try:
        # The full app when something already built or replaced it (tests), else the lean one.
        application = globals().get("app") or build_app(modules_for(sys.argv[1:]))
        application()
    except LlmopsError as exc:
        from rich.console import Console
        from rich.markup import escape

        # The message is plain text (config paths such as regions[1] are not markup).
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
