import json

from rnnkit.cli import main


def test_longrange_cli_learns_the_adding_problem_and_writes_the_result(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["longrange", "--task", "adding", "--T", "10", "--cell", "gru", "--steps", "300",
                 "--batch-size", "32", "--lr", "1e-2", "--hidden", "16", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert result["test_loss"] < 0.1 * result["baseline"], result
    assert result["sequences"] == 9600
    assert "below the baseline 0.1667" in printed and "not below" not in printed
    assert (out / "metrics.csv").is_file()


def test_longrange_cli_bad_values_are_one_line_errors(tmp_path, capsys):
    assert main(["longrange", "--T", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "rnnkit longrange: error: T must be >= 2, got 1"
    assert main(["longrange", "--steps", "0", "--out", str(tmp_path)]) == 2
    assert "steps must be >= 1, got 0" in capsys.readouterr().err
