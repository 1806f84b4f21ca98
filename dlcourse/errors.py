"""User-facing errors: each says what is wrong, which file or setting is at fault, and the fix."""


class DlcourseError(RuntimeError):
    """An error meant for a person: the CLI prints its message without a traceback."""


class DataNotFoundError(DlcourseError):
    """A data set is missing or corrupt and could not be provisioned automatically."""


class ConfigError(DlcourseError):
    """A setting (environment variable, CLI flag, config value) has an invalid value."""


class WeightsNotFoundError(DataNotFoundError):
    """Pretrained weights are not on this machine (``dlcourse data fetch weights`` fetches them)."""
