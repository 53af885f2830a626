"""Pretrained vectors aligned with a Vocab, formats, OOV policy, analogy, neighbours, word2vec."""

import random

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from rnnkit.data.embeddings import (
    Word2VecConfig,
    analogy,
    embedding_matrix,
    evaluate_analogies,
    google_analogies_path,
    load_vectors,
    neighbors,
    pretrained_embedding,
    save_vectors,
    train_word2vec,
)
from rnnkit.data.vocab import Vocab
from rnnkit.errors import CheckpointError, DataError

W2V_TEXT = """4 3
the 0.1 -0.2 0.3
cat 1.5 2.5 -3.5
dog 1.25 2.0 -3.0
paris 9 8 7
"""


def _parse(text, header=True):
    """Independent reading of a text vectors file: {word: [floats]}."""
    lines = text.strip().splitlines()[1 if header else 0 :]
    return {parts[0]: [float(x) for x in parts[1:]] for parts in (line.split() for line in lines)}


@pytest.fixture
def w2v_file(tmp_path):
    path = tmp_path / "vectors.vec"
    path.write_text(W2V_TEXT)
    return path


def test_embedding_matrix_rows_match_the_source_file(w2v_file):
    kv = load_vectors(w2v_file)
    vocab = Vocab(["cat", "Paris", "zebra", "the", "dog"])
    E, coverage = embedding_matrix(vocab, kv, seed=3)
    source = _parse(W2V_TEXT)
    assert E.shape == (len(vocab), 3) and E.dtype == torch.float32
    for word in ["cat", "the", "dog"]:
        assert E[vocab[word]].tolist() == pytest.approx(source[word])
    assert E[vocab["Paris"]].tolist() == pytest.approx(source["paris"])  # lowercase fallback
    assert torch.equal(E[0], torch.zeros(3))  # <pad>
    assert coverage.found == 4 and coverage.total == 5 and coverage.missing == ["zebra"]
    # words without a vector: random, at the scale of the pretrained vectors, reproducible
    assert not torch.equal(E[vocab["zebra"]], torch.zeros(3))
    assert torch.equal(E, embedding_matrix(vocab, kv, seed=3)[0])
    zeros, _ = embedding_matrix(vocab, kv, oov="zeros")
    assert torch.equal(zeros[vocab["zebra"]], torch.zeros(3)) and torch.equal(zeros[1], torch.zeros(3))


def test_random_oov_rows_have_the_pretrained_scale():
    rng = np.random.default_rng(0)
    kv = KeyedVectors(vector_size=20)
    kv.add_vectors([f"w{i}" for i in range(200)], rng.normal(0, 0.4, (200, 20)).astype(np.float32))
    vocab = Vocab([f"oov{i}" for i in range(300)])
    E, coverage = embedding_matrix(vocab, kv)
    assert coverage.found == 0
    assert float(E[1:].std()) == pytest.approx(float(np.std(kv.vectors)), rel=0.1)


def test_frozen_and_fine_tuned_embedding_layers(w2v_file):
    kv = load_vectors(w2v_file)
    vocab = Vocab(["cat", "dog"])
    frozen = pretrained_embedding(vocab, kv, freeze=True)
    tuned = pretrained_embedding(vocab, kv, freeze=False)
    assert not frozen.weight.requires_grad and tuned.weight.requires_grad
    assert frozen.padding_idx == 0
    ids = torch.tensor([[vocab["cat"], 0]])
    assert frozen(ids)[0, 0].tolist() == pytest.approx([1.5, 2.5, -3.5])
    tuned(ids).sum().backward()
    assert tuned.weight.grad[0].abs().sum() == 0  # padding row gets no gradient


def test_binary_glove_and_fasttext_formats_round_trip(w2v_file, tmp_path):
    kv = load_vectors(w2v_file, "fasttext")
    binary = tmp_path / "v.bin"
    save_vectors(kv, binary, binary=True)
    again = load_vectors(binary)  # auto: .bin -> word2vec binary
    assert again.index_to_key == kv.index_to_key and np.array_equal(again.vectors, kv.vectors)
    glove = tmp_path / "glove.txt"
    glove.write_text("\n".join(W2V_TEXT.splitlines()[1:]) + "\n")
    g = load_vectors(glove)  # auto: no header -> GloVe
    assert g["paris"].tolist() == [9.0, 8.0, 7.0] and len(g) == 4
    text = tmp_path / "out.txt"
    save_vectors(kv, text)
    written, source = _parse(text.read_text()), _parse(W2V_TEXT)
    assert list(written) == list(source)
    assert all(written[w] == pytest.approx(source[w]) for w in source)
    assert load_vectors(text, "word2vec")["cat"].tolist() == [1.5, 2.5, -3.5]


@pytest.mark.parametrize(
    ("content", "fmt", "match"),
    [
        (b"text,label\nhello,1\n", "auto", r"is not valid glove format"),
        (b"3 2\ncat 1 2\n", "word2vec", r"is not valid word2vec format"),
        (b"\x00\x01garbage", "word2vec-binary", r"is not valid word2vec-binary format"),
        (b"", "auto", r"is empty"),
    ],
)
def test_vectors_file_in_the_wrong_format(tmp_path, content, fmt, match):
    path = tmp_path / ("v.bin" if fmt == "word2vec-binary" else "v.txt")
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        load_vectors(path, fmt)


def test_vectors_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"vectors format must be one of auto, word2vec"):
        load_vectors(tmp_path / "x", "npy")
    with pytest.raises(FileNotFoundError, match=r"x.vec' does not exist"):
        load_vectors(tmp_path / "x.vec")


def _royal_vectors():
    """man/woman differ by a 'gender' axis, king/queen add a 'royal' axis; plus distractors."""
    g, r = np.array([0, 1.0, 0, 0]), np.array([0, 0, 1.0, 0])
    base = np.array([1.0, 0, 0, 0.3])
    words = {
        "man": base, "woman": base + g, "king": base + r, "queen": base + g + r,
        "boy": base * 0.5 + np.array([0, 0, 0, 1.0]), "castle": r + np.array([0.2, 0, 0, 0]),
        "apple": np.array([0, 0, 0, 1.0]),
    }
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(list(words), np.array(list(words.values()), dtype=np.float32))
    return kv, words


def test_analogy_returns_the_constructed_answer():
    kv, words = _royal_vectors()
    answers = analogy(kv, "man", "king", "woman", topn=3)
    assert answers[0][0] == "queen"
    assert all(w not in {"man", "king", "woman"} for w, _ in answers)
    unit = {w: v / np.linalg.norm(v) for w, v in words.items()}
    target = unit["king"] - unit["man"] + unit["woman"]
    expected = float(unit["queen"] @ target / np.linalg.norm(target))
    assert answers[0][1] == pytest.approx(expected, abs=1e-6)
    assert analogy(kv, "Man", "KING", "woman")[0][0] == "queen"  # lowercase fallback


def test_neighbors_are_sorted_by_cosine():
    kv, words = _royal_vectors()
    result = neighbors(kv, "king", topn=6)
    cos = {w: float(v @ words["king"] / np.linalg.norm(v) / np.linalg.norm(words["king"])) for w, v in words.items()}
    assert [w for w, _ in result] == sorted((w for w in words if w != "king"), key=lambda w: -cos[w])
    with pytest.raises(DataError, match=r"the word 'unicorn' has no vector in these embeddings"):
        neighbors(kv, "unicorn")


def test_evaluate_analogies_counts_correct_answers(tmp_path):
    kv, _ = _royal_vectors()
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nman king woman queen\nman king woman castle\n: skipped\nman king zebra queen\n")
    score = evaluate_analogies(kv, questions)
    assert (score.correct, score.total, score.accuracy) == (1, 2, 0.5)
    assert score.sections == {"royal": 0.5}
    assert google_analogies_path().read_text().startswith(": capital-common-countries")
    unknown = tmp_path / "u.txt"
    unknown.write_text(": x\nparis france rome italy\n")
    with pytest.raises(DataError, match=r"none of the analogy questions in u.txt can be asked"):
        evaluate_analogies(kv, unknown)


@pytest.mark.parametrize("algorithm", ["cbow", "skipgram"])
def test_word2vec_learns_shared_contexts(algorithm):
    """Animals share one set of context words and vehicles another: each class clusters."""
    rng = random.Random(0)
    animals, vehicles = ["cat", "dog", "cow", "horse"], ["car", "bus", "truck", "van"]
    animal_ctx = ["eats", "sleeps", "barks", "runs", "meat", "grass", "fur", "tail", "farm", "pet"]
    vehicle_ctx = ["drives", "parks", "fuel", "road", "wheels", "engine", "garage", "brakes", "speed", "tyres"]
    sentences = []
    for _ in range(300):
        sentences.append([rng.choice(animals)] + rng.sample(animal_ctx, 4))
        sentences.append([rng.choice(vehicles)] + rng.sample(vehicle_ctx, 4))
    config = Word2VecConfig(algorithm=algorithm, vector_size=16, window=4, min_count=1, epochs=20, sample=0.0)
    kv = train_word2vec(sentences, config)
    assert kv.similarity("cat", "dog") > kv.similarity("cat", "bus") + 0.5
    assert kv.similarity("car", "van") > kv.similarity("car", "cow") + 0.5
    nearest_nouns = [w for w, _ in kv.most_similar("cat", topn=20) if w in animals + vehicles][:3]
    assert set(nearest_nouns) == {"dog", "cow", "horse"}


def test_word2vec_config_and_corpus_errors():
    with pytest.raises(ValueError, match=r"algorithm must be one of cbow, skipgram, got 'glove'"):
        Word2VecConfig(algorithm="glove")
    with pytest.raises(ValueError, match=r"window must be a positive integer, got 0"):
        Word2VecConfig(window=0)
    with pytest.raises(ValueError, match=r"sample must be in \[0, 1\)"):
        Word2VecConfig(sample=1.5)
    with pytest.raises(DataError, match=r"no word occurs at least min_count=5 times in the 2 training tokens"):
        train_word2vec([["a", "b"]], Word2VecConfig(min_count=5))
    with pytest.raises(DataError, match=r"no sentences"):
        train_word2vec([], Word2VecConfig())


def test_a_word2vec_checkpoint_gives_a_finished_run_back_and_one_that_does_not_fit_is_refused(tmp_path):
    rng = random.Random(1)
    sentences = [[rng.choice("abcdefgh") for _ in range(6)] for _ in range(200)]
    config = Word2VecConfig(vector_size=8, min_count=1, epochs=4, sample=0.0)
    unbroken = train_word2vec(sentences, config)
    fresh = tmp_path / "fresh"
    np.testing.assert_array_equal(train_word2vec(sentences, config, checkpoint_dir=fresh).vectors, unbroken.vectors)
    # every epoch is done: the same folder gives the same vectors back without training (the SIGKILL
    # test of `rnnkit embed train --resume` covers a run cut in the middle)
    np.testing.assert_array_equal(train_word2vec(sentences, config, checkpoint_dir=fresh).vectors, unbroken.vectors)
    with pytest.raises(CheckpointError, match=r"word2vec.safetensors cannot be resumed from \(\w+ does not fit "
                                              r"this corpus and these settings\); delete the interrupted run"):
        train_word2vec(sentences, Word2VecConfig(**{**config.__dict__, "vector_size": 4}), checkpoint_dir=fresh)
    (fresh / "word2vec.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot be resumed from"):
        train_word2vec(sentences, config, checkpoint_dir=fresh)
