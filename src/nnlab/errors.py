"""Every failure a user can cause is an `NnlabError`; the CLI prints it in a line or two.

Kinds let callers (and tests) tell a missing file from a corrupt one without parsing messages.
"""


class NnlabError(Exception):
    """A failure the user can fix: the message says what is wrong and what to do."""


class UnknownNameError(NnlabError):
    """An experiment, dataset, model or split name that is not registered."""


class ConfigError(NnlabError):
    """A setting with a bad key, type or value."""


class MissingDataError(NnlabError):
    """A dataset or weight file that is not on disk; the message says where to put it."""


class CorruptFileError(NnlabError):
    """A file that exists but cannot be read as its format says (truncated, wrong magic, ...)."""


class UnsafeFileError(CorruptFileError):
    """A file that tries something a data file must not (code in a pickle, `..` in an archive)."""


class DivergedError(NnlabError, ArithmeticError):
    """Training whose loss became NaN or infinite; a smaller learning rate usually helps."""


class NnlabWarning(UserWarning):
    """Something the user should know about that does not stop the run."""


class SubstituteWarning(NnlabWarning):
    """A stated substitute (embedded set, random weights) stands in for missing data."""
