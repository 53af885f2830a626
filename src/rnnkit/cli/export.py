"""``rnnkit export``: a saved model to ONNX or TorchScript, checked against PyTorch before it is written.

    rnnkit export runs/lm/model                       # -> runs/lm/model/model.onnx
    rnnkit export runs/classify --format torchscript --out clf.pt

MODEL_DIR is a saved model folder (or a run folder holding one in ``model/``) of any task: a
classifier, tagger, language model or music model takes token ids (B, T) (features (B, T, F)
without a vocabulary); a translator (src, tgt_in) and a captioner (images, tokens_in) give the
teacher-forced logits; a direct forecaster gives its members' forecasts of prepared windows. The
graph takes any batch size and length, and is compared with the PyTorch model at several of both
before the file is moved into place (:mod:`rnnkit.export`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.commands import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help=COMMANDS["export"], description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a saved model folder, or a run folder with model/")
    parser.add_argument("--format", default="onnx", choices=("onnx", "torchscript"),
                        help="onnx (run it with onnxruntime) or torchscript (torch.jit.load) (default: onnx)")
    parser.add_argument("--out", help="file to write (default: model.onnx / model.pt inside the model folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from rnnkit.export import export_saved

    model_dir = Path(args.model_dir)
    if not (model_dir / "config.json").is_file() and (model_dir / "model" / "config.json").is_file():
        model_dir = model_dir / "model"  # a run folder: its saved model
    report = export_saved(model_dir, args.out, args.format, overwrite=args.overwrite)
    console = Console(soft_wrap=True)  # paths stay whole, for copy and paste
    console.print(f"exported {model_dir} to {report.path} ({report.format}; outputs: {', '.join(report.outputs)})")
    lengths = sorted({c.steps for c in report.checks})
    console.print(f"checked against PyTorch at batch sizes {sorted({c.batch for c in report.checks})} and lengths "
                  f"{lengths}: max |difference| {report.max_abs_diff:.2g}")
    return 0
