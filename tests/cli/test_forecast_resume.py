"""``rnnkit forecast`` killed with SIGKILL while its second member trains, then ``--resume``: the
forecast and the weights of a run never interrupted, the first member not trained again."""

import sys
from pathlib import Path

import pandas as pd
import torch

from rnnkit.cli import main
from rnnkit.forecasting import GlobalForecaster

DATA = ["--dataset", "tourism-yearly"]
OPTIONS = ["--lookback", "6", "--ensemble", "2", "--epochs", "3", "--batch", "64", "--hidden", "8", "--baselines", "none"]
# 518 series, about half a second an epoch: the kill lands while the second member still trains


def test_a_killed_forecast_resumes_to_the_result_of_an_unbroken_one(tmp_path, capsys, kill_once_written, monkeypatch):
    run, partial = tmp_path / "run", tmp_path / ".run.partial"
    second = partial / "checkpoints" / "member-1" / "last.ckpt"
    kill_once_written([sys.executable, "-m", "rnnkit", "forecast", *DATA, *OPTIONS, "--out", str(run)], second)
    assert (partial / "checkpoints" / "member-0" / "done.safetensors").is_file() and not run.exists()

    import rnnkit.training

    trained, engine_fit = [], rnnkit.training.fit

    def recording_fit(model, objective, train, val, config, **kwargs):
        folder = Path(config.checkpoint_dir)
        trained.append((folder.name, (folder / "last.ckpt").is_file()))
        return engine_fit(model, objective, train, val, config, **kwargs)

    monkeypatch.setattr(rnnkit.training, "fit", recording_fit)
    # the model options are the interrupted run's own: a different --epochs is not used
    assert main(["forecast", *DATA, "--epochs", "1", "--resume", str(run)]) == 0
    assert trained == [("member-1", True)]  # the first member is read back, the second goes on from its checkpoint
    monkeypatch.undo()
    assert "resuming the interrupted forecast run" in capsys.readouterr().err
    assert not partial.exists() and not (run / "checkpoints").exists()
    assert main(["forecast", *DATA, *OPTIONS, "--out", str(tmp_path / "unbroken")]) == 0

    resumed, unbroken = GlobalForecaster.load(run / "model"), GlobalForecaster.load(tmp_path / "unbroken" / "model")
    for key, value in unbroken.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)
    pd.testing.assert_frame_equal(pd.read_csv(run / "forecast.csv"), pd.read_csv(tmp_path / "unbroken" / "forecast.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(run / "metrics.csv"), pd.read_csv(tmp_path / "unbroken" / "metrics.csv"))


def test_resuming_on_other_data_is_refused(tmp_path, capsys, kill_once_written):
    run = tmp_path / "run"
    kill_once_written([sys.executable, "-m", "rnnkit", "forecast", *DATA, *OPTIONS, "--out", str(run)],
                      tmp_path / ".run.partial" / "checkpoints" / "member-0" / "last.ckpt")
    assert main(["forecast", "--dataset", "airpassengers", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "was started on other data than" in err and "resume it with the same data" in err
    assert (tmp_path / ".run.partial").is_dir()  # still there to resume
