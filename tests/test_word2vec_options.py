"""gensim 4's remaining Word2Vec options: callbacks, the latest loss, predict_output_word, online
vocabulary updates, build_vocab_from_freq, trim_rule, sorted_vocab, null_word, train()'s totals."""

import warnings

import numpy as np
import pytest
import torch

from w2v import Word2Vec
from w2v.corpus.tables import huffman_tree
from w2v.corpus.vocab import NULL_WORD, RULE_DEFAULT, RULE_DISCARD, RULE_KEEP
from w2v.errors import W2VError

FAST = dict(vector_size=16, epochs=1, workers=1, seed=3)


@pytest.fixture(scope="module")
def small(austen):
    return austen[:1500]


class Recorder:
    """A gensim CallbackAny2Vec look-alike that logs each call and what the model held then."""

    def __init__(self):
        self.calls = []

    def _log(self, event, model):
        self.calls.append((event, model, len(model.history), model.get_latest_training_loss()))

    def on_train_begin(self, model):
        self._log("train_begin", model)

    def on_epoch_begin(self, model):
        self._log("epoch_begin", model)

    def on_epoch_end(self, model):
        self._log("epoch_end", model)

    def on_train_end(self, model):
        self._log("train_end", model)


class EpochEndOnly:
    def __init__(self):
        self.vectors = []

    def on_epoch_end(self, model):
        self.vectors.append(model.wv["elizabeth"].copy())


def test_callbacks_fire_in_order_with_the_model(small):
    recorder, partial = Recorder(), EpochEndOnly()
    model = Word2Vec(small, min_count=2, callbacks=[recorder, partial], **{**FAST, "epochs": 2})
    events = [c[0] for c in recorder.calls]
    assert events == ["train_begin", "epoch_begin", "epoch_end", "epoch_begin", "epoch_end",
                      "train_end"]
    assert all(c[1] is model for c in recorder.calls)
    assert [c[2] for c in recorder.calls] == [0, 0, 1, 1, 2, 2]  # history includes the epoch
    # An object with only some of the methods gets only those, and sees the vectors move.
    assert len(partial.vectors) == 2 and not np.array_equal(*partial.vectors)
    np.testing.assert_array_equal(partial.vectors[-1], model.wv["elizabeth"])
    # A later train() takes its own callbacks; the model keeps none.
    again = Recorder()
    model.train(epochs=1, callbacks=(again,))
    assert [c[0] for c in again.calls] == ["train_begin", "epoch_begin", "epoch_end",
                                           "train_end"]
    assert len(recorder.calls) == 6


def test_latest_training_loss_is_the_summed_loss_of_the_latest_epoch(small):
    model = Word2Vec(min_count=2, negative=5, **{**FAST, "epochs": 2})
    model.build_vocab(small)
    assert model.get_latest_training_loss() == 0.0
    recorder = Recorder()
    trained, raw = model.train(small, total_examples=model.corpus_count, epochs=2,
                               compute_loss=True, callbacks=[recorder])
    per_epoch = [c[3] for c in recorder.calls if c[0] == "epoch_end"]
    for loss, h in zip(per_epoch, model.history, strict=True):
        assert loss == pytest.approx(h.loss * h.examples, rel=1e-9)
        # Before training every example costs (1 + negative) * log 2; the sum is no more.
        assert 0 < loss <= h.examples * 6 * np.log(2)
    assert per_epoch[0] != per_epoch[1]
    assert model.get_latest_training_loss() == per_epoch[-1]
    assert model.epoch_losses == [h.loss for h in model.history]
    # gensim's return shape: (words trained, raw words read) over the call's epochs.
    assert trained == sum(h.examples for h in model.history)
    assert raw == 2 * model.corpus_total_words == 2 * sum(len(s) for s in small)


def toy_corpus():
    triples = [["red", "apple", "pie"], ["blue", "sky", "line"], ["green", "grass", "field"],
               ["black", "cat", "food"], ["white", "snow", "ball"]]
    return [triples[i % 5] for i in range(600)]


def test_predict_output_word_ranks_the_missing_word_first():
    model = Word2Vec(toy_corpus(), min_count=1, window=1, sample=0, negative=5, alpha=0.05,
                     **{**FAST, "epochs": 5})
    top = model.predict_output_word(["red", "pie"], topn=3)
    assert [w for w, _ in top][0] == "apple"
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True)
    assert all(0 < p <= 1 for p in probs) and sum(probs) <= 1 + 1e-9
    everything = model.predict_output_word(["red", "pie"], topn=len(model.vocab))
    assert sum(p for _, p in everything) == pytest.approx(1.0)
    # Ids work like words; unknown words are skipped; none known gives None.
    red, pie = model.vocab.index["red"], model.vocab.index["pie"]
    assert model.predict_output_word([red, pie, "unknown"], topn=3) == top
    assert model.predict_output_word(["unknown", "words"]) is None
    hs_only = Word2Vec(toy_corpus(), min_count=1, hs=1, negative=0, **FAST)
    with pytest.raises(W2VError, match="negative"):
        hs_only.predict_output_word(["red", "pie"])


def test_update_adds_new_words_and_keeps_old_ids_moving(austen):
    old_corpus = austen[:1500]
    new_corpus = austen[1500:3000] + [["zyzzyva", "quokka", "elizabeth"]] * 5
    model = Word2Vec(old_corpus, min_count=3, **FAST)
    old_words, old_counts = list(model.vocab.words), model.vocab.counts.copy()
    old_vectors = model.wv.vectors.copy()
    model.build_vocab(new_corpus, update=True)
    vocab = model.vocab
    assert vocab.words[: len(old_words)] == old_words  # ids never move
    added = vocab.words[len(old_words):]
    assert "zyzzyva" in added and "quokka" in added and "elizabeth" not in added
    new_counts = {}
    for sentence in new_corpus:
        for w in sentence:
            new_counts[w] = new_counts.get(w, 0) + 1
    assert all(new_counts[w] >= 3 for w in added)
    # gensim's order: new words as first seen in the new corpus, after the old ones.
    assert added == sorted(added, key=list(new_counts).index)
    expected = old_counts + np.array([new_counts.get(w, 0) for w in old_words])
    np.testing.assert_array_equal(vocab.counts[: len(old_words)], expected)
    assert vocab.counts[vocab.index["zyzzyva"]] == 5
    # Tables grew: old rows kept, new input rows word2vec.c-initialised, new output rows zero.
    assert model.wv.vectors.shape == (len(vocab), 16)
    np.testing.assert_array_equal(model.wv.vectors[: len(old_words)], old_vectors)
    fresh = model.wv.vectors[len(old_words):]
    assert np.abs(fresh).max() <= 0.5 / 16 and np.abs(fresh).max() > 0
    assert torch.count_nonzero(model.model.out_embed.weight[len(old_words):]) == 0
    assert model.corpus_count == len(new_corpus)
    model.train(epochs=1)
    after = model.wv.vectors
    assert not np.array_equal(after[: len(old_words)], old_vectors)
    assert not np.array_equal(after[len(old_words):], fresh)
    assert model.wv.index_to_key == vocab.words
    assert model.wv.most_similar("zyzzyva", topn=1)


def test_update_is_refused_without_a_vocabulary_or_with_hs(small):
    with pytest.raises(W2VError, match="existing vocabulary"):
        Word2Vec(min_count=2, **FAST).build_vocab(small, update=True)
    hs = Word2Vec(small[:300], min_count=2, hs=1, negative=0, **FAST)
    with pytest.raises(W2VError, match="hs=1"):
        hs.build_vocab(small[300:600], update=True)


def test_build_vocab_from_freq_then_train_on_a_corpus(small):
    counts = {}
    for sentence in small:
        for w in sentence:
            counts[w] = counts.get(w, 0) + 1
    model = Word2Vec(min_count=3, **FAST)
    model.build_vocab_from_freq(counts, corpus_count=len(small))
    assert model.vocab.words == [w for w, c in sorted(counts.items(), key=lambda kv: -kv[1])
                                 if c >= 3]
    assert model.corpus_count == len(small)
    with pytest.raises(W2VError, match="no corpus"):
        model.train()
    model.train(small)
    assert np.isfinite(model.epoch_losses[0])
    # An update from frequencies appends the new words.
    before = len(model.vocab)
    model.build_vocab_from_freq({"the": 10, "novelword": 4, "rareword": 1}, update=True)
    assert model.vocab.words[before:] == ["novelword"]
    assert model.vocab.counts[model.vocab.index["the"]] == counts["the"] + 10


def test_trim_rule_keeps_and_discards(small):
    def rule(word, count, min_count):
        if word == "the":
            return RULE_DISCARD
        if word == "netherfield":
            return RULE_KEEP
        return RULE_DEFAULT

    model = Word2Vec(small, min_count=20, trim_rule=rule, **FAST)
    assert "the" not in model.vocab and "netherfield" in model.vocab
    assert "elizabeth" in model.vocab  # RULE_DEFAULT: min_count decides
    assert model.corpus_count == len(small)
    # The same rule applies when pruning while counting (max_vocab_size) and to from_freq.
    pruned = Word2Vec(min_count=20, max_vocab_size=100_000, **FAST)
    pruned.build_vocab(small, trim_rule=rule)
    assert pruned.vocab.words == model.vocab.words
    freq = Word2Vec(min_count=1, **FAST).build_vocab_from_freq({"the": 5, "cat": 5}, trim_rule=rule)
    assert freq.vocab.words == ["cat"]


def test_rule_constants_are_gensims():
    gensim_utils = pytest.importorskip("gensim.utils")
    assert (RULE_DEFAULT, RULE_DISCARD, RULE_KEEP) == (
        gensim_utils.RULE_DEFAULT, gensim_utils.RULE_DISCARD, gensim_utils.RULE_KEEP)


def test_sorted_vocab_0_keeps_first_seen_order(small):
    model = Word2Vec(small, min_count=3, sorted_vocab=0, **FAST)
    seen = []
    for sentence in small:
        seen.extend(w for w in sentence if w in model.vocab and w not in seen)
    assert model.vocab.words == list(dict.fromkeys(seen))
    assert model.vocab.words != Word2Vec(small, min_count=3, **FAST).vocab.words
    # Hierarchical softmax still gets word2vec.c's codes: those of the sorted order, per word.
    hs = Word2Vec(small[:400], min_count=3, sorted_vocab=0, hs=1, negative=0, **FAST)
    assert np.isfinite(hs.epoch_losses[0])


def test_huffman_codes_follow_each_word_in_any_order():
    counts = np.array([2, 9, 1, 5, 5, 3])
    order = np.argsort(-counts, kind="stable")
    code_s, point_s, path_s = huffman_tree(counts[order])
    code, point, path = huffman_tree(counts)
    for rank, word in enumerate(order):
        assert code[path[word]:path[word + 1]].tolist() == \
            code_s[path_s[rank]:path_s[rank + 1]].tolist()
        assert point[path[word]:path[word + 1]].tolist() == \
            point_s[path_s[rank]:path_s[rank + 1]].tolist()


def test_null_word_adds_the_pseudo_word_last(small, tmp_path):
    model = Word2Vec(small[:400], min_count=2, null_word=1, **FAST)
    assert model.vocab.words[-1] == NULL_WORD == "\0"
    assert model.vocab.counts[-1] == 1
    assert model.wv.vectors.shape[0] == len(model.vocab)
    plain = Word2Vec(small[:400], min_count=2, **FAST)
    assert model.vocab.words[:-1] == plain.vocab.words
    path = tmp_path / "model.w2v"
    model.save(path)
    assert Word2Vec.load(path).vocab.words == model.vocab.words
    # An update does not add it twice.
    model.build_vocab(small[400:800], update=True)
    assert model.vocab.words.count(NULL_WORD) == 1


def test_train_accepts_gensims_totals_and_warns_when_they_disagree(small):
    model = Word2Vec(min_count=2, **FAST)
    model.build_vocab(small[:300])
    assert (model.epochs, model.vector_size) == (1, 16)  # settings read as attributes
    with pytest.raises(W2VError, match="epochs"):
        model.epochs = 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.train(small[:300], total_examples=model.corpus_count,
                    total_words=model.corpus_total_words, epochs=model.epochs,
                    start_alpha=0.02, end_alpha=0.001)
    with pytest.warns(UserWarning, match="total_examples"):
        model.train(small[:300], total_examples=10 * model.corpus_count, epochs=1)
    with pytest.warns(UserWarning, match="total_words"):
        model.train(small[:300], total_words=3, epochs=1)
    assert len(model.history) == 3
