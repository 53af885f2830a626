"""rnnkit: recurrent neural networks from the equations up, on PyTorch and Lightning.

The public API is re-exported here explicitly; see the submodules for the full story.
"""

from typing import TYPE_CHECKING, Any

from rnnkit.cells import Cell, GRUCell, LSTMCell, RNNCell
from rnnkit.diagnostics import (
    GradientFlowConfig,
    ScalarSweepConfig,
    measure_gradient_flow,
    scalar_sweep,
)
from rnnkit.data.embeddings import load_vectors, pretrained_embedding
from rnnkit.data.tokenizers import CharTokenizer, WordTokenizer
from rnnkit.data.vocab import Vocab
from rnnkit.errors import CheckpointError, DataError, RnnkitError
from rnnkit.layers import GRU, LSTM, RNN, CellLayer, build_layer, register_cell
from rnnkit.models import (
    ConditionalGenerator,
    ConditionalGeneratorConfig,
    LanguageModel,
    LanguageModelConfig,
    Seq2Seq,
    Seq2SeqConfig,
    SequenceClassifier,
    SequenceClassifierConfig,
    SequenceTagger,
    SequenceTaggerConfig,
)
from rnnkit.cells.mlstm import mLSTMCell
from rnnkit.cells.slstm import sLSTMCell
from rnnkit.layers.blocks import mLSTMBlock, sLSTMBlock, xLSTMStack, xLSTMStackConfig
from rnnkit.layers.xlstm import mLSTM, mLSTMState, sLSTM, sLSTMState
from rnnkit.training import (
    ClassificationObjective,
    Objective,
    RegressionObjective,
    SequenceCrossEntropyObjective,
    StepOutput,
    StreamDataset,
    StreamingLMObjective,
    TrainConfig,
    load_model,
    save_model,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from rnnkit.forecasting import GlobalForecastConfig, GlobalForecaster
    from rnnkit.training.engine import FitResult, evaluate, fit, predict

# Loaded on first use (PEP 562): the training engine imports Lightning, the forecaster pandas and
# statsforecast's neighbours; ``import rnnkit`` needs neither.
_LAZY = {"FitResult": "rnnkit.training.engine", "fit": "rnnkit.training.engine", "evaluate": "rnnkit.training.engine",
         "predict": "rnnkit.training.engine", "GlobalForecaster": "rnnkit.forecasting.global_model",
         "GlobalForecastConfig": "rnnkit.forecasting.config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


__all__ = [
    "__version__",
    "RnnkitError",
    "DataError",
    "CheckpointError",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "RNN",
    "LSTM",
    "GRU",
    "build_layer",
    "Cell",
    "CellLayer",
    "register_cell",
    "sLSTM",
    "mLSTM",
    "sLSTMCell",
    "mLSTMCell",
    "sLSTMState",
    "mLSTMState",
    "xLSTMStack",
    "xLSTMStackConfig",
    "mLSTMBlock",
    "sLSTMBlock",
    "ScalarSweepConfig",
    "scalar_sweep",
    "GradientFlowConfig",
    "measure_gradient_flow",
    "TrainConfig",
    "FitResult",
    "fit",
    "evaluate",
    "predict",
    "Objective",
    "StepOutput",
    "RegressionObjective",
    "ClassificationObjective",
    "SequenceCrossEntropyObjective",
    "StreamingLMObjective",
    "StreamDataset",
    "save_model",
    "load_model",
    "SequenceClassifier",
    "SequenceClassifierConfig",
    "SequenceTagger",
    "SequenceTaggerConfig",
    "LanguageModel",
    "LanguageModelConfig",
    "ConditionalGenerator",
    "ConditionalGeneratorConfig",
    "Seq2Seq",
    "Seq2SeqConfig",
    "CharTokenizer",
    "WordTokenizer",
    "Vocab",
    "load_vectors",
    "pretrained_embedding",
    "GlobalForecaster",
    "GlobalForecastConfig",
]
