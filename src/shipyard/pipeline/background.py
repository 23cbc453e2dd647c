"""Pipeline runs started in a process of their own, through ``shipyard run`` exactly as a user starts them.

A caller that must answer at once (the server) validates the spec and authorizes its identity here,
picks the run's id, starts ``python -m shipyard run`` detached and returns once the run is recorded.
The detached process acts as the caller: the identity (its teams and roles as they were at the
start) is handed down in the environment, so that the run is authorized and audited as the caller's.
An error that ends the process before it records the run comes back as the same kind of error,
through a file the process writes it to. The run then owns itself: it holds its lease, records its
steps and its end, and a ``SIGTERM`` cancels it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from shipyard import errors
from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError, NotFoundError, RefusedError, ShipyardError, SpecError
from shipyard.governance.identity import Identity, current_identity
from shipyard.governance.policy import authorize
from shipyard.governance.run_grants import issue_grant, redeem_grant
from shipyard.pipeline.api import authorize_run, fixed_spec, resumable_run
from shipyard.pipeline.compile import compile_spec
from shipyard.pipeline.runner import new_run_id
from shipyard.spec._yaml import read_yaml
from shipyard.spec.loader import load_spec, parse_spec
from shipyard.store import runs as store

RECORDED_WITHIN_S = 120.0
IDENTITY_ENV = "SHIPYARD_RUN_IDENTITY"
"""The identity a background run acts as, set by :func:`_launch` for the process it starts."""


def start_uploaded(spec_text: str, *, actor: str, no_cache: bool = False, no_deploy: bool = False,
                   from_step: str | None = None, base_dir: str | None = None,
                   settings: Settings | None = None) -> str:
    """Run a pipeline YAML given as text.

    When ``base_dir`` (the client's folder of the spec) can be read here and holds a YAML file with exactly
    this text, the run uses that file, so its relative paths resolve as they do for the client. Otherwise
    the text is kept under ``$SHIPYARD_HOME/specs/`` by its SHA-256 (so a resume finds it again) and its
    relative paths resolve against that folder.
    """
    settings = settings or load_settings()
    path = _uploaded_file(spec_text, base_dir, settings)
    return start_file(path, actor=actor, no_cache=no_cache, no_deploy=no_deploy, from_step=from_step,
                      settings=settings)


def _uploaded_file(spec_text: str, base_dir: str | None, settings: Settings) -> Path:
    """The file to run an uploaded spec from: the client's own when readable here, else a kept copy."""
    parse_spec(spec_text, source="uploaded pipeline.yaml")
    path = _same_spec_in(base_dir, spec_text) if base_dir else None
    if path is None:
        folder = settings.home / "specs" / hashlib.sha256(spec_text.encode("utf-8")).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "pipeline.yaml"
        if not path.exists():
            path.write_text(spec_text, encoding="utf-8")
    return path


def _same_spec_in(base_dir: str, spec_text: str) -> Path | None:
    """The YAML file in the folder ``base_dir`` whose text is ``spec_text``, if this process can read one."""
    folder = Path(base_dir)
    if not folder.is_absolute():
        return None
    try:
        candidates = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return None
    for candidate in candidates:
        try:
            if candidate.read_bytes().decode("utf-8-sig") == spec_text:
                return candidate
        except (OSError, UnicodeDecodeError):
            continue
    return None


def start_again(run_id: str, *, actor: str, no_cache: bool = False, no_deploy: bool = False,
                settings: Settings | None = None) -> str:
    """A new run of the spec a stored run ran with (its file when unchanged, else the stored text)."""
    settings = settings or load_settings()
    record = store.get_run(run_id, settings=settings)
    path = Path(record.spec_path) if record.spec_path else None
    if path is not None and path.is_file() and load_spec(path).digest == record.spec_digest:
        return start_file(path, actor=actor, no_cache=no_cache, no_deploy=no_deploy, settings=settings)
    return start_uploaded(record.spec_text, actor=actor, no_cache=no_cache, no_deploy=no_deploy, settings=settings)


def start_file(path: Path, *, actor: str, no_cache: bool = False, no_deploy: bool = False,
               from_step: str | None = None, settings: Settings | None = None) -> str:
    """Start ``shipyard run PATH`` in the background; the new run's id once it is recorded."""
    from shipyard.data.sources import source_files

    settings = settings or load_settings()
    loaded = load_spec(path)
    authorize_run(loaded, settings)
    if loaded.spec.data is not None:
        source_files(loaded.spec.data, loaded.base_dir)  # missing data files: refused now, as a run refuses them
    if from_step:
        compile_spec(loaded.spec, spec_text=loaded.text, spec_filename=path.name, source_digest=None).node(from_step)
    run_id = new_run_id()
    args = ["run", str(path), "--run-id", run_id] + (["--no-cache"] if no_cache else []) + \
        (["--no-deploy"] if no_deploy else []) + (["--from", from_step] if from_step else [])
    _launch(args, run_id, actor=actor, settings=settings)
    return run_id


def resume(run_id: str, *, actor: str, spec_text: str | None = None, base_dir: str | None = None,
           no_cache: bool = False, from_step: str | None = None, settings: Settings | None = None) -> str:
    """Start ``shipyard run --resume RUN_ID`` in the background; refused at once when it cannot be resumed.

    ``spec_text`` (a fixed spec, kept as an uploaded one is), ``no_cache`` and ``from_step`` are the
    command's ``--spec``, ``--no-cache`` and ``--from``; the spec's pipeline and the step are checked here.
    """
    settings = settings or load_settings()
    authorize(current_identity(), "runs.start", team=_team_of(store.get_run(run_id, settings=settings)))
    record = resumable_run(run_id, settings=settings)
    args = ["run", "--resume", record.id]
    if spec_text is not None:
        path = _uploaded_file(spec_text, base_dir, settings)
        loaded = fixed_spec(record, path)
        authorize_run(loaded, settings)
        args += ["--spec", str(path)]
    else:
        loaded = None
    if from_step:
        if loaded is None:
            loaded = parse_spec(record.spec_text, source=f"the spec of run {record.id}")
        compile_spec(loaded.spec, spec_text=loaded.text, spec_filename="pipeline.yaml",
                     source_digest=None).node(from_step)
        args += ["--from", from_step]
    if no_cache:
        args.append("--no-cache")
    _launch(args, record.id, actor=actor, settings=settings, resumed=record.status)
    return record.id


def cancel(run_id: str, *, settings: Settings | None = None) -> str:
    """Ask the process running ``run_id`` to stop (``SIGTERM``); it records the run as cancelled."""
    settings = settings or load_settings()
    record = store.get_run(run_id, settings=settings)
    authorize(current_identity(), "runs.cancel", team=_team_of(record))
    holder = record.holder
    if not holder.alive():
        raise RefusedError(f"run {record.id} is not running (it is {record.shown_status}); there is nothing to cancel",
                           headline="run is not running",
                           hint=f"`shipyard runs show {record.id}` shows how it ended")
    if holder.host != socket.gethostname() or holder.pid is None:
        raise RefusedError(f"run {record.id} runs on {holder.host}, not on this machine ({socket.gethostname()})",
                           headline="run is owned elsewhere",
                           hint=f"stop it there (process {holder.pid}); its lease then expires and the run "
                                "shows as interrupted")
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    return record.id


def _team_of(record) -> str | None:
    """The team the run's spec names, read without validating the spec (its rules may have changed since)."""
    try:
        document, _ = read_yaml(record.spec_text, f"the spec of run {record.id}")
    except SpecError:
        return None
    team = document.get("team") if isinstance(document, dict) else None
    return team if isinstance(team, str) else None


def handed_down_identity(run_id: str | None, settings: Settings | None = None) -> Identity | None:
    """The identity this process acts as when :func:`_launch` started it for ``run_id``; None when a user did.

    The grant must carry the server's signature and name this run: an identity typed into the environment
    by hand is refused.
    """
    grant = os.environ.get(IDENTITY_ENV)
    if not grant:
        return None
    return redeem_grant(grant, run_id, settings or load_settings())


def write_failure(path: Path, error: ShipyardError) -> None:
    """Leave ``error`` for the process that started this one (see :func:`_launch`)."""
    path.write_text(json.dumps({"kind": type(error).__name__, "message": error.message, "headline": error.headline,
                                "hint": error.hint}), encoding="utf-8")


def _read_failure(path: Path) -> ShipyardError | None:
    """The error a run's process wrote before it ended, as the kind it was raised as."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = getattr(errors, str(data.get("kind")), None)
    if not (isinstance(kind, type) and issubclass(kind, ShipyardError)):
        return None
    return kind(str(data.get("message")), headline=data.get("headline"), hint=data.get("hint"))


def _environment(settings: Settings, actor: str, run_id: str) -> dict[str, str]:
    """The server's environment for the run's process, which runs in-process against these stores, never as
    a client of a server."""
    env = {name: value for name, value in os.environ.items() if name not in ("SHIPYARD_URL", "SHIPYARD_TOKEN")}
    env.update({"SHIPYARD_HOME": str(settings.home), "SHIPYARD_DATABASE_URL": settings.database_url,
                "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "SHIPYARD_ACTOR": actor,
                "SHIPYARD_RUN_LEASE_S": str(settings.run_lease_s)})
    if settings.quotas_file is not None:
        env["SHIPYARD_QUOTAS"] = str(settings.quotas_file)
    identity = current_identity()
    if identity.is_local:
        env.pop(IDENTITY_ENV, None)
    else:
        env[IDENTITY_ENV] = issue_grant(identity, run_id, settings)
    return env


def _launch(args: list[str], run_id: str, *, actor: str, settings: Settings, resumed: str | None = None) -> None:
    """Start the run's process and wait until it has recorded the run (or taken it over, when resuming).

    When the process ends first, the error it wrote is raised as the kind it was (a missing data file is
    the caller's :class:`DataError`, not a backend failure); only an end without one is a backend failure.
    """
    logs = settings.home / "run-logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{run_id}.log"
    failure_path = logs / f"{run_id}.failure.json"
    failure_path.unlink(missing_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "shipyard", *args, "--failure-file", str(failure_path)],
                                   stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, env=_environment(settings, actor, run_id),
                                   start_new_session=True)
    threading.Thread(target=process.wait, name=f"reap-run-{run_id}", daemon=True).start()
    deadline = time.monotonic() + RECORDED_WITHIN_S
    while time.monotonic() < deadline:
        if _recorded(run_id, settings, resumed):
            return
        if process.poll() is not None:
            failure = _read_failure(failure_path)
            if failure is not None:
                failure_path.unlink(missing_ok=True)
                raise failure
            if _recorded(run_id, settings, resumed, finished=True):
                return
            tail = log_path.read_text(errors="replace")[-2000:].strip()
            raise BackendError(f"the process for run {run_id} exited with code {process.returncode} before it "
                               f"recorded the run: {tail or '(no output)'}",
                               headline="run did not start", hint=f"its output is in {log_path}")
        time.sleep(0.1)
    raise BackendError(f"the process for run {run_id} did not record the run within {RECORDED_WITHIN_S:.0f}s",
                       headline="run did not start", hint=f"its output is in {log_path}")


def _recorded(run_id: str, settings: Settings, resumed: str | None, *, finished: bool = False) -> bool:
    try:
        record = store.get_run(run_id, settings=settings)
    except NotFoundError:
        return False
    if resumed is None:
        return finished or record.status != "pending"  # running: its steps are recorded too
    return record.holder.alive() or finished or record.status != resumed
