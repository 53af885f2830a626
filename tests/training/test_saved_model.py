"""The saved-model directory: round trips, no pickle, atomic replacement, clear errors."""

import enum
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import safetensors.torch
import torch
from torch import nn

from rnnkit import CheckpointError
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.training import load_model, save_model
from rnnkit.training import saved_model as saved_model_module


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass
class Head:
    sizes: tuple[int, ...] = (3, 2)
    mode: Mode = Mode.FAST


@dataclass
class NetConfig:
    features: int = 2
    head: Head = field(default_factory=Head)
    extra_head: Head | None = None
    scale: float = 1.0
    folder: Path = Path("data")

    def __post_init__(self):
        if self.features < 1:
            raise ValueError(f"features must be >= 1 (got {self.features})")


class Net(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        self.rnn = nn.GRU(config.features, config.head.sizes[0], batch_first=True)
        self.out = nn.Linear(config.head.sizes[0], config.head.sizes[1])
        self.register_buffer("offset", torch.arange(config.head.sizes[1], dtype=torch.float32))

    def forward(self, x):
        return self.out(self.rnn(x)[0]) + self.offset


def _lm():
    torch.manual_seed(0)
    return LanguageModel(LanguageModelConfig(vocab_size=7, cell="gru", embedding_dim=5, hidden_size=5,
                                             tie_weights=True, padding_idx=None))


def _net(**overrides):
    torch.manual_seed(0)
    return Net(NetConfig(extra_head=Head((4,), Mode.SLOW), scale=2, **overrides))


def _hidden_entries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def test_rnnkit_model_round_trip_keeps_outputs_tied_weights_and_extras(tmp_path):
    model = _lm()
    vocab = {"itos": ["<pad>", "h", "e", "l", "o", "ñ", "!"]}
    path = save_model(tmp_path / "lm", model, extras={"vocab": vocab, "scaler": {"mean": 0.5}})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "scaler.json", "vocab.json"]
    meta = json.loads((path / "config.json").read_text())
    assert meta["format"] == "rnnkit-saved-model" and meta["format_version"] == 1
    assert meta["model_class"] == "rnnkit.models.language_model:LanguageModel"
    assert meta["config"]["vocab_size"] == 7 and meta["extras"] == ["scaler", "vocab"]

    loaded, extras = load_model(path)
    assert isinstance(loaded, LanguageModel) and not loaded.training
    assert loaded.config == model.config and extras == {"vocab": vocab, "scaler": {"mean": 0.5}}
    assert loaded.decoder.weight is loaded.encoder.embedding.weight              # tying survives
    ids = torch.tensor([[1, 2, 3, 3, 4]])
    model.eval()
    torch.testing.assert_close(loaded(ids)[0], model(ids)[0], rtol=0, atol=0)


def test_nested_dataclass_config_of_your_own_class_round_trips(tmp_path):
    model = _net()
    save_model(tmp_path / "net", model)
    loaded, extras = load_model(tmp_path / "net", model_class=Net)
    assert extras == {}
    assert loaded.config == model.config
    assert loaded.config.head.sizes == (3, 2) and loaded.config.extra_head.mode is Mode.SLOW
    assert isinstance(loaded.config.scale, float) and loaded.config.folder == Path("data")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)                     # buffers included


def test_load_never_unpickles(tmp_path, monkeypatch):
    save_model(tmp_path / "lm", _lm(), extras={"vocab": ["a"]})

    def forbidden(*args, **kwargs):
        raise AssertionError("load_model must not unpickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    model, extras = load_model(tmp_path / "lm")
    assert extras == {"vocab": ["a"]}


def _edit_meta(path, **changes):
    meta = json.loads((path / "config.json").read_text())
    meta.update(changes)
    (path / "config.json").write_text(json.dumps(meta))


def test_only_rnnkit_classes_are_imported_by_name(tmp_path):
    save_model(tmp_path / "net", _net())
    with pytest.raises(CheckpointError, match=r"refusing to import model class '.*:Net': load_model only imports rnnkit classes; pass your class as load_model\(path, model_class=...\)"):
        load_model(tmp_path / "net")
    _edit_meta(tmp_path / "net", model_class="os:system")
    with pytest.raises(CheckpointError, match=r"refusing to import model class 'os:system'"):
        load_model(tmp_path / "net")


def test_mismatches_and_corruption_raise_checkpoint_errors_naming_the_file(tmp_path):
    path = save_model(tmp_path / "lm", _lm(), extras={"vocab": ["a"]})
    with pytest.raises(CheckpointError, match=r"saved from rnnkit.models.language_model:LanguageModel, not .*:Net; call load_model\(path\)"):
        load_model(path, model_class=Net)

    weights = path / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))                     # one flipped bit
    with pytest.raises(CheckpointError, match=r"model.safetensors is corrupt \(its checksum differs from config.json\)"):
        load_model(path)
    weights.write_bytes(b"\x00" * 16)
    _edit_meta(path, weights_sha256=saved_model_module._sha256(weights))
    with pytest.raises(CheckpointError, match=r"model.safetensors does not match LanguageModel\(LanguageModelConfig\)"):
        load_model(path)
    weights.write_bytes(good)
    meta = json.loads((path / "config.json").read_text())
    _edit_meta(path, weights_sha256=saved_model_module._sha256(weights), config={**meta["config"], "hidden_size": 6,
                                                                                   "embedding_dim": 6})
    with pytest.raises(CheckpointError, match=r"does not match LanguageModel.*the config and weights come from different models"):
        load_model(path)
    _edit_meta(path, config={**meta["config"], "hidden": 6})
    with pytest.raises(CheckpointError, match=r"LanguageModelConfig has no field\(s\) \['hidden'\]"):
        load_model(path)
    _edit_meta(path, config={**meta["config"], "vocab_size": -1})
    with pytest.raises(CheckpointError, match=r"the saved config does not build LanguageModelConfig"):
        load_model(path)
    _edit_meta(path, config=meta["config"], format_version=99)
    with pytest.raises(CheckpointError, match=r"format_version 99, newer than this rnnkit reads \(1\); upgrade rnnkit"):
        load_model(path)
    _edit_meta(path, format_version=1)
    (path / "vocab.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"vocab.json is corrupt"):
        load_model(path)
    (path / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match=r"vocab.json is missing \(listed in config.json\)"):
        load_model(path)
    (path / "config.json").write_text("{")
    with pytest.raises(CheckpointError, match=r"config.json is corrupt"):
        load_model(path)
    (path / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"config.json is missing: .* is not a complete rnnkit saved model"):
        load_model(path)
    with pytest.raises(CheckpointError, match=r"saved model folder '.*nowhere' does not exist"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "sales.csv").write_text("ds,y\n")
    with pytest.raises(CheckpointError, match=r"'.*sales.csv' is a file, not a saved model folder"):
        load_model(tmp_path / "sales.csv")


@pytest.mark.parametrize("name", ["../outside.safetensors", "/etc/passwd", "sub/model.safetensors", "..", ""])
def test_the_weights_file_must_lie_inside_the_model_folder(tmp_path, name):
    path = save_model(tmp_path / "lm", _lm())
    (tmp_path / "outside.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    _edit_meta(path, weights=name)
    with pytest.raises(CheckpointError, match=r"must be a file name inside the model folder"):
        load_model(path)


@pytest.mark.parametrize("exchange", [True, False])
def test_a_failed_save_leaves_the_old_model_and_a_good_save_replaces_it(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(saved_model_module, "_exchange", lambda a, b: False)   # the two-rename fallback
    path = tmp_path / "net"
    save_model(path, _net(), extras={"version": 1})
    real_save = safetensors.torch.save_model

    def crash_half_way(model, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_model", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, _net(features=3), extras={"version": 2})
    model, extras = load_model(path, model_class=Net)
    assert extras == {"version": 1} and model.config.features == 2
    assert _hidden_entries(tmp_path) == []                                      # no temporary folder left

    monkeypatch.setattr(safetensors.torch, "save_model", real_save)
    save_model(path, _net(features=3), extras={"version": 2})
    model, extras = load_model(path, model_class=Net)
    assert extras == {"version": 2} and model.config.features == 3
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "version.json"]
    assert _hidden_entries(tmp_path) == []


def test_save_refuses_what_it_cannot_write_faithfully(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"is a non-empty folder that is not an rnnkit saved model; choose a new folder"):
        save_model(tmp_path / "mine", _net())
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"is a file; give a folder path"):
        save_model(tmp_path / "file", _net())
    with pytest.raises(TypeError, match=r"save_model needs a model built as Linear\(config\) with a dataclass config kept as model.config"):
        save_model(tmp_path / "x", nn.Linear(2, 2))
    for bad_name in ("config", "../evil", ""):
        with pytest.raises(ValueError, match=r"extra name .* must be letters, digits, '_' or '-'"):
            save_model(tmp_path / "x", _net(), extras={bad_name: 1})
    with pytest.raises(TypeError, match=r"save_model extra 'weights' is not JSON-able .*tensor.tolist\(\)"):
        save_model(tmp_path / "x", _net(), extras={"weights": torch.zeros(2)})

    @dataclass
    class Untyped:
        sizes: tuple = (1, 2)

    model = nn.Linear(1, 1)
    model.config = Untyped()
    with pytest.raises(TypeError, match=r"Untyped does not survive a JSON round trip .* tuple\[int, ...\]"):
        save_model(tmp_path / "x", model)
    assert not (tmp_path / "x").exists()


def test_every_task_refuses_another_tasks_model_in_the_same_words(tmp_path):
    from rnnkit.forecasting import GlobalForecaster
    from rnnkit.tasks.caption import Captioner
    from rnnkit.tasks.classify import TextClassifier
    from rnnkit.tasks.lm import TextGenerator
    from rnnkit.tasks.music import MusicGenerator, generate_music
    from rnnkit.tasks.translate import Translator

    path = save_model(tmp_path / "lm", _lm(), extras={"vocab": ["a"]})
    loaders = [
        ("a translator", "translate", lambda: Translator.load(path)),
        ("a captioner", "caption", lambda: Captioner.load(path)),
        ("a global forecaster", "forecast", lambda: GlobalForecaster.load(path)),
        ("a text classifier", "classify", lambda: TextClassifier.load(path)),
        ("a music model", "music", lambda: MusicGenerator.load(path)),
        ("a music model", "music", lambda: generate_music(path, tmp_path / "out")),
    ]
    for what, command, load in loaders:
        with pytest.raises(CheckpointError, match=rf"'.*lm' holds a LanguageModel, not {what}; give the model folder "
                                                  rf"written by the {command} task$"):
            load()
    with pytest.raises(CheckpointError, match=r"holds a LanguageModel without tokenizer, not a language model; give "
                                              r"the model folder written by the lm task"):
        TextGenerator.load(path)
