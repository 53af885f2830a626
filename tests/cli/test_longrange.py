import json

from rnnkit.cli import main


def test_longrange_cli_learns_the_adding_problem_and_writes_the_result(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["longrange", "--task", "adding", "--T", "10", "--cell", "gru", "--steps", "300",
                 "--batch-size", "32", "--lr", "1e-2", "--hidden", "16", "--out", str(out)])
    printed = " ".join(capsys.readouterr().out.split())
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert result["test_loss"] < 0.1 * result["baseline"], result
    assert result["sequences"] == 9600
    assert "below the baseline 0.1667, under 10% of it: solved" in printed and "not below" not in printed
    assert (out / "metrics.csv").is_file()


def test_longrange_cli_bad_values_are_one_line_errors(tmp_path, capsys):
    assert main(["longrange", "--T", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "rnnkit longrange: error: T must be >= 2, got 1"
    assert main(["longrange", "--steps", "0", "--out", str(tmp_path)]) == 2
    assert "steps must be >= 1, got 0" in capsys.readouterr().err


def test_the_irnn_remedy_is_an_option_and_reaches_the_layer(tmp_path, capsys):
    out = tmp_path / "irnn"
    assert main(["longrange", "--T", "8", "--cell", "rnn", "--nonlinearity", "relu", "--init", "identity",
                 "--steps", "5", "--hidden", "8", "--out", str(out)]) == 0
    assert "cell=rnn, nonlinearity=relu, init=identity" in " ".join(capsys.readouterr().out.split())
    config = json.loads((out / "result.json").read_text())["config"]
    assert config["cell_kwargs"] == {"nonlinearity": "relu", "init": "identity"}
    assert main(["longrange", "--cell", "lstm", "--init", "identity", "--out", str(tmp_path / "x")]) == 2
    assert "init='identity' is the IRNN initialization of the Elman RNN" in capsys.readouterr().err
    assert main(["longrange", "--cell", "gru", "--nonlinearity", "relu", "--out", str(tmp_path / "y")]) == 2
    assert "--nonlinearity applies to --cell rnn" in capsys.readouterr().err


def test_gradient_flow_is_recorded_during_training(tmp_path, capsys):
    out = tmp_path / "flow"
    assert main(["longrange", "--T", "12", "--cell", "gru", "--steps", "40", "--batch-size", "16", "--hidden", "8",
                 "--track-gradients", "20", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "gradient norm from distance 11 over distance 1" in printed
    import csv

    rows = list(csv.DictReader((out / "gradient_flow.csv").open()))
    assert sorted({int(r["step"]) for r in rows}) == [0, 20, 40]
    assert sorted({int(r["distance"]) for r in rows}) == list(range(1, 12))
    assert all(float(r["norm"]) > 0 for r in rows) and (out / "gradient_flow.png").is_file()
    assert "gradient_flow" not in json.loads((out / "result.json").read_text())


def test_a_loss_a_hair_below_the_baseline_is_not_called_learned(tmp_path, capsys):
    assert main(["longrange", "--T", "30", "--cell", "rnn", "--steps", "3", "--hidden", "8",
                 "--out", str(tmp_path / "r")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "the network has not learned the task" in printed and "): below the baseline" not in printed


def test_the_verdict_states_its_margins():
    from rnnkit.cli.longrange import verdict

    assert [verdict(r) for r in (0.01, 0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 1.2)] == [
        "solved", "solved", "learned", "learned", "partly learned", "partly learned", "not learned", "not learned"]
