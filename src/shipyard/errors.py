"""The one error tree of shipyard.

Every error carries a short ``headline`` and a ``message`` that says what went
wrong, what is allowed and what to do next. The CLI prints both for user-facing
kinds and a traceback only for :class:`InternalError` (or with ``--debug``).
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
    """An operation was refused: a gate failed, a state forbids it, permission denied."""

    headline = "refused"
    exit_code = 6


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


class InternalError(ShipyardError):
    """A bug in shipyard itself."""

    headline = "internal error"
    exit_code = 70
