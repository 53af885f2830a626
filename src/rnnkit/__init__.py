"""rnnkit: recurrent neural networks from the equations up, on PyTorch and Lightning.

The public API is re-exported here explicitly; see the submodules for the full story.
"""

from rnnkit.errors import CheckpointError, DataError, RnnkitError

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "RnnkitError",
    "DataError",
    "CheckpointError",
]
