import pytest
import torch

from rnnkit.models.forecaster import Forecaster, ForecasterConfig, ForecasterEnsemble, build_forecaster


def _inputs(model, batch=3, width=6, generator=None):
    c = model.config
    g = torch.Generator().manual_seed(1)
    context = torch.randn(batch, width, generator=g)
    covariates = torch.randn(batch, width, c.num_covariates, generator=g)
    future = torch.randn(batch, width + c.horizon, c.num_future_covariates, generator=g)
    series = torch.randint(0, c.num_series, (batch,), generator=g)
    return context, covariates, future, series


@pytest.mark.parametrize(("cell", "reference"), [("rnn", "last"), ("lstm", "last"), ("gru", "season"), ("lstm", "season")])
def test_recursive_roll_out_equals_a_hand_written_step_loop(cell, reference):
    config = ForecasterConfig(
        horizon=5, cell=cell, hidden_size=7, num_layers=2, mode="recursive", num_future_covariates=3,
        num_series=2, series_embedding_dim=2, quantiles=(0.2, 0.5, 0.8), reference=reference, season=3,
    )
    model = Forecaster(config).double().eval()
    context, _, future, series = (t.double() if t.is_floating_point() else t for t in _inputs(model))
    rolled = model(context, None, future, series)  # (B, H, Q)

    # by hand: one step at a time, the state carried, the median prediction fed back
    last = context[:, -1:]
    emb = model.embedding(series)
    history = [context[:, t : t + 1] for t in range(context.shape[1])]  # y_0 .. y_{W-1}, then forecasts
    state, predictions = None, []
    for t in range(context.shape[1] + config.horizon - 1):
        x = torch.cat([history[t] - last, future[:, t + 1], emb], dim=-1).unsqueeze(1)  # calendar of step t + 1
        out, state = model.rnn(x, state)
        if t >= context.shape[1] - 1:
            r = history[t + 1 - 3] if reference == "season" else last  # y_{t+1-m} or y_{W-1}
            q = model.head(out[:, 0]).sort(dim=-1).values + r  # (B, Q), quantiles in order
            predictions.append(q)
            history.append(q[:, 1:2])  # the median is fed back
    torch.testing.assert_close(rolled, torch.stack(predictions, dim=1), rtol=1e-12, atol=1e-12)

    # and feeding the roll-out back as the teacher reproduces it (no off-by-one between the two paths)
    teacher = model.point(rolled)
    torch.testing.assert_close(model(context, None, future, series, teacher=teacher), rolled, rtol=1e-12, atol=1e-12)


def test_direct_season_reference_is_the_seasonal_naive_forecast():
    model = Forecaster(ForecasterConfig(horizon=5, reference="season", season=3)).double().eval()
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)  # the network adds nothing: only the reference is left
    context = torch.arange(1.0, 8.0, dtype=torch.float64)[None]  # 1..7, last cycle 5, 6, 7
    assert model(context)[0, :, 0].tolist() == [5.0, 6.0, 7.0, 5.0, 6.0]
    recursive = Forecaster(ForecasterConfig(horizon=5, mode="recursive", reference="season", season=3)).double()
    torch.nn.init.zeros_(recursive.head.weight)
    torch.nn.init.zeros_(recursive.head.bias)
    assert recursive.eval()(context)[0, :, 0].tolist() == [5.0, 6.0, 7.0, 5.0, 6.0]
    with pytest.raises(ValueError, match="needs a window of at least one season"):
        model(context[:, :2])


@pytest.mark.parametrize("mode", ["direct", "recursive"])
def test_given_reference_is_what_the_network_corrects(mode):
    model = Forecaster(ForecasterConfig(horizon=3, mode=mode, reference="given", quantiles=(0.1, 0.5, 0.9))).double()
    context = torch.randn(2, 5, dtype=torch.float64)
    given = torch.randn(2, 3, dtype=torch.float64)
    correction = model.eval()(context, reference=torch.zeros_like(given))  # (B, H, Q): the network's own part
    if mode == "direct":
        torch.testing.assert_close(model(context, reference=given), correction + given.unsqueeze(-1))
    else:  # the roll-out feeds back reference + correction, so only step 1 and teacher forcing are additive
        torch.testing.assert_close(model(context, reference=given)[:, 0], correction[:, 0] + given[:, :1])
        teacher = torch.randn(2, 3, dtype=torch.float64)
        zero = model(context, teacher=teacher, reference=torch.zeros_like(given))
        torch.testing.assert_close(model(context, teacher=teacher, reference=given), zero + given.unsqueeze(-1))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)  # the network adds nothing: the forecast is the reference
    torch.testing.assert_close(model(context, reference=given), given.unsqueeze(-1).expand(-1, -1, 3))
    with pytest.raises(ValueError, match=r"reference='given' needs the reference forecast, shape \(B, H\) = \(2, 3\), got None"):
        model(context)
    with pytest.raises(ValueError, match="this model's reference is 'last'; build it with reference='given'"):
        Forecaster(ForecasterConfig(horizon=3, mode=mode))(context, reference=given)


def test_direct_head_reads_last_state_future_calendar_and_series():
    config = ForecasterConfig(horizon=4, hidden_size=5, num_covariates=2, num_future_covariates=3, num_series=3,
                              series_embedding_dim=2)
    model = Forecaster(config).double().eval()
    context, covariates, future, series = (t.double() if t.is_floating_point() else t for t in _inputs(model))
    y = model(context, covariates, future, series)
    assert y.shape == (3, 4, 1)
    reference = context[:, -1:]
    emb = model.embedding(series)
    x = torch.cat([(context - reference).unsqueeze(-1), covariates, future[:, 1:7], emb[:, None].expand(-1, 6, -1)], -1)
    out, _ = model.rnn(x)
    expected = model.head(torch.cat([out[:, -1], future[:, 6:].flatten(1), emb], -1)).view(3, 4, 1) + reference[..., None]
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    # a later future covariate changes the forecast; a value after the window cannot be read at all
    changed = future.clone()
    changed[:, -1] += 1.0
    assert not torch.allclose(model(context, covariates, changed, series)[:, -1], y[:, -1])


def test_autoregressive_skip_adds_a_linear_map_of_the_last_lags():
    model = Forecaster(ForecasterConfig(horizon=2, hidden_size=3, ar_lags=3, reference="season", season=4)).double()
    context = torch.randn(5, 6, dtype=torch.float64)
    with torch.no_grad():
        without = model.head(model.rnn((context - context[:, -1:]).unsqueeze(-1))[0][:, -1])  # (B, H)
    lags = context[:, -3:] - context[:, -1:]  # (B, L): the last 3 values relative to the last one
    expected = without + lags @ model.autoregressive.weight.T + model.autoregressive.bias + context[:, 2:4]
    torch.testing.assert_close(model.eval()(context)[..., 0], expected, rtol=1e-12, atol=1e-12)
    torch.nn.init.zeros_(model.autoregressive.weight)
    torch.nn.init.zeros_(model.autoregressive.bias)
    torch.testing.assert_close(model(context)[..., 0], without + context[:, 2:4], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="ar_lags=3 needs a window of at least 3 steps, got 2"):
        model(context[:, :2])


def test_quantile_loss_is_the_pinball_loss():
    model = Forecaster(ForecasterConfig(horizon=2, quantiles=(0.1, 0.5, 0.9)))
    forecast = torch.tensor([[[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]])
    target = torch.tensor([[1.5, 0.0]])
    # e = y - f: step 1: (1.5, 0.5, -0.5), step 2: (-1, -1, -1); pinball max(q e, (q - 1) e)
    expected = (0.15 + 0.25 + 0.05 + 0.9 + 0.5 + 0.1) / 6
    assert model.loss(forecast, target).item() == pytest.approx(expected)
    point = Forecaster(ForecasterConfig(horizon=2))
    assert point.loss(forecast[..., :1], target).item() == pytest.approx((1.5**2 + 1.0) / 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"horizon": 0}, ValueError, "horizon must be >= 1, got 0"),
        ({"horizon": 2, "mode": "seq"}, ValueError, "mode must be one of 'direct', 'recursive'; got 'seq'"),
        ({"horizon": 2, "cell": "lstmm"}, ValueError, "cell must be one of"),
        ({"horizon": 2, "mode": "recursive", "num_covariates": 1}, ValueError, "cannot predict the 1 past covariate"),
        ({"horizon": 2, "quantiles": (0.1, 0.9)}, ValueError, "include 0.5"),
        ({"horizon": 2, "mode": "recursive", "ar_lags": 4}, ValueError, "ar_lags=4 is the direct mode's linear skip"),
        ({"horizon": 2, "quantiles": (0.5, 1.5)}, ValueError, r"quantiles must be numbers in \(0, 1\)"),
    ],
)
def test_bad_config_messages(kwargs, error, message):
    with pytest.raises(error, match=message):
        ForecasterConfig(**kwargs)


def test_bad_input_shapes():
    model = Forecaster(ForecasterConfig(horizon=3, num_future_covariates=2))
    with pytest.raises(ValueError, match=r"future must have shape \(2, 8, 2\) for this model, got \(2, 5, 2\)"):
        model(torch.zeros(2, 5), future=torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match=r"context must be \(B, W\)"):
        model(torch.zeros(2, 5, 1))


@pytest.mark.parametrize("quantiles", [(), (0.1, 0.5, 0.9)])
def test_ensemble_averages_members_trained_each_on_its_own_loss(quantiles):
    config = ForecasterConfig(horizon=3, cell="gru", hidden_size=5, quantiles=quantiles, ensemble=3)
    torch.manual_seed(0)
    ensemble = build_forecaster(config)
    assert isinstance(ensemble, ForecasterEnsemble) and len(ensemble.members) == 3
    assert isinstance(build_forecaster(ForecasterConfig(horizon=3)), Forecaster)
    context, target = torch.randn(4, 6), torch.randn(4, 3)
    members = ensemble.member_forecasts(context)  # (E, B, H, Q)
    assert members.shape == (3, 4, 3, len(quantiles) or 1)
    each = [m(context) for m in ensemble.members]
    torch.testing.assert_close(ensemble(context), torch.stack(each).mean(0))  # the forecast is the members' mean
    assert not torch.allclose(each[0], each[1])  # members start from different weights
    if quantiles:
        assert (ensemble(context).diff(dim=-1) >= 0).all()  # averaged quantiles stay sorted
    # d(ensemble loss)/d(member k) = d(member k's own loss)/d(member k) / E: no member depends on another
    ensemble.loss(members, target).backward()
    for member, forecast in zip(ensemble.members, each, strict=True):
        own = torch.autograd.grad(member.loss(forecast, target), list(member.parameters()))
        for p, g in zip(member.parameters(), own, strict=True):
            torch.testing.assert_close(p.grad, g / 3)


def test_ensemble_config_messages():
    with pytest.raises(ValueError, match="ensemble must be >= 1, got 0"):
        ForecasterConfig(horizon=2, ensemble=0)
    with pytest.raises(ValueError, match="use ForecasterEnsemble"):
        Forecaster(ForecasterConfig(horizon=2, ensemble=2))
