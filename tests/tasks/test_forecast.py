"""The forecast task: learning known patterns, AirPassengers against seasonal naive, no leakage, saving."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.datasets import load_dataset
from rnnkit.data.series import SeriesColumns, series_from_frame
from rnnkit.errors import DataError
from rnnkit.forecasting.backtest import Origin
from rnnkit.models.forecaster import ForecasterEnsemble
from rnnkit.tasks.forecast import ForecastConfig, ForecastTask

FAST = {"hidden_size": 32, "quantiles": (), "baselines": ("naive",), "batch_size": 256, "patience": None}


def _series(values, start=0, **columns):
    frame = pd.DataFrame({"t": np.arange(start, start + len(values)), "y": values, **columns})
    return series_from_frame(frame, SeriesColumns("t", "y", covariates=tuple(columns)))


@pytest.mark.parametrize("mode", ["direct", "recursive"])
def test_learns_a_noiseless_sine_and_a_linear_trend(mode):
    # one global model over both series (each scaled on its own), so one training run per mode
    t = np.arange(160)
    frame = pd.concat(
        [
            pd.DataFrame({"t": t, "id": "sine", "y": np.sin(2 * np.pi * t / 16)}),  # amplitude 1
            pd.DataFrame({"t": t, "id": "trend", "y": 5.0 + 0.5 * t}),  # slope 0.5 per step
        ]
    )
    data = series_from_frame(frame, SeriesColumns("t", "y", id="id"))
    config = ForecastConfig(horizon=8, window=16, mode=mode, reference="last", epochs=120, lr=1e-2, **FAST)
    task = ForecastTask(config, data).fit()
    for name, tolerance in (("sine", 0.1), ("trend", 1.0)):  # RMSE below 10% of the amplitude / two steps of growth
        one = ForecastTask(config, series_from_frame(frame[frame["id"] == name], data.columns), model=task.model,
                           target_scaler=task.target_scaler, covariate_scaler=task.covariate_scaler,
                           series_names=task.series_names)
        one.split = task.split
        report = one.evaluate()
        model, naive = report.metrics.loc["rnnkit lstm", "RMSE"], report.metrics.loc["naive", "RMSE"]
        assert model < tolerance, (mode, name, model)
        assert model < 0.4 * naive, (mode, name, model, naive)


def test_lstm_beats_seasonal_naive_on_airpassengers():
    config = ForecastConfig(horizon=12, window=24, log=True, reference="season", epochs=200, baselines=("snaive",),
                            hidden_size=32, batch_size=256, patience=None, seed=0)
    task = ForecastTask(config, load_dataset("airpassengers")).fit()
    metrics = task.evaluate().metrics
    assert metrics.loc["seasonal naive", "MAPE"] == pytest.approx(9.99, abs=0.01)
    assert metrics.loc["rnnkit lstm", "MAPE"] < 0.6 * metrics.loc["seasonal naive", "MAPE"]


def test_split_has_no_leakage_and_holdout_is_one_batched_pass():
    values = np.sin(np.arange(60) / 3.0) + 3.0
    changed = values.copy()
    changed[-10:] += 100.0  # the held-out part (test=6) and validation part (val=4)
    config = ForecastConfig(horizon=3, window=6, test=6, val=4, backtest_step=1, epochs=2, **FAST)
    a, b = ForecastTask(config, _series(values)), ForecastTask(config, _series(changed))
    np.testing.assert_allclose(a.target_scaler.center, [values[:50].mean()])
    np.testing.assert_array_equal(a.target_scaler.center, b.target_scaler.center)
    for part in ("train",):
        ta, tb = a.batch(a._origins(part)), b.batch(b._origins(part))
        assert all(np.array_equal(ta[k], tb[k]) for k in ta)
    origins = a.holdout_origins()
    assert [o.index for o in origins] == [54, 55, 56, 57]  # rolling origins inside the test part
    calls = []
    original = a.forecast
    a.forecast = lambda o, h: calls.append(len(o)) or original(o, h)
    a.evaluate()
    assert calls == [4]


def test_classical_reference_is_fit_on_training_data_and_corrected_by_the_network(tmp_path):
    from rnnkit.forecasting.baselines import ETS

    values = load_dataset("airpassengers").series[0].values
    config = ForecastConfig(horizon=12, window=24, log=True, reference="ets", epochs=3, **FAST)
    task = ForecastTask(config, load_dataset("airpassengers"))
    assert task.model.config.reference == "given"
    ets = ETS(12).fit(values[:-12])  # fit on the training part only
    origins = [Origin(0, 60), Origin(0, len(values) - 12)]
    expected = task.target_scaler.transform(np.stack([ets.forecast(values[: o.index], 12) for o in origins]), 0)
    np.testing.assert_allclose(task.batch(origins)["reference"].numpy(), expected, rtol=1e-5, atol=1e-5)
    # with the network's part zeroed, the held-out forecast is the ETS forecast
    task.model.head.weight.data.zero_()
    task.model.head.bias.data.zero_()
    forecast = task.forecast(task.holdout_origins()).point[0]
    np.testing.assert_allclose(forecast, ets.forecast(values[:-12], 12), rtol=1e-4)
    task.fit()
    assert task.train_seconds > task.reference_seconds > 0
    saved = task.save(tmp_path / "model")
    reloaded = ForecastTask.load(saved, load_dataset("airpassengers"))  # the reference is refit on the given data
    assert reloaded.reference_model is not None and reloaded.future().shape[0] == 12
    with pytest.raises(ValueError, match="reference must be one of season, last, none, ets, sarima, ar, drift, got 'arima'"):
        ForecastConfig(reference="arima")
    falling = ForecastTask(
        ForecastConfig(horizon=3, window=4, log=True, reference="drift", epochs=1, **FAST),
        _series(np.linspace(200.0, 10.0, 20)),
    )  # the drift forecast from the end of the data goes below zero, which has no log
    with pytest.raises(DataError, match="the 'drift' reference forecasts a value <= 0, .*use --no-log or another --reference"):
        falling.future()


def test_global_model_with_covariates_saves_and_reloads(tmp_path):
    t = np.arange(80)
    frame = pd.concat(
        [
            pd.DataFrame({"t": t, "id": "a", "y": np.sin(t / 4) * 2 + 10, "x": np.cos(t / 4)}),
            pd.DataFrame({"t": t, "id": "b", "y": np.sin(t / 4 + 1) + 5, "x": np.cos(t / 4 + 1)}),
        ]
    )
    data = series_from_frame(frame, SeriesColumns("t", "y", id="id", covariates=("x",)))
    config = ForecastConfig(horizon=4, window=8, epochs=60, lr=1e-2, ar_lags=4, ensemble=2,
                            **{**FAST, "quantiles": (0.1, 0.5, 0.9)})
    task = ForecastTask(config, data).fit()
    assert task.model.config.num_series == 2 and task.model.config.num_covariates == 1
    assert isinstance(task.model, ForecasterEnsemble) and task.model.members[0].autoregressive.in_features == 4
    report = task.evaluate()
    assert report.metrics.loc["rnnkit lstm", "MAE"] < report.metrics.loc["naive", "MAE"]
    future = task.future()
    assert list(future["series"]) == ["a"] * 4 + ["b"] * 4 and list(future["time"][:4]) == [80, 81, 82, 83]
    assert (future["q0.1"] <= future["forecast"]).all() and (future["forecast"] <= future["q0.9"]).all()

    task.save(tmp_path / "model")
    assert ForecastTask.saved_columns(tmp_path / "model") == data.columns
    loaded = ForecastTask.load(tmp_path / "model", data)
    assert isinstance(loaded.model, ForecasterEnsemble) and len(loaded.model.members) == 2
    pd.testing.assert_frame_equal(loaded.future(), future)
    with pytest.raises(DataError, match="series 'c' was not among the series the model was trained on"):
        renamed = frame.assign(id=frame["id"].replace({"b": "c"}))
        ForecastTask.load(tmp_path / "model", series_from_frame(renamed, data.columns))


def test_task_input_messages():
    data = _series(np.arange(20.0))
    with pytest.raises(DataError, match="after holding out 0 validation \\+ 12 test steps, 8 remain for training"):
        ForecastTask(ForecastConfig(horizon=12, window=4), data)
    with pytest.raises(ValueError, match="horizon must be an integer >= 1, got 0"):
        ForecastConfig(horizon=0)
    with pytest.raises(ValueError, match="unknown baseline 'prophet'"):
        ForecastConfig(baselines=("prophet",))
    with pytest.raises(ValueError, match="reference='season' needs a window of at least one season \\(12 steps\\), got 6"):
        ForecastTask(ForecastConfig(horizon=3, window=6, reference="season"), load_dataset("airpassengers"))
    with pytest.raises(ValueError, match="ar_lags=8 needs a window of at least 8 steps, got 6"):
        ForecastTask(ForecastConfig(horizon=3, window=6, ar_lags=8, reference="last"), data)
    task = ForecastTask(ForecastConfig(horizon=3, window=6, epochs=1, **FAST), data)
    with pytest.raises(DataError, match="needs 6 past values"):
        task.batch([Origin(0, 3)])
