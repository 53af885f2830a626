"""Settings of the global forecaster chosen on validation windows (never on a test horizon).

Each entry was picked by ``benchmarks/forecast_competitions.py --validate``: candidates scored on
the last horizon of every training series (the network's own validation windows), see
docs/benchmarks.md for the table of the search. ``competition_settings(name)`` gives the entry of
a competition subset, or :data:`DEFAULT_SETTINGS` (what a user's data starts from).
"""

from __future__ import annotations

from typing import Any

DEFAULT_SETTINGS: dict[str, Any] = {}
"""The :class:`~rnnkit.forecasting.global_model.GlobalForecastConfig` defaults."""

COMPETITION_SETTINGS: dict[str, dict[str, Any]] = {}


def competition_settings(name: str) -> dict[str, Any]:
    """GlobalForecastConfig keyword arguments validated for the competition subset ``name``."""
    return dict(COMPETITION_SETTINGS.get(name, DEFAULT_SETTINGS))
