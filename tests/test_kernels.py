"""The compiled CBOW kernel against a line-by-line Python transcription of word2vec.c's loop."""

import math

import numpy as np
import pytest
import torch

from w2v.kernels import cpu_kernel

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


def reference_cbow(syn0, syn1, ids, starts, keep, table, window, negative, cbow_mean, alpha, seed):
    """word2vec.c's CBOW + negative sampling for one thread at a fixed learning rate."""
    rng = Lcg(seed)
    loss, examples = 0.0, 0
    for s in range(len(starts) - 1):
        sen = [w for w in ids[starts[s]:starts[s + 1]]
               if keep[w] >= 1 or keep[w] > rng.uniform()]
        for pos, word in enumerate(sen):
            reach = 1 + rng.below(window)
            lo, hi = max(0, pos - reach), min(len(sen) - 1, pos + reach)
            if hi == lo:
                continue
            context = [sen[c] for c in range(lo, hi + 1) if c != pos]
            h = syn0[context].sum(0, dtype=np.float32)
            if cbow_mean:
                h = h * np.float32(1 / len(context))
            err = np.zeros_like(h)
            outputs = [word]
            for _ in range(negative):  # noise words are drawn before any update
                target = word
                while target == word:
                    target = table[rng.below(len(table))]
                outputs.append(target)
            for d, target in enumerate(outputs):
                label = 1.0 if d == 0 else 0.0
                f = float(h @ syn1[target])
                loss += math.log1p(math.exp(-f)) if label else math.log1p(math.exp(f))
                g = np.float32((label - 1 / (1 + math.exp(-f))) * alpha)
                err += g * syn1[target]
                syn1[target] += g * h
            for w in context:
                syn0[w] += err
            examples += 1
    return loss, examples


@pytest.fixture(scope="module")
def kernel():
    k = cpu_kernel()
    assert k is not None, "the CPU kernel must build wherever the tests run"
    return k


@pytest.mark.parametrize("cbow_mean", [True, False])
def test_kernel_is_word2vecs_loop(kernel, cbow_mean):
    rng = np.random.default_rng(0)
    V, D = 12, 8
    ids = rng.integers(V, size=300).astype(np.int32)
    starts = np.array([0, 7, 8, 150, 300], dtype=np.int64)  # includes a 1-word sentence
    keep = np.where(np.arange(V) < 2, 0.5, 1.0).astype(np.float32)  # words 0, 1 subsampled
    table = np.repeat(np.arange(V), 1 + np.arange(V)[::-1]).astype(np.int32)
    syn0 = rng.uniform(-0.5 / D, 0.5 / D, size=(V, D)).astype(np.float32)
    syn1 = rng.normal(0, 0.1, size=(V, D)).astype(np.float32)
    ref0, ref1 = syn0.copy(), syn1.copy()
    ref_loss, ref_examples = reference_cbow(ref0, ref1, ids, starts, keep, table, 3, 4,
                                            cbow_mean, 0.05, seed=42)
    t0, t1 = torch.from_numpy(syn0), torch.from_numpy(syn1)
    loss, examples = kernel.cbow_train(t0, t1, torch.from_numpy(ids), torch.from_numpy(starts),
                                       0, len(starts) - 1, torch.from_numpy(keep),
                                       torch.from_numpy(table), 3, 4, cbow_mean,
                                       0.05, 0.05, 0.0, 300.0, 42, 1)
    assert examples == ref_examples
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, ref0, atol=2e-6)
    np.testing.assert_allclose(syn1, ref1, atol=2e-6)


def test_learning_rate_decays_with_progress(kernel):
    # Same data, a schedule ending at zero: the update must be smaller than at a constant rate.
    ids = np.tile(np.arange(4, dtype=np.int32), 5000)
    starts = np.array([0, len(ids)], dtype=np.int64)
    moved = []
    for end in (0.05, 0.0):
        syn0 = torch.full((4, 4), 0.1)
        syn1 = torch.zeros(4, 4)
        kernel.cbow_train(syn0, syn1, torch.from_numpy(ids), torch.from_numpy(starts), 0, 1,
                          torch.ones(4), torch.arange(4, dtype=torch.int32), 2, 2, True,
                          0.05, end, 0.0, float(len(ids)), 1, 1)
        moved.append(float(syn1.abs().sum()))
    assert moved[1] < moved[0]


def test_loss_stays_exact_when_scores_saturate(kernel):
    # One example whose noise word scores 30: its loss is ~30 (float32 sigmoid rounds to 1).
    syn0 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    syn1 = torch.tensor([[0.0, 0.0], [30.0, 0.0]])
    ids = torch.tensor([0, 0], dtype=torch.int32)
    loss, examples = kernel.cbow_train(syn0, syn1, ids, torch.tensor([0, 2]), 0, 1,
                                       torch.ones(2), torch.tensor([1], dtype=torch.int32),
                                       1, 1, True, 0.0, 0.0, 0.0, 2.0, 1, 1)
    assert examples == 2
    per_output = math.log(2) + (30 + math.log1p(math.exp(-30)))
    assert loss == pytest.approx(2 * per_output, rel=1e-5)
