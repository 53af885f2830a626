"""``rnnkit forecast`` end to end (a long CSV of many series, a single-series CSV, a competition
subset, a saved model) and its one-line errors."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from rnnkit.cli import main

QUICK = ["--epochs", "30", "--hidden", "16", "--layers", "1", "--batch", "32", "--lr", "0.003"]


def _long_csv(path, num_series=8, n=60, **changes):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(num_series):
        t = np.arange(n)
        level = 10 ** rng.uniform(1, 3)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 12 + i)) * (1 + 0.004 * t)
        frames.append(pd.DataFrame({"store": f"st{i}", "date": pd.date_range("2015-01-01", periods=n, freq="MS")
                                    .strftime("%Y-%m-%d"), "units": y}))
    frame = pd.concat(frames, ignore_index=True)
    for column, edit in changes.items():
        frame = edit(frame) if column == "frame" else frame.assign(**{column: edit(frame[column])})
    frame.to_csv(path, index=False)
    return path


def _run(args, capsys):
    code = main(["forecast", *args])
    captured = capsys.readouterr()
    return code, " ".join(captured.out.split()), captured.err  # rich wraps long lines


def test_many_series_from_a_long_csv_beside_the_baselines(tmp_path, capsys):
    csv = _long_csv(tmp_path / "sales.csv")
    out = tmp_path / "run"
    code, printed, _ = _run([str(csv), "--id", "store", "--time", "date", "--target", "units", "--horizon", "6",
                             "--baselines", "SeasonalNaive,Naive", "--out", str(out), *QUICK], capsys)
    assert code == 0
    assert "trained MQ-LSTM on 8 series" in printed and "SeasonalNaive" in printed and "held-out test" in printed
    assert "On the validation windows" in printed and ("beats" in printed or "MQ-LSTM is the best" in printed)
    assert sorted(p.name for p in out.iterdir()) == ["forecast.csv", "forecast.png", "holdout.csv", "metrics.csv",
                                                     "model", "run.json", "validation.csv"]
    forecast = pd.read_csv(out / "forecast.csv")
    assert list(forecast.columns[:3]) == ["unique_id", "ds", "MQ-LSTM"] and "MQ-LSTM-hi-95" in forecast.columns
    assert len(forecast) == 8 * 6 and forecast["ds"].iloc[0] == "2020-01-01"
    metrics = pd.read_csv(out / "metrics.csv").set_index("model")
    assert list(metrics.index) == ["MQ-LSTM", "SeasonalNaive", "Naive"]
    assert metrics.loc["MQ-LSTM", "sMAPE"] < metrics.loc["Naive", "sMAPE"]  # it learned the season
    holdout = pd.read_csv(out / "holdout.csv")
    assert holdout["ds"].min() == "2019-07-01" and len(holdout) == 48
    height, width, _ = imread(out / "forecast.png").shape
    assert height > 400 and width > 400


def test_a_single_series_csv_needs_no_id_and_a_saved_model_forecasts_new_data(tmp_path, capsys):
    t = np.arange(72)
    pd.DataFrame({"ds": pd.date_range("2010-01-01", periods=72, freq="MS"),
                  "y": 100 + t + 20 * np.sin(2 * np.pi * t / 12)}).to_csv(tmp_path / "one.csv", index=False)
    out = tmp_path / "run"
    code, printed, _ = _run([str(tmp_path / "one.csv"), "--baselines", "none", "--out", str(out), *QUICK], capsys)
    assert code == 0 and "on 1 series of" in printed
    forecast = pd.read_csv(out / "forecast.csv")
    assert forecast["unique_id"].unique().tolist() == ["one"] and len(forecast) == 12  # horizon: one season
    code, printed, _ = _run([str(tmp_path / "one.csv"), "--model", str(out / "model"), "--out",
                             str(tmp_path / "again")], capsys)
    assert code == 0 and "with the saved model" in printed
    again = pd.read_csv(tmp_path / "again" / "forecast.csv")
    pd.testing.assert_frame_equal(again, forecast)


def test_a_competition_subset_keeps_its_own_test_split(tmp_path, capsys):
    out = tmp_path / "run"
    code, printed, _ = _run(["--dataset", "m3-other", "--baselines", "Naive", "--out", str(out), "--epochs", "1",
                             "--hidden", "8", "--layers", "1"], capsys)
    assert code == 0 and "174 series of m3-other (horizon 8" in printed
    holdout = pd.read_csv(out / "holdout.csv")
    from rnnkit.forecasting.competitions import load_competition

    test = load_competition("m3-other").test
    merged = holdout.merge(test, on=["unique_id", "ds"], suffixes=("", "_true"))
    assert len(merged) == 174 * 8 and np.allclose(merged["y"], merged["y_true"])


def test_the_network_combined_with_baselines_is_scored_saved_and_reused(tmp_path, capsys):
    csv = _long_csv(tmp_path / "sales.csv")
    args = [str(csv), "--id", "store", "--time", "date", "--target", "units", "--horizon", "6", *QUICK]
    out = tmp_path / "run"
    code, printed, _ = _run([*args, "--baselines", "AutoETS,DOTM,Naive", "--out", str(out)], capsys)
    combo = "MQ-LSTM+AutoETS+DOTM"
    assert code == 0 and printed.count(f"{combo} (") + printed.count(f"{combo} is the best") == 2  # both verdicts
    metrics = pd.read_csv(out / "metrics.csv").set_index("model")
    validation = pd.read_csv(out / "validation.csv").set_index("model")
    assert list(metrics.index) == ["MQ-LSTM", "AutoETS", "DOTM", "Naive", combo] == list(validation.index)
    holdout = pd.read_csv(out / "holdout.csv")
    np.testing.assert_allclose(holdout[combo], holdout[["MQ-LSTM", "AutoETS", "DOTM"]].mean(axis=1))
    forecast = pd.read_csv(out / "forecast.csv")
    assert {combo, f"{combo}-lo-80", f"{combo}-hi-95"} <= set(forecast.columns)
    assert (out / "model" / "combination.json").is_file()  # the forecaster's info, loaded back by --model
    code, _, _ = _run([*args[:7], "--model", str(out / "model"), "--out", str(tmp_path / "again")], capsys)
    again = pd.read_csv(tmp_path / "again" / "forecast.csv")
    assert code == 0
    pd.testing.assert_frame_equal(again[forecast.columns], forecast)

    code, _, _ = _run([*args, "--baselines", "AutoETS,DOTM", "--combine", "none", "--out", str(tmp_path / "plain")],
                      capsys)
    assert code == 0 and combo not in pd.read_csv(tmp_path / "plain" / "metrics.csv")["model"].tolist()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--baselines", "AutoETS", "--combine", "AutoTheta"], "--combine AutoTheta is not among --baselines"),
        (["--combine-how", "max"], "--combine-how must be one of mean, median"),
        (["--dataset", "m4-monthly"], "unknown dataset 'm4-monthly'"),
        (["--epochs", "0"], "--epochs must be an integer >= 1, got 0"),
        (["--cell", "tcn"], "--cell must be one of rnn, lstm, gru, slstm, mlstm"),
        (["--baselines", "Prophet"], "--baselines must be one of"),
        (["--levels", "80,120"], "--levels must be a number in [1, 100)"),
        (["--id", "store"], "--id applies to a FILE"),
    ],
)
def test_option_mistakes_are_one_line_in_flag_terms(args, message, capsys, tmp_path):
    code, _, err = _run([*args, "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"frame": lambda f: pd.concat([f, f.iloc[[3]]])}, "duplicate time 2015-04-01 in series 'st0'"),
        ({"units": lambda c: c.astype(str).where(c.index != 2, "lots")}, "non-numeric value 'lots'"),
        ({"frame": lambda f: f.iloc[0:0]}, "has no rows"),
    ],
)
def test_data_mistakes_are_one_line_and_write_nothing(tmp_path, capsys, change, message):
    csv = _long_csv(tmp_path / "bad.csv", **change)
    out = tmp_path / "run"
    code, _, err = _run([str(csv), "--id", "store", "--time", "date", "--target", "units", "--out", str(out)], capsys)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_short_series_option_and_missing_columns(tmp_path, capsys):
    csv = _long_csv(tmp_path / "s.csv", n=30)
    code, _, err = _run([str(csv), "--id", "store", "--time", "date", "--target", "units", "--horizon", "6",
                         "--lookback", "30", "--short-series", "error", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--short-series skip" in err and "shorter than lookback + horizon = 36" in err
    code, _, err = _run([str(csv), "--time", "date", "--target", "sales"], capsys)
    assert code == 2 and "has no column 'sales'" in err and "store, date, units" in err


def test_an_existing_run_folder_is_never_overwritten_without_asking(tmp_path, capsys):
    csv = _long_csv(tmp_path / "sales.csv", num_series=3)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    args = [str(csv), "--id", "store", "--time", "date", "--target", "units", "--baselines", "none", "--out",
            str(out), *QUICK]
    code, _, err = _run(args, capsys)
    assert code == 2 and "is not empty" in err and (out / "notes.txt").read_text() == "keep me"
    code, _, err = _run([*args, "--overwrite"], capsys)  # not an rnnkit run: never replaced
    assert code == 2 and "not an rnnkit run folder" in err and (out / "notes.txt").read_text() == "keep me"
    run = tmp_path / "run"
    args[args.index(str(out))] = str(run)
    assert _run(args, capsys)[0] == 0
    code, _, err = _run(args, capsys)
    assert code == 2 and "holds a forecast run; choose a new folder, or --overwrite to replace it" in err
    code, _, _ = _run([*args, "--overwrite"], capsys)
    assert code == 0 and (run / "forecast.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_competition_takes_its_validated_settings_unless_an_option_overrides_them():
    from rnnkit.cli import build_parser
    from rnnkit.cli.forecast import build_config
    from rnnkit.forecasting.settings import COMPETITION_SETTINGS
    from rnnkit.tasks.forecast import bundled_data

    data = bundled_data("m3-monthly")
    config = build_config(build_parser("forecast").parse_args(["forecast", "--dataset", "m3-monthly"]), data).model
    for name, value in COMPETITION_SETTINGS["m3-monthly"].items():
        assert getattr(config, name) == value
    assert (config.horizon, config.season) == (18, 12)
    args = ["forecast", "--dataset", "m3-monthly", "--transform", "scale", "--lookbacks", "30", "--epochs", "3"]
    override = build_config(build_parser("forecast").parse_args(args), data).model
    assert (override.transform, override.lookbacks, override.epochs, override.deseasonalize) == ("scale", (30,), 3, True)
