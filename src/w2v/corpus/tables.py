"""The sampling tables built from word counts: what training draws from and by.

- `keep_probability`: word2vec.c's subsampling of frequent words;
- `noise_distribution` and `noise_alias`: the smoothed unigram distribution of negative
  sampling and its alias table (exact draws in O(1));
- `huffman_tree`: word2vec.c's Huffman codes for hierarchical softmax.
"""

import numpy as np

from w2v.errors import W2VError


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word: sqrt(t/f) + t/f, capped at 1.

    word2vec.c's subsampling, with f the word's share of all in-vocabulary words and t = sample;
    sample = 0 keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample == 0:
        return np.ones_like(counts)
    ratio = sample * counts.sum() / counts  # t / f
    return np.minimum(np.sqrt(ratio) + ratio, 1.0)


def noise_distribution(counts: np.ndarray, ns_exponent: float = 0.75) -> np.ndarray:
    """P(w) proportional to count(w) ** ns_exponent: word2vec's smoothed unigram noise."""
    weights = np.asarray(counts, dtype=np.float64) ** ns_exponent
    return weights / weights.sum()


def noise_alias(counts: np.ndarray, ns_exponent: float = 0.75,
                build=None) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table of the noise distribution: (prob float32 (V,), alias int32 (V,)).

    A draw takes a uniform slot i, then keeps i with probability prob[i] and takes alias[i]
    otherwise: O(1) per draw and exact, every word drawn at its share of count**ns_exponent
    (up to float32 rounding), however rare. A pre-generated table of T slots (word2vec.c's,
    1e8) cannot be: on a 10M-word Zipf vocabulary the rarest share is about 2.5e-8, a few slots
    of 1e8 or none of 1e7. Built by Vose's method: the words below their fair share 1/V take
    their remainder from one above it, which joins those below if it falls below. `build`,
    given, does the same from the distribution (training passes the compiled kernel's
    `alias_table`; this loop stays as the fallback and its reference in the tests).
    """
    p = noise_distribution(counts, ns_exponent)
    if build is not None:
        return build(p)
    n = len(p)
    scaled = (p * n).tolist()
    prob, alias = [1.0] * n, list(range(n))
    small = [i for i, q in enumerate(scaled) if q < 1.0]
    large = [i for i, q in enumerate(scaled) if q >= 1.0]
    while small and large:
        s, big = small.pop(), large[-1]
        prob[s], alias[s] = scaled[s], big
        scaled[big] -= 1.0 - scaled[s]
        if scaled[big] < 1.0:
            small.append(large.pop())
    return np.array(prob, dtype=np.float32), np.array(alias, dtype=np.int32)


def alias_shares(prob: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """The distribution an alias table draws from: each word's chance per draw."""
    n = len(prob)
    kept = prob.astype(np.float64) / n
    return kept + np.bincount(alias, weights=1.0 / n - kept, minlength=n)


def huffman_tree(counts, build=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """word2vec.c's Huffman tree over the words' counts, for hierarchical softmax.

    Returns (code, point, path): word w's code bits are code[path[w]:path[w+1]] (root first) and
    the inner nodes on its path, numbered 0..V-2 with the root V-2, are point[path[w]:path[w+1]].
    Built as CreateBinaryTree does (two cursors over the sorted counts), so ties break alike and
    the codes equal the C tool's. Counts in another order (sorted_vocab=0, a vocabulary grown by
    an update) get the tree of their stably sorted order, each word keeping its own code.

    `build`, given, makes the tree of sorted counts instead of the Python loop here (training
    passes the compiled kernel's `huffman`, the same algorithm in O(V) memory of plain arrays;
    this loop stays as the fallback without a compiler and as its reference in the tests).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = len(counts)
    if n < 2:
        raise W2VError("hierarchical softmax needs at least 2 words in the vocabulary")
    if np.any(counts[1:] > counts[:-1]):
        order = np.argsort(-counts, kind="stable")  # order[rank] = word
        code, point, path = huffman_tree(counts[order], build)
        rank_lengths = np.diff(path)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        new_path = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(rank_lengths[rank], out=new_path[1:])
        pick = np.concatenate([np.arange(path[r], path[r + 1]) for r in rank])
        return code[pick], point[pick], new_path
    if build is not None:
        return build(counts)
    count = np.concatenate([counts, np.full(n, np.iinfo(np.int64).max // 4)]).tolist()
    parent = [0] * (2 * n)
    binary = [0] * (2 * n)
    leaf, inner = n - 1, n  # cursors: smallest unused leaf (moving left), next inner node
    for a in range(n - 1):
        picks = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[inner]:
                picks.append(leaf)
                leaf -= 1
            else:
                picks.append(inner)
                inner += 1
        count[n + a] = count[picks[0]] + count[picks[1]]
        parent[picks[0]] = parent[picks[1]] = n + a
        binary[picks[1]] = 1
    root = 2 * n - 2
    codes: list[int] = []
    points: list[int] = []
    lengths: list[int] = []
    for word in range(n):
        bits, nodes = [], []
        node = word
        while node != root:
            bits.append(binary[node])
            node = parent[node]
            nodes.append(node - n)
        codes.extend(reversed(bits))
        points.extend(reversed(nodes))
        lengths.append(len(bits))
    path = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=path[1:])
    return np.array(codes, dtype=np.int8), np.array(points, dtype=np.int32), path
