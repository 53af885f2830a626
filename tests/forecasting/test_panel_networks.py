"""Windows of a panel, the two global networks and the conformal intervals, against direct re-computation."""

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.errors import DataError
from rnnkit.forecasting.conformal import conformal_quantile, conformity_scores, widen
from rnnkit.forecasting.networks import DeepARNet, DirectForecastNet, GlobalNetConfig
from rnnkit.forecasting.panel import WindowSpec, make_windows, panel_from_frame, training_cutoffs, window_scale
from rnnkit.models.validation import CELLS

NO_STATS = (np.zeros(0), np.ones(0))


def _windows(panel, cutoffs, spec, **kw):
    return make_windows(panel, cutoffs, spec, with_target=True, hist_stats=NO_STATS, futr_stats=NO_STATS,
                        stat_stats=NO_STATS, **kw)


def test_a_window_is_the_scaled_context_and_target_with_left_padding():
    frame = pd.DataFrame({"unique_id": "a", "ds": np.arange(1, 11), "y": np.arange(1.0, 11.0) * 10})
    panel = panel_from_frame(frame)
    spec = WindowSpec(lookback=6, horizon=2, scale_window=3)
    w = _windows(panel, [np.array([3, 8])], spec)
    y = frame["y"].to_numpy()
    # cutoff 3: values 10, 20, 30 known, 3 padded steps in front; scale = mean of the last 3 = 20
    assert w["scale"][0] == pytest.approx(20.0)
    np.testing.assert_allclose(w["mask"][0], [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(w["z"][0] * w["scale"][0], [0, 0, 0, 10, 20, 30], rtol=1e-6)
    np.testing.assert_allclose(w["target"][0] * w["scale"][0], y[3:5], rtol=1e-6)
    # cutoff 8: a full window y[2:8], scale = mean(60, 70, 80)
    assert w["scale"][1] == pytest.approx(70.0)
    np.testing.assert_allclose(w["z"][1] * 70.0, y[2:8], rtol=1e-6)
    np.testing.assert_allclose(w["target"][1] * 70.0, y[8:10], rtol=1e-6)


def test_window_scale_ignores_padding_and_never_divides_by_zero():
    z = np.array([[0.0, 0.0, 4.0, -2.0], [0.0, 0.0, 0.0, 0.0]])
    mask = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    np.testing.assert_allclose(window_scale(z, mask, 3), [3.0, 1.0])


def test_training_cutoffs_keep_the_target_inside_the_training_part():
    cuts = training_cutoffs(np.array([20, 9]), np.array([15, 9]), horizon=4, min_context=3, max_windows=None)
    np.testing.assert_array_equal(cuts[0], np.arange(3, 12))  # c + 4 <= 15
    np.testing.assert_array_equal(cuts[1], np.arange(3, 6))
    latest = training_cutoffs(np.array([20]), np.array([15]), horizon=4, min_context=3, max_windows=2)
    np.testing.assert_array_equal(latest[0], [10, 11])


def test_known_future_covariates_must_reach_past_the_origin():
    frame = pd.DataFrame({"unique_id": "a", "ds": np.arange(1, 11), "y": np.ones(10), "promo": np.zeros(10)})
    panel = panel_from_frame(frame, futr_exog=("promo",))
    stats = (np.zeros(1), np.ones(1))
    with pytest.raises(DataError, match="known-future covariates up to step 10.*futr_df"):
        make_windows(panel, [np.array([10])], WindowSpec(4, 3, 2), with_target=False, hist_stats=NO_STATS,
                     futr_stats=stats, stat_stats=NO_STATS)


def _inputs(b=3, L=8, H=4, ch=0, cf=0, cs=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = 1 + 0.1 * torch.randn(b, L, generator=g)
    return z, torch.ones(b, L), torch.randn(b, L, ch, generator=g), torch.randn(b, L + H, cf, generator=g), \
        torch.randn(b, cs, generator=g)


@pytest.mark.parametrize("skip", ["last", "season", "none"])
def test_an_untrained_direct_network_forecasts_its_skip(skip):
    net = DirectForecastNet(GlobalNetConfig(horizon=5, skip=skip, season=3, hidden_size=8, context_size=4))
    z, mask, hist, futr, stat = _inputs(L=8, H=5)
    out = net(z, mask, hist, futr, stat)
    expected = {"last": z[:, -1:].expand(-1, 5), "season": z[:, [5, 6, 7, 5, 6]], "none": torch.zeros(3, 5)}[skip]
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("cell", CELLS)
def test_both_networks_accept_every_cell_and_covariates(cell):
    config = dict(horizon=4, cell=cell, hidden_size=8, num_layers=2, context_size=4, num_hist=2, num_futr=1, num_stat=3)
    kwargs = {"num_heads": 2} if cell in ("slstm", "mlstm") else {}
    inputs = _inputs(ch=2, cf=1, cs=3)
    direct = DirectForecastNet(GlobalNetConfig(**config, cell_kwargs=kwargs))
    assert direct(*inputs).shape == (3, 4)
    deepar = DeepARNet(GlobalNetConfig(network="deepar", **config, cell_kwargs=kwargs))
    assert deepar.sample(*inputs, num_samples=5).shape == (5, 3, 4)
    z, mask, hist, futr, stat = inputs
    full = torch.cat([z, torch.ones(3, 4)], 1), torch.ones(3, 12), torch.randn(3, 12, 2), futr, stat
    assert deepar.distribution(*full).batch_shape == (3, 11)


def test_deepar_step_t_depends_only_on_the_values_before_it():
    torch.manual_seed(0)
    net = DeepARNet(GlobalNetConfig(network="deepar", horizon=2, hidden_size=8, num_layers=1))
    z, mask, hist, futr, stat = _inputs(b=2, L=10, H=0)
    before = net.distribution(z, mask, hist, futr, stat).loc
    z2 = z.clone()
    z2[:, 6] += 5.0  # changes the distributions of steps 7.. (index 6.. of the output), not earlier ones
    after = net.distribution(z2, mask, hist, futr, stat).loc
    torch.testing.assert_close(after[:, :6], before[:, :6])
    assert not torch.allclose(after[:, 6], before[:, 6])


def test_deepar_paths_are_draws_of_the_fed_back_distribution():
    torch.manual_seed(0)
    net = DeepARNet(GlobalNetConfig(network="deepar", horizon=1, hidden_size=8, num_layers=1, likelihood="normal"))
    z, mask, hist, futr, stat = _inputs(b=1, L=6, H=1)
    full = torch.cat([z, torch.zeros(1, 1)], 1)
    dist = net.distribution(full, torch.ones(1, 7), torch.zeros(1, 7, 0), torch.zeros(1, 7, 0), stat)
    draws = net.sample(z, mask, hist, futr, stat, num_samples=4000)[:, 0, 0]
    assert draws.mean().item() == pytest.approx(dist.loc[0, -1].item(), abs=4 * dist.scale[0, -1].item() / 60)
    assert draws.std().item() == pytest.approx(dist.scale[0, -1].item(), rel=0.05)


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1.0, 10.0)[:, None]  # 9 scores: rank ceil(10 * 0.8) = 8
    assert conformal_quantile(scores, 0.8)[0] == 8.0
    assert np.isinf(conformal_quantile(scores[:3], 0.95)[0])  # too few scores for 95%


def test_conformal_intervals_cover_new_exchangeable_values_at_the_nominal_rate():
    rng = np.random.default_rng(0)
    n, h = 4000, 3
    scale = rng.uniform(1, 100, size=2 * n)
    point = scale[:, None] * np.ones((2 * n, h))
    y = point + scale[:, None] * rng.standard_t(4, size=(2 * n, h)) * np.array([0.5, 1.0, 2.0])
    cal, new = slice(0, n), slice(n, 2 * n)
    scores = conformity_scores(y[cal], point[cal], point[cal], scale[cal])
    for level in (0.8, 0.95):
        q = conformal_quantile(scores, level)
        lo, hi = widen(point[new], point[new], point[new], scale[new], q)
        coverage = np.mean((y[new] >= lo) & (y[new] <= hi), axis=0)
        np.testing.assert_allclose(coverage, level, atol=0.02)
        assert np.all(lo <= point[new]) and np.all(hi >= point[new])


def test_seasonal_indices_recover_a_multiplicative_pattern_aligned_to_the_window_end():
    from rnnkit.forecasting.seasonality import positions, seasonal_indices

    pattern = np.array([0.8, 1.0, 1.3, 0.9])  # positions 0..3 of the cycle, mean 1
    L = 22  # 5 complete cycles from the end + 2 padded steps
    t = np.arange(L)
    y = 10.0 * pattern[t % 4]
    mask = np.r_[0, 0, np.ones(L - 2)]
    short = np.r_[np.zeros(L - 7), np.ones(7)]
    zero = y * mask
    zero[10] = 0.0
    z = np.vstack([y * mask, np.r_[0, 0, 1 + 0.01 * np.sin(np.arange(L - 2))], y * short, zero])
    index = seasonal_indices(z, np.vstack([mask, mask, short, mask]), 4)
    np.testing.assert_allclose(positions(index[:1], 0, L, L)[0, 2:], pattern[t[2:] % 4])  # context positions
    np.testing.assert_allclose(positions(index[:1], L, 4, L)[0], pattern[(L + np.arange(4)) % 4])  # ahead
    np.testing.assert_allclose(index[1], 1.0)  # no seasonality: the test says no
    np.testing.assert_allclose(index[2], 1.0)  # fewer than two observed cycles
    np.testing.assert_allclose(index[3], 1.0)  # a zero: no multiplicative decomposition


def test_deseasonalized_untrained_network_is_the_seasonal_naive_forecast():
    from rnnkit.forecasting import GlobalForecastConfig, GlobalForecaster

    pattern = np.array([0.7, 0.9, 1.2, 1.4, 1.1, 0.7])
    frames = [pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(1, 49), "y": (i + 1) * 50 * pattern[np.arange(48) % 6]})
              for i in range(3)]
    df = pd.concat(frames)
    model = GlobalForecaster(GlobalForecastConfig(horizon=6, season=6, deseasonalize=True, epochs=1, hidden_size=8,
                                                  num_layers=1, context_size=4, lookback=24))
    model.fit(df)
    for member in model.model.members:
        torch.nn.init.zeros_(member.local_mlp[-1].weight)
        torch.nn.init.zeros_(member.local_mlp[-1].bias)
    out = model.predict()
    expected = np.concatenate([f["y"].to_numpy()[-6:] for f in frames])  # the last season, repeated
    np.testing.assert_allclose(out["MQ-LSTM"].to_numpy(), expected, rtol=1e-5)


def test_smape_loss_is_taken_in_the_data_scale_when_the_network_works_on_logs():
    from rnnkit.forecasting.networks import smape_loss
    from rnnkit.forecasting.training import GlobalObjective

    class Fixed(torch.nn.Module):
        config = GlobalNetConfig(horizon=2)

        def forward(self, z, mask, hist, futr, stat):
            return torch.log(torch.tensor([[2.0, 3.0]]))

    target = torch.tensor([[1.0, 4.0]])
    batch = {"z": torch.zeros(1, 3), "mask": torch.ones(1, 3), "hist": torch.zeros(1, 3, 0),
             "futr": torch.zeros(1, 5, 0), "stat": torch.zeros(1, 0), "target": torch.log(target)}
    loss = GlobalObjective("smape", log=True).step(Fixed(), batch).loss
    torch.testing.assert_close(loss, smape_loss(torch.tensor([[2.0, 3.0]]), target))
    assert loss.item() == pytest.approx(np.mean([2 * 1 / 3, 2 * 1 / 7]))
