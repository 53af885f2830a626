import numpy as np
import pytest

from rnnkit.data.scalers import Scaler
from rnnkit.errors import DataError


@pytest.mark.parametrize("kind", ["standard", "minmax", "none"])
@pytest.mark.parametrize("log", [False, True])
def test_round_trip_per_series(kind, log):
    rng = np.random.default_rng(0)
    series = [rng.uniform(1, 10, size=30), rng.uniform(100, 500, size=20)]
    scaler = Scaler(kind, log=log).fit(series)
    for i, values in enumerate(series):
        np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(values, i), i), values, rtol=1e-12)
    restored = Scaler.from_dict(scaler.to_dict())
    windows = np.stack([series[0][:5], series[1][:5]])  # (N=2, W=5), one series per row
    ids = np.array([0, 1])
    np.testing.assert_allclose(restored.transform(windows, ids), scaler.transform(windows, ids))
    np.testing.assert_allclose(restored.inverse_transform(restored.transform(windows, ids), ids), windows, rtol=1e-12)


def test_statistics_match_the_definitions():
    values = np.array([2.0, 4.0, 6.0, 8.0])
    z = Scaler("standard").fit([values]).transform(values, 0)
    np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-12)
    m = Scaler("minmax").fit([values]).transform(values, 0)
    np.testing.assert_allclose(m, [0.0, 1 / 3, 2 / 3, 1.0])
    logged = Scaler("standard", log=True).fit([values]).transform(values, 0)
    np.testing.assert_allclose(logged, (np.log(values) - np.log(values).mean()) / np.log(values).std())


def test_global_scaler_for_covariate_columns():
    a, b = np.array([[0.0, 10.0], [2.0, 30.0]]), np.array([[4.0, 20.0]])
    scaler = Scaler("standard", per_series=False).fit([a, b])
    np.testing.assert_allclose(scaler.center[0], [2.0, 20.0])
    np.testing.assert_allclose(scaler.transform(b, 1), scaler.transform(b, 0))


def test_constant_series_does_not_divide_by_zero():
    scaler = Scaler("standard").fit([np.full(5, 3.0)])
    np.testing.assert_array_equal(scaler.transform(np.full(2, 3.0), 0), [0.0, 0.0])


def test_bad_scaler_input_messages():
    with pytest.raises(ValueError, match="scaler kind must be one of standard, minmax, none, got 'robust'"):
        Scaler("robust")
    with pytest.raises(DataError, match=r"log transform needs values > 0, .*minimum of -1"):
        Scaler(log=True).fit([np.array([1.0, -1.0, 2.0])])
    with pytest.raises(RuntimeError, match="not fitted"):
        Scaler().transform(np.ones(3))
