"""``rnnkit forecast`` end to end (bundled default and a user CSV, saved model) and one-line errors."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from rnnkit.cli import main

QUICK = ["--epochs", "40", "--hidden", "16", "--baselines", "naive,snaive", "--batch", "256"]


def _monthly_csv(path, n=72, **changes):
    t = np.arange(n)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2015-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
            "sales": 100 + 0.8 * t + 15 * np.sin(2 * np.pi * t / 12),
        }
    )
    for column, edit in changes.items():
        frame = edit(frame) if column == "frame" else frame.assign(**{column: edit(frame[column])})
    frame.to_csv(path, index=False)
    return path


def test_default_run_on_airpassengers(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["forecast", "--out", str(out), *QUICK]) == 0
    printed = capsys.readouterr().out
    assert "airpassengers" in printed and "rnnkit lstm" in printed and "seasonal naive" in printed and "MAPE" in printed
    assert sorted(p.name for p in out.iterdir()) == ["forecast.csv", "forecast.png", "holdout.csv", "metrics.csv", "model"]
    forecast = pd.read_csv(out / "forecast.csv")
    assert len(forecast) == 12 and forecast["time"].iloc[0].startswith("1961-01-01")
    assert (forecast["q0.1"] <= forecast["q0.9"]).all()
    holdout = pd.read_csv(out / "holdout.csv")
    assert holdout["time"].iloc[0].startswith("1960-01-01") and holdout["actual"].iloc[6] == 622
    metrics = pd.read_csv(out / "metrics.csv").set_index("method")
    assert metrics.loc["seasonal naive", "MAPE"] == pytest.approx(9.99, abs=0.01)
    assert metrics.loc["rnnkit lstm", "MAPE"] < metrics.loc["naive", "MAPE"]
    height, width, _ = imread(out / "forecast.png").shape
    assert height > 200 and width > 400


def test_dataset_settings_apply_unless_an_option_overrides_them(tmp_path):
    from rnnkit.cli import build_parser
    from rnnkit.cli.forecast import build_config
    from rnnkit.data.datasets import DATASETS, load_dataset

    data = load_dataset("airpassengers")
    default = build_config(build_parser().parse_args(["forecast"]), data, "airpassengers")
    for name, value in DATASETS["airpassengers"].settings.items():
        assert getattr(default, name) == value  # the validated settings of docs/benchmarks.md
    assert default.reference == "ets" and default.log
    given = ["forecast", "--reference", "season", "--hidden", "8", "--lr", "0.01", "--epochs", "5", "--weight-decay", "0"]
    override = build_config(build_parser().parse_args(given), data, "airpassengers")
    assert (override.reference, override.hidden_size, override.lr, override.epochs, override.weight_decay) == (
        "season", 8, 0.01, 5, 0.0)
    csv = _monthly_csv(tmp_path / "sales.csv")
    user = build_config(build_parser().parse_args(["forecast", str(csv)]), data, str(csv))
    assert (user.reference, user.hidden_size, user.lr, user.epochs, user.weight_decay) == ("season", 32, 3e-3, 400, 0.0)


def test_user_csv_then_forecast_with_the_saved_model(tmp_path, capsys):
    csv = _monthly_csv(tmp_path / "sales.csv")
    out = tmp_path / "run"
    code = main(["forecast", str(csv), "--time", "date", "--target", "sales", "--horizon", "6", "--window", "12",
                 "--out", str(out), "--mode", "recursive", "--cell", "gru", *QUICK])
    assert code == 0, capsys.readouterr().err
    metrics = pd.read_csv(out / "metrics.csv").set_index("method")
    assert metrics.loc["rnnkit gru", "MAE"] < metrics.loc["naive", "MAE"]
    newer = _monthly_csv(tmp_path / "newer.csv", n=78)
    again = tmp_path / "again"
    assert main(["forecast", "--model", str(out / "model"), str(newer), "--out", str(again)]) == 0
    forecast = pd.read_csv(again / "forecast.csv")
    assert len(forecast) == 6 and forecast["time"].iloc[0].startswith("2021-07-01")
    assert (again / "forecast.png").exists()


def _edit_row(column, row, value):
    def edit(series):
        series = series.astype(object)
        series.iloc[row] = value
        return series

    return {column: edit}


@pytest.mark.parametrize(
    ("args", "changes", "message"),
    [
        (["--time", "date", "--target", "sale"], {}, "target column 'sale' not found in sales.csv; did you mean 'sales'?"),
        (["--time", "dat", "--target", "sales"], {}, "time column 'dat' not found in sales.csv; did you mean 'date'?"),
        ([], _edit_row("sales", 5, "lots"), "non-numeric value 'lots' at row 6 of sales.csv"),
        ([], _edit_row("sales", 5, np.nan), r"1 missing value\(s\) in target column 'sales' \(first at 2015-06-01\); fill them \(--fill"),
        ([], {"frame": lambda f: pd.concat([f.iloc[:10], f.iloc[9:]])}, "duplicate time 2015-10-01"),
        ([], {"frame": lambda f: f.iloc[[1, 0, *range(2, len(f))]]}, "not in increasing order"),
        ([], _edit_row("date", 7, "2015-08-17"), "irregular time steps .*found 2015-08-17 at row 8"),
        (["--horizon", "0"], {}, "--horizon must be an integer >= 1, got 0"),
        (["--horizon", "-3"], {}, "--horizon must be an integer >= 1, got -3"),
        (["--horizon", "40", "--window", "40"], {}, "has 72 values; after holding out 0 validation \\+ 40 test steps, 32 remain"),
        (["--fill", "mean"], _edit_row("sales", 5, np.nan), "--fill must be one of ffill, interpolate, zero, got 'mean'"),
        (["--cell", "lstn"], {}, "--cell must be one of rnn, lstm, gru, slstm, mlstm, got 'lstn'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, changes, message):
    csv = _monthly_csv(tmp_path / "sales.csv", **changes)
    base = ["--time", "date", "--target", "sales"] if "--time" not in args else []
    out = tmp_path / "run"
    code = main(["forecast", str(csv), *base, *args, "--out", str(out), *QUICK])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("rnnkit forecast: error: ")
    assert re.search(message, err), err
    assert not out.exists()


def test_missing_values_are_filled_on_request(tmp_path, capsys):
    csv = _monthly_csv(tmp_path / "sales.csv", **_edit_row("sales", 5, np.nan))
    out = tmp_path / "run"
    args = ["forecast", str(csv), "--time", "date", "--target", "sales", "--fill", "interpolate", "--out", str(out)]
    assert main([*args, "--epochs", "2", "--baselines", "none"]) == 0, capsys.readouterr().err
    assert (out / "forecast.csv").exists()


def test_option_messages(tmp_path, capsys):
    csv = _monthly_csv(tmp_path / "sales.csv")
    assert main(["forecast", str(csv), "--out", str(tmp_path / "x")]) == 2
    assert "FILE needs --time and --target (the time and value columns); its columns are: date, sales" in capsys.readouterr().err
    assert main(["forecast", "--dataset", "sunspot"]) == 2
    assert "unknown dataset 'sunspot'; did you mean 'sunspots'?" in capsys.readouterr().err
    assert main(["forecast", str(tmp_path / "nope.csv"), "--time", "a", "--target", "b"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["forecast", "--model", str(tmp_path), str(csv)]) == 2
    assert "has no forecast.json" in capsys.readouterr().err


def test_ar_lags_and_ensemble_options(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["forecast", "--out", str(out), "--ar-lags", "24", "--ensemble", "2", "--epochs", "2",
                 "--baselines", "none", "--quantiles", "none"]) == 0, capsys.readouterr().err
    saved = json.loads((out / "model" / "forecast.json").read_text())["config"]
    assert (saved["ar_lags"], saved["ensemble"]) == (24, 2)
    assert main(["forecast", "--ar-lags", "30", "--out", str(tmp_path / "x")]) == 2
    assert "ar_lags=30 needs a window of at least 30 steps, got 24" in capsys.readouterr().err
    assert main(["forecast", "--ensemble", "0", "--out", str(tmp_path / "y")]) == 2
    assert "--ensemble must be an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
