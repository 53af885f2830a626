import numpy as np
import pytest

from rnnkit.forecasting.metrics import evaluate, mae, mape, mase, rmse, smape


def test_metrics_against_hand_computed_values():
    y, f = np.array([100.0, 200.0, 400.0]), np.array([110.0, 180.0, 400.0])
    assert rmse(y, f) == pytest.approx(np.sqrt((100 + 400 + 0) / 3))
    assert mae(y, f) == pytest.approx(10.0)
    assert mape(y, f) == pytest.approx(100 * (0.1 + 0.1 + 0) / 3)
    assert smape(y, f) == pytest.approx(100 * (20 / 210 + 40 / 380 + 0) / 3)
    train = np.array([1.0, 3.0, 2.0, 6.0])  # lag-2 differences 1, 3 -> scale 2
    assert mase(y, f, train, season=2) == pytest.approx(10.0 / 2.0)
    assert set(evaluate(y, f, train, 2)) == {"RMSE", "MAE", "MAPE", "sMAPE", "MASE"}


def test_undefined_cases_and_bad_input():
    assert np.isnan(mape(np.array([0.0, 1.0]), np.array([1.0, 1.0])))
    assert smape(np.zeros(2), np.zeros(2)) == 0.0
    assert np.isnan(mase(np.ones(2), np.ones(2), np.ones(5)))
    with pytest.raises(ValueError, match=r"true values \(3,\) and forecasts \(2,\) must have the same shape"):
        rmse(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="MASE needs more than season=12 training values"):
        mase(np.ones(2), np.ones(2), np.ones(12), season=12)
