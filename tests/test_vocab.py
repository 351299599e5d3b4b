import numpy as np
import pytest

from w2v.corpus.vocab import (
    Vocab,
    count_words,
    keep_probability,
    noise_distribution,
    noise_table,
)
from w2v.errors import W2VError

SENTENCES = [["a", "b", "a", "c"], ["a", "b", "d"], ["e"]]


def test_build_orders_by_descending_count_and_applies_min_count():
    vocab = Vocab.build(SENTENCES, min_count=2)
    assert vocab.words == ["a", "b"]
    assert vocab.counts.tolist() == [3, 2]
    assert vocab.corpus_words == 8
    assert vocab.total_words == 5
    assert vocab.index == {"a": 0, "b": 1}


def test_ties_keep_first_seen_order():
    vocab = Vocab.build([["x", "y", "z"]], min_count=1)
    assert vocab.words == ["x", "y", "z"]


def test_no_word_reaching_min_count_names_the_fix():
    with pytest.raises(W2VError, match="lower min_count"):
        Vocab.build(SENTENCES, min_count=10)


def test_empty_corpus_is_an_error():
    with pytest.raises(W2VError, match="empty"):
        Vocab.build([[], []])


def test_max_vocab_size_prunes_rare_words_while_counting():
    rng = np.random.default_rng(0)
    common = [f"c{i}" for i in range(5)]
    sentences = [common * 20 + [f"rare{rng.integers(1e9)}"] for _ in range(200)]
    counts, seen = count_words(sentences, max_vocab_size=50)
    assert len(counts) <= 51
    assert all(counts[w] == 20 * 200 for w in common)
    assert seen == 200 * 101


def test_max_final_vocab_raises_min_count():
    sentences = [["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2]
    vocab = Vocab.build(sentences, min_count=1, max_final_vocab=2)
    assert vocab.words == ["a", "b"]


def test_save_load_round_trip_in_c_format(tmp_path):
    vocab = Vocab.build(SENTENCES, min_count=1)
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    assert path.read_text().splitlines()[:2] == ["a 3", "b 2"]
    loaded = Vocab.load(path)
    assert loaded.words == vocab.words
    assert loaded.counts.tolist() == vocab.counts.tolist()


def test_load_rejects_a_malformed_line_with_its_number(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a 3\nb two\n")
    with pytest.raises(W2VError, match=r"vocab.txt:2"):
        Vocab.load(path)


def test_keep_probability_is_word2vec_formula():
    counts = np.array([1000, 100, 10, 1])
    t = 1e-2
    f = counts / counts.sum()
    expected = np.minimum(np.sqrt(t / f) + t / f, 1.0)
    np.testing.assert_allclose(keep_probability(counts, t), expected)
    assert keep_probability(counts, 0).tolist() == [1, 1, 1, 1]
    assert keep_probability(counts, t)[0] < 0.2


def test_noise_table_frequencies_follow_count_to_the_three_quarters():
    counts = np.array([1000, 300, 50, 7, 1])
    p = noise_distribution(counts, 0.75)
    np.testing.assert_allclose(p, counts**0.75 / (counts**0.75).sum())
    table = noise_table(counts, 0.75, size=1_000_000)
    share = np.bincount(table, minlength=len(counts)) / len(table)
    np.testing.assert_allclose(share, p, atol=2e-6)
    draws = table[np.random.default_rng(1).integers(len(table), size=200_000)]
    observed = np.bincount(draws, minlength=len(counts)) / len(draws)
    # Binomial standard error at 200k draws is below 0.0012 for every word.
    np.testing.assert_allclose(observed, p, atol=0.005)


def test_huffman_codes_of_a_known_vocabulary():
    # Worked by hand through word2vec.c's CreateBinaryTree for counts 5, 3, 2, 1.
    from w2v.corpus.vocab import huffman_tree

    code, point, path = huffman_tree(np.array([5, 3, 2, 1]))
    codes = [code[path[w]:path[w + 1]].tolist() for w in range(4)]
    points = [point[path[w]:path[w + 1]].tolist() for w in range(4)]
    assert codes == [[0], [1, 1], [1, 0, 1], [1, 0, 0]]
    assert points == [[2], [2, 1], [2, 1, 0], [2, 1, 0]]  # root (V-2) first


def test_huffman_codes_are_prefix_free_and_shortest_for_frequent_words():
    from w2v.corpus.vocab import huffman_tree

    counts = np.sort(np.random.default_rng(0).integers(1, 1000, size=300))[::-1]
    code, point, path = huffman_tree(counts)
    words = ["".join(map(str, code[path[w]:path[w + 1]])) for w in range(300)]
    assert len(set(words)) == 300
    assert not any(a != b and b.startswith(a) for a in words for b in words)
    lengths = np.diff(path)
    assert lengths[0] <= lengths[-1]
    # The expected code length is within one bit of the entropy bound (Huffman's guarantee).
    p = counts / counts.sum()
    assert (p * lengths).sum() < -(p * np.log2(p)).sum() + 1
    assert point.max() == 298 and point.min() >= 0
