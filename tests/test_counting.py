"""w2v.corpus.counting: the one counting routine, with and without gensim's pruning."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import w2v.corpus.counting
from w2v.corpus.counting import RULE_DISCARD, RULE_KEEP, count_words, keep_vocab_item


def gensim_count(sentences, max_vocab_size=None, trim_rule=None):
    """gensim's scan_vocab and prune_vocab, written plainly: the reference for the counts."""
    counts: Counter = Counter()
    min_reduce = 1
    for sentence in sentences:
        counts.update(sentence)
        if max_vocab_size is not None and len(counts) > max_vocab_size:
            for word in [w for w, c in counts.items()
                         if not keep_vocab_item(w, c, min_reduce + 1, trim_rule)]:
                del counts[word]
            min_reduce += 1
    return dict(counts)


class Ids:
    def __init__(self):
        self.blocks = []

    def write(self, block):
        self.blocks.append(block.copy())


def test_counts_in_first_seen_order_and_writes_provisional_ids(monkeypatch):
    monkeypatch.setattr(w2v.corpus.counting, "BATCH_WORDS", 2)
    monkeypatch.setattr(w2v.corpus.counting, "BLOCK_IDS", 3)
    ids = Ids()
    counted = count_words([["b", "a", "b"], [], ["c", "a"]], ids)
    assert counted.words == ["b", "a", "c"]
    assert counted.counts.tolist() == [2, 2, 1]
    assert counted.starts.tolist() == [0, 3, 3, 5]
    assert counted.corpus_words == 5
    assert np.concatenate(ids.blocks).tolist() == [0, 1, 0, 2, 1]


def test_max_vocab_size_prunes_rare_words_while_counting():
    rng = np.random.default_rng(0)
    common = [f"c{i}" for i in range(5)]
    sentences = [common * 20 + [f"rare{rng.integers(1e9)}"] for _ in range(200)]
    counted = count_words(sentences, max_vocab_size=50)
    counts = counted.as_dict()
    assert len(counts) <= 51
    assert all(counts[w] == 20 * 200 for w in common)
    assert counted.corpus_words == 200 * 101




words = st.sampled_from([f"w{i}" for i in range(12)])


@settings(max_examples=80, deadline=None, database=None)
# gensim prunes after every sentence, an empty one too: found by this test once.
@example(sentences=[["w0", "w0", "w1", "w1"], []], max_vocab_size=1, batch=1, keep=None,
         discard=None)
@given(sentences=st.lists(st.lists(words, max_size=8), max_size=30),
       max_vocab_size=st.one_of(st.none(), st.integers(1, 8)), batch=st.integers(1, 6),
       keep=st.sampled_from([None, "w0", "w1"]), discard=st.sampled_from([None, "w2"]))
def test_counts_equal_gensims_pruning_count(sentences, max_vocab_size, batch, keep, discard):
    def rule(word, count, min_count):
        return RULE_KEEP if word == keep else RULE_DISCARD if word == discard else 0

    trim_rule = rule if keep or discard else None
    expected = gensim_count(sentences, max_vocab_size, trim_rule)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(w2v.corpus.counting, "BATCH_WORDS", batch)
        counted = count_words(sentences, max_vocab_size=max_vocab_size, trim_rule=trim_rule)
    assert counted.as_dict() == expected
    assert list(counted.as_dict()) == list(expected)  # the same first-seen order
    assert counted.corpus_words == sum(map(len, sentences))


def test_ids_are_written_until_the_first_pruning_only():
    sentences = [["a", "b"], ["a", "c"], ["d", "a"]]
    ids = Ids()
    counted = count_words(sentences, ids, max_vocab_size=4)
    assert not counted.pruned and np.concatenate(ids.blocks).tolist() == [0, 1, 0, 2, 3, 0]
    ids = Ids()
    counted = count_words(sentences, ids, max_vocab_size=2)
    # After ["a", "c"] three words are held: "b" and "c" (seen once) go, and no more ids come.
    assert counted.pruned and counted.as_dict() == {"a": 3, "d": 1}
    assert np.concatenate(ids.blocks).tolist() == [0, 1, 0, 2]
