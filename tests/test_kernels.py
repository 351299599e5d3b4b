"""The compiled kernel against a Python transcription of word2vec.c's loop.

The transcription shares the kernel's random stream (word2vec.c's LCG, multiply-shift draws) and
its deliberate differences from word2vec.c (a noise word equal to the target is redrawn; noise
words are drawn exactly by an alias table rather than from a table of 1e8 slots), so
the two must agree to rounding; everything else follows word2vec.c's TrainModelThread."""

import math

import numpy as np
import pytest
import torch

from w2v.corpus.tables import alias_shares, huffman_tree, noise_alias, noise_distribution
from w2v.training.kernels import cpu_kernel, noise_slots, table_builder
from w2v.vectors.ngrams import bags

NO_TREE = (torch.empty(0, dtype=torch.int8), torch.empty(0, dtype=torch.int32),
           torch.empty(0, dtype=torch.int64))

MASK64 = (1 << 64) - 1


class Lcg:
    def __init__(self, seed, thread=0):
        self.state = (seed * 1000003 + thread * 7919 + 1) & MASK64

    def next(self):
        self.state = (self.state * 25214903917 + 11) & MASK64
        return self.state

    def below(self, n):
        return ((self.next() >> 32) * n) >> 32

    def uniform(self):
        return np.float32(((self.next() >> 16) & 0xFFFF) / 65536.0)

    def uniform24(self):
        return np.float32((self.next() >> 40) * (1.0 / 16777216.0))


def reference(syn0, syn1neg, syn1, ids, starts, keep, sampler, tree, window, negative, hs, sg,
              cbow_mean, alpha, seed, bags=None):
    """word2vec.c's CBOW / skip-gram with negative sampling and/or hierarchical softmax, for one
    thread at a fixed learning rate; with `bags` (rows, starts), fastText's input: each word the
    mean of its rows, each row taking the whole error (once per time it is in the bag)."""
    code, point, path = tree

    def rows(w):
        return [w] if bags is None else list(bags[0][bags[1][w]:bags[1][w + 1]])
    rng = Lcg(seed)
    totals = {"loss": 0.0, "examples": 0}

    def learn(h, out, label, err, probs, tree_node):  # probs collects log-probabilities
        f = float(h @ out)
        e = math.exp(-abs(f))
        sigmoid = 1 / (1 + e) if f >= 0 else e / (1 + e)
        margin = -f if label else f  # log P(label) = -softplus(margin)
        probs.append(-(max(margin, 0.0) + math.log1p(e)))
        # word2vec.c's MAX_EXP = 6: no update for a tree node, nor for a right enough output.
        if abs(f) >= 6 and (tree_node or (label == 1) == (f >= 0)):
            return
        g = np.float32((label - sigmoid) * alpha)
        err += g * out
        out += g * h

    def predict(word, h, noise):
        err, probs = np.zeros_like(h), []
        if hs:
            for d in range(path[word], path[word + 1]):
                learn(h, syn1[point[d]], 1.0 if code[d] == 0 else 0.0, err, probs, True)
        for d, target in enumerate([word] + noise if negative else []):
            learn(h, syn1neg[target], 1.0 if d == 0 else 0.0, err, probs, False)
        totals["loss"] -= sum(probs)
        totals["examples"] += 1
        return err

    def draw(word):
        noise = []
        for _ in range(negative):
            target = word
            while target == word:  # a slot and a coin of the alias table (prob, alias)
                slot = rng.below(len(sampler[0]))
                target = slot if rng.uniform24() < sampler[0][slot] else sampler[1][slot]
            noise.append(target)
        return noise

    for s in range(len(starts) - 1):
        sen = [w for w in ids[starts[s]:starts[s + 1]]
               if keep[w] >= 1 or keep[w] > rng.uniform()]
        for pos, word in enumerate(sen):
            reach = 1 + rng.below(window)
            lo, hi = max(0, pos - reach), min(len(sen) - 1, pos + reach)
            if hi == lo:
                continue
            context = [sen[c] for c in range(lo, hi + 1) if c != pos]
            if sg:
                for w in context:
                    h = np.zeros_like(syn0[0])
                    for r in rows(w):
                        h += syn0[r]
                    noise = draw(word)
                    err = predict(word, h * np.float32(1 / len(rows(w))), noise)
                    for r in rows(w):
                        syn0[r] += err
                continue
            noise = draw(word)
            h = np.zeros_like(syn0[0])
            used = [r for w in context for r in rows(w)]
            for r in used:
                h += syn0[r]
            if cbow_mean:
                h = h * np.float32(1 / len(used))
            err = predict(word, h, noise)
            for r in used:
                syn0[r] += err
    return totals["loss"], totals["examples"]


def only(word: int, words: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An alias table whose every draw is `word`."""
    return torch.zeros(words), torch.full((words,), word, dtype=torch.int32)


def train(kernel, syn0, syn1neg, syn1, ids, starts, keep_prob, noise, code, point, path, *,
          window, negative, hs=False, sg=False, cbow_mean=True, shrink_windows=True,
          alpha_start=0.05, alpha_end=0.05, words_done=0.0, total_words, seed=1, workers=1,
          bag_rows=None, bag_start=None):
    """One kernel call, every argument by name as the training loop passes them (no bags:
    every word its own row)."""
    return kernel.train(
        syn0=syn0, syn1neg=syn1neg, syn1=syn1, ids=ids, starts=starts, keep_prob=keep_prob,
        noise=noise_slots(*noise), code=code, point=point, path=path,
        window=window, negative=negative,
        hs=hs, sg=sg, cbow_mean=cbow_mean, shrink_windows=shrink_windows,
        alpha_start=alpha_start, alpha_end=alpha_end, words_done=words_done,
        total_words=total_words, seed=seed, workers=workers,
        touched=torch.empty(0, dtype=torch.uint8),
        bag_rows=torch.empty(0, dtype=torch.int32) if bag_rows is None else bag_rows,
        bag_start=torch.empty(0, dtype=torch.int64) if bag_start is None else bag_start)


@pytest.fixture(scope="module")
def kernel():
    k = cpu_kernel()
    assert k is not None, "the CPU kernel must build wherever the tests run"
    return k


# Rows shorter than a vector, one vector, and gensim's 100: 12 vectors and an overlapping last one,
# summed in two passes of registers.
DIMS = [4, 8, 100]


@pytest.mark.parametrize("sg, hs, negative, cbow_mean", [
    (0, 0, 4, True), (0, 0, 4, False), (1, 0, 4, True), (0, 1, 0, True), (1, 1, 3, True),
])
@pytest.mark.parametrize("D", DIMS)
def test_kernel_is_word2vecs_loop(kernel, sg, hs, negative, cbow_mean, D):
    rng = np.random.default_rng(0)
    V = 12
    ids = rng.integers(V, size=300).astype(np.int32)
    counts = np.bincount(ids, minlength=V)
    order = np.argsort(-counts, kind="stable")  # ids must be in descending count order
    ids = np.argsort(order).astype(np.int32)[ids]
    counts = counts[order]
    starts = np.array([0, 7, 8, 150, 300], dtype=np.int64)  # includes a 1-word sentence
    keep = np.where(np.arange(V) < 2, 0.5, 1.0).astype(np.float32)  # words 0, 1 subsampled
    noise = noise_alias(np.arange(V, 0, -1) ** (4 / 3))  # shares falling V:V-1:...:1
    tree = huffman_tree(counts)
    syn0 = rng.uniform(-0.5 / D, 0.5 / D, size=(V, D)).astype(np.float32)
    syn1neg = rng.normal(0, 0.1, size=(V, D)).astype(np.float32)
    syn1 = rng.normal(0, 0.1, size=(V, D)).astype(np.float32)
    ref = [t.copy() for t in (syn0, syn1neg, syn1)]
    ref_loss, ref_examples = reference(*ref, ids, starts, keep, noise, tree, 3, negative, hs, sg,
                                       cbow_mean, 0.05, seed=42)
    loss, examples = train(
        kernel, *map(torch.from_numpy, (syn0, syn1neg, syn1, ids, starts, keep)),
        tuple(map(torch.from_numpy, noise)),
        *map(torch.from_numpy, tree), window=3, negative=negative, hs=bool(hs), sg=bool(sg),
        cbow_mean=cbow_mean, total_words=300.0, seed=42)
    assert examples == ref_examples
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for ours, theirs in zip((syn0, syn1neg, syn1), ref, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-6)


@pytest.mark.parametrize("sg, hs, cbow_mean", [(0, 0, True), (0, 0, False), (1, 0, True),
                                               (1, 1, True)])
@pytest.mark.parametrize("D", DIMS)
def test_with_subwords_the_kernel_is_fasttexts_loop(kernel, sg, hs, cbow_mean, D):
    # Seven buckets for the n-grams of twelve words: rows shared between words, and repeated
    # within a bag, as hashing makes them.
    rng = np.random.default_rng(1)
    words = ["the", "cat", "sat", "on", "mat", "cats", "sitting", "a", "hat", "at", "ate", "é"]
    V, buckets = len(words), 7
    ids = rng.zipf(1.5, size=200).clip(max=V) - 1  # ids in descending count order, mostly
    counts = np.sort(np.bincount(ids, minlength=V) + 1)[::-1]
    ids = ids.astype(np.int32)
    starts = np.array([0, 5, 6, 120, 200], dtype=np.int64)
    keep = np.where(np.arange(V) < 2, 0.5, 1.0).astype(np.float32)
    noise = noise_alias(np.arange(V, 0, -1) ** (4 / 3))
    tree = huffman_tree(counts) if hs else tuple(t.numpy() for t in NO_TREE)
    bag = bags(words, 2, 4, buckets)
    assert len(np.unique(bag[0][bag[0] >= V])) == buckets  # every bucket shared
    syn0 = rng.uniform(-1 / D, 1 / D, size=(V + buckets, D)).astype(np.float32)
    syn1neg = rng.normal(0, 0.1, size=(V, D)).astype(np.float32)
    syn1 = rng.normal(0, 0.1, size=(V, D)).astype(np.float32)
    ref = [t.copy() for t in (syn0, syn1neg, syn1)]
    start = syn0.copy()
    # A bag's sum is many rows: at CBOW's rate summed rows grow until float32 rounding, in
    # another order in the two, shows; a tenth of the rate keeps them comparable.
    alpha = 0.05 if cbow_mean else 0.005
    ref_loss, ref_examples = reference(*ref, ids, starts, keep, noise, tree, 3, 3, hs, sg,
                                       cbow_mean, alpha, seed=7, bags=bag)
    loss, examples = train(
        kernel, *map(torch.from_numpy, (syn0, syn1neg, syn1, ids, starts, keep)),
        tuple(map(torch.from_numpy, noise)), *map(torch.from_numpy, tree), window=3,
        negative=3, hs=bool(hs), sg=bool(sg), cbow_mean=cbow_mean, total_words=200.0, seed=7,
        alpha_start=alpha, alpha_end=alpha,
        bag_rows=torch.from_numpy(bag[0]), bag_start=torch.from_numpy(bag[1]))
    assert examples == ref_examples
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for ours, theirs in zip((syn0, syn1neg, syn1), ref, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-6)
    assert (syn0[V:] != start[V:]).any(1).all()  # every bucket's row learned


def test_a_bag_row_outside_the_table_is_refused(kernel):
    V, D = 3, 4
    with pytest.raises(RuntimeError, match="bag_rows"):
        train(kernel, torch.zeros(V + 2, D), torch.zeros(V, D), torch.empty(0),
              torch.zeros(4, dtype=torch.int32), torch.tensor([0, 4]), torch.ones(V),
              tuple(map(torch.from_numpy, noise_alias(np.ones(V)))), *NO_TREE, window=2,
              negative=1, total_words=4.0,
              bag_rows=torch.tensor([0, 5, 1, 2], dtype=torch.int32),
              bag_start=torch.tensor([0, 2, 3, 4]))


def test_learning_rate_decays_with_progress(kernel):
    # Same data, a schedule ending at zero: the update must be smaller than at a constant rate.
    ids = np.tile(np.arange(4, dtype=np.int32), 5000)
    starts = np.array([0, len(ids)], dtype=np.int64)
    moved = []
    for end in (0.05, 0.0):
        syn0 = torch.full((4, 4), 0.1)
        syn1 = torch.zeros(4, 4)
        train(kernel, syn0, syn1, torch.empty(0), torch.from_numpy(ids),
              torch.from_numpy(starts), torch.ones(4),
              tuple(map(torch.from_numpy, noise_alias(np.ones(4)))),
              *NO_TREE, window=2, negative=2, alpha_end=end, total_words=float(len(ids)))
        moved.append(float(syn1.abs().sum()))
    assert moved[1] < moved[0]


def test_loss_stays_exact_when_scores_saturate(kernel):
    # One example whose noise word scores 30: its loss is ~30 (float32 sigmoid rounds to 1).
    syn0 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    syn1 = torch.tensor([[0.0, 0.0], [30.0, 0.0]])
    ids = torch.tensor([0, 0], dtype=torch.int32)
    loss, examples = train(kernel, syn0, syn1, torch.empty(0), ids, torch.tensor([0, 2]),
                           torch.ones(2), only(1, 2), *NO_TREE,
                           window=1, negative=1, alpha_start=0.0, alpha_end=0.0,
                           total_words=2.0)
    assert examples == 2
    per_output = math.log(2) + (30 + math.log1p(math.exp(-30)))
    assert loss == pytest.approx(2 * per_output, rel=1e-5)


def test_outputs_right_beyond_max_exp_are_not_updated(kernel):
    # word2vec.c's sigmoid table ends at |score| = 6: the target scored 10 and the noise word
    # scored -10 are right enough to get no update; the target scored 0 is updated.
    syn0 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    syn1 = torch.tensor([[10.0, 0.0], [0.0, 0.0], [-10.0, 0.0]])
    before = syn1.clone()
    train(kernel, syn0, syn1, torch.empty(0), torch.tensor([0, 1], dtype=torch.int32),
          torch.tensor([0, 2]), torch.ones(3), only(2, 3), *NO_TREE,
          window=1, negative=1, alpha_start=0.1, alpha_end=0.1, total_words=2.0)
    assert torch.equal(syn1[0], before[0]) and torch.equal(syn1[2], before[2])
    assert not torch.equal(syn1[1], before[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_compiled_huffman_tree_is_the_python_transcriptions(seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 50, size=2000)  # many ties, in no order
    compiled = table_builder("huffman")
    for c in (counts, np.sort(counts)[::-1].copy(), np.array([3, 1])):
        expected = huffman_tree(c)
        got = huffman_tree(c, compiled)
        for e, g in zip(expected, got, strict=True):
            assert e.dtype == g.dtype and np.array_equal(e, g)


def test_the_compiled_alias_table_is_the_python_one_and_exact_on_10m_zipf_words():
    compiled = table_builder("alias_table")
    counts = np.random.default_rng(0).integers(1, 1000, size=5000)
    for e, g in zip(noise_alias(counts), noise_alias(counts, build=compiled), strict=True):
        assert e.dtype == g.dtype and np.array_equal(e, g)
    # word2vec.c's guarantee and more, where a table cannot give it: a 10M-word Zipf vocabulary
    # (counts 10^9 / rank, at least 5) drawn at every word's share of count**0.75 within 1%.
    words = 10_000_000
    counts = np.maximum(5, 10**9 // np.arange(1, words + 1))
    shares = alias_shares(*noise_alias(counts, build=compiled))
    p = noise_distribution(counts)
    assert shares.min() > 0
    assert np.abs(shares / p - 1).max() < 0.01


def test_the_kernel_marks_every_output_row_it_changes(kernel):
    rng = np.random.default_rng(4)
    V, D = 500, 8
    ids = torch.from_numpy(rng.integers(V, size=400).astype(np.int32))
    syn0 = torch.from_numpy(rng.uniform(-0.1, 0.1, (V, D)).astype(np.float32))
    syn1neg = torch.zeros(V, D)
    touched = torch.zeros(V, dtype=torch.uint8)
    kernel.train(syn0=syn0, syn1neg=syn1neg, syn1=torch.empty(0), ids=ids,
                 starts=torch.tensor([0, 400]), keep_prob=torch.ones(V),
                 noise=noise_slots(*noise_alias(np.ones(V))),
                 code=NO_TREE[0], point=NO_TREE[1], path=NO_TREE[2], window=2, negative=2,
                 hs=False, sg=False, cbow_mean=True, shrink_windows=True, alpha_start=0.05,
                 alpha_end=0.05, words_done=0.0, total_words=400.0, seed=1, workers=1,
                 touched=touched, bag_rows=torch.empty(0, dtype=torch.int32),
                 bag_start=torch.empty(0, dtype=torch.int64))
    changed = (syn1neg != 0).any(1)
    assert changed.any() and bool((touched.bool() | ~changed).all())  # changed => marked
    assert bool(touched[ids.long()].all())  # every target is an output row
    assert int(touched.sum()) < V  # noise words of 400 examples do not reach every row


def _hs_run(kernel, workers, private_nodes):
    """Hierarchical softmax on 20 sentences of Zipf-distributed words: (loss per example,
    syn1's change)."""
    rng = np.random.default_rng(5)
    V, D = 200, 16
    counts = np.maximum(1, 20_000 // np.arange(1, V + 1))
    ids = rng.choice(V, size=20_000, p=counts / counts.sum()).astype(np.int32)
    code, point, path = map(torch.from_numpy, huffman_tree(np.bincount(ids, minlength=V)))
    syn0 = torch.from_numpy(rng.uniform(-0.5 / D, 0.5 / D, (V, D)).astype(np.float32))
    syn1 = torch.zeros(V, D)
    loss, examples = kernel.train(
        syn0=syn0, syn1neg=torch.empty(0), syn1=syn1, ids=torch.from_numpy(ids),
        starts=torch.arange(0, 20_001, 1000), keep_prob=torch.ones(V),
        noise=torch.empty(0, 2, dtype=torch.int32), code=code,
        point=point, path=path, window=3, negative=0, hs=True, sg=False, cbow_mean=True,
        shrink_windows=True, alpha_start=0.002, alpha_end=0.002, words_done=0.0,
        total_words=20_000.0, seed=3, workers=workers, touched=torch.empty(0, dtype=torch.uint8),
        bag_rows=torch.empty(0, dtype=torch.int32), bag_start=torch.empty(0, dtype=torch.int64),
        private_nodes=private_nodes)
    return loss / examples, syn1


def test_one_thread_ignores_private_nodes(kernel):
    loss, syn1 = _hs_run(kernel, workers=1, private_nodes=0)
    private_loss, private_syn1 = _hs_run(kernel, workers=1, private_nodes=199)
    assert loss == private_loss and torch.equal(syn1, private_syn1)


def test_threads_add_their_private_nodes_changes_to_the_shared_tree(kernel):
    # Every inner node private to each of two threads: the shared tree must end with both
    # threads' changes added up, as far as the one-thread run moved it at a rate too small to
    # converge (measured 0.90 of it; a merge that copied one thread's nodes over the other's
    # kept 0.37; none would leave syn1 at zero).
    loss, syn1 = _hs_run(kernel, workers=1, private_nodes=0)
    private_loss, private_syn1 = _hs_run(kernel, workers=2, private_nodes=199)
    moved = syn1.norm(dim=1)
    assert bool((private_syn1[moved > 0].norm(dim=1) > 0).all())
    assert 0.8 < float(private_syn1.norm() / syn1.norm()) < 1.2
    assert private_loss == pytest.approx(loss, rel=0.02)
