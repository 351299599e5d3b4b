"""The fused Triton kernel, run on the CPU by Triton's interpreter: with one program it repeats a
plain numpy transcription of its loop draw for draw; with many programs a small corpus trains."""

import os

os.environ["TRITON_INTERPRET"] = "1"  # before triton reads it: the kernel runs on the CPU

import numpy as np
import pytest
import torch

fused = pytest.importorskip("w2v.training.kernels.fused")
from fused_reference import reference, tiny  # noqa: E402  (after TRITON_INTERPRET is set)

from w2v.corpus.tables import noise_alias  # noqa: E402


@pytest.mark.parametrize("sg, cbow_mean, shrink", [(0, True, True), (0, False, False),
                                                   (1, True, True)])
def test_one_program_repeats_the_reference(sg, cbow_mean, shrink):
    ids, sentence, keep, prob, alias, syn0, syn1 = tiny()
    options = dict(window=3, negative=4, sg=bool(sg), cbow_mean=cbow_mean,
                   shrink_windows=shrink, alpha_start=0.05, alpha_end=0.01, words_done=40.0,
                   total_words=400.0, seed=12345678901)
    ref0, ref1 = syn0.copy(), syn1.copy()
    ref_loss, ref_examples = reference(ref0, ref1, ids, sentence, keep, prob, alias, **options)
    t0, t1 = torch.from_numpy(syn0), torch.from_numpy(syn1)
    loss, examples = fused.train_chunk(
        t0, t1, torch.from_numpy(ids), torch.from_numpy(sentence), torch.from_numpy(keep),
        torch.from_numpy(prob), torch.from_numpy(alias), segment=len(ids), **options)
    assert int(examples) == ref_examples > 0
    assert float(loss) == pytest.approx(ref_loss, rel=1e-4)
    np.testing.assert_allclose(t0.numpy(), ref0, atol=1e-5)
    np.testing.assert_allclose(t1.numpy(), ref1, atol=1e-5)


@pytest.mark.parametrize("sg, cbow_mean", [(0, True), (0, False), (1, True)])
def test_with_subwords_one_program_repeats_the_reference(sg, cbow_mean):
    from w2v.vectors.ngrams import bags

    ids, sentence, keep, prob, alias, _, syn1 = tiny()
    words = [f"w{i}x" if i % 2 else f"word{i}" for i in range(len(keep))]
    bag = bags(words, 2, 3, 9)  # nine buckets shared by twelve words
    rng = np.random.default_rng(3)
    syn0 = rng.uniform(-0.1, 0.1, (len(keep) + 9, syn1.shape[1])).astype(np.float32)
    options = dict(window=3, negative=4, sg=bool(sg), cbow_mean=cbow_mean, shrink_windows=True,
                   alpha_start=0.05, alpha_end=0.01, words_done=40.0, total_words=400.0,
                   seed=99)
    ref0, ref1 = syn0.copy(), syn1.copy()
    ref_loss, ref_examples = reference(ref0, ref1, ids, sentence, keep, prob, alias,
                                       bags=bag, **options)
    t0, t1 = torch.from_numpy(syn0), torch.from_numpy(syn1)
    loss, examples = fused.train_chunk(
        t0, t1, torch.from_numpy(ids), torch.from_numpy(sentence), torch.from_numpy(keep),
        torch.from_numpy(prob), torch.from_numpy(alias), segment=len(ids),
        bag_rows=torch.from_numpy(bag[0]), bag_start=torch.from_numpy(bag[1]), **options)
    assert int(examples) == ref_examples > 0
    assert float(loss) == pytest.approx(ref_loss, rel=1e-4)
    np.testing.assert_allclose(t0.numpy(), ref0, atol=1e-5)
    np.testing.assert_allclose(t1.numpy(), ref1, atol=1e-5)


@pytest.mark.parametrize("sg, subwords", [(0, False), (1, False), (0, True)])
def test_locked_rows_move_by_their_factor_as_in_the_reference(sg, subwords):
    from w2v.vectors.ngrams import bags

    ids, sentence, keep, prob, alias, syn0, syn1 = tiny()
    bag = bags([f"word{i}" for i in range(len(keep))], 2, 3, 9) if subwords else None
    if subwords:
        syn0 = np.random.default_rng(3).uniform(-0.1, 0.1, (len(keep) + 9, syn1.shape[1]))
        syn0 = syn0.astype(np.float32)
    lockf = np.tile(np.float32([0.0, 0.5, 1.0]), len(syn0) // 3 + 1)[: len(syn0)]
    options = dict(window=3, negative=4, sg=bool(sg), cbow_mean=True, shrink_windows=True,
                   alpha_start=0.05, alpha_end=0.01, words_done=40.0, total_words=400.0,
                   seed=7)
    ref0, ref1 = syn0.copy(), syn1.copy()
    reference(ref0, ref1, ids, sentence, keep, prob, alias, bags=bag, lockf=lockf, **options)
    t0, t1 = torch.from_numpy(syn0.copy()), torch.from_numpy(syn1.copy())
    extra = {} if bag is None else dict(bag_rows=torch.from_numpy(bag[0]),
                                        bag_start=torch.from_numpy(bag[1]))
    fused.train_chunk(t0, t1, torch.from_numpy(ids), torch.from_numpy(sentence),
                      torch.from_numpy(keep), torch.from_numpy(prob), torch.from_numpy(alias),
                      segment=len(ids), lockf=torch.from_numpy(lockf), **extra, **options)
    np.testing.assert_allclose(t0.numpy(), ref0, atol=1e-5)
    frozen = lockf == 0
    assert np.array_equal(t0.numpy()[frozen], syn0[frozen])  # untouched, bit for bit
    assert not np.allclose(t0.numpy()[~frozen], syn0[~frozen])


@pytest.mark.parametrize("sg", [0, 1])
def test_the_kernel_marks_every_output_row_it_changes(sg):
    # A torchrun job sends only the marked rows: a changed row left unmarked would leave the
    # ranks' tables disagreeing.
    ids, sentence, keep, prob, alias, syn0, syn1 = tiny(words=80, vocab=1000)  # rows to spare
    t0, t1 = torch.from_numpy(syn0), torch.from_numpy(syn1)
    before = t1.clone()
    touched = torch.zeros(len(t1), dtype=torch.uint8)
    fused.train_chunk(
        t0, t1, torch.from_numpy(ids), torch.from_numpy(sentence), torch.from_numpy(keep),
        torch.from_numpy(prob), torch.from_numpy(alias), window=3, negative=4, sg=bool(sg),
        cbow_mean=True, shrink_windows=True, alpha_start=0.05, alpha_end=0.01, words_done=0.0,
        total_words=400.0, seed=7, segment=8, touched=touched)
    changed = (t1 != before).any(1)
    assert changed.any() and not changed.all()
    assert torch.equal(touched.bool(), changed)


def test_many_programs_train_a_small_corpus():
    # Two topics of six words each; a sentence uses one topic only. After training, a word's
    # nearest neighbour shares its topic, and the loss has fallen. (Kept small: the interpreter
    # takes tens of milliseconds a word.)
    rng = np.random.default_rng(1)
    vocab, dim, length = 12, 8, 10
    topics = rng.integers(2, size=60)
    ids = np.concatenate([rng.integers(6, size=length) + 6 * t for t in topics]).astype(np.int32)
    sentence = np.repeat(np.arange(len(topics)), length).astype(np.int32)
    keep = np.ones(vocab, dtype=np.float32)
    prob, alias = (torch.from_numpy(t) for t in noise_alias(np.ones(vocab)))
    syn0 = torch.from_numpy(rng.uniform(-0.5 / dim, 0.5 / dim, (vocab, dim)).astype(np.float32))
    syn1 = torch.zeros(vocab, dim)
    losses = []
    for epoch in range(3):
        loss, examples = fused.train_chunk(
            syn0, syn1, torch.from_numpy(ids), torch.from_numpy(sentence),
            torch.from_numpy(keep), prob, alias, window=2, negative=2,
            sg=False, cbow_mean=True, shrink_windows=True, alpha_start=0.1, alpha_end=0.1,
            words_done=0.0, total_words=1.0, seed=epoch, segment=16)
        losses.append(float(loss) / int(examples))
    assert losses[-1] < losses[0]
    unit = torch.nn.functional.normalize(syn0, dim=1)
    cosine = unit @ unit.T
    cosine.fill_diagonal_(-2)
    nearest = cosine.argmax(1)
    assert (nearest // 6 == torch.arange(vocab) // 6).float().mean() >= 0.9


def test_word2vec_trains_through_the_fused_loop():
    from w2v import Word2Vec

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog"], ["alone"],
                 ["the", "dog", "sat"]] * 5
    model = Word2Vec(sentences, update="fused", device="cpu", vector_size=8, window=2,
                     negative=2, min_count=1, sample=0, epochs=2, seed=3)
    # Without subsampling every word of a sentence of two or more words is one CBOW example.
    assert [h.examples for h in model.history] == [5 * (6 + 2 + 3)] * 2
    assert all(np.isfinite(h.loss) for h in model.history)
    assert model.history[1].loss < model.history[0].loss


def test_fasttext_trains_through_the_fused_loop():
    from w2v import FastText

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog"], ["the", "dogs"],
                 ["the", "cats", "sat"]] * 5
    model = FastText(sentences, update="fused", device="cpu", vector_size=8, window=2,
                     negative=2, min_count=1, sample=0, epochs=2, bucket=50, seed=3)
    assert model.history[1].loss < model.history[0].loss
    assert np.isfinite(model.wv["kitten"]).all()


def test_fused_refuses_the_cpu_outside_the_interpreter(monkeypatch):
    from w2v import W2VError, Word2Vec

    monkeypatch.delenv("TRITON_INTERPRET")
    with pytest.raises(W2VError, match="runs on a CUDA GPU"):
        Word2Vec([["a", "b"]] * 3, update="fused", device="cpu", min_count=1)


def test_a_chunk_waits_for_the_device_once(monkeypatch):
    """Reading a tensor's value on the host is where a GPU run waits; count those reads. Per
    chunk the loss and the example count, after the chunk, and nothing else."""
    from w2v import Word2Vec

    model = Word2Vec(vector_size=8, window=2, negative=2, min_count=1, epochs=3, seed=3,
                     update="fused", device="cpu")
    model.build_vocab([["the", "cat", "sat", "on", "the", "mat"], ["a", "dog", "sat"]] * 4)
    reads = []
    for name in ("__float__", "__int__", "__bool__", "__index__", "item", "tolist"):
        real = getattr(torch.Tensor, name)

        def counted(self, *args, _real=real, _name=name):
            reads.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(torch.Tensor, name, counted)
    model.train()
    chunks = len(model.trace)
    assert chunks == 3  # one chunk an epoch on so small a corpus
    assert sorted(reads) == sorted(["__float__", "__int__"] * chunks)


def test_cuda_defaults_to_fused_and_falls_back_with_one_warning(monkeypatch):
    from w2v import W2VError
    from w2v.training import runtime

    cuda = torch.device("cuda")  # a name only: nothing here touches a GPU
    assert runtime.resolve_update("auto", cuda) == "fused"
    with pytest.raises(W2VError, match="hierarchical softmax"):
        runtime.resolve_update("auto", cuda, hs=True)
    monkeypatch.setattr(runtime, "fused_unavailable",
                        lambda: "could not be imported (ImportError: no triton)")
    with pytest.warns(UserWarning, match="batched tensor path"):
        assert runtime.resolve_update("auto", cuda) == "batched"
    with pytest.raises(W2VError, match="needs triton"):
        runtime.resolve_update("fused", cuda)
