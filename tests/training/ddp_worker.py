"""Worker for test_ddp.py: the same two trainings on one process or, with strategy="ddp", on two.

Run as ``python ddp_worker.py OUT_DIR`` it trains on 2 CPU processes (gloo) and rank 0 writes
the final parameters to ``OUT_DIR/{regression,stream}.pt``; ``test_ddp.py`` imports it to train
the single-process reference with the same global batch and seed.
"""

import sys
from pathlib import Path

import torch
from torch import nn

from rnnkit.training import RegressionObjective, StreamDataset, StreamingLMObjective, TrainConfig, fit

PER_PROCESS_BATCH = 4


class Regressor(nn.Module):
    """(B, T, 2) -> (B, 1): LSTM, last step, linear, with dropout to exercise the RNG."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(2, 6, batch_first=True)
        self.head = nn.Linear(6, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


class TinyLM(nn.Module):
    """ids (B, T) -> logits (B, T, 5), carrying the GRU state: forward(x, state) -> (logits, state)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 4)
        self.rnn = nn.GRU(4, 6, batch_first=True)
        self.out = nn.Linear(6, 5)
        self.rows_seen: set[int] = set()  # batch sizes this process's forward saw

    def forward(self, ids, state=None):
        self.rows_seen.add(ids.shape[0])
        h, state = self.rnn(self.embed(ids), state)
        return self.out(h), state


def regression_data():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(32, 5, 2, generator=generator, dtype=torch.float64)
    return x, x.sum(dim=(1, 2)).unsqueeze(1)


def stream_data():
    generator = torch.Generator().manual_seed(2)
    return torch.randint(0, 5, (4 * 12 + 1,), generator=generator)


def train_both(devices: int) -> dict[str, dict]:
    """Train both models on ``devices`` CPU processes with global batch 2 * PER_PROCESS_BATCH.

    Returns ``{name: {"state_dict": ..., "rows_seen": ...}}`` for "regression" and "stream".
    """
    common = dict(accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
                  precision="64-true", seed=0, progress_bar="off")
    torch.manual_seed(0)
    regressor = Regressor()
    fit(regressor, RegressionObjective(), regression_data(), config=TrainConfig(
        optimizer="adam", lr=0.01, clip_norm=0.5, max_epochs=2, batch_size=2 * PER_PROCESS_BATCH // devices,
        shuffle=True, **common))
    torch.manual_seed(0)
    lm = TinyLM()
    streams = StreamDataset(stream_data(), num_streams=4, seq_len=6)
    fit(lm, StreamingLMObjective(), streams, config=TrainConfig(
        optimizer="sgd", lr=0.5, tbptt_steps=3, max_epochs=2, batch_size=4, **common))
    return {"regression": {"state_dict": regressor.state_dict()},
            "stream": {"state_dict": lm.state_dict(), "rows_seen": sorted(lm.rows_seen)}}


if __name__ == "__main__":
    torch.set_num_threads(1)
    states = train_both(devices=2)
    if torch.distributed.is_initialized() and torch.distributed.get_rank() == 0:
        out = Path(sys.argv[1])
        for name, result in states.items():
            torch.save(result, out / f"{name}.pt")
