"""w2v.corpus.tables: word2vec.c's subsampling, the noise alias table and Huffman codes."""

import numpy as np

from w2v.corpus.tables import (
    alias_shares,
    huffman_tree,
    keep_probability,
    noise_alias,
    noise_distribution,
)


def test_keep_probability_is_word2vec_formula():
    counts = np.array([1000, 100, 10, 1])
    t = 1e-2
    f = counts / counts.sum()
    expected = np.minimum(np.sqrt(t / f) + t / f, 1.0)
    np.testing.assert_allclose(keep_probability(counts, t), expected)
    assert keep_probability(counts, 0).tolist() == [1, 1, 1, 1]
    assert keep_probability(counts, t)[0] < 0.2


def test_the_alias_table_draws_count_to_the_three_quarters_exactly():
    counts = np.array([1000, 300, 50, 7, 1])
    p = noise_distribution(counts, 0.75)
    np.testing.assert_allclose(p, counts**0.75 / (counts**0.75).sum())
    prob, alias = noise_alias(counts, 0.75)
    assert prob.dtype == np.float32 and alias.dtype == np.int32
    np.testing.assert_allclose(alias_shares(prob, alias), p, rtol=1e-6)
    rng = np.random.default_rng(1)
    slot = rng.integers(len(prob), size=200_000)
    draws = np.where(rng.random(200_000) < prob[slot], slot, alias[slot])
    observed = np.bincount(draws, minlength=len(counts)) / len(draws)
    # Binomial standard error at 200k draws is below 0.0012 for every word.
    np.testing.assert_allclose(observed, p, atol=0.005)


def test_every_word_of_a_zipf_vocabulary_is_drawn_at_its_share():
    # A table of 1e7 slots gives the rarer half of such a vocabulary no slot at all.
    words = 300_000
    counts = np.maximum(5, 10**9 // np.arange(1, words + 1))
    shares = alias_shares(*noise_alias(counts))
    p = noise_distribution(counts)
    assert shares.min() > 0
    np.testing.assert_allclose(shares, p, rtol=1e-3)


def test_huffman_codes_of_a_known_vocabulary():
    # Worked by hand through word2vec.c's CreateBinaryTree for counts 5, 3, 2, 1.
    code, point, path = huffman_tree(np.array([5, 3, 2, 1]))
    codes = [code[path[w]:path[w + 1]].tolist() for w in range(4)]
    points = [point[path[w]:path[w + 1]].tolist() for w in range(4)]
    assert codes == [[0], [1, 1], [1, 0, 1], [1, 0, 0]]
    assert points == [[2], [2, 1], [2, 1, 0], [2, 1, 0]]  # root (V-2) first


def test_huffman_codes_are_prefix_free_and_shortest_for_frequent_words():
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
