"""``rnnkit music`` end to end on a few chorales, and its one-line errors."""

from rnnkit.cli import main


def test_train_prints_the_baselines_and_generate_continues_a_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["music", "train", "--limit", "12", "--epochs", "2", "--hidden", "16", "--sample-steps", "8",
                 "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "each pitch at its training frequency" in printed and "previous frame repeated" in printed
    assert ("better than both baselines" in printed) or ("beats the lstm on this split" in printed)
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model", "run.json", "sample.mid", "sample.png"]
    assert main(["music", "generate", str(out / "model"), "--prime", str(out / "sample.mid"), "--steps", "4",
                 "--out", str(tmp_path / "gen")]) == 0
    assert (tmp_path / "gen" / "sample.mid").is_file()
    assert main(["music", "train", "--limit", "12", "--epochs", "1", "--out", str(out)]) == 2  # never overwrites
    assert "holds a music run; choose a new folder, or --overwrite to replace it" in capsys.readouterr().err


def test_bad_input_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["music", "train", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "has no MIDI or MusicXML file" in err and err.count("\n") == 1
    assert main(["music", "generate", str(tmp_path / "nothing"), "--out", str(tmp_path / "g")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "o").exists() and not (tmp_path / "g").exists()
