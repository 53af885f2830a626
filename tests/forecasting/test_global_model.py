"""GlobalForecaster: learning across series, the long-format contract, save/load, cross-validation, errors."""

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.errors import CheckpointError, DataError
from rnnkit.forecasting.accuracy import score
from rnnkit.forecasting import GlobalForecastConfig, GlobalForecaster
from rnnkit.models.validation import CELLS

QUICK = dict(hidden_size=16, num_layers=1, context_size=8, epochs=3, batch_size=64, patience=None)


def _split(df, h):
    order = df.groupby("unique_id", sort=False).cumcount(ascending=False)
    return df[order >= h].reset_index(drop=True), df[order < h].reset_index(drop=True)


def _fit(df, **kw):
    torch.set_num_threads(1)
    quick = {k: v for k, v in QUICK.items() if k != "context_size" or kw.get("network") != "deepar"}  # direct only
    return GlobalForecaster(GlobalForecastConfig(**{**quick, **kw})).fit(df)


def test_one_network_learns_the_seasonal_pattern_of_every_series_and_beats_naive(make_panel):
    df = make_panel(num_series=24, length=84)
    train, test = _split(df, 12)
    model = _fit(train, horizon=12, epochs=25, lr=3e-3, hidden_size=32, context_size=16)
    forecast = model.predict()
    last = train.groupby("unique_id").tail(1).set_index("unique_id")["y"]
    naive = forecast.assign(Naive=forecast["unique_id"].map(last))
    table = score(naive, test, train, 12, ["MQ-LSTM", "Naive"])
    assert table.loc["MQ-LSTM", "sMAPE"] < 0.5 * table.loc["Naive", "sMAPE"]
    assert table.loc["MQ-LSTM", "MASE"] < 0.5 * table.loc["Naive", "MASE"]


def test_forecast_frame_follows_the_statsforecast_convention(make_panel):
    df = make_panel(num_series=5, length=40)
    model = _fit(df, horizon=6, levels=(80, 95))
    out = model.predict()
    assert list(out.columns) == ["unique_id", "ds", "MQ-LSTM", "MQ-LSTM-lo-80", "MQ-LSTM-hi-80",
                                 "MQ-LSTM-lo-95", "MQ-LSTM-hi-95"]
    assert len(out) == 5 * 6
    first = out[out["unique_id"] == "s00"]["ds"]
    assert first.iloc[0] == pd.Timestamp("2003-05-01") and first.iloc[-1] == pd.Timestamp("2003-10-01")
    assert (out["MQ-LSTM-lo-95"] <= out["MQ-LSTM-lo-80"]).all() and (out["MQ-LSTM-lo-80"] <= out["MQ-LSTM"]).all()
    assert (out["MQ-LSTM"] <= out["MQ-LSTM-hi-80"]).all() and (out["MQ-LSTM-hi-80"] <= out["MQ-LSTM-hi-95"]).all()
    assert len(model.predict(h=2)) == 10
    with pytest.raises(ValueError, match="h=7 exceeds the model's horizon 6"):
        model.predict(h=7)


def test_a_single_series_is_a_frame_with_one_id_and_needs_no_id_column():
    t = np.arange(60)
    df = pd.DataFrame({"ds": np.arange(1, 61), "y": 50 + 10 * np.sin(2 * np.pi * t / 12) + t})
    model = _fit(df, horizon=12, season=12)
    out = model.predict()
    assert out["unique_id"].unique().tolist() == ["series"] and out["ds"].tolist() == list(range(61, 73))


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_trains_as_a_global_model(make_panel, cell):
    df = make_panel(num_series=4, length=36)
    kwargs = {"num_heads": 2} if cell in ("slstm", "mlstm") else {}
    model = _fit(df, horizon=4, cell=cell, epochs=1, cell_kwargs=kwargs)
    out = model.predict()
    assert out[f"MQ-{cell.upper()}"].notna().all() and len(out) == 16


def test_deepar_forecasts_median_of_paths_with_ordered_intervals(make_panel):
    df = make_panel(num_series=6, length=48)
    model = _fit(df, horizon=6, network="deepar", num_samples=50, epochs=2)
    out = model.predict()
    assert (out["DeepAR-LSTM-lo-95"] <= out["DeepAR-LSTM-lo-80"]).all()
    assert (out["DeepAR-LSTM-hi-80"] <= out["DeepAR-LSTM-hi-95"]).all()
    again = model.predict()
    pd.testing.assert_frame_equal(out, again)  # sample paths are seeded


def test_an_ensemble_forecasts_the_median_of_its_members(make_panel):
    df = make_panel(num_series=6, length=48)
    model = _fit(df, horizon=6, lookbacks=(12, 24), ensemble=2, epochs=1)
    assert len(model.model.members) == 4 and model.model.config.lookbacks == (12, 12, 24, 24)
    out = model.predict()
    singles = []
    for member, lookback in zip(model.model.members, model.model.config.lookbacks):
        w = model._windows(model.panel, [np.array([n]) for n in model.panel.lengths], lookback, False)
        with torch.no_grad():
            z = member(*(torch.as_tensor(w[k]) for k in ("z", "mask", "hist", "futr", "stat")))
        singles.append(z.double().numpy() * w["scale"][:, None])
    np.testing.assert_allclose(out["MQ-LSTM"].to_numpy(), np.median(singles, axis=0).reshape(-1), rtol=1e-6)


def test_save_and_load_give_the_same_forecast_for_new_series(make_panel, tmp_path):
    df = make_panel(num_series=6, length=48)
    model = _fit(df, horizon=6)
    model.save(tmp_path / "m")
    loaded = GlobalForecaster.load(tmp_path / "m")
    new = make_panel(num_series=3, length=30, seed=7)  # series the model never saw
    pd.testing.assert_frame_equal(model.predict(df=new), loaded.predict(df=new))
    with pytest.raises(CheckpointError):
        GlobalForecaster.load(tmp_path)


def test_a_fit_with_a_checkpoint_folder_reads_finished_members_back_instead_of_training_them(make_panel, tmp_path,
                                                                                          monkeypatch):
    df = make_panel(num_series=4, length=48)
    settings = dict(horizon=6, epochs=2, ensemble=2, refit=True)
    unbroken = _fit(df, **settings)
    checkpointed = GlobalForecaster(GlobalForecastConfig(**{**QUICK, **settings})).fit(df, checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member-0", "member-1", "refit-0", "refit-1"]
    assert all((tmp_path / name / "last.ckpt").is_file() for name in ("member-0", "refit-1"))

    import rnnkit.training

    def no_training(*args, **kwargs):
        raise AssertionError("a finished member was trained again")

    monkeypatch.setattr(rnnkit.training, "fit", no_training)
    again = GlobalForecaster(GlobalForecastConfig(**{**QUICK, **settings})).fit(df, checkpoint_dir=tmp_path)
    for model in (checkpointed, again):
        assert model.summary_.epochs == unbroken.summary_.epochs
        pd.testing.assert_frame_equal(model.predict(), unbroken.predict())


def test_cross_validation_fits_before_the_first_cutoff_and_scores_every_window(make_panel):
    df = make_panel(num_series=4, length=60)
    model = GlobalForecaster(GlobalForecastConfig(**{**QUICK, "horizon": 6}))
    cv = model.cross_validation(df, n_windows=2, step_size=6)
    assert list(cv.columns[:5]) == ["unique_id", "ds", "cutoff", "y", "MQ-LSTM"]
    assert len(cv) == 4 * 2 * 6
    assert model.panel.lengths.max() == 60 - 12  # the fit never saw the held-out values
    one = cv[cv["unique_id"] == "s00"]
    assert sorted(one["cutoff"].unique()) == [pd.Timestamp("2003-12-01"), pd.Timestamp("2004-06-01")]
    truth = df.set_index(["unique_id", "ds"])["y"]
    np.testing.assert_allclose(one["y"], truth.loc[list(zip(one["unique_id"], one["ds"]))].to_numpy())
    short = model.cross_validation(df, n_windows=2, step_size=6, h=2)
    assert len(short) == 4 * 2 * 2 and (short.groupby(["unique_id", "cutoff"]).size() == 2).all()


def test_refit_trains_again_on_the_validation_part_for_the_best_epochs(make_panel):
    df = make_panel(num_series=4, length=48)
    plain = _fit(df, horizon=6, epochs=2)
    refit = _fit(df, horizon=6, epochs=2, refit=True)
    assert refit.summary_.epochs == plain.summary_.epochs
    assert not np.allclose(refit.predict()["MQ-LSTM"], plain.predict()["MQ-LSTM"])
    pd.testing.assert_frame_equal(refit.validation_, plain.validation_)  # calibration from the first fit


def test_known_future_and_static_covariates_flow_through(make_panel):
    df = make_panel(num_series=4, length=40)
    df["promo"] = (df.groupby("unique_id").cumcount() % 5 == 0).astype(float)
    static = pd.DataFrame({"unique_id": [f"s{i:02d}" for i in range(4)], "size": [1.0, 2.0, 3.0, 4.0]})
    model = GlobalForecaster(GlobalForecastConfig(**{**QUICK, "horizon": 4, "futr_exog": ("promo",),
                                                     "stat_exog": ("size",)}))
    model.fit(df, static_df=static)
    with pytest.raises(DataError, match="pass futr_df"):
        model.predict()
    future = pd.DataFrame({"unique_id": np.repeat([f"s{i:02d}" for i in range(4)], 4),
                           "ds": list(pd.date_range("2003-05-01", periods=4, freq="MS")) * 4, "promo": 1.0})
    assert len(model.predict(futr_df=future)) == 16
    with pytest.raises(DataError, match="futr_df lacks future values of series 's03'"):
        model.predict(futr_df=future[future["unique_id"] != "s03"])


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.iloc[0:0], "has no rows"),
        (lambda d: pd.concat([d, d.iloc[:1]]), "duplicate time 2000-01-01 in series 's00'"),
        (lambda d: d.assign(y=d["y"].astype(str).where(d.index != 3, "n/a")), "non-numeric value 'n/a' at row 4"),
        (lambda d: d.assign(y=d["y"].where(d.index != 5)), "missing value"),
        (lambda d: pd.concat([d[d.unique_id != "s01"], d[d.unique_id == "s01"].assign(
            ds=pd.date_range("2000-01-01", periods=40, freq="QS"))]), "all series must share one frequency"),
    ],
)
def test_bad_frames_get_one_line(make_panel, edit, message):
    df = make_panel(num_series=3, length=40)
    with pytest.raises(DataError, match=message) as err:
        GlobalForecaster(GlobalForecastConfig(**QUICK, horizon=4)).fit(edit(df))
    assert "\n" not in str(err.value)


def test_short_series_are_padded_skipped_with_a_count_or_refused(make_panel):
    long = make_panel(num_series=3, length=60)
    short = make_panel(num_series=1, length=14, seed=3).assign(unique_id="tiny")
    df = pd.concat([long, short])
    padded = _fit(df, horizon=6, lookback=24, epochs=1)
    assert "tiny" in set(padded.predict()["unique_id"])
    skipped = _fit(df, horizon=6, lookback=24, epochs=1, short_series="skip")
    assert skipped.summary_.skipped_series == 1 and "tiny" not in set(skipped.predict()["unique_id"])
    with pytest.raises(DataError, match="1 series are shorter than lookback \\+ horizon = 30 \\(first: 'tiny'\\)"):
        _fit(df, horizon=6, lookback=24, short_series="error")


def test_too_short_to_train_and_bad_settings_are_refused(make_panel):
    with pytest.raises(DataError, match="no series is long enough to train on"):
        _fit(make_panel(num_series=2, length=20), horizon=12)
    with pytest.raises(ValueError, match="levels must be percentages"):
        GlobalForecastConfig(levels=(80, 100))
    with pytest.raises(ValueError, match="network must be one of"):
        GlobalForecastConfig(network="tcn")
    with pytest.raises(RuntimeError, match="not fitted"):
        GlobalForecaster(GlobalForecastConfig()).predict()


def test_log_transform_learns_relative_errors_and_refuses_values_at_or_below_zero(make_panel):
    df = make_panel(num_series=24, length=84)
    train, test = _split(df, 12)
    model = _fit(train, horizon=12, epochs=25, lr=3e-3, hidden_size=32, context_size=16, transform="log")
    forecast = model.predict()
    assert (forecast["MQ-LSTM"] > 0).all()
    last = train.groupby("unique_id").tail(1).set_index("unique_id")["y"]
    table = score(forecast.assign(Naive=forecast["unique_id"].map(last)), test, train, 12, ["MQ-LSTM", "Naive"])
    assert table.loc["MQ-LSTM", "sMAPE"] < 0.5 * table.loc["Naive", "sMAPE"]
    with pytest.raises(DataError, match="transform='log' needs every y > 0, but series 's00'"):
        _fit(df.assign(y=df["y"].where(df.index != 2, 0.0)), horizon=12, transform="log")


def test_log1p_transform_reads_log_of_one_plus_the_scaled_window_and_allows_zeros(make_panel):
    from dataclasses import replace

    import numpy as np

    df = make_panel(num_series=6, length=48)
    df = df.assign(y=df["y"].where(df.index % 7 != 3, 0.0))  # counts with zeros
    model = _fit(df, horizon=6, network="deepar", num_samples=30, epochs=1, transform="log1p")
    out = model.predict()
    assert (out["DeepAR-LSTM"] >= 0).all() and out["DeepAR-LSTM"].notna().all()
    cutoffs = [np.array([n]) for n in model.panel.lengths]
    lookback = model.model.config.lookbacks[0]
    logged = model._windows(model.panel, cutoffs, lookback, False)
    model.config = replace(model.config, transform="scale")
    plain = model._windows(model.panel, cutoffs, lookback, False)
    observed = plain["mask"] > 0
    np.testing.assert_allclose(logged["z"][observed], np.log1p(plain["z"][observed]), rtol=1e-6)
    assert (logged["z"][~observed] == 0).all()
    values = np.array([[0.0, 0.5, 3.0]])
    model.config = replace(model.config, transform="log1p")
    np.testing.assert_allclose(model._to_data_units(np.log1p(values), {"scale": np.array([2.0])}), 2.0 * values)
    with pytest.raises(DataError, match="transform='log1p' needs every y >= 0, but series 's00' has a value < 0"):
        _fit(df.assign(y=df["y"].where(df.index != 2, -1.0)), horizon=6, transform="log1p")


@pytest.mark.parametrize(("kw", "match"), [
    (dict(network="deepar", loss="smape"), r"loss='smape' has no effect with network='deepar': it applies to "
                                           r"network='direct' only"),
    (dict(network="deepar", skip="season"), r"skip='season' has no effect with network='deepar'"),
    (dict(likelihood="normal"), r"likelihood='normal' has no effect with network='direct'"),
    (dict(num_samples=10), r"num_samples=10 has no effect with network='direct'"),
    (dict(lookback=12, lookbacks=(12, 24)), r"lookbacks=\(12, 24\) replaces lookback=12; give one of them"),
    (dict(dropout=0.1, num_layers=1), r"dropout=0.1 has no effect with num_layers=1"),
])
def test_settings_that_would_change_nothing_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        GlobalForecastConfig(**kw)


def test_deseasonalizing_data_without_a_season_is_refused():
    df = pd.DataFrame({"unique_id": "a", "ds": np.arange(40), "y": np.arange(40.0) + 1})
    with pytest.raises(ValueError, match=r"deseasonalize=True has no effect with season length 1"):
        GlobalForecaster(GlobalForecastConfig(**{**QUICK, "horizon": 4, "deseasonalize": True})).fit(df)
