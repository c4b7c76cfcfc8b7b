"""Errors are either temporary (retry with backoff) or permanent (fail now, say why)."""


class ProvisioningError(Exception):
    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class TemporaryError(ProvisioningError):
    """Throttling, 5xx, timeouts: worth retrying."""


class PermanentError(ProvisioningError):
    """Validation, access denied, conflicts: retrying cannot help."""
