"""Forecaster: a recurrent network that reads a window of a series and predicts the next H values.

Two ways to reach H steps ahead (seed 004):

- **direct** (many-to-one, multi-output): the window runs through the recurrent stack once and a
  linear head maps the last hidden state (with the known-future covariates of the H target steps)
  to all H values at once.
- **recursive** (one step at a time): the network predicts the next value, the prediction is fed
  back as the next input and the hidden state is carried on with T=1 layer calls, H times, as in
  the seed's ``[6, 7, 8, 9] -> [10]``, ``[7, 8, 9, 10] -> [11.2]``, ... Training uses the true
  values as inputs (teacher forcing) in one call over the window plus the horizon.

Inputs, with W the window, H the horizon, all already scaled:

====================  ===============  ===================================================
context               (B, W)           the target's past values y_0 .. y_{W-1}
covariates            (B, W, Cp)       past covariates observed with y (direct mode only)
future                (B, W + H, Cf)   known-future covariates (calendar) of steps 0 .. W+H-1
series                (B,)             series ids of a global model over several series
====================  ===============  ===================================================

The input of step t is ``x_t = [y_t - y_{W-1}, cov_t, future_{t+1}, e(series)]``: the value
relative to the last one seen, the covariates seen with it, the calendar of the step about to be
predicted and a learned series embedding. The network predicts the difference between each future
value and a reference r_{W-1+h} (in scaled units; a ratio after a log transform), chosen by
``reference``:

- ``"last"``: r = y_{W-1}, the naive forecast (lets the network extrapolate a trend);
- ``"season"``: r_t = y_{t-m}, the seasonal-naive forecast with m = ``season`` (in recursive
  mode and for h > m, y_{t-m} is itself a forecast); the network learns the change from one
  cycle to the next;
- ``"given"``: r is passed in (``reference``, (B, H) in scaled units), e.g. a classical model's
  forecast from the same origin; the network learns to correct it (a hybrid, like the
  exponential-smoothing RNN of Smyl, 2020). Inputs are shifted as with ``"last"``;
- ``"none"``: r = 0 (and the inputs are not shifted either).

The output is (B, H, Q): Q = 1 for a point forecast trained with the squared error,
Q = len(quantiles) for quantile forecasts trained with the pinball loss (sorted along Q, so the
quantiles never cross).

:class:`ForecasterEnsemble` holds ``ensemble`` such networks, each started from its own initial
weights and trained on its own loss (the mean of the members' losses, so no member depends on
another), and forecasts their average (of each quantile too, which keeps them sorted). Averaging
members removes most of the seed-to-seed spread of small networks trained on short series.
:func:`build_forecaster` returns the right one for a config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.layers import build_layer
from rnnkit.models.validation import check_cell, check_cell_kwargs, check_choice, check_fraction, check_int

MODES: tuple[str, ...] = ("direct", "recursive")
REFERENCES: tuple[str, ...] = ("last", "season", "given", "none")


@dataclass
class ForecasterConfig:
    """Configuration of :class:`Forecaster` (JSON-able; a saved model is rebuilt from it).

    Attributes:
        horizon: H, future steps forecast from each window.
        cell: "rnn", "lstm", "gru", "slstm" or "mlstm".
        hidden_size: features of each recurrent layer.
        num_layers: stacked recurrent layers (deep).
        dropout: between recurrent layers and before the head, in [0, 1).
        mode: "direct" (H outputs at once) or "recursive" (one step, fed back H times).
        num_covariates: Cp, past covariates per step (direct mode only: their future is unknown).
        num_future_covariates: Cf, known-future covariates per step (e.g. 12 for month of year).
        num_series: S, series a global model is trained on; with S > 1 a series embedding of
            ``series_embedding_dim`` features is added to every step's input.
        series_embedding_dim: features of that embedding (0 = none).
        quantiles: () for a point forecast, else the quantile levels to predict (must include
            0.5, the point forecast; e.g. (0.1, 0.5, 0.9) for an 80% interval).
        reference: "last", "season", "given" or "none": what the network's outputs are added to
            (see the module doc).
        season: m, steps in one seasonal cycle (for ``reference="season"``; the window must be at
            least this long).
        cell_kwargs: extra cell arguments, e.g. {"nonlinearity": "relu"} or {"num_heads": 2}.
        ar_lags: L, in direct mode, the last L (shifted) context values also reach the outputs
            through a linear map (an autoregressive skip around the recurrent network, as in
            LSTNet, Lai et al. 2018); 0 = none. The window must be at least L long.
        ensemble: networks trained side by side and averaged (1 = a single :class:`Forecaster`;
            more needs :class:`ForecasterEnsemble`, see :func:`build_forecaster`).
    """

    horizon: int
    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0
    mode: str = "direct"
    num_covariates: int = 0
    num_future_covariates: int = 0
    num_series: int = 1
    series_embedding_dim: int = 0
    quantiles: tuple[float, ...] = ()
    reference: str = "last"
    season: int = 1
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    ar_lags: int = 0
    ensemble: int = 1

    def __post_init__(self) -> None:
        self.quantiles = tuple(self.quantiles)
        check_int("horizon", self.horizon, 1)
        check_cell("cell", self.cell)
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_fraction("dropout", self.dropout)
        check_choice("mode", self.mode, MODES)
        check_int("num_covariates", self.num_covariates, 0)
        check_int("num_future_covariates", self.num_future_covariates, 0)
        check_int("num_series", self.num_series, 1)
        check_int("series_embedding_dim", self.series_embedding_dim, 0)
        check_choice("reference", self.reference, REFERENCES)
        check_int("season", self.season, 1)
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)
        check_int("ar_lags", self.ar_lags, 0)
        check_int("ensemble", self.ensemble, 1)
        if self.mode == "recursive" and self.ar_lags:
            raise ValueError(
                f"ar_lags={self.ar_lags} is the direct mode's linear skip; use mode='direct' or ar_lags=0"
            )
        if self.mode == "recursive" and self.num_covariates:
            raise ValueError(
                f"mode='recursive' feeds its predictions back but cannot predict the {self.num_covariates} "
                f"past covariate(s); use mode='direct' or drop the covariates"
            )
        if self.quantiles:
            if any(isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1 for q in self.quantiles):
                raise ValueError(f"quantiles must be numbers in (0, 1), got {self.quantiles!r}")
            if list(self.quantiles) != sorted(set(self.quantiles)) or 0.5 not in self.quantiles:
                raise ValueError(
                    f"quantiles must be increasing, distinct and include 0.5 (the point forecast), got "
                    f"{self.quantiles!r}; e.g. (0.1, 0.5, 0.9)"
                )

    @property
    def num_outputs(self) -> int:
        """Q: values predicted per step."""
        return len(self.quantiles) or 1

    @property
    def point_index(self) -> int:
        """Index of the point forecast (the median) along the last output axis."""
        return self.quantiles.index(0.5) if self.quantiles else 0


class Forecaster(nn.Module):
    """Window of a series -> its next H values, any cell, deep, direct or recursive.

    ``forward(context, covariates=None, future=None, series=None, teacher=None, reference=None)``
    returns the forecast (B, H, Q) in scaled units (see the module doc for the inputs). In
    recursive mode, ``teacher`` (B, H) holds the true future values for teacher-forced training;
    without it the predictions are fed back. ``reference`` (B, H) is the forecast the outputs are
    added to when ``config.reference == "given"``. :meth:`point` picks the point forecast (B, H).
    """

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        if config.ensemble != 1:
            raise ValueError(
                f"Forecaster is one network but config.ensemble is {config.ensemble}; use "
                f"ForecasterEnsemble (or build_forecaster) for an ensemble"
            )
        self.config = config
        c = config
        self.embedding = (
            nn.Embedding(c.num_series, c.series_embedding_dim) if c.series_embedding_dim > 0 else None
        )
        step_features = 1 + c.num_covariates + c.num_future_covariates + c.series_embedding_dim
        self.rnn = build_layer(
            c.cell, step_features, c.hidden_size, num_layers=c.num_layers, batch_first=True,
            dropout=c.dropout if c.num_layers > 1 else 0.0,  # between stacked layers only
            **c.cell_kwargs,
        )
        self.dropout = nn.Dropout(c.dropout)
        if c.mode == "direct":
            head_in = self.rnn.output_size + c.horizon * c.num_future_covariates + c.series_embedding_dim
            self.head = nn.Linear(head_in, c.horizon * c.num_outputs)
            self.autoregressive = nn.Linear(c.ar_lags, c.horizon * c.num_outputs) if c.ar_lags else None
        else:
            self.head = nn.Linear(self.rnn.output_size, c.num_outputs)

    def _check_inputs(
        self,
        context: Tensor,
        covariates: Tensor | None,
        future: Tensor | None,
        series: Tensor | None,
        reference: Tensor | None,
    ) -> None:
        c = self.config
        if context.dim() != 2:
            raise ValueError(f"context must be (B, W) scaled past values, got shape {tuple(context.shape)}")
        batch, width = context.shape
        expected = {
            "covariates": (covariates, c.num_covariates, (batch, width, c.num_covariates)),
            "future": (future, c.num_future_covariates, (batch, width + c.horizon, c.num_future_covariates)),
        }
        for name, (tensor, size, shape) in expected.items():
            if size and (tensor is None or tuple(tensor.shape) != shape):
                got = None if tensor is None else tuple(tensor.shape)
                raise ValueError(f"{name} must have shape {shape} for this model, got {got}")
        given = c.reference == "given"
        if given and (reference is None or tuple(reference.shape) != (batch, c.horizon)):
            got = None if reference is None else tuple(reference.shape)
            raise ValueError(
                f"reference='given' needs the reference forecast, shape (B, H) = ({batch}, {c.horizon}), got {got}"
            )
        if not given and reference is not None:
            raise ValueError(
                f"a reference forecast was passed but this model's reference is {c.reference!r}; "
                f"build it with reference='given' to use one"
            )
        if self.embedding is not None and (series is None or tuple(series.shape) != (batch,)):
            got = None if series is None else tuple(series.shape)
            raise ValueError(f"series must be (B,) = ({batch},) series ids for this global model, got {got}")

    def _step_inputs(
        self,
        values: Tensor,
        covariates: Tensor | None,
        future_next: Tensor | None,
        embedded: Tensor | None,
    ) -> Tensor:
        """Concatenate the features of T steps: values (B, T) -> x (B, T, F)."""
        parts = [values.unsqueeze(-1)]  # (B, T, 1)
        if covariates is not None and self.config.num_covariates:
            parts.append(covariates)  # (B, T, Cp)
        if future_next is not None and self.config.num_future_covariates:
            parts.append(future_next)  # (B, T, Cf)
        if embedded is not None:
            parts.append(embedded.unsqueeze(1).expand(-1, values.shape[1], -1))  # (B, T, E)
        return torch.cat(parts, dim=-1)

    def forward(
        self,
        context: Tensor,
        covariates: Tensor | None = None,
        future: Tensor | None = None,
        series: Tensor | None = None,
        teacher: Tensor | None = None,
        reference: Tensor | None = None,
    ) -> Tensor:
        self._check_inputs(context, covariates, future, series, reference)
        c = self.config
        width = context.shape[1]
        if width < c.ar_lags:
            raise ValueError(
                f"ar_lags={c.ar_lags} needs a window of at least {c.ar_lags} steps, got {width}; "
                f"use a longer window or fewer lags"
            )
        if c.reference == "season" and width < c.season:
            raise ValueError(
                f"reference='season' needs a window of at least one season ({c.season} steps), got {width}; "
                f"use a longer window or reference='last'"
            )
        shift = context[:, -1:] if c.reference != "none" else torch.zeros_like(context[:, -1:])  # (B, 1)
        embedded = self.embedding(series) if self.embedding is not None else None  # (B, E)
        future_next = future[:, 1:] if future is not None and c.num_future_covariates else None  # (B, W+H-1, Cf)
        window_future = future_next[:, :width] if future_next is not None else None  # (B, W, Cf)
        if c.mode == "direct":
            x = self._step_inputs(context - shift, covariates, window_future, embedded)  # (B, W, F)
            output, _ = self.rnn(x)  # (B, W, D*H)
            summary = [self.dropout(output[:, -1])]  # (B, D*H)
            if future_next is not None:
                summary.append(future[:, width:].flatten(1))  # (B, H*Cf)
            if embedded is not None:
                summary.append(embedded)
            raw = self.head(torch.cat(summary, dim=-1))  # (B, H*Q)
            if self.autoregressive is not None:
                raw = raw + self.autoregressive((context - shift)[:, width - c.ar_lags :])  # (B, H*Q): linear in y
            y = self._ordered(raw.view(-1, c.horizon, c.num_outputs))  # (B, H, Q)
            if reference is None:
                reference = self._direct_reference(context, shift)  # (B, H)
            return y + reference.unsqueeze(-1)
        if teacher is not None:
            return self._teacher_forced(context, teacher, future_next, embedded, shift, reference)
        return self._roll_out(context, window_future, future_next, embedded, shift, reference)

    def _ordered(self, raw: Tensor) -> Tensor:
        """Quantile outputs (..., Q) sorted, so they never cross (the sorted set is never farther
        from the true quantiles; Chernozhukov et al., 2010); point outputs unchanged."""
        return raw.sort(dim=-1).values if self.config.quantiles else raw

    def _direct_reference(self, context: Tensor, shift: Tensor) -> Tensor:
        """r_{W-1+h} for h = 1..H from the context alone: (B, H)."""
        c = self.config
        if c.reference != "season":
            return shift.expand(-1, c.horizon)
        width = context.shape[1]
        index = width - c.season + torch.arange(c.horizon, device=context.device) % c.season  # y_{t-m*ceil(h/m)}
        return context[:, index]

    def _teacher_forced(
        self,
        context: Tensor,
        teacher: Tensor,
        future_next: Tensor | None,
        embedded: Tensor | None,
        shift: Tensor,
        given: Tensor | None,
    ) -> Tensor:
        """One call over y_0 .. y_{W+H-2}; the outputs at steps W-1 .. W+H-2 predict y_W .. y_{W+H-1}."""
        c = self.config
        if tuple(teacher.shape) != (context.shape[0], c.horizon):
            raise ValueError(
                f"teacher must be (B, H) = ({context.shape[0]}, {c.horizon}) true future values, "
                f"got {tuple(teacher.shape)}"
            )
        width = context.shape[1]
        full = torch.cat([context, teacher], dim=1)  # (B, W+H): y_0 .. y_{W+H-1}
        output, _ = self.rnn(self._step_inputs(full[:, :-1] - shift, None, future_next, embedded))  # (B, W+H-1, D*H)
        if given is not None:
            reference = given  # (B, H)
        elif c.reference == "season":
            reference = full[:, width - c.season : width - c.season + c.horizon]  # (B, H): y_{t-m}
        else:
            reference = shift.expand(-1, c.horizon)  # (B, H)
        return self._ordered(self.head(self.dropout(output[:, width - 1 :]))) + reference.unsqueeze(-1)  # (B, H, Q)

    def _roll_out(
        self,
        context: Tensor,
        window_future: Tensor | None,
        future_next: Tensor | None,
        embedded: Tensor | None,
        shift: Tensor,
        given: Tensor | None,
    ) -> Tensor:
        """Read the window, then feed each point forecast back as the next input, H times."""
        c = self.config
        width = context.shape[1]
        output, state = self.rnn(self._step_inputs(context - shift, None, window_future, embedded))
        values = list(context.unbind(dim=1))  # y_0 .. y_{W-1}, then the point forecasts, each (B,)
        forecasts = []
        for h in range(c.horizon):
            if h > 0:
                fed_back = values[-1].unsqueeze(1) - shift  # (B, 1): the previous point forecast
                step_future = future_next[:, width - 1 + h : width + h] if future_next is not None else None
                output, state = self.rnn(self._step_inputs(fed_back, None, step_future, embedded), state)  # T = 1
            if given is not None:
                reference = given[:, h : h + 1]  # (B, 1)
            elif c.reference == "season":
                reference = values[width + h - c.season].unsqueeze(1)  # (B, 1): y_{t-m}, maybe a forecast
            else:
                reference = shift
            step = self._ordered(self.head(self.dropout(output[:, -1]))) + reference  # (B, Q)
            forecasts.append(step)
            values.append(step[:, c.point_index])
        return torch.stack(forecasts, dim=1)  # (B, H, Q)

    def member_forecasts(
        self, *inputs: Tensor | None, teacher: Tensor | None = None, reference: Tensor | None = None
    ) -> Tensor:
        """The forecast of each network, (E, B, H, Q) with E = 1 here (see :class:`ForecasterEnsemble`)."""
        return self(*inputs, teacher=teacher, reference=reference).unsqueeze(0)

    def point(self, forecast: Tensor) -> Tensor:
        """The point forecast (B, H) of an output (B, H, Q)."""
        return forecast[..., self.config.point_index]

    def loss(self, forecast: Tensor, target: Tensor) -> Tensor:
        """Mean squared error (point) or mean pinball loss (quantiles) of (..., B, H, Q) against (B, H)."""
        if not self.config.quantiles:
            return torch.mean((forecast[..., 0] - target) ** 2)
        levels = forecast.new_tensor(self.config.quantiles)  # (Q,)
        error = target.unsqueeze(-1) - forecast  # (..., B, H, Q)
        return torch.mean(torch.maximum(levels * error, (levels - 1) * error))  # pinball: max(q e, (q-1) e)

    @torch.no_grad()
    def predict(
        self,
        context: Tensor,
        covariates: Tensor | None = None,
        future: Tensor | None = None,
        series: Tensor | None = None,
        reference: Tensor | None = None,
    ) -> Tensor:
        """Forecast (B, H, Q) in eval mode, predictions fed back in recursive mode."""
        was_training = self.training
        self.eval()
        try:
            return self(context, covariates, future, series, reference=reference)
        finally:
            self.train(was_training)


class ForecasterEnsemble(Forecaster):
    """``config.ensemble`` independent :class:`Forecaster` networks whose forecasts are averaged.

    ``forward`` returns the members' mean forecast (B, H, Q); :meth:`member_forecasts` returns
    every member's (E, B, H, Q). Train on ``loss(member_forecasts(...), target)``: the mean of the
    members' own losses, so each member learns as if alone (same batches, its own initial weights).
    """

    def __init__(self, config: ForecasterConfig) -> None:
        nn.Module.__init__(self)
        if config.ensemble < 2:
            raise ValueError(f"ForecasterEnsemble needs config.ensemble >= 2, got {config.ensemble}; use Forecaster")
        self.config = config
        self.members = nn.ModuleList(Forecaster(replace(config, ensemble=1)) for _ in range(config.ensemble))

    def member_forecasts(
        self, *inputs: Tensor | None, teacher: Tensor | None = None, reference: Tensor | None = None
    ) -> Tensor:
        return torch.stack(
            [member(*inputs, teacher=teacher, reference=reference) for member in self.members]
        )  # (E, B, H, Q)

    def forward(
        self,
        context: Tensor,
        covariates: Tensor | None = None,
        future: Tensor | None = None,
        series: Tensor | None = None,
        teacher: Tensor | None = None,
        reference: Tensor | None = None,
    ) -> Tensor:
        members = self.member_forecasts(context, covariates, future, series, teacher=teacher, reference=reference)
        return members.mean(dim=0)  # (B, H, Q)


def build_forecaster(config: ForecasterConfig) -> Forecaster:
    """A :class:`Forecaster`, or a :class:`ForecasterEnsemble` when ``config.ensemble`` > 1."""
    return ForecasterEnsemble(config) if config.ensemble > 1 else Forecaster(config)
