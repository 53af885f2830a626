"""The two global recurrent forecasters: a direct multi-horizon model (MQ-RNN) and an autoregressive
model with a distribution head (DeepAR).

Both read windows cut from many series and put on one scale per window (see
:mod:`rnnkit.forecasting.panel`): ``z = y / s`` with ``s`` the window's level, so one network learns
from series of any size. Each takes the same inputs, all batch first:

    z       (B, L)            the scaled past values, left-padded with 0 where a series is short
    mask    (B, L)            1 where ``z`` is observed, 0 on the padding
    hist    (B, L, Ch)        historical covariates (known up to the forecast origin)
    futr    (B, L + H, Cf)    known-future covariates (the past L steps and the H steps ahead)
    stat    (B, Cs)           static covariates of each window's series

and works in scaled units; the caller multiplies by ``s``. Every cell of
:func:`rnnkit.layers.build_layer` can be the encoder ("rnn", "lstm", "gru", "slstm", "mlstm").

- :class:`DirectForecastNet` (Wen et al. 2017, "A Multi-Horizon Quantile Recurrent Forecaster"):
  the encoder reads the window; a global MLP turns its last output into one context per horizon
  step plus a horizon-agnostic context; a local MLP, shared by all steps, maps each step's
  contexts and known-future covariates to the forecast. The output is added to a skip (the last
  value, or the value one season back), so an untrained network starts as the naive forecast.
- :class:`DeepARNet` (Salinas et al. 2020, "DeepAR"): at each step the encoder reads the previous
  value and emits the parameters of a Student-t (or Gaussian) distribution of the next one; trained
  by likelihood with the true values fed back, it forecasts by drawing sample paths, each draw
  fed back as the next input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.layers import build_layer
from rnnkit.models.validation import check_cell, check_cell_kwargs, check_choice, check_fraction, check_int

NETWORKS: tuple[str, ...] = ("direct", "deepar")
SKIPS: tuple[str, ...] = ("last", "season", "none")
LIKELIHOODS: tuple[str, ...] = ("studentt", "normal")


@dataclass
class GlobalNetConfig:
    """Shape of a global forecasting network.

    Attributes:
        network: "direct" (:class:`DirectForecastNet`) or "deepar" (:class:`DeepARNet`).
        horizon: H, steps forecast from each origin.
        cell, hidden_size, num_layers, dropout, cell_kwargs: the recurrent encoder
            (:func:`rnnkit.layers.build_layer`; dropout between stacked layers).
        num_hist, num_futr, num_stat: historical, known-future and static covariates per step.
        context_size: C, features of each horizon step's context (direct).
        skip: what the direct network's output is added to: "last" (naive), "season" (the value one
            season back, needs ``season`` observed values) or "none".
        season: season length m (for ``skip="season"``).
        likelihood: "studentt" or "normal" (deepar).
    """

    network: str = "direct"
    horizon: int = 12
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.0
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    num_hist: int = 0
    num_futr: int = 0
    num_stat: int = 0
    context_size: int = 32
    skip: str = "last"
    season: int = 1
    likelihood: str = "studentt"

    def __post_init__(self) -> None:
        check_choice("network", self.network, NETWORKS)
        check_cell("cell", self.cell)
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)
        for name in ("horizon", "hidden_size", "num_layers", "context_size", "season"):
            check_int(name, getattr(self, name), 1)
        for name in ("num_hist", "num_futr", "num_stat"):
            check_int(name, getattr(self, name), 0)
        check_fraction("dropout", self.dropout)
        check_choice("skip", self.skip, SKIPS)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)


def _encoder(config: GlobalNetConfig, input_size: int) -> nn.Module:
    return build_layer(
        config.cell,
        input_size,
        config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout if config.num_layers > 1 else 0.0,
        batch_first=True,
        **config.cell_kwargs,
    )


def _past_inputs(z: Tensor, mask: Tensor, hist: Tensor, futr_past: Tensor, stat: Tensor) -> Tensor:
    """Encoder inputs of the past steps: [z, mask, hist, futr, stat] per step, (B, L, 2 + Ch + Cf + Cs)."""
    steps = z.shape[1]
    return torch.cat([z[..., None], mask[..., None], hist, futr_past, stat[:, None].expand(-1, steps, -1)], dim=-1)


class DirectForecastNet(nn.Module):
    """MQ-RNN-style direct forecaster: all H steps from one pass over the window.

    Call: ``net(z, mask, hist, futr, stat)`` -> (B, H) forecast in scaled units.
    """

    def __init__(self, config: GlobalNetConfig) -> None:
        super().__init__()
        self.config = config
        h, c = config.horizon, config.context_size
        self.encoder = _encoder(config, 2 + config.num_hist + config.num_futr + config.num_stat)
        self.global_mlp = nn.Linear(self.encoder.output_size + config.num_stat, (h + 1) * c)
        self.local_mlp = nn.Sequential(
            nn.Linear(2 * c + config.num_futr, c), nn.ReLU(), nn.Linear(c, 1)
        )
        nn.init.zeros_(self.local_mlp[-1].weight)  # an untrained network forecasts the skip
        nn.init.zeros_(self.local_mlp[-1].bias)

    def skip(self, z: Tensor) -> Tensor:
        """The forecast the network's output is added to: (B, L) -> (B, H)."""
        h, m = self.config.horizon, self.config.season
        if self.config.skip == "none":
            return z.new_zeros(z.shape[0], h)
        if self.config.skip == "last":
            return z[:, -1:].expand(-1, h)
        cycle = z[:, -m:]  # (B, m): the last season, repeated over the horizon
        return cycle.repeat(1, -(-h // m))[:, :h]

    def forward(self, z: Tensor, mask: Tensor, hist: Tensor, futr: Tensor, stat: Tensor) -> Tensor:
        b, steps = z.shape
        h, c = self.config.horizon, self.config.context_size
        out, _ = self.encoder(_past_inputs(z, mask, hist, futr[:, :steps], stat))  # (B, L, D*Hd)
        contexts = F.relu(self.global_mlp(torch.cat([out[:, -1], stat], dim=-1)))  # (B, (H + 1) C)
        per_step = contexts[:, : h * c].reshape(b, h, c)  # (B, H, C)
        agnostic = contexts[:, None, h * c :].expand(-1, h, -1)  # (B, H, C)
        delta = self.local_mlp(torch.cat([per_step, agnostic, futr[:, steps:]], dim=-1))[..., 0]  # (B, H)
        return self.skip(z) + delta


class DeepARNet(nn.Module):
    """DeepAR-style autoregressive forecaster with a Student-t or Gaussian head.

    ``net.distribution(z, mask, hist, futr, stat)`` gives the distribution of every step t >= 1 of
    the window given the steps before it (teacher forcing, for training); ``net.sample(...,
    num_samples)`` draws forecast paths (S, B, H) in scaled units.
    """

    def __init__(self, config: GlobalNetConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _encoder(config, 2 + config.num_hist + config.num_futr + config.num_stat)
        num_params = 3 if config.likelihood == "studentt" else 2
        self.head = nn.Linear(self.encoder.output_size, num_params)

    def _distribution(self, out: Tensor) -> torch.distributions.Distribution:
        params = self.head(out)
        loc, scale = params[..., 0], F.softplus(params[..., 1]) + 1e-4
        if self.config.likelihood == "normal":
            return torch.distributions.Normal(loc, scale)
        return torch.distributions.StudentT(2.0 + F.softplus(params[..., 2]), loc, scale)

    def distribution(
        self, z: Tensor, mask: Tensor, hist: Tensor, futr: Tensor, stat: Tensor
    ) -> torch.distributions.Distribution:
        """Distribution of z_t given z_<t for t = 1..T-1 of a whole window (B, T): batch shape (B, T - 1).

        Historical covariates of step t enter with z_{t-1} (they are known up to the previous step).
        """
        steps = z.shape[1]
        inputs = _past_inputs(z[:, :-1], mask[:, :-1], hist[:, :-1], futr[:, 1:steps], stat)
        out, _ = self.encoder(inputs)  # (B, T - 1, D*Hd)
        return self._distribution(out)

    @torch.no_grad()
    def sample(self, z: Tensor, mask: Tensor, hist: Tensor, futr: Tensor, stat: Tensor, num_samples: int) -> Tensor:
        """Forecast paths from the end of the windows: (S, B, H) in scaled units.

        The window is encoded once per path (rows repeated S times), then each step's draw is the
        next step's input; historical covariates are held at their last value past the origin.
        """
        b, steps = z.shape
        h = self.config.horizon
        rep = lambda t: t.repeat_interleave(num_samples, dim=0)  # noqa: E731  (B, ...) -> (B S, ...)
        z, mask, hist, futr, stat = rep(z), rep(mask), rep(hist), rep(futr), rep(stat)
        past = _past_inputs(z[:, :-1], mask[:, :-1], hist[:, :-1], futr[:, 1:steps], stat)
        _, state = self.encoder(past)
        previous, last_hist = z[:, -1], hist[:, -1:]  # (B S,), (B S, 1, Ch)
        paths = []
        for k in range(h):
            step = _past_inputs(previous[:, None], mask.new_ones(len(z), 1), last_hist, futr[:, steps + k : steps + k + 1], stat)
            out, state = self.encoder(step, state)  # (B S, 1, D*Hd)
            previous = self._distribution(out[:, 0]).sample()  # (B S,)
            paths.append(previous)
        return torch.stack(paths, dim=-1).reshape(b, num_samples, h).transpose(0, 1)  # (S, B, H)

    def forward(self, z: Tensor, mask: Tensor, hist: Tensor, futr: Tensor, stat: Tensor, num_samples: int = 100) -> Tensor:
        """The median of ``num_samples`` paths: (B, H) in scaled units."""
        return self.sample(z, mask, hist, futr, stat, num_samples).median(dim=0).values


def build_global_net(config: GlobalNetConfig) -> nn.Module:
    """The network of ``config.network``."""
    return DirectForecastNet(config) if config.network == "direct" else DeepARNet(config)


def smape_loss(forecast: Tensor, target: Tensor) -> Tensor:
    """Mean of 2 |y - f| / (|y| + |f|) (the M3 sMAPE without the 100), zero where both are 0."""
    denominator = (target.abs() + forecast.abs()).clamp_min(1e-8)
    return torch.mean(2.0 * (target - forecast).abs() / denominator)

