import math

import pytest
import torch

from rnnkit.data.longrange import adding_baseline_mse, copy_memory_baseline
from rnnkit.tasks.longrange import LongRangeConfig, build_model, run_longrange


def test_lstm_learns_a_short_adding_problem_far_below_the_baseline():
    config = LongRangeConfig(task="adding", T=10, cell="lstm", hidden_size=16, steps=300, batch_size=32, lr=1e-2)
    result = run_longrange(config)
    assert result.baseline == pytest.approx(adding_baseline_mse())
    assert result.initial_loss > 0.1  # an untrained model is no better than the baseline
    assert result.test_loss < 0.1 * result.baseline, result.to_dict()
    assert result.sequences == 300 * 32 and result.cpu_seconds > 0
    assert result.to_dict()["ratio_to_baseline"] == pytest.approx(result.test_loss / result.baseline)


def test_copy_task_pipeline_learns_at_least_the_memoryless_strategy():
    config = LongRangeConfig(task="copy", T=3, cell="gru", hidden_size=32, steps=120, batch_size=32, lr=1e-2)
    result = run_longrange(config)
    assert result.baseline == pytest.approx(10 * math.log(8) / 23)
    assert result.initial_loss > 2.0  # about ln 10 before training
    assert result.test_loss < 1.15 * copy_memory_baseline(3), result.to_dict()  # blanks learned
    assert 0.0 <= result.test_accuracy <= 1.0


def test_models_per_task_and_config_errors():
    adding = build_model(LongRangeConfig(task="adding", T=5, cell="gru", hidden_size=8))
    assert adding(torch.rand(2, 5, 2)).shape == (2, 1)
    copy = build_model(LongRangeConfig(task="copy", T=5, cell="rnn", hidden_size=8))
    assert copy(torch.randint(0, 10, (2, 25)))[0].shape == (2, 25, 10)
    with pytest.raises(ValueError, match=r"task must be one of 'adding', 'copy'; got 'sort'"):
        LongRangeConfig(task="sort")
    with pytest.raises(ValueError, match=r"cell must be one of rnn, lstm, gru, slstm, mlstm, lnlstm, lngru; got 'tanh'"):
        LongRangeConfig(cell="tanh")
    with pytest.raises(ValueError, match=r"lr must be a number > 0, got 0"):
        LongRangeConfig(lr=0)
    with pytest.raises(ValueError, match=r"clip_norm must be > 0 or None \(no clipping\), got -1"):
        LongRangeConfig(clip_norm=-1)


def test_a_stopped_run_resumes_with_its_gradient_flow_records_and_the_same_result(tmp_path, monkeypatch):
    import json

    import lightning as L

    import rnnkit.tasks.longrange as longrange
    from rnnkit.io import partial_path

    class StopAt(L.Callback):  # Ctrl-C at step 150, after the checkpoint of step 100
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 150:
                raise KeyboardInterrupt

    config = longrange.LongRangeConfig(T=12, hidden_size=16, steps=250, batch_size=8, seed=1)
    fit = longrange.fit
    monkeypatch.setattr(longrange, "fit", lambda *a, callbacks=(), **k: fit(*a, callbacks=[*callbacks, StopAt()], **k))
    with pytest.raises(KeyboardInterrupt):
        longrange.train_longrange(config, tmp_path / "run", track_every=50)
    assert not (tmp_path / "run").exists() and partial_path(tmp_path / "run").is_dir()
    monkeypatch.setattr(longrange, "fit", fit)
    resumed = longrange.train_longrange(config, tmp_path / "run", track_every=50, resume=True)
    unbroken = longrange.train_longrange(config, tmp_path / "unbroken", track_every=50)
    assert resumed.test_loss == unbroken.test_loss and resumed.sequences == unbroken.sequences == 250 * 8
    assert resumed.gradient_flow == unbroken.gradient_flow  # the records before the stop are kept
    assert sorted({row["step"] for row in resumed.gradient_flow}) == [0, 50, 100, 150, 200, 250]
    assert json.loads((tmp_path / "run" / "result.json").read_text())["test_loss"] == resumed.test_loss
