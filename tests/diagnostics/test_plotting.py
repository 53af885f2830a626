"""The figures are valid PNG files written atomically, with one line per curve."""

import numpy as np
import pytest
from matplotlib.image import imread

from rnnkit.diagnostics.gradient_flow import GradientFlowConfig, GradientFlowCurve
from rnnkit.diagnostics.plotting import plot_gradient_flow, plot_scalar_sweep
from rnnkit.diagnostics.scalar import ScalarSweepConfig, scalar_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _curve(cell, norms, forget_bias=None):
    config = GradientFlowConfig(cell, steps=len(norms), forget_bias=forget_bias)
    return GradientFlowCurve(config, np.arange(1, len(norms) + 1), np.asarray(norms))


def test_plots_are_valid_png_images(tmp_path):
    scalar_path, flow_path = tmp_path / "scalar.png", tmp_path / "sub" / "flow.png"
    plot_scalar_sweep(scalar_sweep(ScalarSweepConfig(num_points=50)), scalar_path)
    curves = [_curve("rnn", [1.0, 0.1, 0.0]), _curve("lstm", [1.0, 0.9, 0.8], forget_bias=3.0)]
    plot_gradient_flow(curves, flow_path)
    for path in (scalar_path, flow_path):
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        height, width, _ = imread(path).shape
        assert height > 200 and width > 200
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["flow.png", "scalar.png", "sub"]


def test_empty_curve_list_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs at least one curve, got an empty sequence"):
        plot_gradient_flow([], tmp_path / "flow.png")
    assert not (tmp_path / "flow.png").exists()
