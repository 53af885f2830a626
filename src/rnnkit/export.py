"""Export a layer or a saved model to ONNX or TorchScript, checked against eager PyTorch.

    from rnnkit.export import export
    report = export(layer, "lstm.onnx", example=torch.randn(2, 10, 8))       # or format="torchscript"
    report = export_saved("runs/lm/model", "lm.onnx")                          # a saved task model

The graph is traced (``torch.onnx.export`` / ``torch.jit.trace``) with the batch and time
dimensions dynamic. While traced, rnnkit's layers run forms that hold at every length
(:mod:`rnnkit.functional.export_loops`: the fused kernels, scripted time loops for the seeds' GRU
and the sLSTM, the parallel mLSTM), so the file answers for lengths it never saw.

Nothing is trusted: before the file is moved into place, the exported graph (onnxruntime, or the
reloaded TorchScript module) runs at several batch sizes and lengths, including lengths that were
not traced, and every output is compared with eager PyTorch. If any differs by more than the
tolerance, nothing is written and :class:`ExportError` says where it failed: a clear error beats a
silently wrong graph. Exported graphs take whole batches without ``lengths=`` (pad-free inputs or
one sequence at a time) and return every output tensor of ``forward`` flattened: for a layer the
output and the final state, for a language model the logits and the state.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import RnnkitError
from rnnkit.io import atomic_path

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
CHECK_BATCHES: tuple[int, ...] = (1, 3)
CHECK_LENGTHS: tuple[int, ...] = (1, 7, 33, 130)
"""Lengths every export is checked at (besides the traced one): 130 crosses the mLSTM's chunks."""


class ExportError(RnnkitError):
    """The model cannot be exported, or the exported graph does not answer as the model does."""


@dataclass
class ExportCheck:
    """One comparison of the exported graph with eager PyTorch."""

    batch: int
    steps: int
    max_abs_diff: float


@dataclass
class ExportReport:
    """What :func:`export` wrote and checked."""

    path: Path
    format: str
    inputs: list[str]
    outputs: list[str]
    checks: list[ExportCheck] = field(default_factory=list)

    @property
    def max_abs_diff(self) -> float:
        return max((c.max_abs_diff for c in self.checks), default=0.0)


class _Flat(nn.Module):
    """``model``'s forward on one input with every output tensor flattened into a tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return tuple(_flatten(self.model(x)))


def _flatten(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _flatten(item)]
    if value is None:
        return []
    raise ExportError(f"forward returned a {type(value).__name__}; export needs tensors (or tuples of them)")


def _output_names(model: nn.Module, example: Tensor) -> list[str]:
    with torch.no_grad():
        out = model(example)
    flat = _flatten(out)
    if isinstance(out, Tensor):
        return ["output"]
    return ["output"] + [f"state_{i}" for i in range(len(flat) - 1)]


def export(
    model: nn.Module,
    path: str | Path,
    format: str = "onnx",
    *,
    example: Tensor,
    make_input: Callable[[int, int], Tensor] | None = None,
    batch_dim: int = 0,
    time_dim: int = 1,
    tolerance: float = 1e-4,
    opset: int = 17,
) -> ExportReport:
    """Export ``model`` (called ``model(x)``) to ``path`` and check it (see the module docstring).

    Args:
        model: a layer or model whose forward takes one tensor; exported in eval mode.
        path: the file to write (replaced only once the new one has passed every check).
        format: "onnx" or "torchscript".
        example: an input the graph is traced with, e.g. (B, T, F) or token ids (B, T).
        make_input: ``(batch, steps) -> input`` for the checks (default: random inputs shaped
            and typed like ``example``: normal floats, or ids below the example's maximum + 1).
        batch_dim, time_dim: the dimensions of ``example`` that stay dynamic.
        tolerance: largest allowed |exported - eager| relative to 1 + |eager|.
        opset: ONNX opset.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not isinstance(example, Tensor):
        raise TypeError(f"example must be a tensor input of the model, got {type(example).__name__}")
    make_input = make_input or _like(example, batch_dim, time_dim)
    was_training = model.training
    model.eval()
    flat = _Flat(model).eval()
    try:
        outputs = _output_names(model, example)
        target = Path(path)
        with atomic_path(target) as tmp:
            if format == "onnx":
                _to_onnx(flat, example, tmp, outputs, batch_dim, time_dim, opset)
                run = _onnx_runner(tmp)
            else:
                _to_torchscript(flat, example, tmp)
                run = _torchscript_runner(tmp)
            checks = _check(flat, run, make_input, example.shape[time_dim], tolerance, target, format)
    finally:
        model.train(was_training)
    return ExportReport(target, format, ["input"], outputs, checks)


def _like(example: Tensor, batch_dim: int, time_dim: int) -> Callable[[int, int], Tensor]:
    generator = torch.Generator().manual_seed(0)

    def make(batch: int, steps: int) -> Tensor:
        shape = list(example.shape)
        shape[batch_dim], shape[time_dim] = batch, steps
        if example.is_floating_point():
            return torch.randn(shape, generator=generator, dtype=example.dtype)
        return torch.randint(0, int(example.max()) + 1, shape, generator=generator, dtype=example.dtype)

    return make


def _to_onnx(flat: nn.Module, example: Tensor, path: Path, outputs: list[str], batch_dim: int, time_dim: int,
             opset: int) -> None:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(flat, (example,), str(path), input_names=["input"], output_names=outputs,
                              dynamic_axes={"input": {batch_dim: "batch", time_dim: "time"}}, opset_version=opset,
                              dynamo=False)
    except Exception as error:  # the exporter's own message, on one line
        raise ExportError(f"torch.onnx.export failed: {str(error).strip().splitlines()[0]}") from error


def _onnx_runner(path: Path) -> Callable[[Tensor], list[Tensor]]:
    try:
        import onnxruntime
    except ImportError:
        raise ExportError("checking an ONNX export needs onnxruntime; pip install onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(x: Tensor) -> list[Tensor]:
        return [torch.from_numpy(out) for out in session.run(None, {"input": x.numpy()})]

    return run


def _to_torchscript(flat: nn.Module, example: Tensor, path: Path) -> None:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(flat, (example,), check_trace=False)
            torch.jit.save(traced, str(path))
    except Exception as error:
        raise ExportError(f"torch.jit.trace failed: {str(error).strip().splitlines()[0]}") from error


def _torchscript_runner(path: Path) -> Callable[[Tensor], list[Tensor]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.jit.load(str(path))

    def run(x: Tensor) -> list[Tensor]:
        with torch.no_grad():
            return list(module(x))

    return run


def _check(flat: nn.Module, run: Callable[[Tensor], list[Tensor]], make_input: Callable[[int, int], Tensor],
           traced_steps: int, tolerance: float, target: Path, format: str) -> list[ExportCheck]:
    checks = []
    for steps in sorted({*CHECK_LENGTHS, traced_steps}):
        for batch in CHECK_BATCHES:
            x = make_input(batch, steps)
            with torch.no_grad():
                expected = flat(x)
            try:
                got = run(x)
            except Exception as error:
                raise ExportError(f"the exported {format} graph fails at batch {batch}, length {steps}: "
                                  f"{str(error).strip().splitlines()[0]}; nothing was written to {target}") from error
            worst = 0.0
            for want, have in zip(expected, got, strict=True):
                if tuple(want.shape) != tuple(have.shape):
                    raise ExportError(f"the exported {format} graph gives shape {tuple(have.shape)} instead of "
                                      f"{tuple(want.shape)} at batch {batch}, length {steps}; nothing was written "
                                      f"to {target}")
                want64, have64 = want.double(), have.to(want.dtype).double()
                same = want64 == have64  # also equal infinities (a fresh stabilizer is -inf)
                diff = torch.where(same, 0.0, (have64 - want64).abs())
                scaled = torch.where(same, 0.0, diff / (1 + want64.abs()))
                largest = float(diff.max()) if diff.numel() else 0.0
                if diff.numel() and bool((~torch.isfinite(scaled) | (scaled > tolerance)).any()):
                    raise ExportError(f"the exported {format} graph answers wrong at batch {batch}, length {steps} "
                                      f"(max difference {largest:.3g}); nothing was written to {target}")
                worst = max(worst, largest)
            checks.append(ExportCheck(batch, steps, worst))
    logger.info("export checked at %d shapes: max |exported - eager| %.3g", len(checks),
                max(c.max_abs_diff for c in checks))
    return checks


# ---------------------------------------------------------------------------------------- saved models
def export_saved(model_dir: str | Path, path: str | Path | None = None, format: str = "onnx", *,
                 overwrite: bool = False) -> ExportReport:
    """Export a model saved by :func:`rnnkit.save_model` (``rnnkit classify/lm ... train`` write one).

    The input is token ids (B, T) for models with a vocabulary, else features (B, T, F). ``path``
    defaults to ``model.onnx`` / ``model.pt`` inside ``model_dir``; an existing file is refused
    unless ``overwrite``.
    """
    from rnnkit.models import LanguageModel, SequenceClassifier, SequenceTagger
    from rnnkit.training import load_model

    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    model, _ = load_model(model_dir)
    target = Path(path) if path is not None else Path(model_dir) / f"model{SUFFIXES[format]}"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; choose another path or overwrite it")
    if not isinstance(model, (SequenceClassifier, SequenceTagger, LanguageModel)):
        raise ExportError(f"{model_dir} holds a {type(model).__name__}; export covers classifiers, taggers and "
                          "language models (a forecaster's windowing and scaling, and a decoder's step-by-step "
                          "search, run outside the network)")
    config = model.config
    vocab = getattr(config, "vocab_size", None)
    generator = torch.Generator().manual_seed(0)

    def make_input(batch: int, steps: int) -> Tensor:
        if vocab:
            return torch.randint(0, vocab, (batch, steps), generator=generator)
        return torch.randn(batch, steps, config.input_size, generator=generator)

    return export(model, target, format, example=make_input(2, 12), make_input=make_input)
