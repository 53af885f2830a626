"""``rnnkit export``: a trained run's model to ONNX / TorchScript, checked, and its one-line errors."""

import numpy as np
import onnxruntime
import torch

from rnnkit.cli import main
from rnnkit.training import load_model

TRAIN = ["--level", "char", "--cell", "gru", "--hidden", "16", "--layers", "1", "--max-steps", "5", "--bptt", "8",
         "--batch-size", "4"]


def _trained(tmp_path):
    source = tmp_path / "abc.txt"
    source.write_text("abcdefghijklmnopqrstuvwxyz " * 40)
    out = tmp_path / "run"
    assert main(["lm", "train", str(source), *TRAIN, "--out", str(out)]) == 0
    return out


def test_a_run_folder_exports_its_model_to_onnx_and_the_graph_answers_as_pytorch(tmp_path, capsys):
    run = _trained(tmp_path)
    capsys.readouterr()
    assert main(["export", str(run)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert f"to {run / 'model' / 'model.onnx'} (onnx; outputs: output, state_0)" in printed
    assert "lengths [1, 7, 12, 33, 130]" in printed
    model, _ = load_model(run / "model")
    ids = torch.randint(0, model.config.vocab_size, (2, 21))
    session = onnxruntime.InferenceSession(str(run / "model" / "model.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": ids.numpy()})[0], model(ids)[0].detach().numpy(), atol=1e-4)

    assert main(["export", str(run)]) == 2  # never replaces a file without --overwrite
    assert "model.onnx exists; choose another path or overwrite it" in capsys.readouterr().err
    assert main(["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "lm.pt")]) == 0
    assert (tmp_path / "lm.pt").is_file()


def test_a_folder_without_a_model_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit export: error:") and err.count("\n") == 1
