import warnings

import numpy as np
import pytest
import torch

from w2v import KeyedVectors, Word2Vec
from w2v.errors import W2VError
from w2v.training.model import mean_pair_cosine


@pytest.fixture(scope="module")
def trained(austen):
    return Word2Vec(austen, vector_size=50, min_count=3, epochs=10, seed=7)


def test_learns_real_neighbours_on_a_novel(trained):
    wv = trained.wv
    assert isinstance(wv, KeyedVectors)
    assert "she" in [w for w, _ in wv.most_similar("he", topn=5)]
    assert "jane" in [w for w, _ in wv.most_similar("elizabeth", topn=5)]
    assert wv.similarity("mr", "mrs") > wv.similarity("mr", "letter")


def test_epoch_losses_fall_and_are_exact_means(trained):
    losses = trained.epoch_losses
    assert len(losses) == 10
    assert losses[-1] < losses[0] * 0.85
    # Before training, out vectors are zero: every example's loss is (1 + K) * log 2.
    assert losses[0] < 6 * np.log(2)


@pytest.mark.parametrize("update, workers", [("kernel", 1), ("batched", 0)])
def test_seeded_runs_are_reproducible(austen, update, workers):
    small = austen[:300]
    options = dict(vector_size=16, min_count=2, epochs=2, update=update, workers=workers)
    a = Word2Vec(small, seed=3, **options)
    b = Word2Vec(small, seed=3, **options)
    c = Word2Vec(small, seed=4, **options)
    assert np.array_equal(a.wv.vectors, b.wv.vectors)
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_autograd_sgd_gives_the_batched_vectors(austen):
    small = austen[:200]
    batched = Word2Vec(small, vector_size=16, min_count=2, epochs=1, seed=5, update="batched",
                       batch_damping=False)  # the autograd path has no damping
    auto = Word2Vec(small, vector_size=16, min_count=2, epochs=1, seed=5, update="autograd")
    np.testing.assert_allclose(batched.wv.vectors, auto.wv.vectors, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["adam", "sparseadam", "rmsprop", "adagrad"])
def test_torch_optimizers_train(austen, optimizer):
    model = Word2Vec(austen[:300], vector_size=16, min_count=2, epochs=2, seed=1,
                     update="autograd", optimizer=optimizer)  # at its default rate
    assert np.isfinite(model.wv.vectors).all()
    assert model.epoch_losses[-1] < model.epoch_losses[0]


def test_adams_usual_rate_warns_and_its_default_trains(austen):
    # Adam's 0.001 from PyTorch tutorials leaves every vector pointing one way: w2v says so at
    # the start (the rate) and at the end (the vectors); its default rate trains.
    options = dict(min_count=3, epochs=2, seed=1, update="autograd",
                   optimizer="adam")
    with pytest.warns(UserWarning) as caught:
        low = Word2Vec(austen, alpha=0.001, **options)
    messages = " | ".join(str(w.message) for w in caught)
    assert "below a third of adam's default 0.03" in messages
    assert "all point one way" in messages and "barely trained" in messages
    assert mean_pair_cosine(torch.from_numpy(low.wv.vectors[:1000])) > 0.98
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trained = Word2Vec(austen, **options)
    assert trained.config.alpha == 0.03
    assert mean_pair_cosine(torch.from_numpy(trained.wv.vectors[:1000])) < 0.9


def test_save_load_keeps_both_tables_and_settings(trained, tmp_path):
    path = tmp_path / "model.w2v"
    trained.save(path)
    loaded = Word2Vec.load(path)
    assert loaded.config == trained.config
    assert loaded.vocab.words == trained.vocab.words
    assert torch.equal(loaded.model.out_embed.weight, trained.model.out_embed.weight)
    assert np.array_equal(loaded.wv.vectors, trained.wv.vectors)
    assert KeyedVectors.load(path).index_to_key == trained.wv.index_to_key
    assert b"pickle" not in path.read_bytes()[:4096]


def test_loaded_model_trains_further(trained, austen, tmp_path):
    path = tmp_path / "model.w2v"
    trained.save(path)
    loaded = Word2Vec.load(path)
    before = loaded.wv.vectors.copy()
    loaded.train(austen[:500], epochs=1)
    assert not np.array_equal(before, loaded.wv.vectors)


def test_bad_options_and_corpora_raise_one_clear_error():
    with pytest.raises(W2VError, match="window=-1"):
        Word2Vec(window=-1)
    with pytest.raises(W2VError, match="sample"):
        Word2Vec(sample=-0.1)
    with pytest.raises(W2VError, match="vector_size=0"):
        Word2Vec(vector_size=0)
    with pytest.raises(W2VError, match="optimizer"):
        Word2Vec(optimizer="lbfgs", update="autograd")
    with pytest.raises(W2VError, match="min_count"):
        Word2Vec([["a", "b"]], min_count=5)
    with pytest.raises(W2VError, match="token lists"):
        Word2Vec(["a sentence as a string"])
    with pytest.raises(W2VError, match="empty"):
        Word2Vec([[]])


def test_device_and_seed_are_checked_up_front():
    with pytest.raises(W2VError, match="device"):
        Word2Vec(device="tpu")
    with pytest.raises(W2VError, match="seed"):
        Word2Vec(seed=2**40)
    if not torch.cuda.is_available():
        with pytest.raises(W2VError, match="no CUDA"):
            Word2Vec([["a", "b"]] * 5, min_count=1, device="cuda")


def test_one_shot_iterators_are_refused():
    with pytest.raises(W2VError, match="one-shot"):
        Word2Vec((s for s in [["a", "b"]] * 10), min_count=1)


def test_a_loaded_model_asks_for_a_corpus_to_train_on(trained, tmp_path):
    path = tmp_path / "model.w2v"
    trained.save(path)
    with pytest.raises(W2VError, match="no corpus"):
        Word2Vec.load(path).train()


def test_later_train_calls_draw_afresh(austen):
    # Subsampling draws depend on (seed, epoch) only: a second train() call continues the epoch
    # numbering, so its draws are those of epoch 2 of a single longer run, not a replay of epoch 1.
    options = dict(vector_size=16, min_count=2, seed=1, workers=1)
    stepwise = Word2Vec(austen[:3000], epochs=1, **options)
    stepwise.train(epochs=1)
    at_once = Word2Vec(austen[:3000], epochs=2, **options)
    assert [h.epoch for h in stepwise.history] == [1, 2]
    assert stepwise.history[1].examples == at_once.history[1].examples
    assert stepwise.history[0].examples != stepwise.history[1].examples


@pytest.mark.parametrize("options", [
    dict(sg=1),
    dict(hs=1, negative=0),
    dict(sg=1, hs=1, negative=0),
    dict(sg=1, update="batched"),
])
def test_skipgram_and_hierarchical_softmax_learn_real_neighbours(austen, options):
    model = Word2Vec(austen, vector_size=50, min_count=3, epochs=5, seed=7, **options)
    assert "she" in [w for w, _ in model.wv.most_similar("he", topn=10)]
    assert model.epoch_losses[-1] < model.epoch_losses[0]


def test_hierarchical_softmax_is_kernel_only_and_needs_something_to_train():
    with pytest.raises(W2VError, match="nothing to train"):
        Word2Vec(negative=0, hs=0)
    with pytest.raises(W2VError, match="hierarchical softmax"):
        Word2Vec(hs=1, update="batched")  # refused before any corpus is read


def test_hs_model_saves_and_loads_its_tree_table(austen, tmp_path):
    model = Word2Vec(austen[:500], vector_size=16, min_count=2, epochs=1, hs=1)
    model.save(tmp_path / "m.w2v")
    loaded = Word2Vec.load(tmp_path / "m.w2v")
    assert torch.equal(loaded.model.hs_embed.weight, model.model.hs_embed.weight)


def test_trace_records_each_chunk_in_order(austen):
    model = Word2Vec(austen, vector_size=16, min_count=3, epochs=2, workers=1)
    words = [p.words for p in model.trace]
    assert len(model.trace) >= 4 and words == sorted(words)
    assert words[-1] == sum(h.words for h in model.history)
    alphas = [p.alpha for p in model.trace]
    assert alphas == sorted(alphas, reverse=True) and alphas[-1] == pytest.approx(1e-4)
    assert all(p.loss > 0 and p.words_per_second > 0 for p in model.trace)


def test_private_nodes_must_be_a_count(austen):
    from w2v.training.config import TrainConfig

    with pytest.raises(W2VError, match=r"private_nodes=-1 is not valid: it must be >= 0"):
        TrainConfig(private_nodes=-1)
    # Two threads with private tree nodes train as one thread does, near enough.
    losses = [Word2Vec(austen[:2000], vector_size=16, min_count=2, epochs=1, hs=1, negative=0,
                       workers=workers).history[-1].loss for workers in (1, 2)]
    assert losses[1] == pytest.approx(losses[0], rel=0.03)


def test_alpha_defaults_to_word2vec_cs_rate_for_each_architecture(austen, tmp_path):
    from w2v.training.config import TrainConfig

    assert TrainConfig().alpha == 0.05 and TrainConfig(sg=1).alpha == 0.025
    assert TrainConfig(alpha=0.025).alpha == 0.025  # gensim's CBOW rate, when asked for
    # Through autograd, SGD sums a batch's updates of a row: CBOW's 0.05 diverged there.
    assert TrainConfig(update="autograd").alpha == 0.025
    assert TrainConfig(update="autograd", optimizer="adam").alpha == 0.03
    with pytest.raises(W2VError, match="alpha=inf is not valid"):
        TrainConfig(alpha=float("inf"))
    model = Word2Vec(austen[:300], vector_size=8, min_count=2, epochs=1, workers=1)
    assert model.config.alpha == 0.05
    model.save(tmp_path / "m.w2v")  # the resolved rate is saved, so a reload keeps it
    assert Word2Vec.load(tmp_path / "m.w2v").config.alpha == 0.05


# -- FastText: fastText's subword model ------------------------------------------------------------

@pytest.fixture(scope="module")
def subword_model(austen):
    from w2v import FastText

    return FastText(austen, vector_size=32, min_count=3, epochs=5, bucket=50_000, workers=1,
                    seed=2)


def test_fasttext_gives_misspellings_their_words_neighbours(subword_model):
    from w2v import FastTextKeyedVectors

    wv = subword_model.wv
    assert isinstance(wv, FastTextKeyedVectors) and wv.vectors_ngrams.shape == (50_000, 32)
    assert "elizabth" not in wv.key_to_index and "elizabth" in wv
    assert "elizabeth" in [w for w, _ in wv.most_similar("elizabth", topn=3)]
    assert wv.similarity("elizabth", "elizabeth") > wv.similarity("elizabth", "letter")
    losses = subword_model.epoch_losses
    assert losses[-1] < losses[0]


def test_fasttext_files_hold_the_ngrams(subword_model, tmp_path):
    from w2v import FastText, FastTextKeyedVectors

    subword_model.save(tmp_path / "ft.w2v")
    back = FastText.load(tmp_path / "ft.w2v")
    assert back.subwords and back.bucket == 50_000
    np.testing.assert_array_equal(back.wv.vectors, subword_model.wv.vectors)
    np.testing.assert_array_equal(back.wv["elizabth"], subword_model.wv["elizabth"])
    # The model file reads as vectors too, with its n-grams.
    kv = KeyedVectors.load(tmp_path / "ft.w2v")
    assert isinstance(kv, FastTextKeyedVectors)
    np.testing.assert_array_equal(kv["elizabth"], subword_model.wv["elizabth"])


def test_fasttext_is_seeded_and_grows_its_vocabulary_before_the_buckets(austen):
    from w2v import FastText

    options = dict(vector_size=8, min_count=2, epochs=1, bucket=1000, workers=1, seed=4)
    a, b = FastText(austen[:400], **options), FastText(austen[:400], **options)
    assert np.array_equal(a.wv.vectors, b.wv.vectors)
    old = len(a.wv)
    ngrams = a.model.in_embed.weight.detach()[old:].clone()
    a.build_vocab(austen[400:800], update=True)
    assert len(a.wv) > old and a.model.num_words == len(a.wv)
    assert torch.equal(a.model.in_embed.weight.detach()[len(a.wv):], ngrams)
    a.train(austen[400:800])
    assert np.isfinite(a.wv.vectors).all()


@pytest.mark.parametrize("options, culprit", [
    ({"min_n": 5, "max_n": 3}, "min_n=5, max_n=3"), ({"bucket": 0}, "bucket=0"),
    ({"update": "batched"}, "update='batched'"), ({"subwords": False}, "use Word2Vec")])
def test_fasttext_refuses_what_cannot_work(options, culprit):
    from w2v import FastText

    with pytest.raises(W2VError, match=culprit):
        FastText(**options)


# --- fine-tuning from pretrained vectors -------------------------------------------------------


@pytest.fixture(scope="module")
def holmes(novels):
    from w2v.corpus.readers import LineSentence

    return list(LineSentence(novels / "doyle_adventures_of_sherlock_holmes.txt", lowercase=True,
                             tokenize_text=True))


@pytest.mark.parametrize("update", ["kernel", "batched"])
def test_frozen_pretrained_rows_stay_exactly_and_the_rest_train(trained, holmes, update):
    pretrained = trained.wv  # vectors learned on Pride and Prejudice
    model = Word2Vec(holmes, vector_size=50, min_count=3, epochs=2, seed=3, update=update,
                     init_vectors=pretrained, freeze_init=True)
    shared = [w for w in model.wv.index_to_key if w in pretrained.key_to_index]
    fresh = [w for w in model.wv.index_to_key if w not in pretrained.key_to_index]
    assert len(shared) > 1000 and len(fresh) > 1000
    assert np.array_equal(model.wv[shared], pretrained[shared])  # bit for bit
    # The rest trained: Holmes's own words moved away from where the seed put them.
    untrained = Word2Vec(vector_size=50, min_count=3, seed=3, update=update)
    untrained.build_vocab(holmes)
    assert not np.allclose(model.wv[fresh], untrained.wv[fresh], atol=1e-3)
    assert model.wv.most_similar("holmes", topn=50)  # a usable model, not a crash


def test_unfrozen_pretrained_rows_start_there_and_move(trained, holmes):
    model = Word2Vec(vector_size=50, min_count=3, epochs=1, seed=3, init_vectors=trained.wv)
    model.build_vocab(holmes)
    shared = [w for w in model.wv.index_to_key if w in trained.wv.key_to_index]
    assert np.array_equal(model.wv[shared], trained.wv[shared])
    model.train()
    moved = np.linalg.norm(model.wv[shared] - trained.wv[shared], axis=1)
    assert (moved > 0).mean() > 0.9


def test_intersect_word2vec_format_locks_the_files_words_as_gensim(trained, holmes, tmp_path):
    path = tmp_path / "pretrained.txt"
    trained.wv.save_word2vec_format(path)
    model = Word2Vec(vector_size=50, min_count=3, epochs=1, seed=3)
    model.build_vocab(holmes)
    seeded = model.intersect_word2vec_format(path, lockf=0.0)
    shared = [w for w in model.wv.index_to_key if w in trained.wv.key_to_index]
    assert seeded == len(shared)
    model.train()
    assert np.array_equal(model.wv[shared], trained.wv[shared])
    # Saved and loaded, the lock factors stay: a resumed or further run keeps them frozen.
    model.save(tmp_path / "model.w2v")
    again = Word2Vec.load(tmp_path / "model.w2v")
    again.train(holmes[:300], epochs=1)
    assert np.array_equal(again.wv[shared], trained.wv[shared])


def test_pretrained_vectors_that_cannot_fit_are_refused(trained, holmes):
    with pytest.raises(W2VError, match="50 dimensions, the model 20: pass vector_size=50"):
        Word2Vec(holmes[:200], vector_size=20, init_vectors=trained.wv)
    with pytest.raises(W2VError, match="pass init_vectors"):
        Word2Vec(holmes[:200], vector_size=50, freeze_init=True)
    model = Word2Vec(vector_size=50)
    with pytest.raises(W2VError, match="call build_vocab"):
        model.intersect_word2vec_format("unused.txt")
    with pytest.raises(W2VError, match="update 'kernel', 'fused' or 'batched'"):
        Word2Vec(holmes[:200], vector_size=50, init_vectors=trained.wv, update="autograd",
                 optimizer="adam")
    with pytest.raises(W2VError, match="lockf=2"):
        Word2Vec(holmes[:200], vector_size=50, epochs=1).intersect_word2vec_format(
            "unused.txt", lockf=2)
