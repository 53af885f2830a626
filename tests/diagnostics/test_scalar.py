"""The scalar experiment of seed 003 against its closed form, and its explanation line."""

import math

import numpy as np
import pytest

from rnnkit.diagnostics.scalar import (
    ScalarSweep,
    ScalarSweepConfig,
    explain_scalar_sweep,
    scalar_sweep,
)


def closed_form(w: float, steps: int, h0: float) -> tuple[float, float]:
    """h_T and d h_T / d h_0 = prod_{t=1..T} w (1 - h_t^2), with Python floats."""
    states = [h0]
    for _ in range(steps):
        states.append(math.tanh(w * states[-1]))
    product = 1.0
    for h_t in states[1:]:
        product *= w * (1.0 - h_t**2)
    return states[-1], product


@pytest.mark.parametrize(
    "config",
    [
        ScalarSweepConfig(),  # the seed's: T=10, h_0=0.5, w in [-4, 4]
        ScalarSweepConfig(steps=25, h0=-0.3, w_min=-2.0, w_max=3.0, num_points=101),
        ScalarSweepConfig(steps=1, h0=2.0, w_min=0.0, w_max=1.0, num_points=5),
    ],
)
def test_scalar_sweep_equals_closed_form(config):
    sweep = scalar_sweep(config)
    expected_w = np.linspace(config.w_min, config.w_max, config.num_points)
    np.testing.assert_allclose(sweep.w, expected_w, rtol=0, atol=1e-15)
    reference = np.array([closed_form(w, config.steps, config.h0) for w in sweep.w])
    assert sweep.final_state.dtype == np.float64 and sweep.grad_h0.shape == (config.num_points,)
    np.testing.assert_allclose(sweep.final_state, reference[:, 0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(sweep.grad_h0, reference[:, 1], rtol=1e-10, atol=0)


def test_scalar_sweep_shows_vanishing_on_both_sides_of_w_1():
    sweep = scalar_sweep()
    magnitude = np.abs(sweep.grad_h0)
    assert magnitude[np.argmin(np.abs(sweep.w - 4.0))] < 1e-20  # saturated tanh
    assert magnitude[np.argmin(np.abs(sweep.w - 0.25))] < 1e-5  # small weight
    assert 0.1 < magnitude.max() < 1.0
    assert abs(abs(sweep.w[np.argmax(magnitude)]) - 1.0) < 0.05


def test_explanation_is_computed_from_the_data():
    config = ScalarSweepConfig(steps=3, h0=0.5, w_min=-1.0, w_max=2.0, num_points=4)
    sweep = ScalarSweep(
        config=config,
        w=np.array([-1.0, 0.0, 1.0, 2.0]),
        final_state=np.zeros(4),
        grad_h0=np.array([1e-5, 0.5, -2.5, 1e-4]),
    )
    line = explain_scalar_sweep(sweep)
    assert "peaks at 2.5 for w=1;" in line
    assert "(vanishing) for 50% of w in [-1, 2]" in line
    assert "(exploding) for 25%" in line
    assert "T=3, h_0=0.5" in line


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, r"steps must be an integer >= 1 .*got 0"),
        ({"steps": 2.5}, r"steps must be an integer >= 1 .*got 2.5"),
        ({"h0": float("nan")}, r"h0 must be a finite number, got nan"),
        ({"w_min": 1.0, "w_max": 1.0}, r"finite w_min < w_max, got w_min=1.0, w_max=1.0"),
        ({"num_points": 1}, r"num_points must be an integer >= 2, got 1"),
    ],
)
def test_bad_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScalarSweepConfig(**kwargs)
