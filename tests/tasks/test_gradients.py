"""The gradients task: files, CSV contents, summary derived from the data, config errors."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.diagnostics.scalar import ScalarSweepConfig
from rnnkit.tasks.gradients import DEFAULT_FORGET_BIASES, GradientsConfig, run_gradients

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _tiny(tmp_path, **kwargs):
    settings = dict(
        steps=20,
        hidden_size=8,
        input_size=4,
        batch_size=2,
        scalar=ScalarSweepConfig(num_points=41),
    )
    return GradientsConfig(**{**settings, **kwargs})


def test_run_writes_csvs_and_plots_and_summarises_the_data(tmp_path):
    config = _tiny(tmp_path, cells=("rnn", "lstm", "gru"), forget_biases=(1.0, 3.0))
    report = run_gradients(config, tmp_path / "run")

    assert set(report.files) == {"scalar_csv", "scalar_png", "flow_csv", "flow_png"}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "gradient_flow.csv", "gradient_flow.png", "run.json", "scalar_sweep.csv", "scalar_sweep.png",
    ]
    for key in ("scalar_png", "flow_png"):
        assert report.files[key].read_bytes()[:8] == PNG_SIGNATURE

    scalar = pd.read_csv(report.files["scalar_csv"], float_precision="round_trip")
    assert list(scalar.columns) == ["w", "final_state", "grad_h0"]
    assert len(scalar) == 41
    np.testing.assert_allclose(scalar["grad_h0"], report.scalar.grad_h0, rtol=1e-15)

    flow = pd.read_csv(report.files["flow_csv"])
    assert list(flow.columns) == ["label", "cell", "forget_bias", "distance", "grad_norm"]
    labels = ["rnn", "lstm", "lstm b_f=1", "lstm b_f=3", "gru"]
    assert list(dict.fromkeys(flow["label"])) == labels
    assert len(flow) == 20 * len(labels)
    assert flow.loc[flow["label"] == "lstm b_f=3", "forget_bias"].eq(3.0).all()
    assert flow.loc[flow["label"] == "rnn", "forget_bias"].isna().all()
    assert list(flow.loc[flow["label"] == "gru", "distance"]) == list(range(1, 21))

    assert config.report_distances == (1, 10, 20)
    assert [s.label for s in report.summaries] == labels
    for summary, curve in zip(report.summaries, report.curves, strict=True):
        rows = flow[flow["label"] == summary.label].set_index("distance")["grad_norm"]
        for distance, norm in summary.norms.items():
            assert norm == pytest.approx(rows[distance], rel=1e-12)
            assert norm == curve.norm_at(distance)
        assert "from distance 1 to 20" in summary.explanation
    by_label = {s.label: s for s in report.summaries}
    assert by_label["rnn"].explanation.startswith("tanh RNN (default init): gradient norm falls")
    assert by_label["lstm b_f=3"].explanation.startswith("LSTM (forget bias 3):")
    assert by_label["lstm b_f=3"].norms[20] > 100 * by_label["rnn"].norms[20]
    assert report.scalar_explanation.startswith("scalar tanh RNN (T=10, h_0=0.5)")


def test_default_forget_biases_follow_the_cells(tmp_path):
    assert _tiny(tmp_path).forget_biases == DEFAULT_FORGET_BIASES == (0.0, 1.0, 3.0)
    assert _tiny(tmp_path, cells=("rnn", "gru")).forget_biases == ()
    assert _tiny(tmp_path, forget_biases=()).forget_biases == ()
    labels = [c.label for c in _tiny(tmp_path, cells=("lstm",)).flow_configs()]
    assert labels == ["lstm", "lstm b_f=0", "lstm b_f=1", "lstm b_f=3"]
    assert _tiny(tmp_path, steps=5).report_distances == (1, 5)
    assert _tiny(tmp_path, steps=200).report_distances == (1, 10, 50, 100, 200)
    assert _tiny(tmp_path, steps=300).report_distances == (1, 10, 50, 100, 200, 300)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cells": ("rnn", "transformer")}, r"unknown cell 'transformer'; choose from rnn, lstm, gru"),
        ({"cells": ()}, r"cells must name at least one of rnn, lstm, gru"),
        ({"cells": ("rnn", "rnn")}, r"cells must not repeat, got rnn, rnn"),
        ({"cells": ("rnn",), "forget_biases": (1.0,)}, r"'lstm' is not among the cells \(rnn\); add lstm"),
        ({"forget_biases": (float("nan"),)}, r"forget biases must be finite numbers, got nan"),
        ({"forget_biases": (1.0, 1.0)}, r"forget biases must not repeat, got \(1.0, 1.0\)"),
        ({"steps": 0}, r"steps must be an integer >= 1, got 0"),
        ({"hidden_size": -3}, r"hidden_size must be an integer >= 1, got -3"),
        ({"track_every": 5}, r"track_every=5 has no effect without training; give train_steps too"),
        ({"max_seconds": 5.0}, r"max_seconds=5.0 has no effect without training"),
        ({"train_steps": -1}, r"train_steps must be >= 0, got -1"),
    ],
)
def test_bad_config_is_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _tiny(tmp_path, **kwargs)


def test_output_folder_that_is_a_file_is_refused_before_any_work(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"out_dir '.*taken' is a file; give a folder path"):
        run_gradients(_tiny(tmp_path), target)
    assert target.read_text() == "not a folder" and sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_training_each_curve_tracks_its_gradient_flow_and_scores_it_like_longrange(tmp_path):
    from rnnkit.tasks.longrange import LongRangeConfig, run_longrange

    config = _tiny(tmp_path, cells=("rnn", "lstm"), forget_biases=(1.0,), train_steps=12, track_every=4)
    report = run_gradients(config, tmp_path / "run")
    assert [t.label for t in report.training] == [c.label for c in config.flow_configs()]
    flow = pd.read_csv(report.files["training_flow_csv"])
    assert sorted(flow["step"].unique()) == [0, 4, 8, 12]
    assert set(flow["distance"]) == set(range(1, 20))  # every distance inside a length-20 sequence
    scores = pd.read_csv(report.files["training_csv"]).set_index("label")
    for trained in report.training:
        rows = flow[flow["label"] == trained.label].set_index(["step", "distance"])["norm"]
        for step, ratio in trained.ratios.items():
            assert ratio == pytest.approx(rows[(step, 19)] / rows[(step, 1)])
        assert scores.loc[trained.label, "test_mse"] == pytest.approx(trained.test_mse)
    # the LSTM with b_f = 1 is the adding-problem run longrange makes of the same settings
    reference = run_longrange(LongRangeConfig(task="adding", T=20, cell="lstm", hidden_size=8, steps=12, seed=0,
                                              forget_bias=1.0), track_every=4)
    assert report.training[2].test_mse == pytest.approx(reference.test_loss, rel=1e-6)
    assert (tmp_path / "run" / "training_flow.png").read_bytes().startswith(PNG_SIGNATURE)


def test_rnn_remedies_add_plain_rnn_curves_and_the_irnn_keeps_its_gradient(tmp_path):
    report = run_gradients(_tiny(tmp_path, cells=("rnn",), rnn_remedies=("irnn", "orthogonal")), tmp_path / "run")
    labels = [s.label for s in report.summaries]
    assert labels == ["rnn", "rnn identity+relu", "rnn orthogonal"]
    norms = {s.label: s.norms for s in report.summaries}
    # at initialisation the IRNN carries the gradient over 20 steps (within 10x), the tanh RNN does not
    assert norms["rnn identity+relu"][20] > 0.1 * norms["rnn identity+relu"][1]
    assert norms["rnn"][20] < 1e-3 * norms["rnn"][1]
    assert "relu RNN (identity init)" in report.summaries[1].explanation
    with pytest.raises(ValueError, match=r"unknown RNN remedy 'lnrnn'; choose from irnn, orthogonal, xavier"):
        _tiny(tmp_path, rnn_remedies=("lnrnn",))
