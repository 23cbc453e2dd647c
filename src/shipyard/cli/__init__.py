"""The ``shipyard`` command: Typer groups, one module per group.

Commands are thin callers of plane functions. Errors from the error tree are
printed as headline + message with the command's exit code; anything else is an
internal error with its traceback. ``--debug`` always shows tracebacks.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Iterator

import typer
import typer.core

from shipyard.errors import InternalError, ShipyardError, UserCodeError, exit_codes


def _flags_take_no_value() -> None:
    """Typer's rich help prints a flag's type (``<bool>``) as if it took a value; show none, as click does."""
    shown = typer.core.TyperOption.display_type_rich

    def display_type_rich(self, ctx):
        return None if self.is_flag and self.metavar is None else shown(self, ctx)

    typer.core.TyperOption.display_type_rich = display_type_rich


_flags_take_no_value()


def _exit_code_epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in exit_codes())
    return f"[bold]Exit codes[/bold]\n\n{rows}"


app = typer.Typer(
    name="shipyard",
    help="One YAML file from raw data to a monitored model serving live traffic.",
    epilog=_exit_code_epilog(),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False, "owns_process": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for every error.")) -> None:
    _state["debug"] = debug


def debug_enabled() -> bool:
    return _state["debug"]


@contextlib.contextmanager
def imports_for_the_process() -> Iterator[None]:
    """Around a command's imports of the libraries it keeps until the process ends: the collector pauses while
    they load, since it would find nothing to free among their objects, and then freezes them out of its later
    passes (about 0.1 s of CPU for `shipyard run`). Only in a process :func:`entrypoint` started: in a caller's
    process (a test) freezing would also keep the caller's garbage."""
    if not _state["owns_process"] or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


_ALONE = ("run", "step")
"""Commands defined whole in one module: ``shipyard run`` and ``shipyard step …`` (each step of a cluster run)
import and build only that module's commands, not the whole tree with every command's options and help."""


def _register_commands(command: str | None = None) -> None:
    if command in _ALONE:
        importlib.import_module(f"shipyard.cli.{command}")
        return
    from shipyard.cli import (  # noqa: F401  (commands register on import)
        admin, airflow, audit, cost, deploy, drift, k8s, lineage, login, models, monitor, run, runs, scheduler, serve,
        server, spec, step, teams, tokens, tracking)


def _command_named(argv: list[str]) -> str | None:
    """The command ``argv`` asks for, unless it also asks for help (help lists every command)."""
    if any(arg in ("--help", "-h") for arg in argv):
        return None
    return next((arg for arg in argv if not arg.startswith("-")), None)


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
    from shipyard.config import load_settings
    from shipyard.tracking.setup import tracking_environment

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    _register_commands(_command_named(sys.argv[1:] if argv is None else argv))
    try:
        settings = load_settings()
    except ShipyardError as exc:  # a bad setting in the environment: say which, like any other error
        return report_error(exc)
    with tracking_environment(settings):
        return invoke(app, argv)


def invoke(cli: typer.Typer, argv: list[str] | None = None) -> int:
    """Run ``cli`` without letting it exit the process; return the exit code.

    With ``standalone_mode=False`` a command's return value comes back, and so
    does the code of an exit (``typer.Exit``, ``ctx.exit(n)``, Ctrl-C as 130);
    usage errors and aborts are raised.
    """
    try:
        returned = cli(args=argv, standalone_mode=False)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return _code(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 1
    except Exception as exc:
        return _ended_by(exc)
    return returned if isinstance(returned, int) and not isinstance(returned, bool) else 0


def _ended_by(exc: Exception) -> int:
    """The exit code of a command that raised ``exc``: an exit, an abort, a usage error or an error."""
    exits, aborts, usage_errors = _click_kinds()
    if isinstance(exc, exits):
        return _code(exc.exit_code)
    if isinstance(exc, aborts):
        print("aborted", file=sys.stderr)
        return 130
    if isinstance(exc, usage_errors):
        if hasattr(exc, "show"):
            exc.show()
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        return _code(exc.exit_code)
    return report_error(exc)


def _click_kinds() -> tuple[tuple[type[BaseException], ...], ...]:
    """Exit, abort and usage-error classes: Typer's own (it may vendor click) and click's, when something loaded it
    (only then can click's exceptions have been raised)."""
    exits: list[type[BaseException]] = [typer.Exit]
    aborts: list[type[BaseException]] = [typer.Abort]
    usage: list[type[BaseException]] = [getattr(typer, "TyperException", typer.BadParameter)]
    click = sys.modules.get("click")
    if click is not None:
        exits.append(click.exceptions.Exit)
        aborts.append(click.exceptions.Abort)
        usage.append(click.exceptions.ClickException)
    return tuple(exits), tuple(aborts), tuple(usage)


def _code(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def entrypoint() -> None:
    _state["owns_process"] = True
    code = main()
    _spare_the_final_collections()
    sys.exit(code)


def _spare_the_final_collections() -> None:
    """Collect the command's garbage now, then freeze what is left: the modules and what they hold, which the
    interpreter would otherwise scan again in each of its collections at exit (about 0.1 s of CPU with the
    store's and the spec's libraries loaded). What must be closed at exit has an exit handler (the metadata
    store's connections, logging's files)."""
    gc.collect()
    gc.freeze()
