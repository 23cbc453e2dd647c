"""The ``shipyard`` command: Typer groups, one module per group.

Commands are thin callers of plane functions. Errors from the error tree are
printed as headline + message with the command's exit code; anything else is an
internal error with its traceback. ``--debug`` always shows tracebacks.
"""

from __future__ import annotations

import sys
import traceback

import typer

from shipyard.errors import InternalError, ShipyardError, UserCodeError

app = typer.Typer(
    name="shipyard",
    help="One YAML file from raw data to a tracked, registered model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for every error.")) -> None:
    _state["debug"] = debug


def debug_enabled() -> bool:
    return _state["debug"]


def _register_commands() -> None:
    from shipyard.cli import audit, lineage, models, run, runs, spec  # noqa: F401  (commands register on import)


def report_error(error: BaseException) -> int:
    """Print an error the way the CLI does and return the exit code."""
    err = sys.stderr
    if isinstance(error, ShipyardError) and not isinstance(error, InternalError):
        print(f"error: {error.render()}", file=err)
        if isinstance(error, UserCodeError) and error.user_traceback and debug_enabled():
            print(error.user_traceback, file=err)
        if debug_enabled():
            traceback.print_exception(error, file=err)
        return error.exit_code
    print("internal error: this is a bug in shipyard; please report it with the traceback below.", file=err)
    traceback.print_exception(error, file=err)
    return InternalError.exit_code


def main(argv: list[str] | None = None) -> int:
    _register_commands()
    try:
        returned = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors carry their own exit codes
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        return report_error(exc)
    return returned if isinstance(returned, int) else 0


def entrypoint() -> None:
    sys.exit(main())
