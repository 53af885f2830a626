"""The sub-commands and their one-line help: ``rnnkit --help`` lists them without importing any."""

COMMANDS: dict[str, str] = {
    "gradients": "measure vanishing/exploding gradients (scalar RNN and real layers), write plots + CSV",
    "embed": "word embeddings: train word2vec, analogies, neighbours, analogy accuracy",
    "longrange": "train a cell on the adding / copy-memory task and compare with the baseline",
    "lm": "language models: train on a text (truncated BPTT), generate text",
    "forecast": "forecast many series with one recurrent network, scored beside statsforecast's baselines",
    "translate": "sequence-to-sequence translation with attention (numbers, dates or a TSV file)",
    "caption": "caption 8x8 digit images with their number word (CNN encoder + recurrent decoder)",
    "classify": "text classification (many-to-one): train on a CSV or Rotten Tomatoes, predict",
    "music": "polyphonic music: learn Bach's chorales (or your MIDI files) and continue a piece",
    "export": "export a saved model to ONNX or TorchScript, checked against PyTorch",
}
"""Each name is a module ``rnnkit.cli.<name>`` whose ``register(subparsers)`` adds its full parser."""
