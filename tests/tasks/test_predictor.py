"""The Predictor contract: one save/load for every task's trained model, checked on the music generator."""

import json

import numpy as np
import pytest
import torch

from rnnkit.data.music import HIGH, LOW
from rnnkit.errors import CheckpointError
from rnnkit.models import SequenceTagger, SequenceTaggerConfig
from rnnkit.tasks.music import MusicGenerator

P = HIGH - LOW


def _generator(info=None) -> MusicGenerator:
    torch.manual_seed(0)
    model = SequenceTagger(SequenceTaggerConfig(num_outputs=P, input_size=P, cell="gru", hidden_size=8))
    return MusicGenerator(model, 0.25, info=info)


def test_save_then_load_gives_the_same_predictor_and_its_info_back(tmp_path):
    saved = _generator(info={"metrics": {"nll": 7.5}})
    saved.save(tmp_path / "m")
    loaded = MusicGenerator.load(tmp_path / "m")
    assert loaded.step == 0.25 and loaded.info == {"metrics": {"nll": 7.5}}
    assert not loaded.model.training
    for name, tensor in saved.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], tensor, rtol=0, atol=0)
    opening = np.zeros((3, P), dtype=np.uint8)
    np.testing.assert_array_equal(loaded.continue_piece(opening, 5, seed=1), saved.continue_piece(opening, 5, seed=1))


def test_info_may_not_shadow_a_part(tmp_path):
    with pytest.raises(ValueError, match="info uses the names music of the predictor's own parts; rename them"):
        _generator(info={"music": {}}).save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_part_that_no_longer_fits_this_version_is_refused(tmp_path):
    _generator().save(tmp_path / "m")
    part = tmp_path / "m" / "music.json"
    part.write_text(json.dumps({"step": 0.25, "low": LOW - 1, "high": HIGH}))
    with pytest.raises(CheckpointError, match=rf"covers MIDI pitches {LOW - 1}..{HIGH}, this rnnkit {LOW}..{HIGH}; "
                                              "train it again"):
        MusicGenerator.load(tmp_path / "m")
