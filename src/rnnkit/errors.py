"""Exceptions for mistakes a user can fix.

Library code raises these (or plain ``ValueError`` / ``TypeError`` for bad arguments) with a
one-line message that names the problem and the fix; the CLI turns them into one line on stderr
and a non-zero exit code.
"""


class RnnkitError(Exception):
    """Base class for user-facing rnnkit errors."""


class DataError(RnnkitError, ValueError):
    """The user's data cannot be used as given (missing column, too short, wrong encoding...)."""


class CheckpointError(RnnkitError):
    """A saved model directory is missing, corrupt, or does not match the model asked for."""


class TrainingDiverged(RnnkitError):
    """The training loss became NaN or infinite: the run stopped instead of training on nonsense."""
