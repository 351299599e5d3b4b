"""w2v.corpus.tables: word2vec.c's subsampling, noise table and Huffman codes."""

import numpy as np

from w2v.corpus.tables import huffman_tree, keep_probability, noise_distribution, noise_table


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
