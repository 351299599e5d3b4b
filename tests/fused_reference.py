"""A plain numpy transcription of the fused kernel's loop (`w2v.training.kernels.fused`): the
reference its draws and updates are checked against, by `tests/test_fused.py` on the CPU and
by `benchmarks/gpu.py` on a GPU. Imports numpy alone, besides the kernel's constants."""

import numpy as np

from w2v.corpus.tables import noise_alias
from w2v.training.kernels import fused

M = 0xFFFFFFFF


def mix32(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M
    x ^= x >> 15
    x = (x * 0x846CA68B) & M
    return x ^ (x >> 16)


def draw(key: int, position: int, stream: int) -> int:
    return mix32((mix32(key ^ mix32(position)) + stream) & M)


def reference(syn0, syn1, ids, sentence, keep_prob, noise_prob, noise_alias, *, window, negative,
              sg, cbow_mean, shrink_windows, alpha_start, alpha_end, words_done, total_words, seed,
              bags=None, lockf=None):
    """The kernel's loop, one word after another, in numpy: returns (loss, examples). With
    `bags` (rows, starts), each word's input is the mean of its rows, each taking the error;
    with `lockf`, each input row's update is scaled by its factor."""

    def locked(err, r):
        return err if lockf is None else err * lockf[r]

    def rows(w):
        return [w] if bags is None else [int(r) for r in bags[0][bags[1][w]:bags[1][w + 1]]]
    key = fused.chunk_key(seed)
    u = np.array([(draw(key, i, 0) >> 8) * (1.0 / 16777216.0) for i in range(len(ids))],
                 dtype=np.float32)
    kept = u < keep_prob[ids]
    tok, sent = ids[kept], sentence[kept]
    n, raw = len(tok), float(len(ids))
    size, varied = len(noise_prob), len(noise_prob) > 1
    loss, examples = 0.0, 0

    def alias_draw(p, stream):
        slot = draw(key, p, stream) % size
        coin = np.float32((draw(key ^ fused.COIN.value, p, stream) >> 8) * (1.0 / 16777216.0))
        return slot if coin < noise_prob[slot] else noise_alias[slot]

    def noise_word(p, stream, word):
        t = alias_draw(p, stream)
        attempt = 1
        while t == word and varied and attempt < fused.MAX_REDRAWS:
            t = alias_draw(p, stream + attempt * fused.REDRAW.value)
            attempt += 1
        return t

    def learn(h, target, label, alpha):
        nonlocal loss
        out = syn1[target]
        f = float(np.dot(h, out))
        loss += max(-f if label else f, 0.0) + np.log1p(np.exp(-abs(f)))
        g = (float(label) - 1.0 / (1.0 + np.exp(-f))) * alpha
        if abs(f) >= 6.0 and (f >= 0) == label:
            g = 0.0
        err = np.float32(g) * out
        syn1[target] += np.float32(g) * h
        return err

    for p in range(n):
        word, s = tok[p], sent[p]
        alpha = alpha_start - (alpha_start - alpha_end) * min(
            (words_done + raw * p / n) / total_words, 1.0)
        reach = 1 + draw(key, p, 1) % window if shrink_windows else window
        slots = [slot for slot in range(2 * window + 1)
                 if slot != window and 0 <= p + slot - window < n
                 and abs(slot - window) <= reach and sent[p + slot - window] == s]
        if sg:
            for slot in slots:
                ctx = tok[p + slot - window]
                h = sum(syn0[r] for r in rows(ctx)) / np.float32(len(rows(ctx)))
                err = learn(h, word, True, alpha)
                for d in range(negative):
                    err += learn(h, noise_word(p, 2 + slot * negative + d, word), False, alpha)
                for r in rows(ctx):
                    syn0[r] += locked(err, r)
                examples += 1
        elif slots:
            used = [r for slot in slots for r in rows(tok[p + slot - window])]
            h = sum(syn0[r] for r in used)
            if cbow_mean:
                h = h / np.float32(len(used))
            err = learn(h, word, True, alpha)
            for d in range(negative):
                err += learn(h, noise_word(p, 2 + d, word), False, alpha)
            for r in used:
                syn0[r] += locked(err, r)
            examples += 1
    return loss, examples


def tiny(seed: int = 0, words: int = 160, vocab: int = 12, dim: int = 8):
    rng = np.random.default_rng(seed)
    ids = rng.integers(vocab, size=words).astype(np.int32)
    sentence = np.repeat(np.arange(4), words // 4).astype(np.int32)
    keep = np.where(np.arange(vocab) < 2, 0.5, 1.0).astype(np.float32)  # words 0, 1 subsampled
    noise = noise_alias(np.arange(vocab, 0, -1) ** (4 / 3))  # shares falling 12:11:...:1
    syn0 = rng.uniform(-0.5 / dim, 0.5 / dim, size=(vocab, dim)).astype(np.float32)
    syn1 = rng.normal(0, 0.1, size=(vocab, dim)).astype(np.float32)
    return ids, sentence, keep, *noise, syn0, syn1
