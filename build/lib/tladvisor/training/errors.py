"""User-facing errors of the training layer: each names the file or field and what to do."""


class DataError(ValueError):
    """The user's data cannot be used as given (bad archive, empty class, wrong columns, ...)."""


class BackboneUnavailableError(RuntimeError):
    """The backbone's weights cannot be loaded here (offline, unknown name, ...)."""


class RunDirError(RuntimeError):
    """The run directory is missing, incomplete or would be overwritten."""
