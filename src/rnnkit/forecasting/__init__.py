"""Forecasting tools around the :class:`~rnnkit.models.forecaster.Forecaster`: accuracy metrics in
the data's units, the baselines a network must beat, and rolling-origin backtests.

Import from the submodules: ``rnnkit.forecasting.metrics``, ``.baselines``, ``.backtest``.
"""
