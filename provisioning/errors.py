"""Errors are either temporary (retry with backoff) or permanent (fail now, say why)."""

from .scopes import service_of


class ProvisioningError(Exception):
    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class TemporaryError(ProvisioningError):
    """Throttling, 5xx, timeouts: worth retrying."""


class PermanentError(ProvisioningError):
    """Validation, access denied, conflicts: retrying cannot help."""


class RunInProgress(Exception):
    """A run of the same scope has not finished: one run at a time per scope."""

    def __init__(self, run):
        self.run = run
        super().__init__(
            f"run #{run.pk} ({run.action}, {run.get_status_display().lower()}) is already in progress for "
            f"{service_of(run.scope) or run.scope}; wait for it to finish or cancel it"
        )


class RunCancelled(Exception):
    """Someone cancelled the run while it was being carried out."""


class GraphError(Exception):
    """The resource graph could not be drawn."""
