"""What every classic cell module shares: torch's parameter names and init, input checks.

A cell is one time step (DESIGN §8.1): ``h_t = cell(x_t, h_{t-1})``. The math of each family
lives in a pure step function next to its module (``elman_step``, ``lstm_step``, ``gru_step``);
the modules only hold parameters and check arguments, and the layers' reference path drives the
same step functions with the layer's parameters through the single time loop
(:func:`rnnkit.functional.scan`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.cells.protocol import StateSpec, zero_state


def check_positive_int(name: str, value: object) -> None:
    """Raise unless ``value`` is an int >= 1 (bools are rejected), naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value}")


class CellBase(nn.Module):
    """Parameters ``weight_ih`` (G*H, F), ``weight_hh`` (G*H, H), ``bias_ih``/``bias_hh`` (G*H,).

    ``G`` is the number of gate blocks stacked along the first dimension (1 for Elman, 4 for
    LSTM in the order i, f, g, o, 3 for GRU in the order r, z, n), exactly as ``torch.nn``'s
    cells, so ``load_state_dict`` works both ways. Initialization is torch's: every parameter
    uniform in (-1/sqrt(H), 1/sqrt(H)), drawn in the same order.
    """

    num_gates: int = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        factory = {"device": device, "dtype": dtype}
        gates = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size, **factory))
        if bias:
            self.bias_ih: nn.Parameter | None = nn.Parameter(torch.empty(gates, **factory))
            self.bias_hh: nn.Parameter | None = nn.Parameter(torch.empty(gates, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's init: U(-1/sqrt(H), 1/sqrt(H)) for every parameter, in registration order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    # ----------------------------------------------------------------- the cell protocol
    @property
    def output_size(self) -> int:
        """Y = H: the step's output is the hidden state."""
        return self.hidden_size

    def state_spec(self) -> StateSpec:
        return (("h", (self.hidden_size,)),)

    def initial_state(self, batch: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
        return zero_state(self.state_spec(), batch, dtype, device)

    def _check_input(self, input: Tensor) -> bool:
        """Validate ``input`` (B, F) or unbatched (F,); return True when it is batched."""
        if not isinstance(input, Tensor):
            raise TypeError(f"input must be a torch.Tensor of shape (batch, {self.input_size}), got {type(input).__name__}")
        if not input.is_floating_point():
            raise TypeError(
                f"input must be a floating-point tensor, got dtype {input.dtype}; convert it with input.float()"
            )
        if input.dim() not in (1, 2):
            raise ValueError(
                f"input must be 2-D (batch, {self.input_size}) or 1-D ({self.input_size},), "
                f"got {input.dim()}-D with shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"input feature size must equal input_size={self.input_size}, got {input.shape[-1]} "
                f"(shape {tuple(input.shape)}); build the cell with input_size={input.shape[-1]} or fix the input"
            )
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(
                f"input dtype {input.dtype} does not match the cell's parameters ({self.weight_ih.dtype}); "
                f"convert the input with .to({self.weight_ih.dtype}) or the cell with .to({input.dtype})"
            )
        return input.dim() == 2

    def _check_state(self, name: str, state: Tensor | None, input: Tensor, size: int) -> Tensor:
        """Return ``state`` (B, size) (zeros when None), checking its shape against ``input``."""
        expected = (*input.shape[:-1], size)
        if state is None:
            return torch.zeros(expected, dtype=input.dtype, device=input.device)
        if not isinstance(state, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, got {type(state).__name__}")
        if tuple(state.shape) != expected:
            raise ValueError(
                f"{name} must have shape {expected} to match the input, got {tuple(state.shape)}"
            )
        if state.dtype != input.dtype:
            raise TypeError(f"{name} dtype {state.dtype} does not match the input dtype {input.dtype}")
        return state
