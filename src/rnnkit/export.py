"""Export a layer or any saved task model to ONNX or TorchScript, checked against eager PyTorch.

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
from collections.abc import Callable, Sequence
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
    """``model``'s forward on its inputs with every output tensor flattened into a tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        return tuple(_flatten(self.model(*inputs)))


def _flatten(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _flatten(item)]
    if value is None:
        return []
    raise ExportError(f"forward returned a {type(value).__name__}; export needs tensors (or tuples of them)")


def _output_names(model: nn.Module, examples: tuple[Tensor, ...]) -> list[str]:
    with torch.no_grad():
        out = model(*examples)
    flat = _flatten(out)
    if isinstance(out, Tensor):
        return ["output"]
    return ["output"] + [f"state_{i}" for i in range(len(flat) - 1)]


Inputs = Tensor | tuple[Tensor, ...]
"""What a model's forward takes: one tensor, or several (its positional arguments)."""


def _as_tuple(inputs: Inputs) -> tuple[Tensor, ...]:
    return inputs if isinstance(inputs, tuple) else (inputs,)


def export(
    model: nn.Module,
    path: str | Path,
    format: str = "onnx",
    *,
    example: Inputs,
    make_input: Callable[[int, int], Inputs] | None = None,
    batch_dim: int = 0,
    time_dim: int = 1,
    input_names: Sequence[str] | None = None,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
    output_names: Sequence[str] | None = None,
    lengths: Sequence[int] = CHECK_LENGTHS,
    tolerance: float = 1e-4,
    opset: int = 17,
) -> ExportReport:
    """Export ``model`` (called ``model(x)`` or ``model(*inputs)``) to ``path`` and check it (see
    the module docstring).

    Args:
        model: a layer or model whose forward takes tensors; exported in eval mode.
        path: the file to write (replaced only once the new one has passed every check).
        format: "onnx" or "torchscript".
        example: an input the graph is traced with, e.g. (B, T, F) or token ids (B, T); or a tuple
            of the forward's positional tensors.
        make_input: ``(batch, steps) -> input(s)`` for the checks (default, for one tensor: random
            inputs shaped and typed like ``example``: normal floats, or ids below its maximum + 1).
        batch_dim, time_dim: the dimensions of a single ``example`` that stay dynamic.
        input_names, dynamic_axes: for several inputs, their names and the dimensions of each that
            stay dynamic, e.g. ``{"src": {0: "batch", 1: "source_time"}}`` (default for one input:
            ``input`` with ``batch_dim`` and ``time_dim``).
        output_names: names of the flattened outputs (default: output, state_0, state_1...).
        lengths: the ``steps`` the checks run at, besides the traced one.
        tolerance: largest allowed |exported - eager| relative to 1 + |eager|.
        opset: ONNX opset.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    examples = _as_tuple(example)
    if not examples or not all(isinstance(t, Tensor) for t in examples):
        raise TypeError(f"example must be a tensor input of the model (or a tuple of them), got {type(example).__name__}")
    if len(examples) > 1 and (make_input is None or input_names is None or dynamic_axes is None):
        raise ValueError("a model with several inputs needs make_input, input_names and dynamic_axes")
    names = list(input_names or ["input"])
    axes = dynamic_axes or {"input": {batch_dim: "batch", time_dim: "time"}}
    make = make_input or _like(example, batch_dim, time_dim)
    traced = examples[0].shape[time_dim] if dynamic_axes is None else _traced_steps(examples, names, axes)
    was_training = model.training
    model.eval()
    flat = _Flat(model).eval()
    try:
        outputs = list(output_names or _output_names(model, examples))
        target = Path(path)
        with atomic_path(target) as tmp:
            if format == "onnx":
                _to_onnx(flat, examples, tmp, names, outputs, axes, opset)
                run = _onnx_runner(tmp, names)
            else:
                _to_torchscript(flat, examples, tmp)
                run = _torchscript_runner(tmp)
            checks = _check(flat, run, lambda b, t: _as_tuple(make(b, t)), traced, lengths, tolerance, target,
                            format)
    finally:
        model.train(was_training)
    return ExportReport(target, format, names, outputs, checks)


def _traced_steps(examples: tuple[Tensor, ...], names: list[str], axes: dict[str, dict[int, str]]) -> int:
    """The length of the first dimension named "time" among the inputs (what ``make_input`` calls steps)."""
    for name, example in zip(names, examples, strict=True):
        for dim, label in axes.get(name, {}).items():
            if label == "time":
                return int(example.shape[dim])
    raise ValueError("dynamic_axes must name one dimension 'time' (the steps make_input is called with)")


def _like(example: Tensor, batch_dim: int, time_dim: int) -> Callable[[int, int], Tensor]:
    generator = torch.Generator().manual_seed(0)

    def make(batch: int, steps: int) -> Tensor:
        shape = list(example.shape)
        shape[batch_dim], shape[time_dim] = batch, steps
        if example.is_floating_point():
            return torch.randn(shape, generator=generator, dtype=example.dtype)
        return torch.randint(0, int(example.max()) + 1, shape, generator=generator, dtype=example.dtype)

    return make


def _to_onnx(flat: nn.Module, examples: tuple[Tensor, ...], path: Path, names: list[str], outputs: list[str],
             axes: dict[str, dict[int, str]], opset: int) -> None:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(flat, examples, str(path), input_names=names, output_names=outputs,
                              dynamic_axes=axes, opset_version=opset, dynamo=False)
    except Exception as error:  # the exporter's own message, on one line
        raise ExportError(f"torch.onnx.export failed: {str(error).strip().splitlines()[0]}") from error


def _onnx_runner(path: Path, names: list[str]) -> Callable[[tuple[Tensor, ...]], list[Tensor]]:
    try:
        import onnxruntime
    except ImportError:
        raise ExportError("checking an ONNX export needs onnxruntime; pip install onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(inputs: tuple[Tensor, ...]) -> list[Tensor]:
        feed = {name: x.numpy() for name, x in zip(names, inputs, strict=True)}
        return [torch.from_numpy(out) for out in session.run(None, feed)]

    return run


def _to_torchscript(flat: nn.Module, examples: tuple[Tensor, ...], path: Path) -> None:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(flat, examples, check_trace=False)
            torch.jit.save(traced, str(path))
    except Exception as error:
        raise ExportError(f"torch.jit.trace failed: {str(error).strip().splitlines()[0]}") from error


def _torchscript_runner(path: Path) -> Callable[[tuple[Tensor, ...]], list[Tensor]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.jit.load(str(path))

    def run(inputs: tuple[Tensor, ...]) -> list[Tensor]:
        with torch.no_grad():
            return list(module(*inputs))

    return run


def _check(flat: nn.Module, run: Callable[[tuple[Tensor, ...]], list[Tensor]],
           make_input: Callable[[int, int], tuple[Tensor, ...]], traced_steps: int, lengths: Sequence[int],
           tolerance: float, target: Path, format: str) -> list[ExportCheck]:
    checks = []
    for steps in sorted({*lengths, traced_steps}):
        for batch in CHECK_BATCHES:
            inputs = make_input(batch, steps)
            with torch.no_grad():
                expected = flat(*inputs)
            try:
                got = run(inputs)
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
class _TeacherForced(nn.Module):
    """A Seq2Seq's scoring graph: (src (B, S), tgt_in (B, T)) -> logits (B, T, V)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        return self.model(src, None, tgt_in)[0]


class _ForecastNetworks(nn.Module):
    """A global forecaster's direct networks on prepared windows: each member reads the last
    ``lookback`` steps of the window; output (M, B, H), one forecast per member, in the windows'
    scaled (and transformed) units."""

    def __init__(self, ensemble: nn.Module) -> None:
        super().__init__()
        self.members = ensemble.members
        self.lookbacks = tuple(ensemble.config.lookbacks)
        net = ensemble.config.net
        self.horizon, self.covariates = net.horizon, (net.num_hist, net.num_futr, net.num_stat)

    def forward(self, z: Tensor, mask: Tensor, *covariates: Tensor) -> Tensor:
        given = iter(covariates)
        b, steps = z.shape
        hist, futr, stat = (next(given) if count else z.new_zeros(shape)
                            for count, shape in zip(self.covariates, ((b, steps, 0), (b, steps + self.horizon, 0),
                                                                      (b, 0)), strict=True))
        out = []
        for member, lookback in zip(self.members, self.lookbacks, strict=True):
            out.append(member(z[:, -lookback:], mask[:, -lookback:], hist[:, -lookback:],
                              futr[:, -(lookback + self.horizon):], stat))
        return torch.stack(out)  # (M, B, H)


@dataclass
class _Graph:
    """How a saved task model is exported: the module, its inputs and how to make them."""

    module: nn.Module
    make_input: Callable[[int, int], Inputs]
    input_names: list[str] | None = None
    dynamic_axes: dict[str, dict[int, str]] | None = None
    output_names: list[str] | None = None
    lengths: Sequence[int] = CHECK_LENGTHS
    traced: int = 12
    """The length the graph is traced at."""


def _graph_of(model: nn.Module, model_dir: str | Path) -> _Graph:
    """The export of each kind of saved model (or an ExportError saying why it has none)."""
    from rnnkit.forecasting.training import GlobalEnsemble
    from rnnkit.models import ConditionalGenerator, LanguageModel, Seq2Seq, SequenceClassifier, SequenceTagger

    generator = torch.Generator().manual_seed(0)
    ids = lambda high, *shape: torch.randint(1, high, shape, generator=generator)  # noqa: E731  (not <pad>)
    config = model.config
    if isinstance(model, (SequenceClassifier, SequenceTagger, LanguageModel)):
        vocab = getattr(config, "vocab_size", None)
        return _Graph(model, lambda b, t: ids(vocab, b, t) if vocab else
                      torch.randn(b, t, config.input_size, generator=generator))
    if isinstance(model, Seq2Seq):
        if config.attention == "additive":
            raise ExportError(f"{model_dir} holds a translator with additive (Bahdanau) attention: its decoder "
                              "takes one Python step per token, which a graph traced at one length cannot follow; "
                              "export covers attention none or multiplicative (train with --attention "
                              "multiplicative)")
        return _Graph(_TeacherForced(model),
                      lambda b, t: (ids(config.source_vocab_size, b, t + 3), ids(config.target_vocab_size, b, t)),
                      ["src", "tgt_in"], {"src": {0: "batch", 1: "source_time"}, "tgt_in": {0: "batch", 1: "time"}},
                      ["logits"])
    if isinstance(model, ConditionalGenerator):
        shape = ((config.image_channels, config.image_size, config.image_size) if config.image_size
                 else (config.condition_size,))
        return _Graph(model, lambda b, t: (torch.rand(b, *shape, generator=generator), ids(config.vocab_size, b, t)),
                      ["condition", "tokens_in"], {"condition": {0: "batch"}, "tokens_in": {0: "batch", 1: "time"}},
                      ["logits"])
    if isinstance(model, GlobalEnsemble):
        net = config.net
        if net.network != "direct":
            raise ExportError(f"{model_dir} holds a DeepAR forecaster: it draws its sample paths one random step "
                              "at a time, outside any graph; export covers the direct (MQ) network (train with "
                              "--network direct)")
        longest, h = max(config.lookbacks), net.horizon
        names, axes = ["z", "mask"], {"z": {0: "batch", 1: "time"}, "mask": {0: "batch", 1: "time"}}
        extra = [(name, count, axis) for name, count, axis in
                 (("hist", net.num_hist, {0: "batch", 1: "time"}), ("futr", net.num_futr, {0: "batch", 1: "time_ahead"}),
                  ("stat", net.num_stat, {0: "batch"})) if count]
        names += [name for name, _, _ in extra]
        axes.update({name: axis for name, _, axis in extra})

        def make(b: int, t: int) -> tuple[Tensor, ...]:
            shapes = {"hist": (b, t, net.num_hist), "futr": (b, t + h, net.num_futr), "stat": (b, net.num_stat)}
            z = torch.rand(b, t, generator=generator) + 0.5
            return (z, torch.ones(b, t), *(torch.randn(*shapes[name], generator=generator) for name, _, _ in extra))

        return _Graph(_ForecastNetworks(model), make, names, axes, ["forecast"],
                      (longest, longest + 7, 2 * longest + 1), traced=longest + 3)
    raise ExportError(f"{model_dir} holds a {type(model).__name__}, which rnnkit does not export")


def export_saved(model_dir: str | Path, path: str | Path | None = None, format: str = "onnx", *,
                 overwrite: bool = False) -> ExportReport:
    """Export a model saved by :func:`rnnkit.save_model` (every ``rnnkit ... train`` writes one).

    Inputs: token ids (B, T) for classifiers, taggers and language models with a vocabulary, else
    features (B, T, F); a translator's scoring graph ``(src (B, S), tgt_in (B, T)) -> logits``; a
    captioner's ``(images, tokens_in (B, T)) -> logits``; a direct global forecaster's prepared
    windows ``(z, mask[, hist, futr, stat]) -> forecast (M, B, H)`` of its M members in scaled
    units (windowing, scaling and the median stay with :class:`GlobalForecaster`). Decoding loops
    (greedy, beam, sampling) run outside the graph: feed the tokens so far as ``tgt_in`` /
    ``tokens_in`` and read the last step's logits. ``path`` defaults to ``model.onnx`` / ``model.pt``
    inside ``model_dir``; an existing file is refused unless ``overwrite``.
    """
    from rnnkit.training import load_model

    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    model, _ = load_model(model_dir)
    target = Path(path) if path is not None else Path(model_dir) / f"model{SUFFIXES[format]}"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; choose another path or overwrite it")
    graph = _graph_of(model, model_dir)
    return export(graph.module, target, format, example=graph.make_input(2, graph.traced), make_input=graph.make_input,
                  input_names=graph.input_names, dynamic_axes=graph.dynamic_axes, output_names=graph.output_names,
                  lengths=graph.lengths)
