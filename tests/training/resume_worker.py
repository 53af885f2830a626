"""Worker for test_resume.py: one training run that can be killed and resumed.

``python resume_worker.py CKPT_DIR`` trains slowly (a 1 s pause after each batch) writing
``CKPT_DIR/last.ckpt`` every 3 steps (mid-epoch) and at each epoch end (every 8 steps), until
the test kills it with SIGKILL right after the first checkpoint (step 3).
``test_resume.py`` imports :func:`train` to resume and to run the uninterrupted reference.
"""

import sys
import time

import lightning as L
import torch
from torch import nn

from rnnkit.training import RegressionObjective, TrainConfig, fit

EPOCHS, EXAMPLES, BATCH = 3, 32, 4          # 8 batches per epoch, 24 steps in all


class DropoutRegressor(nn.Module):
    """(B, T, 2) -> (B, 1) with dropout, so a resumed run must also restore the RNG."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(2, 8, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.drop(self.rnn(x)[0][:, -1]))


class Pause(L.Callback):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        time.sleep(self.seconds)


class CountBatches(L.Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.batches += 1


def data():
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(EXAMPLES, 6, 2, generator=generator)
    return x, x.sum(dim=(1, 2)).unsqueeze(1)


def config(checkpoint_dir=None) -> TrainConfig:
    return TrainConfig(log_dir=checkpoint_dir, loggers=("csv",), log_every_n_steps=1, optimizer="adam", lr=0.01, lr_schedule="step", lr_step_epochs=1, lr_gamma=0.5,
                       max_epochs=EPOCHS, batch_size=BATCH, shuffle=True, seed=3, accelerator="cpu",
                       progress_bar="off", checkpoint_dir=checkpoint_dir, checkpoint_every_n_steps=3)


def train(checkpoint_dir=None, resume=False, callbacks=()):
    """Train from scratch (or resume from CKPT_DIR/last.ckpt); return the model and the result."""
    torch.manual_seed(0)
    model = DropoutRegressor()
    result = fit(model, RegressionObjective(), data(), config=config(checkpoint_dir),
                 resume_from="last" if resume else None, callbacks=callbacks)
    return model, result


if __name__ == "__main__":
    torch.set_num_threads(1)
    train(sys.argv[1], callbacks=[Pause(1.0)])
