"""Export to ONNX (run by onnxruntime) and TorchScript answers as eager PyTorch does, at batch
sizes and lengths never traced, for every cell and both GRU forms; what would be wrong is refused."""

import numpy as np
import onnxruntime
import pytest
import torch
from torch import nn

from rnnkit import LanguageModel, LanguageModelConfig, SequenceClassifier, SequenceClassifierConfig, save_model
from rnnkit.export import CHECK_LENGTHS, ExportError, export, export_saved
from rnnkit.layers import build_layer

LAYERS = [
    ("rnn", {"nonlinearity": "relu"}), ("lstm", {}), ("gru", {}), ("gru", {"reset_after": False}),
    ("slstm", {}), ("slstm", {"forget_gate": "exp"}), ("mlstm", {}), ("lnlstm", {}), ("lngru", {}),
]
IDS = ["rnn", "lstm", "gru", "seed-gru", "slstm", "slstm-exp", "mlstm", "lnlstm", "lngru"]


@pytest.mark.parametrize("cell, kwargs", LAYERS, ids=IDS)
def test_every_layer_exports_to_onnx_and_answers_as_eager_at_untraced_lengths(cell, kwargs, tmp_path):
    torch.manual_seed(0)
    layer = build_layer(cell, 3, 8, num_layers=2, bidirectional=True, batch_first=True, **kwargs)
    report = export(layer, tmp_path / "layer.onnx", example=torch.randn(2, 5, 3))
    assert report.outputs[0] == "output" and len(report.outputs) >= 2  # the output and the final state
    assert {(c.batch, c.steps) for c in report.checks} >= {(1, 1), (3, 130), (3, 7)}
    assert report.max_abs_diff < 1e-4
    # independently of the export's own checks: onnxruntime at a length the trace never saw
    session = onnxruntime.InferenceSession(str(tmp_path / "layer.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(4, 11, 3)
    output = session.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(output, layer(x)[0].detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("cell, kwargs", LAYERS, ids=IDS)
def test_every_layer_exports_to_torchscript_and_answers_as_eager(cell, kwargs, tmp_path):
    torch.manual_seed(1)
    layer = build_layer(cell, 3, 8, num_layers=1, batch_first=False, **kwargs)  # time-major
    report = export(layer, tmp_path / "layer.pt", "torchscript", example=torch.randn(6, 2, 3), batch_dim=1,
                    time_dim=0)
    loaded = torch.jit.load(str(tmp_path / "layer.pt"))
    x = torch.randn(13, 5, 3)
    torch.testing.assert_close(loaded(x)[0], layer(x)[0].detach(), atol=1e-5, rtol=1e-5)
    assert report.max_abs_diff < 1e-4


class _UnrolledLoop(nn.Module):
    """A Python time loop: tracing records it for the traced length only."""

    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(3, 4)

    def forward(self, x):
        h = torch.zeros(x.shape[0], 4)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return h


def test_a_graph_that_would_be_wrong_at_another_length_is_refused_and_nothing_is_written(tmp_path):
    target = tmp_path / "loop.onnx"
    target.write_bytes(b"the user's older file")
    with pytest.raises(ExportError, match=r"onnx graph (answers wrong|fails) at batch 1, length 1.*nothing was written"):
        export(_UnrolledLoop(), target, example=torch.randn(2, 5, 3))
    assert target.read_bytes() == b"the user's older file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.onnx"]  # no temporary file left


def test_saved_classifier_and_language_model_export_with_their_token_inputs(tmp_path):
    torch.manual_seed(2)
    lm = LanguageModel(LanguageModelConfig(vocab_size=30, cell="slstm", hidden_size=16, embedding_dim=8))
    save_model(tmp_path / "lm", lm)
    report = export_saved(tmp_path / "lm")
    assert report.path == tmp_path / "lm" / "model.onnx" and report.outputs[0] == "output"
    session = onnxruntime.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    ids = torch.randint(0, 30, (3, 40))
    logits = session.run(None, {"input": ids.numpy()})[0]
    np.testing.assert_allclose(logits, lm.eval()(ids)[0].detach().numpy(), atol=1e-4)
    with pytest.raises(FileExistsError, match="model.onnx exists"):
        export_saved(tmp_path / "lm")

    clf = SequenceClassifier(SequenceClassifierConfig(num_outputs=2, cell="gru", hidden_size=8, input_size=4,
                                                      bidirectional=True, cell_kwargs={"reset_after": False}))
    save_model(tmp_path / "clf", clf)
    report = export_saved(tmp_path / "clf", tmp_path / "clf.pt", "torchscript")
    loaded = torch.jit.load(str(tmp_path / "clf.pt"))
    x = torch.randn(5, 9, 4)
    torch.testing.assert_close(loaded(x)[0], clf.eval()(x).detach(), atol=1e-5, rtol=1e-5)


def test_check_lengths_reach_past_the_mlstm_chunk():
    assert max(CHECK_LENGTHS) > 64 and 1 in CHECK_LENGTHS


def _onnx_run(path, feed):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.numpy() for k, v in feed.items()})


@pytest.mark.parametrize("attention", [None, "multiplicative"])
def test_a_saved_translator_exports_its_scoring_graph(attention, tmp_path):
    from rnnkit.models import Seq2Seq, Seq2SeqConfig

    torch.manual_seed(3)
    model = Seq2Seq(Seq2SeqConfig(source_vocab_size=20, target_vocab_size=15, attention=attention, hidden_size=8,
                                  embedding_dim=6, cell="gru"))
    save_model(tmp_path / "mt", model)
    report = export_saved(tmp_path / "mt")
    assert report.inputs == ["src", "tgt_in"] and report.outputs == ["logits"]
    src, tgt_in = torch.randint(1, 20, (2, 23)), torch.randint(1, 15, (2, 17))  # lengths never traced
    (logits,) = _onnx_run(report.path, {"src": src, "tgt_in": tgt_in})
    np.testing.assert_allclose(logits, model.eval()(src, None, tgt_in)[0].detach().numpy(), atol=1e-4)
    # greedy decoding outside the graph: the last step's logits of the prefix are the model's next step
    state = model.encode(src)
    step_logits, _ = model.decoder.step(tgt_in[:, 0], state)
    np.testing.assert_allclose(_onnx_run(report.path, {"src": src, "tgt_in": tgt_in[:, :1]})[0][:, -1],
                               step_logits.detach().numpy(), atol=1e-4)


def test_a_translator_with_additive_attention_is_refused_with_the_reason(tmp_path):
    from rnnkit.models import Seq2Seq, Seq2SeqConfig

    model = Seq2Seq(Seq2SeqConfig(source_vocab_size=20, target_vocab_size=15, attention="additive", hidden_size=8))
    save_model(tmp_path / "mt", model)
    with pytest.raises(ExportError, match=r"additive \(Bahdanau\) attention: its decoder takes one Python step"):
        export_saved(tmp_path / "mt")
    assert not (tmp_path / "mt" / "model.onnx").exists()


def test_a_saved_captioner_exports_images_and_tokens_to_logits(tmp_path):
    from rnnkit.models import ConditionalGenerator, ConditionalGeneratorConfig

    torch.manual_seed(4)
    model = ConditionalGenerator(ConditionalGeneratorConfig(vocab_size=12, condition_size=16, image_channels=1,
                                                            image_size=8, hidden_size=8, embedding_dim=6))
    save_model(tmp_path / "cap", model)
    report = export_saved(tmp_path / "cap", tmp_path / "cap.pt", "torchscript")
    images, tokens = torch.rand(3, 1, 8, 8), torch.randint(1, 12, (3, 9))
    torch.testing.assert_close(torch.jit.load(str(report.path))(images, tokens)[0], model.eval()(images, tokens),
                               atol=1e-5, rtol=1e-5)


def test_a_direct_global_forecaster_exports_every_members_forecast_of_prepared_windows(tmp_path):
    from rnnkit.forecasting.networks import GlobalNetConfig
    from rnnkit.forecasting.training import GlobalEnsemble, GlobalEnsembleConfig

    torch.manual_seed(5)
    net = GlobalNetConfig(network="direct", horizon=4, hidden_size=8, context_size=4, num_hist=1, num_futr=2,
                          num_stat=1, skip="season", season=4)
    ensemble = GlobalEnsemble(GlobalEnsembleConfig(net, (8, 12)))
    for member in ensemble.members:  # a trained network's output is not just the skip
        torch.nn.init.normal_(member.local_mlp[-1].weight)
    save_model(tmp_path / "fc", ensemble)
    report = export_saved(tmp_path / "fc")
    assert report.inputs == ["z", "mask", "hist", "futr", "stat"] and report.outputs == ["forecast"]
    b, length = 3, 30
    z, mask = torch.rand(b, length) + 0.5, torch.ones(b, length)
    hist, futr, stat = torch.randn(b, length, 1), torch.randn(b, length + 4, 2), torch.randn(b, 1)
    (forecast,) = _onnx_run(report.path, {"z": z, "mask": mask, "hist": hist, "futr": futr, "stat": stat})
    assert forecast.shape == (2, b, 4)
    for k, lookback in enumerate((8, 12)):
        want = ensemble.members[k].eval()(z[:, -lookback:], mask[:, -lookback:], hist[:, -lookback:],
                                          futr[:, -(lookback + 4):], stat)
        np.testing.assert_allclose(forecast[k], want.detach().numpy(), atol=1e-4)


def test_a_deepar_forecaster_is_refused_with_the_reason(tmp_path):
    from rnnkit.forecasting.networks import GlobalNetConfig
    from rnnkit.forecasting.training import GlobalEnsemble, GlobalEnsembleConfig

    save_model(tmp_path / "fc", GlobalEnsemble(GlobalEnsembleConfig(GlobalNetConfig(network="deepar", horizon=4), (8,))))
    with pytest.raises(ExportError, match=r"holds a DeepAR forecaster: it draws its sample paths one random step"):
        export_saved(tmp_path / "fc")
