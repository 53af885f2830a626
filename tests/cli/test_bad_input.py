"""Bad input to every training command: exit code 2, exactly one line on stderr, no traceback, and
nothing of the user's touched (issue: outputs never destroy anything).

Each case fails before any training, so the whole module runs in seconds.
"""

import json

import pytest

from rnnkit.cli import main

TRAINING_COMMANDS = {
    "lm": ["lm", "train"],
    "classify": ["classify", "train"],
    "translate": ["translate", "train"],
    "caption": ["caption", "train"],
    "longrange": ["longrange"],
    "embed": ["embed", "train"],
    "gradients": ["gradients"],
    "music": ["music", "train"],
    "forecast": ["forecast"],
}
BUDGETED = [name for name in TRAINING_COMMANDS if name != "gradients"]  # gradients does not train


def _fails_cleanly(argv, capsys, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith(f"rnnkit {argv[0]}: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _snapshot(root):
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else b"") for p in root.rglob("*"))


@pytest.fixture
def users_folder(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    return mine


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_a_non_empty_folder_is_refused(command, users_folder, tmp_path, capsys):
    before = _snapshot(tmp_path)
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(users_folder)], capsys,
                   f"--out {str(users_folder)!r} is not empty; choose a new folder")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_overwrite_never_replaces_a_folder_that_is_not_an_rnnkit_run(command, users_folder, tmp_path, capsys):
    before = _snapshot(tmp_path)
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(users_folder), "--overwrite"], capsys,
                   "is not an rnnkit run folder", "choose a new folder")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_overwrite_never_replaces_another_commands_run(command, tmp_path, capsys):
    other = "translate" if command != "translate" else "lm"
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"command": other}))
    (run / "model" / "config.json").write_text("{}")
    before = _snapshot(tmp_path)
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(run), "--overwrite"], capsys,
                   f"holds a {other} run, which a {command} run never replaces")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_an_earlier_run_of_the_same_command_needs_overwrite(command, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"command": command}))
    before = _snapshot(tmp_path)
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(run)], capsys,
                   f"holds a {command} run; choose a new folder, or --overwrite to replace it")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_out_naming_a_file_is_refused(command, tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(target)], capsys, "is a file; give a folder path")
    assert target.read_text() == "keep me" and [p.name for p in tmp_path.iterdir()] == ["results.txt"]


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
@pytest.mark.parametrize("command", BUDGETED)
def test_a_time_budget_must_be_a_positive_number(command, value, tmp_path, capsys):
    _fails_cleanly([*TRAINING_COMMANDS[command], "--max-seconds", value, "--out", str(tmp_path / "run")], capsys,
                   "--max-seconds")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [name for name in BUDGETED if name != "embed"])  # word2vec: no --lr
def test_a_learning_rate_must_be_positive(command, tmp_path, capsys):
    _fails_cleanly([*TRAINING_COMMANDS[command], "--lr", "0", "--out", str(tmp_path / "run")], capsys, "--lr")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["lm", "classify"])
def test_a_vocabulary_of_only_reserved_tokens_is_refused(command, tmp_path, capsys):
    _fails_cleanly([*TRAINING_COMMANDS[command], "--min-freq", "1000000", "--out", str(tmp_path / "run")], capsys,
                   "--min-freq 1000000 leaves only the reserved tokens", "lower --min-freq")
    assert not (tmp_path / "run").exists()


RESUMABLE = ["lm", "classify", "translate", "caption", "music", "embed", "forecast"]


@pytest.mark.parametrize("command", RESUMABLE)
def test_resume_needs_an_interrupted_run_of_the_same_command(command, tmp_path, capsys):
    _fails_cleanly([*TRAINING_COMMANDS[command], "--resume", str(tmp_path / "run")], capsys,
                   "there is no interrupted run to resume at --out", "start a new run")
    other = "forecast" if command != "forecast" else "lm"
    partial = tmp_path / ".run.partial"
    partial.mkdir()
    (partial / "run.json").write_text(json.dumps({"command": other, "settings": {}}))
    _fails_cleanly([*TRAINING_COMMANDS[command], "--resume", str(tmp_path / "run")], capsys,
                   f"is a {other} run, not a {command} run")
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(tmp_path / "run")], capsys,
                   f"has an interrupted {command} run")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.partial"]


@pytest.mark.parametrize("command", RESUMABLE)
def test_the_settings_an_interrupted_run_keeps_rebuild_its_config(command, tmp_path, monkeypatch):
    """What --resume reads back (the JSON of the run's config) makes the same config."""
    import importlib

    from rnnkit.cli import build_parser

    captured = {}
    task = {"lm": ("rnnkit.cli.lm", "train_lm"), "classify": ("rnnkit.cli.classify", "train_classifier"),
            "translate": ("rnnkit.cli.translate", "run_translate"), "caption": ("rnnkit.cli.caption", "run_caption"),
            "music": ("rnnkit.tasks.music", "train_music"), "embed": ("rnnkit.cli.embed", "train_embeddings"),
            "forecast": ("rnnkit.tasks.forecast", "run")}[command]
    module = importlib.import_module(task[0])

    def record(config, *args, **kwargs):
        captured.setdefault("configs", []).append(config)
        raise KeyboardInterrupt

    monkeypatch.setattr(module, task[1], record)
    args = build_parser().parse_args([*TRAINING_COMMANDS[command], "--out", str(tmp_path / "run")])
    with pytest.raises(KeyboardInterrupt):
        args.func(args)
    config = captured["configs"][0]
    from rnnkit.io import interrupted_settings, resumable_run_folder

    settings = config.to_dict() if hasattr(config, "to_dict") else __import__("dataclasses").asdict(config)
    with pytest.raises(KeyboardInterrupt):
        with resumable_run_folder(tmp_path / "run", command, settings):
            raise KeyboardInterrupt  # Ctrl-C: the partial run stays
    saved = interrupted_settings(tmp_path / "run", command)
    if command in ("embed", "forecast"):  # nested configs: the task rebuilds them
        rebuilt = importlib.import_module(f"rnnkit.tasks.{command}").config_from_dict(saved)
    else:
        rebuilt = type(config)(**saved)
    assert rebuilt == config


NUMBER_OPTIONS = {  # the flags each command has, with a value it must refuse
    "--hidden": ["lm", "classify", "translate", "caption", "longrange", "music", "forecast"],
    "--epochs": ["lm", "classify", "translate", "caption", "music", "forecast", "embed"],
    "--batch-size": ["lm", "classify", "translate", "caption", "longrange"],
    "--seed": BUDGETED,
}
NUMBER_CASES = [(command, flag) for flag, commands in NUMBER_OPTIONS.items() for command in commands]


@pytest.mark.parametrize(("command", "flag"), NUMBER_CASES)
def test_sizes_and_seeds_out_of_range_are_refused_naming_the_flag(command, flag, tmp_path, capsys):
    value = "-1" if flag == "--seed" else "0"
    _fails_cleanly([*TRAINING_COMMANDS[command], flag, value, "--out", str(tmp_path / "run")], capsys, flag)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_out_under_a_file_is_refused(command, tmp_path, capsys):
    (tmp_path / "results.txt").write_text("keep me")
    _fails_cleanly([*TRAINING_COMMANDS[command], "--out", str(tmp_path / "results.txt" / "run")], capsys,
                   "which is a file; give a folder path")
    assert (tmp_path / "results.txt").read_text() == "keep me"


@pytest.mark.parametrize(("argv", "needles"), [
    (["--network", "deepar", "--loss", "smape"], ["--loss smape has no effect with --network deepar"]),
    (["--dataset", "tourism-monthly", "--skip", "season"], ["--skip season has no effect with --network deepar"]),
    (["--dropout", "0.2", "--layers", "1"], ["--dropout 0.2 has no effect with --layers 1", "--layers 2 or more"]),
    (["--lookback", "12", "--lookbacks", "12,24"], ["replaces --lookback 12; give one of them"]),
    (["--combine", "none", "--combine-how", "median"], ["--combine-how median has no effect when no baseline"]),
    (["--dataset", "m3-yearly", "--deseasonalize", "--epochs", "1"], ["--deseasonalize has no effect with season length 1"]),
    (["--fill", "ffill"], ["--fill applies to a FILE, but none was given"]),
    (["--futr-file", "x.csv"], ["--futr-file applies to a FILE"]),
    (["--model", "m", "--resume", "r"], ["give one"]),
])
def test_forecast_options_that_would_change_nothing_are_refused(argv, needles, tmp_path, capsys):
    _fails_cleanly(["forecast", *argv, "--out", str(tmp_path / "run")], capsys, *needles)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("argv", "needles"), [
    (["classify", "train", "--vectors-format", "glove"], ["--vectors-format glove has no effect without pretrained"]),
    (["classify", "train", "--freeze-embeddings"], ["--freeze-embeddings has no effect", "--embeddings glove"]),
    (["classify", "train", "--embeddings", "glove", "--embedding-dim", "50"], ["--embedding-dim 50 has no effect"]),
    (["lm", "generate", "m", "--temperature", "0", "--top-k", "3"], ["--top-k 3 has no effect with --temperature 0"]),
    (["lm", "generate", "m", "--temperature", "0", "--top-p", "0.9"], ["--top-p 0.9 has no effect with --temperature 0"]),
])
def test_options_that_would_change_nothing_are_refused(argv, needles, tmp_path, capsys):
    _fails_cleanly(argv if argv[1] == "generate" else [*argv, "--out", str(tmp_path / "run")], capsys, *needles)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("argv", "needles"), [
    (["{tsv}", "--max-number", "100"], ["--max-number 100 has no effect with dataset='file'"]),
    (["--dataset", "dates", "--max-number", "100"], ["--max-number 100 has no effect with dataset='dates'"]),
    (["--test-fraction", "0.2"], ["--test-fraction 0.2 has no effect with dataset='numbers'"]),
    (["{tsv}", "--direction", "to-digits"], ["--direction to-digits has no effect with dataset='file'"]),
])
def test_translate_options_for_other_data_are_refused(argv, needles, tmp_path, capsys):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("uno\tone\ndos\ttwo\n")
    argv = [a.format(tsv=tsv) for a in argv]
    _fails_cleanly(["translate", "train", *argv, "--out", str(tmp_path / "run")], capsys, *needles)


def test_a_forget_bias_for_a_cell_without_forget_gate_bias_is_refused(tmp_path, capsys):
    _fails_cleanly(["longrange", "--cell", "gru", "--forget-bias", "1", "--out", str(tmp_path / "run")], capsys,
                   "--forget-bias 1 has no effect with --cell gru", "use --cell lstm")


def test_gradients_training_options_need_training(tmp_path, capsys):
    _fails_cleanly(["gradients", "--track-every", "5", "--out", str(tmp_path / "run")], capsys,
                   "--track-every 5 has no effect without training; give --train-steps too")
    _fails_cleanly(["gradients", "--train-steps", "5", "--max-seconds", "nan", "--out", str(tmp_path / "run")],
                   capsys, "--max-seconds must be a finite number > 0, got nan")
