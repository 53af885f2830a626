import numpy as np
import pandas as pd
import pytest

from rnnkit.data.datasets import dataset_info, load_dataset
from rnnkit.data.series import Frequency, SeriesColumns, load_series, read_table, series_from_frame
from rnnkit.errors import DataError

COLS = SeriesColumns(time="Month", target="Passengers")


def _frame(n=10):
    return pd.DataFrame(
        {"Month": pd.date_range("1949-01", periods=n, freq="MS").strftime("%Y-%m"), "Passengers": np.arange(1.0, n + 1)}
    )


def test_csv_and_parquet_load_the_same_series(tmp_path):
    frame = _frame()
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    a, b = load_series(tmp_path / "a.csv", COLS), load_series(tmp_path / "a.parquet", COLS)
    np.testing.assert_array_equal(a.series[0].values, b.series[0].values)
    assert a.frequency == Frequency(offset="MS") and a.frequency.season_length == 12
    assert list(a.frequency.future(a.series[0].time[-1], 2).strftime("%Y-%m")) == ["1949-11", "1949-12"]
    calendar = a.frequency.calendar(a.series[0].time)
    assert calendar.shape == (10, 12) and calendar.argmax(1).tolist() == list(range(10))


def test_several_series_and_covariates_and_numeric_time():
    frame = pd.DataFrame(
        {"t": [1, 2, 3, 1, 2, 3, 4], "id": list("aaabbbb"), "y": np.arange(7.0), "x": np.arange(7.0) * 2}
    )
    data = series_from_frame(frame, SeriesColumns("t", "y", id="id", covariates=("x",)))
    assert data.names == ["a", "b"] and data.frequency == Frequency(step=1.0)
    assert data.series[1].values.tolist() == [3.0, 4.0, 5.0, 6.0]
    assert data.series[1].covariates[:, 0].tolist() == [6.0, 8.0, 10.0, 12.0]
    assert data.frequency.calendar(data.series[0].time).shape == (3, 0)


def test_fill_methods_fill_values_and_skipped_rows():
    frame = _frame().drop(index=4)
    frame.loc[7, "Passengers"] = np.nan
    filled = series_from_frame(frame, COLS, fill="interpolate").series[0]
    assert len(filled) == 10 and filled.values.tolist() == list(np.arange(1.0, 11.0))
    assert series_from_frame(frame, COLS, fill="ffill").series[0].values[4] == 4.0
    assert series_from_frame(frame, COLS, fill="zero").series[0].values[7] == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.rename(columns={"Passengers": "Pasengers"}), r"target column 'Passengers' not found in the data; did you mean 'Pasengers'\?"),
        (lambda d: d.assign(Passengers=d.Passengers.astype(object).where(d.index != 3, "n/a")), r"non-numeric value 'n/a' at row 4"),
        (lambda d: d.assign(Passengers=d.Passengers.where(d.index != 3)), r"1 missing value\(s\) in target column 'Passengers' \(first at 1949-04-01\); fill them \(fill='ffill'"),
        (lambda d: d.iloc[[0, 1, 2, 2, 3]], r"duplicate time 1949-03-01 in series 'Passengers' \(rows 3 and 4\)"),
        (lambda d: d.iloc[[0, 1, 2, 4, 3, 5]], r"not in increasing order .*1949-04-01 at row 5 comes after 1949-05-01 at row 4; sort"),
        (lambda d: d.assign(Month=d.Month.where(d.index != 5, "1949-06-15")), r"irregular time steps .*expected 1949-06-01 .*found 1949-06-15 at row 6; resample"),
        (lambda d: d.drop(index=4), r"skips time steps: 1949-05-01 is missing between 1949-04-01 and 1949-06-01"),
        (lambda d: d.assign(Month=d.Month.where(d.index != 2, "yesterday")), r"neither a date nor a number: 'yesterday' at row 3"),
        (lambda d: d.head(2), r"has only 2 rows"),
        (lambda d: d.head(0), r"has no rows"),
    ],
)
def test_bad_data_messages(change, message):
    with pytest.raises(DataError, match=message):
        series_from_frame(change(_frame()), COLS)


def test_bad_file_and_option_messages(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(DataError, match=r"unknown type; expected \.csv, \.tsv or \.parquet"):
        read_table(tmp_path / "a.xlsx")
    with pytest.raises(ValueError, match="fill must be one of ffill, interpolate, zero"):
        series_from_frame(_frame(), COLS, fill="mean")
    with pytest.raises(ValueError, match="used both as time and as target"):
        SeriesColumns("a", "a")
    frame = pd.DataFrame({"t": [1, 2, 3, 1, 3, 5], "id": list("aaabbb"), "y": np.arange(6.0)})
    with pytest.raises(DataError, match="series 'a' has step 1 but series 'b' has step 2"):
        series_from_frame(frame, SeriesColumns("t", "y", id="id"))


def test_named_datasets():
    air = load_dataset("airpassengers")
    assert len(air.series[0]) == 144 and air.series[0].values.sum() == 40363
    assert air.series[0].time[0] == pd.Timestamp("1949-01-01") and air.frequency.season_length == 12
    sun = load_dataset("sunspots").series[0]
    assert (sun.time[0], sun.time[-1], len(sun)) == (1700, 2008, 309)
    co2 = load_dataset("co2")
    assert co2.frequency.offset == "MS" and not np.isnan(co2.series[0].values).any()
    with pytest.raises(DataError, match="unknown dataset 'airpasengers'; did you mean 'airpassengers'"):
        dataset_info("airpasengers")
