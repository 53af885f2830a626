"""Diagnostics that make the seeds' lessons measurable: vanishing and exploding gradients.

- :mod:`rnnkit.diagnostics.scalar`: the scalar recurrence h_t = tanh(w h_{t-1}) of seed 003.
- :mod:`rnnkit.diagnostics.gradient_flow`: gradient norm against distance in real layers.
- :mod:`rnnkit.diagnostics.plotting`: PNG figures of both (imported on demand: it loads matplotlib).
"""

from rnnkit.diagnostics.gradient_flow import (
    GradientFlowConfig,
    GradientFlowCurve,
    explain_gradient_flow,
    gradient_norms_by_distance,
    measure_gradient_flow,
    set_forget_bias,
)
from rnnkit.diagnostics.scalar import (
    ScalarSweep,
    ScalarSweepConfig,
    explain_scalar_sweep,
    scalar_sweep,
)

__all__ = [
    "GradientFlowConfig",
    "GradientFlowCurve",
    "ScalarSweep",
    "ScalarSweepConfig",
    "explain_gradient_flow",
    "explain_scalar_sweep",
    "gradient_norms_by_distance",
    "measure_gradient_flow",
    "scalar_sweep",
    "set_forget_bias",
]
