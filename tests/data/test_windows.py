import numpy as np
import pytest

from rnnkit.data.windows import ChronologicalSplit, WindowSpec, make_windows
from rnnkit.errors import DataError


def test_seed_004_next_value_windows():
    x, y = make_windows(np.arange(10), WindowSpec(input_width=4, horizon=1))
    assert x.tolist() == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]]
    assert y.tolist() == [[4], [5], [6], [7], [8], [9]]


def test_seed_004_multi_step_and_whole_sequence_windows():
    x, y = make_windows(np.arange(10), WindowSpec(input_width=5, horizon=5))
    assert x.tolist() == [[0, 1, 2, 3, 4]] and y.tolist() == [[5, 6, 7, 8, 9]]
    x, y = make_windows(np.arange(10), WindowSpec(input_width=9, horizon=1))
    assert x.tolist() == [[0, 1, 2, 3, 4, 5, 6, 7, 8]] and y.tolist() == [[9]]


def test_stride_keeps_the_newest_window_and_offset_skips_steps():
    x, y = make_windows(np.arange(10), WindowSpec(input_width=3, horizon=2, stride=3))
    assert x.tolist() == [[2, 3, 4], [5, 6, 7]] and y.tolist() == [[5, 6], [8, 9]]
    x, y = make_windows(np.arange(10), WindowSpec(input_width=3, horizon=1, offset=2))
    assert x[0].tolist() == [0, 1, 2] and y[0].tolist() == [5] and y[-1].tolist() == [9]


def test_windows_keep_feature_axes_and_first_target():
    values = np.arange(20).reshape(10, 2)
    x, y = make_windows(values, WindowSpec(4, 2), first_target=8)
    assert x.shape == (1, 4, 2) and y.shape == (1, 2, 2)
    assert y[0, :, 0].tolist() == [16, 18]


def test_too_short_series_message():
    with pytest.raises(DataError, match=r"has 5 values, too few for a window of 4 inputs \+ 3 targets \(needs at least 7\)"):
        make_windows(np.arange(5), WindowSpec(4, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"input_width": 0}, ValueError, r"input_width must be an integer >= 1 .*got 0"),
        ({"input_width": 4, "horizon": 0}, ValueError, r"horizon must be an integer >= 1 .*got 0"),
        ({"input_width": 4, "horizon": -2}, ValueError, r"horizon must be .*got -2"),
        ({"input_width": 4, "stride": 0}, ValueError, r"stride must be an integer >= 1"),
        ({"input_width": 4.5}, TypeError, r"input_width must be an integer .*got float 4.5"),
        ({"input_width": 4, "offset": -1}, ValueError, r"offset must be an integer >= 0"),
    ],
)
def test_bad_window_spec(kwargs, error, message):
    with pytest.raises(error, match=message):
        WindowSpec(**kwargs)


def test_chronological_split_has_no_leakage():
    values = np.arange(40.0)
    split = ChronologicalSplit(val=6, test=6)
    spec = WindowSpec(input_width=5, horizon=3)
    train_end, val_end = split.train_end(40), split.val_end(40)
    assert (train_end, val_end) == (28, 34)
    _, y_train = make_windows(values[:train_end], spec)
    x_val, y_val = make_windows(values[:val_end], spec, first_target=train_end)
    x_test, y_test = make_windows(values, spec, first_target=val_end)
    assert y_train.max() < train_end <= y_val.min() and y_val.max() < val_end <= y_test.min()
    # inputs may read the past, never the part being scored or anything after it
    assert x_val.max() < val_end and x_val[0, -1] < train_end
    assert x_test.max() < 40


def test_split_checks():
    spec = WindowSpec(input_width=10, horizon=4)
    with pytest.raises(ValueError, match="the test part has 2 steps, fewer than the horizon 4"):
        ChronologicalSplit(test=2).check(100, spec)
    with pytest.raises(DataError, match="after holding out 4 validation \\+ 4 test steps, 12 remain"):
        ChronologicalSplit(val=4, test=4).check(20, spec)
    with pytest.raises(ValueError, match="test must be an integer >= 0"):
        ChronologicalSplit(test=-1)
