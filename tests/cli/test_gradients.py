"""``rnnkit gradients`` end to end, and one-line errors for bad arguments."""

import re

import pandas as pd
import pytest
from matplotlib.image import imread

from rnnkit.cli import build_parser, main
from rnnkit.cli.gradients import build_config

TINY = ["--T", "12", "--hidden", "6", "--batch", "2"]


def test_gradients_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["gradients", "--out", str(out), *TINY, "--cells", "rnn,lstm", "--forget-bias", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err

    names = ["gradient_flow.csv", "gradient_flow.png", "scalar_sweep.csv", "scalar_sweep.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "run.json"])
    flow = pd.read_csv(out / "gradient_flow.csv")
    assert list(flow.columns) == ["label", "cell", "forget_bias", "distance", "grad_norm"]
    assert list(dict.fromkeys(flow["label"])) == ["rnn", "lstm", "lstm b_f=3"]
    assert len(flow) == 3 * 12
    scalar = pd.read_csv(out / "scalar_sweep.csv")
    assert list(scalar.columns) == ["w", "final_state", "grad_h0"] and len(scalar) == 1000
    for png in ("gradient_flow.png", "scalar_sweep.png"):
        height, width, channels = imread(out / png).shape
        assert height > 200 and width > 200 and channels in (3, 4)

    lines = captured.out.splitlines()
    for column in ("d=1", "d=10", "d=12"):
        assert column in captured.out
    rnn_row = next(line for line in lines if line.strip("│┃ ").startswith("rnn "))
    assert f"{flow.loc[flow['label'] == 'rnn', 'grad_norm'].iloc[0]:.2e}" in rnn_row
    assert any(line.startswith("scalar tanh RNN (T=10, h_0=0.5): |dh_T/dh_0| peaks") for line in lines)
    assert any(line.startswith("tanh RNN (default init): gradient norm falls") for line in lines)
    assert any(line.startswith("LSTM (forget bias 3): ") for line in lines)
    for name in names:
        assert any(line.strip() == str(out / name) for line in lines)
    assert "Traceback" not in captured.err


def test_default_output_is_a_new_folder_under_rnnkit_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["gradients", *TINY, "--cells", "rnn"]) == 0
    assert main(["gradients", *TINY, "--cells", "rnn"]) == 0
    runs = sorted((tmp_path / "rnnkit-runs").iterdir())
    assert len(runs) == 2 and all(run.name.startswith("gradients-") for run in runs)
    assert all((run / "gradient_flow.csv").is_file() for run in runs)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--T", "0"], r"--T must be an integer >= 1, got 0"),
        (["--T", "ten"], r"--T must be an integer >= 1, got 'ten'"),
        (["--hidden", "-1"], r"--hidden must be an integer >= 1, got -1"),
        (["--seed", "1.5"], r"--seed must be an integer >= 0, got '1.5'"),
        (["--cells", "rnn,cnn"], r"unknown cell 'cnn'; choose from rnn, lstm, gru"),
        (["--cells", ","], r"cells must name at least one of"),
        (["--forget-bias", "1,big"], r"--forget-bias must be comma-separated numbers such as 0,1,3, got 'big'"),
        (["--cells", "gru", "--forget-bias", "1"], r"'lstm' is not among the cells \(gru\); add lstm"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "never"
    assert main(["gradients", "--out", str(out), *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("rnnkit gradients: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()  # nothing is created before the arguments are checked


def test_out_pointing_to_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert main(["gradients", "--out", str(target), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rnnkit gradients: error: --out {str(target)!r} is a file; give a folder path"]
    assert target.read_text() == "keep me"


def test_forget_bias_lists_are_parsed(tmp_path):
    parser = build_parser()

    def config(*argv):
        return build_config(parser.parse_args(["gradients", "--out", str(tmp_path), *argv]))

    assert config("--cells", "lstm", "--forget-bias", "none").forget_biases == ()
    assert config("--cells", "lstm", "--forget-bias", " 0.5, -2 ").forget_biases == (0.5, -2.0)
    assert config("--cells", "rnn, lstm").forget_biases == (0.0, 1.0, 3.0)
    assert config("--cells", "rnn").forget_biases == ()
    defaults = config()
    assert (defaults.steps, defaults.hidden_size, defaults.batch_size, defaults.seed) == (200, 64, 8, 0)
    assert defaults.cells == ("rnn", "lstm", "gru")
