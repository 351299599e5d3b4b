"""The fused GPU training kernel, in Triton: word2vec.c's loop, thousands of walkers at a time.

A chunk of about a million words is two launches (subsampling, then training) and three small
tensor operations between them. In the training launch each program walks a segment of the chunk
word by word as word2vec.c's thread walks a sentence: the shrunk window, the context sum (CBOW)
or each pair (skip-gram), noise words from the unigram table (redrawn when equal to the target),
the dot products, word2vec.c's update with its ±6 rule, and the exact loss. Rows are updated in
place with atomic adds and no locks, so a program's update lands before its next word is read,
as in word2vec.c; the staleness is that of the few thousand programs in flight, not of a batch.
Negative sampling only: hierarchical softmax stays with the CPU kernel (its per-word paths of
varying length would serialise a program on pointer chasing for little gain). With subwords a
word's input is the mean of its bag of rows, as in the CPU kernel: a loop over the bag where
the plain model loads one row.

Subsampling runs first, as its own small kernel over the chunk, and the kept words are packed
with device-side scans, so a chunk needs no host synchronisation until its loss is read once at
its end. Every random draw comes from `draw(key, position, stream)`: a counter-based hash keyed
on (seed, epoch, chunk) through `key`, the word's position among the kept words (the raw
position for subsampling) and the draw's stream number, so a plain numpy transcription
(`tests/test_fused.py`) repeats the kernel's choices exactly. Streams: 0 subsampling, 1 the
window, 2 + slot * NEGATIVE + d + attempt * REDRAW the d-th noise word of context slot `slot`
(0 for CBOW) at redraw `attempt`.

Under TRITON_INTERPRET=1 the same source runs on the CPU (slowly): that is how CI tests it.
"""

import torch
import triton
import triton.language as tl

MAX_EXP = tl.constexpr(6.0)  # word2vec.c's sigmoid table ends here: a right output beyond it
# is not updated
COIN = tl.constexpr(0x5BD1E995)  # xored into the key: the alias coins' own stream
MAX_REDRAWS = tl.constexpr(32)  # a noise word equal to the target is drawn again at most so often
REDRAW = tl.constexpr(1 << 20)  # stream stride between redraw attempts
SEGMENT_WORDS = 64  # kept words per program: ~16K programs for a 1M-word chunk


@triton.jit
def _mix32(x):
    """A 32-bit integer hash (the "lowbias32" finaliser): every input bit moves every output
    bit, so consecutive counters give independent-looking draws."""
    x = x ^ (x >> 16)
    x = x * 0x7FEB352D
    x = x ^ (x >> 15)
    x = x * 0x846CA68B
    x = x ^ (x >> 16)
    return x


@triton.jit
def _draw(key, position, stream):
    """The uint32 draw number `stream` of `position` under `key`."""
    mixed = _mix32(tl.cast(key, tl.uint32) ^ _mix32(tl.cast(position, tl.uint32)))
    return _mix32(mixed + tl.cast(stream, tl.uint32))


@triton.jit
def _subsample_kernel(ids, keep_prob, kept, n, key, BLOCK: tl.constexpr):
    """kept[i] = 1 when raw word i survives word2vec.c's subsampling."""
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    inside = i < n
    word = tl.load(ids + i, mask=inside, other=0)
    u = (_draw(key, i, 0) >> 8).to(tl.float32) * (1.0 / 16777216.0)
    keep = tl.load(keep_prob + word, mask=inside, other=0.0)
    tl.store(kept + i, (u < keep).to(tl.int32), mask=inside)


@triton.jit
def _alias_draw(noise_prob, noise_alias, size, key, p, stream):
    """A word drawn exactly from the noise distribution by its alias table: a uniform slot,
    then a coin drawn under the key's COIN twin."""
    slot = (_draw(key, p, stream) % size).to(tl.int64)
    coin = (_draw(key ^ COIN, p, stream) >> 8).to(tl.float32) * (1.0 / 16777216.0)
    return tl.where(coin < tl.load(noise_prob + slot), slot.to(tl.int32),
                    tl.load(noise_alias + slot))


@triton.jit
def _noise_word(noise_prob, noise_alias, noise_size, key, p, stream, word, varied):
    """A noise word for target `word`, redrawn (on streams REDRAW apart) while it equals it."""
    size = tl.cast(noise_size, tl.uint32)
    t = _alias_draw(noise_prob, noise_alias, size, key, p, stream)
    attempt = tl.full((), 1, tl.int32)  # typed: the compiler wants loop-carried types fixed
    while (t == word) & varied & (attempt < MAX_REDRAWS):
        t = _alias_draw(noise_prob, noise_alias, size, key, p, stream + attempt * REDRAW)
        attempt += 1
    return t


@triton.jit
def _context(sent, p, slot, n, reach, sentence, WINDOW: tl.constexpr):
    """Position c of window slot `slot` (a slot, or a block of them padded past 2 * WINDOW)
    around kept word p, and whether it is a context word: a real slot inside the chunk and the
    shrunk window, not p itself, in p's sentence."""
    c = p + slot - WINDOW
    ok = (slot != WINDOW) & (slot <= 2 * WINDOW) & (c >= 0) & (c < n)
    ok = ok & (tl.abs(slot - WINDOW) <= reach)
    ok = ok & (tl.load(sent + c, mask=ok, other=-1) == sentence)
    return c, ok


@triton.jit
def _learn(h, syn1neg, target, alpha, offs, dmask, touched, D: tl.constexpr,
           LABEL: tl.constexpr, MARK: tl.constexpr):
    """Score h against target's output row, update that row in place (word2vec.c's rule with
    its ±6 cut-off) and return (h's error g * out, the exact loss of this output). With MARK,
    the row's byte in `touched` is set: a torchrun job sends only the rows marked."""
    if MARK:
        tl.store(touched + target, 1)
    out = tl.load(syn1neg + target * D + offs, mask=dmask, other=0.0)
    f = tl.sum(h * out, 0)
    # -log P(label): softplus(-f) for the target, softplus(f) for a noise word, written so that
    # neither overflows.
    if LABEL:
        loss = tl.maximum(-f, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(f)))
        g = (1.0 - 1.0 / (1.0 + tl.exp(-f))) * alpha
        right = f >= 0
    else:
        loss = tl.maximum(f, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(f)))
        g = (0.0 - 1.0 / (1.0 + tl.exp(-f))) * alpha
        right = f < 0
    g = tl.where((tl.abs(f) >= MAX_EXP) & right, 0.0, g)
    tl.atomic_add(syn1neg + target * D + offs, g * h, mask=dmask)
    return g * out, loss


@triton.jit
def _predict(h, syn1neg, word, stream, alpha, offs, dmask, touched, noise_prob, noise_alias,
             noise_size, key, p, varied, D: tl.constexpr, NEGATIVE: tl.constexpr,
             MARK: tl.constexpr):
    """One example: h predicts `word` against NEGATIVE noise words (draw streams `stream`,
    `stream` + 1, ...). Returns (h's error, the example's loss)."""
    err, loss = _learn(h, syn1neg, word, alpha, offs, dmask, touched, D, True, MARK)
    for d in range(NEGATIVE):
        t = _noise_word(noise_prob, noise_alias, noise_size, key, p, stream + d, word, varied)
        e, part = _learn(h, syn1neg, t, alpha, offs, dmask, touched, D, False, MARK)
        err += e
        loss += part
    return err, loss


@triton.jit
def _bag_sum(syn0, bag_rows, bag_start, word, offs, dmask, D: tl.constexpr,
             BLOCK_D: tl.constexpr):
    """The sum of `word`'s bag of rows (its own and its n-grams': fastText's input) and how
    many rows it holds."""
    lo = tl.load(bag_start + word)
    hi = tl.load(bag_start + word + 1)
    h = tl.zeros((BLOCK_D,), tl.float32)
    for r in range(lo, hi):
        row = tl.load(bag_rows + r).to(tl.int64)  # n-gram tables outgrow int32 offsets
        h += tl.load(syn0 + row * D + offs, mask=dmask, other=0.0)
    return h, (hi - lo).to(tl.float32)


@triton.jit
def _locked(err, lockf, row, LOCKED: tl.constexpr):
    """`err` scaled by input row `row`'s lock factor (gensim's vectors_lockf) when rows are
    locked: 0 keeps a pretrained row as it is."""
    if LOCKED:
        err = err * tl.load(lockf + row)
    return err


@triton.jit
def _bag_update(syn0, bag_rows, bag_start, word, err, offs, dmask, lockf, D: tl.constexpr,
                LOCKED: tl.constexpr):
    """Every row of `word`'s bag takes the whole error, as in fastText."""
    for r in range(tl.load(bag_start + word), tl.load(bag_start + word + 1)):
        row = tl.load(bag_rows + r).to(tl.int64)
        tl.atomic_add(syn0 + row * D + offs, _locked(err, lockf, row, LOCKED), mask=dmask)


@triton.jit
def _train_kernel(syn0, syn1neg, tok, sent, count, noise_prob, noise_alias, noise_size, varied,
                  key,
                  loss_out, examples_out, alpha_start, alpha_end, done, chunk_words, total,
                  touched, bag_rows, bag_start, lockf, MARK: tl.constexpr, BAGS: tl.constexpr,
                  LOCKED: tl.constexpr,
                  D: tl.constexpr, BLOCK_D: tl.constexpr, WINDOW: tl.constexpr,
                  NEGATIVE: tl.constexpr, SG: tl.constexpr, MEAN: tl.constexpr,
                  SHRINK: tl.constexpr, SEGMENT: tl.constexpr, SLOTS: tl.constexpr):
    """One program: the kept words [pid * SEGMENT, (pid + 1) * SEGMENT) of the chunk, in order."""
    pid = tl.program_id(0)
    n = tl.load(count)
    lo = pid * SEGMENT
    hi = tl.minimum(lo + SEGMENT, n)
    offs = tl.arange(0, BLOCK_D)
    dmask = offs < D
    loss = tl.full((), 0.0, tl.float32)  # typed, as the compiler wants loop-carried values
    examples = tl.full((), 0, tl.int32)
    for p in range(lo, hi):
        word = tl.load(tok + p)
        sentence = tl.load(sent + p)
        # The learning rate at this word's share of the chunk's raw words, as word2vec.c's
        # falls with words processed.
        progress = tl.minimum((done + chunk_words * p / n) / total, 1.0)
        alpha = alpha_start - (alpha_start - alpha_end) * progress
        reach = tl.full((), WINDOW, tl.int32)
        if SHRINK:
            reach = 1 + (_draw(key, p, 1) % tl.cast(WINDOW, tl.uint32)).to(tl.int32)
        if SG:
            # Skip-gram: each context word's vector predicts the centre word.
            for slot in range(0, 2 * WINDOW + 1):
                c, ok = _context(sent, p, slot, n, reach, sentence, WINDOW)
                if ok:
                    ctx = tl.load(tok + c)
                    if BAGS:
                        h, rows = _bag_sum(syn0, bag_rows, bag_start, ctx, offs, dmask, D,
                                           BLOCK_D)
                        h = h / rows
                    else:
                        h = tl.load(syn0 + ctx * D + offs, mask=dmask, other=0.0)
                    err, part = _predict(h, syn1neg, word, 2 + slot * NEGATIVE, alpha, offs,
                                         dmask, touched, noise_prob, noise_alias, noise_size,
                                         key, p, varied, D, NEGATIVE, MARK)
                    loss += part
                    if BAGS:
                        _bag_update(syn0, bag_rows, bag_start, ctx, err, offs, dmask, lockf, D,
                                    LOCKED)
                    else:
                        tl.atomic_add(syn0 + ctx * D + offs, _locked(err, lockf, ctx, LOCKED),
                                      mask=dmask)
                    examples += 1
        elif BAGS:
            # CBOW over bags: the mean of all the context words' rows, each taking the error.
            h = tl.zeros((BLOCK_D,), tl.float32)
            rows = tl.full((), 0.0, tl.float32)
            used = tl.full((), 0, tl.int32)
            for slot in range(0, SLOTS):
                c, ok = _context(sent, p, slot, n, reach, sentence, WINDOW)
                if ok:
                    part, k = _bag_sum(syn0, bag_rows, bag_start, tl.load(tok + c), offs, dmask,
                                       D, BLOCK_D)
                    h += part
                    rows += k
                    used += 1
            if used > 0:
                if MEAN:
                    h = h / rows
                err, part = _predict(h, syn1neg, word, 2, alpha, offs, dmask, touched,
                                     noise_prob, noise_alias, noise_size, key, p, varied, D,
                                     NEGATIVE, MARK)
                loss += part
                for slot in range(0, SLOTS):
                    c, ok = _context(sent, p, slot, n, reach, sentence, WINDOW)
                    if ok:
                        _bag_update(syn0, bag_rows, bag_start, tl.load(tok + c), err, offs,
                                    dmask, lockf, D, LOCKED)
                examples += 1
        else:
            # CBOW: the mean (or sum) of the context vectors predicts the centre word, and every
            # context word receives the full error, as in word2vec.c. The whole window is one
            # (SLOTS, BLOCK_D) block: its rows are read, and later updated, at once.
            c, ok = _context(sent, p, tl.arange(0, SLOTS), n, reach, sentence, WINDOW)
            ctx = tl.load(tok + c, mask=ok, other=0)  # (SLOTS,)
            rows = syn0 + ctx[:, None] * D + offs[None, :]  # (SLOTS, BLOCK_D)
            where = ok[:, None] & dmask[None, :]
            h = tl.sum(tl.load(rows, mask=where, other=0.0), 0)  # (BLOCK_D,)
            used = tl.sum(tl.cast(ok, tl.int32), 0)
            if used > 0:
                if MEAN:
                    h = h / tl.cast(used, tl.float32)
                err, part = _predict(h, syn1neg, word, 2, alpha, offs, dmask, touched,
                                     noise_prob, noise_alias, noise_size, key, p, varied, D,
                                     NEGATIVE, MARK)
                loss += part
                step = tl.broadcast_to(err[None, :], (SLOTS, BLOCK_D))
                if LOCKED:
                    step = step * tl.load(lockf + ctx, mask=ok, other=0.0)[:, None]
                tl.atomic_add(rows, step, mask=where)
                examples += 1
    tl.store(loss_out + pid, loss)
    tl.store(examples_out + pid, examples)


def chunk_key(seed: int) -> int:
    """The 32-bit key of a chunk's draws from its 63-bit (seed, epoch, chunk) seed."""
    return (seed ^ (seed >> 32)) & 0xFFFFFFFF


def train_chunk(syn0: torch.Tensor, syn1neg: torch.Tensor, ids: torch.Tensor,
                sentence: torch.Tensor, keep_prob: torch.Tensor, noise_prob: torch.Tensor,
                noise_alias: torch.Tensor, *,
                window: int, negative: int, sg: bool, cbow_mean: bool, shrink_windows: bool,
                alpha_start: float, alpha_end: float, words_done: float, total_words: float,
                seed: int, segment: int | None = None, touched: torch.Tensor | None = None,
                bag_rows: torch.Tensor | None = None,
                bag_start: torch.Tensor | None = None,
                lockf: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Train on one chunk: ids and sentence (N,) int32 on the tables' device, each raw word's
    id and sentence number; keep_prob and noise_prob (V,) float32 and noise_alias (V,) int32
    (the noise distribution's alias table) on that device too.
    Returns (loss sum, examples) as device tensors, not read back, so the caller decides when
    to wait for them. `segment`: kept words per program (default SEGMENT_WORDS). `touched`:
    (V,) uint8 on the device, set to 1 at every output row the chunk changes (a torchrun job's
    exchange sends those rows). `bag_rows` (int32) and `bag_start` (V + 1, int64) on the
    device: with subwords, each word's input rows (`vectors.ngrams.bags`) in syn0 (V + buckets
    rows). `lockf`: one float32 factor per row of syn0 on the device, scaling its updates
    (`CBOW.lockf`)."""
    device = syn0.device
    n = len(ids)
    if n == 0:
        return torch.zeros((), dtype=torch.float64, device=device), torch.zeros(
            (), dtype=torch.int64, device=device)
    key = chunk_key(seed)
    kept = torch.empty(n, dtype=torch.int32, device=device)
    block = 1024
    _subsample_kernel[(triton.cdiv(n, block),)](ids, keep_prob, kept, n, key, BLOCK=block)
    # Pack the kept words to the front with device scans: slot n takes the discarded ones.
    place = torch.cumsum(kept, 0) - 1  # (N,)
    count = place[-1:].add(1).to(torch.int32)  # (1,) kept words, stays on the device
    slot = torch.where(kept.bool(), place, n)
    tok = torch.zeros(n + 1, dtype=torch.int32, device=device).scatter_(0, slot, ids)
    sent = torch.zeros(n + 1, dtype=torch.int32, device=device).scatter_(0, slot, sentence)
    segment = segment or SEGMENT_WORDS
    programs = triton.cdiv(n, segment)
    loss = torch.zeros(programs, dtype=torch.float32, device=device)
    examples = torch.zeros(programs, dtype=torch.int32, device=device)
    dim = syn0.shape[1]
    _train_kernel[(programs,)](
        syn0, syn1neg, tok, sent, count, noise_prob, noise_alias, len(noise_prob),
        len(noise_prob) > 1, key, loss, examples,
        alpha_start, alpha_end, words_done, float(n), max(total_words, 1.0),
        touched if touched is not None else count,
        bag_rows if bag_rows is not None else count, bag_start if bag_start is not None else count,
        lockf if lockf is not None else count,
        MARK=touched is not None, BAGS=bag_start is not None, LOCKED=lockf is not None,
        D=dim, BLOCK_D=triton.next_power_of_2(dim), WINDOW=window, NEGATIVE=negative,
        SG=bool(sg), MEAN=bool(cbow_mean), SHRINK=bool(shrink_windows), SEGMENT=segment,
        SLOTS=triton.next_power_of_2(2 * window + 1))
    return loss.double().sum(), examples.sum()
