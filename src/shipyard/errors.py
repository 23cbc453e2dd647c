"""The one error tree of shipyard.

Every error carries a short ``headline`` and a ``message`` that says what went
wrong, what is allowed and what to do next. The CLI prints both for user-facing
kinds and a traceback only for :class:`InternalError` (or with ``--debug``).

Each kind's ``exit_code`` is the CLI's exit status for it; :func:`exit_codes` is the
documented table (``shipyard --help`` and the README print it).
"""

from __future__ import annotations


class ShipyardError(Exception):
    """Base of every error shipyard raises on purpose."""

    headline = "shipyard error"
    exit_code = 1

    def __init__(self, message: str, *, headline: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        if headline is not None:
            self.headline = headline
        self.hint = hint

    def render(self) -> str:
        text = f"{self.headline}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.headline, self.hint))


def _rebuild(cls, message, headline, hint):
    return cls(message, headline=headline, hint=hint)


class SpecError(ShipyardError):
    """The pipeline YAML is malformed, misspelled or contradicts itself."""

    headline = "invalid pipeline spec"
    exit_code = 2


class UsageError(ShipyardError):
    """A command got an argument or option value it does not accept (click's own usage errors share the code)."""

    headline = "usage error"
    exit_code = 2


class DataError(ShipyardError):
    """The data is missing, unreadable or breaks its expectations."""

    headline = "data error"
    exit_code = 3


class UserCodeError(ShipyardError):
    """A user function (feature transformer, custom step) raised.

    ``user_traceback`` keeps the original traceback as text so it survives the
    trip from a worker process.
    """

    headline = "user code failed"
    exit_code = 4

    def __init__(self, message: str, *, headline: str | None = None, hint: str | None = None,
                 user_traceback: str | None = None):
        super().__init__(message, headline=headline, hint=hint)
        self.user_traceback = user_traceback

    def __reduce__(self):
        return (_rebuild_user, (self.message, self.headline, self.hint, self.user_traceback))


def _rebuild_user(message, headline, hint, user_traceback):
    return UserCodeError(message, headline=headline, hint=hint, user_traceback=user_traceback)


class BackendError(ShipyardError):
    """A service shipyard depends on failed: MLflow, the metadata database, storage."""

    headline = "backend failure"
    exit_code = 5


class RefusedError(ShipyardError):
    """An operation was refused: the state of a version or deployment forbids it, permission denied."""

    headline = "refused"
    exit_code = 6


class GateFailedError(RefusedError):
    """A version failed its promotion gates and was rejected."""

    headline = "gate failed"
    exit_code = 10


class ForbiddenError(RefusedError):
    """The acting identity's roles do not allow the operation on that team's models."""

    headline = "forbidden"
    exit_code = 6


class UnauthenticatedError(ShipyardError):
    """No identity could be established: an unknown, expired or revoked token, or an unverifiable JWT."""

    headline = "not authenticated"
    exit_code = 13


class DriftDetectedError(ShipyardError):
    """A drift report reached the severity the caller asked to fail on (``--fail-on``)."""

    headline = "drift detected"
    exit_code = 11


class NotEnoughDataError(DataError):
    """Too few rows to judge (e.g. too little logged traffic in a drift window): no verdict either way."""

    headline = "not enough data"
    exit_code = 12


class TamperedError(RefusedError):
    """A record no longer matches its recorded digest: the audit log's hash chain, a model file, a model card."""

    headline = "tampered"
    exit_code = 9


class StepFailedError(ShipyardError):
    """A pipeline step failed after all its retries."""

    headline = "step failed"
    exit_code = 7


class NotFoundError(ShipyardError):
    """A run, model, version or artifact that does not exist."""

    headline = "not found"
    exit_code = 8


class CancelledError(ShipyardError):
    """The run was interrupted (Ctrl-C or a signal)."""

    headline = "cancelled"
    exit_code = 130


class PreemptedError(CancelledError):
    """A step was told to stop (SIGTERM: spot reclaim, node drain) and stopped after saving a checkpoint.

    The runner runs a preempted step again without counting an attempt; it resumes from its checkpoint.
    """

    headline = "preempted"


class InternalError(ShipyardError):
    """A bug in shipyard itself."""

    headline = "internal error"
    exit_code = 70


def kind_slug(name: str) -> str:
    """The kebab-case kind of an error class name, as the API's problem types carry it (``NotFoundError`` ->
    ``not-found``)."""
    name = name.removesuffix("Error") or "error"
    return "".join("-" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def kind_for_slug(slug: str) -> type[ShipyardError] | None:
    """The error class whose :func:`kind_slug` is ``slug``, searched through the whole tree."""
    pending: list[type[ShipyardError]] = [ShipyardError]
    while pending:
        kind = pending.pop()
        if kind_slug(kind.__name__) == slug:
            return kind
        pending.extend(kind.__subclasses__())
    return None


def exit_codes() -> list[tuple[int, str]]:
    """The CLI's exit statuses and what each means, in order."""
    return [
        (0, "success (monitor: judged, below --fail-on)"),
        (ShipyardError.exit_code, "any other error"),
        (SpecError.exit_code, "usage error or invalid pipeline spec: nothing ran"),
        (DataError.exit_code, "data error: missing, unreadable or failing its expectations"),
        (UserCodeError.exit_code, "your code (a feature function or custom step) raised"),
        (BackendError.exit_code, "backend failure: MLflow, the metadata database or storage"),
        (RefusedError.exit_code, "refused: the current state or your role forbids it, e.g. gating a production version"),
        (StepFailedError.exit_code, "a pipeline step failed after its retries"),
        (NotFoundError.exit_code, "no such model, version, run or report"),
        (TamperedError.exit_code, "tampered: the audit log's hash chain, a model file or a model card does not verify"),
        (GateFailedError.exit_code, "gate failed: the version was rejected (run, gate)"),
        (DriftDetectedError.exit_code, "drift reached the --fail-on severity (monitor, drift)"),
        (NotEnoughDataError.exit_code,
         "not enough data to judge, e.g. too little traffic in the window (monitor, drift)"),
        (UnauthenticatedError.exit_code, "not authenticated: unknown, expired or revoked token"),
        (InternalError.exit_code, "internal error: a bug in shipyard (traceback printed)"),
        (CancelledError.exit_code, "interrupted (Ctrl-C), or stopped by SIGTERM (preempted: resume it)"),
    ]
