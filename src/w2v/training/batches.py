"""Corpus ids -> CBOW training examples (context ids, target id, negative ids), built with tensors.

One pass of `cbow_examples` turns a slice of the encoded corpus into whole arrays of examples with
no Python code per example: subsampling with word2vec.c's keep probability (drawn afresh each
epoch), a window shrunk per target to 1..window, contexts that stop at sentence edges, and noise
words drawn exactly by the alias table, redrawn where they hit the target.

`CBOWDataset` offers the same examples one at a time as a torch Dataset, with `collate_cbow` to
pad them into batches, for people writing their own training loops.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from w2v.corpus.encoding import EncodedCorpus
from w2v.corpus.tables import keep_probability, noise_alias

CHUNK_TOKENS = 1 << 18  # corpus tokens per example-building pass: bounds memory to ~50 MB
# Each round redraws only the clashes, so even a 3-word vocabulary settles in a few dozen rounds;
# the cap only stops a 1-word vocabulary, whose every noise word is the target, from looping.
MAX_REDRAWS = 100


@dataclass
class CBOWBatch:
    context: torch.Tensor  # (B, 2W) int64, padded slots hold 0
    mask: torch.Tensor  # (B, 2W) float, 1 for a real context word
    target: torch.Tensor  # (B,) int64
    negatives: torch.Tensor  # (B, K) int64
    words: float  # raw in-vocabulary corpus words this batch accounts for (for progress)

    def __len__(self) -> int:
        return len(self.target)

    def to(self, device) -> "CBOWBatch":
        move = {k: getattr(self, k).to(device, non_blocking=True)
                for k in ("context", "mask", "target", "negatives")}
        return CBOWBatch(**move, words=self.words)


def window_offsets(window: int, device=None) -> torch.Tensor:
    """(2W,) offsets -W..-1, 1..W of the context slots around a target."""
    left = torch.arange(-window, 0, device=device)
    return torch.cat([left, -left.flip(0)])


@dataclass
class AliasTable:
    """The noise distribution's alias table (`tables.noise_alias`) as tensors on one device."""

    prob: torch.Tensor  # (V,) float32
    alias: torch.Tensor  # (V,) int64

    @classmethod
    def of(cls, counts, ns_exponent: float = 0.75) -> "AliasTable":
        prob, alias = noise_alias(counts, ns_exponent)
        return cls(torch.from_numpy(prob), torch.from_numpy(alias).long())

    @property
    def device(self) -> torch.device:
        return self.prob.device

    def draw(self, shape, generator: torch.Generator) -> torch.Tensor:
        """Words of `shape` drawn exactly from the noise distribution: a slot, then a coin."""
        slot = torch.randint(len(self.prob), shape, generator=generator, device=self.device)
        coin = torch.rand(shape, generator=generator, device=self.device)
        return torch.where(coin < self.prob[slot], slot, self.alias[slot])


def draw_negatives(
    noise: AliasTable, target: torch.Tensor, negative: int, generator: torch.Generator
) -> torch.Tensor:
    """(B, K) noise words from the unigram**0.75 distribution, redrawn where equal to the
    target."""
    neg = noise.draw((len(target), negative), generator)
    for _ in range(MAX_REDRAWS):
        clash = neg == target[:, None]
        if not clash.any():
            break
        neg[clash] = noise.draw((int(clash.sum()),), generator)
    return neg


def cbow_examples(
    ids: torch.Tensor,
    sentence: torch.Tensor,
    keep_prob: torch.Tensor,
    noise: AliasTable,
    window: int,
    negative: int,
    generator: torch.Generator,
    shrink: bool = True,
):
    """All CBOW examples of one corpus slice.

    ids, sentence: (N,) int64 token ids and the sentence each belongs to.
    Returns context (E, 2W), mask (E, 2W), target (E,), negatives (E, K) with E <= N: subsampled
    tokens and targets left without any context word produce no example (as in word2vec.c).
    """
    device = ids.device
    kept = torch.rand(len(ids), generator=generator, dtype=torch.float64,
                      device=device) < keep_prob[ids]
    tok, sent = ids[kept], sentence[kept]  # (n,)
    n = len(tok)
    offsets = window_offsets(window, device)  # (2W,)
    # word2vec.c's shrinking window: each target looks 1..window words each way.
    reach = (torch.randint(1, window + 1, (n,), generator=generator, device=device) if shrink
             else torch.full((n,), window, device=device))  # (n,)
    pos = torch.arange(n, device=device)[:, None] + offsets[None, :]  # (n, 2W)
    inside = (pos >= 0) & (pos < n) & (offsets.abs()[None, :] <= reach[:, None])
    pos = pos.clamp_(0, max(n - 1, 0))
    inside &= sent[pos] == sent[:, None]  # a context never crosses a sentence boundary
    has_context = inside.any(1)
    context = torch.where(inside, tok[pos], 0)[has_context]
    mask = inside[has_context].to(torch.float32)
    target = tok[has_context]
    negatives = draw_negatives(noise, target, negative, generator)
    return context, mask, target, negatives


def cbow_batches(
    corpus: EncodedCorpus,
    keep_prob: torch.Tensor,
    noise: AliasTable,
    window: int,
    negative: int,
    batch_size: int,
    generator: torch.Generator,
    chunk_tokens: int = CHUNK_TOKENS,
    shrink: bool = True,
) -> Iterator[CBOWBatch]:
    """One epoch of CBOW batches in corpus order, a slice of the corpus at a time.

    Examples are built on the device of `noise`, `keep_prob` and `generator`: on a GPU only the
    ids cross the bus, never the examples."""
    for chunk, starts in corpus.chunks(chunk_tokens):  # whole sentences: no context is cut
        yield from chunk_batches(chunk, starts, keep_prob, noise, window, negative, batch_size,
                                 generator, shrink)


def chunk_batches(
    chunk: np.ndarray,
    starts: np.ndarray,
    keep_prob: torch.Tensor,
    noise: AliasTable,
    window: int,
    negative: int,
    batch_size: int,
    generator: torch.Generator,
    shrink: bool = True,
) -> Iterator[CBOWBatch]:
    """The CBOW batches of one chunk of whole sentences: ids (N,) and local sentence starts."""
    device = noise.device
    ids = torch.from_numpy(chunk.astype(np.int64)).to(device)
    sentence = torch.repeat_interleave(torch.arange(len(starts) - 1),
                                       torch.from_numpy(np.diff(starts))).to(device)
    context, mask, target, negatives = cbow_examples(
        ids, sentence, keep_prob, noise, window, negative, generator, shrink
    )
    n = len(target)
    if n == 0:
        yield CBOWBatch(context, mask, target, negatives, words=float(len(chunk)))
        return
    # Spread the slice's raw words over its batches so the learning rate decays smoothly.
    words_per_example = len(chunk) / n
    for b in range(0, n, batch_size):
        e = min(b + batch_size, n)
        yield CBOWBatch(
            context[b:e], mask[b:e], target[b:e], negatives[b:e],
            words=(e - b) * words_per_example,
        )


def skipgram_pairs(batch: CBOWBatch, noise: AliasTable, negative: int,
                   generator: torch.Generator) -> CBOWBatch:
    """Skip-gram examples from CBOW ones: one (context word -> target) pair per context slot,
    each with its own noise words, as a batch of one-word contexts for the same update."""
    rows, slots = batch.mask.nonzero(as_tuple=True)  # (P,), (P,)
    target = batch.target[rows]  # (P,)
    context = batch.context[rows, slots][:, None]  # (P, 1)
    mask = torch.ones_like(context, dtype=batch.mask.dtype)
    negatives = draw_negatives(noise, target, negative, generator)  # (P, K)
    return CBOWBatch(context, mask, target, negatives, words=batch.words)


class CBOWDataset(torch.utils.data.IterableDataset):
    """The seed's Dataset: yields (context ids, target id, negative ids) one example at a time.

    Context ids have 1..2*window entries; batch them with `collate_cbow`. Each iteration is one
    epoch; its subsampling, windows and noise words come from (`seed`, epoch). Call
    `set_epoch(e)` before each epoch: DataLoader workers iterate copies of the dataset, so a
    counter kept inside them would not advance. Workers share out the corpus slices.
    """

    def __init__(self, corpus: EncodedCorpus, vocab, window=5, negative=5, sample=1e-3,
                 ns_exponent=0.75, seed=1):
        self.corpus = corpus
        self.window, self.negative, self.seed = window, negative, seed
        self.keep_prob = torch.from_numpy(keep_probability(vocab.counts, sample))
        self.noise = AliasTable.of(vocab.counts, ns_exponent)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the next iteration's subsampling, windows and noise words for `epoch`."""
        self.epoch = epoch

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        batches = cbow_batches(self.corpus, self.keep_prob, self.noise, self.window,
                               self.negative, batch_size=CHUNK_TOKENS, generator=generator)
        for i, batch in enumerate(batches):
            if i % workers != worker:
                continue
            rows = zip(batch.context, batch.mask, batch.target, batch.negatives, strict=True)
            for ctx, m, t, neg in rows:
                yield ctx[m.bool()], t, neg


def collate_cbow(examples) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a list of (context, target, negatives) into (context, mask, target, negatives)."""
    contexts, targets, negatives = zip(*examples, strict=True)
    context = torch.nn.utils.rnn.pad_sequence(list(contexts), batch_first=True)
    lengths = torch.tensor([len(c) for c in contexts])
    mask = (torch.arange(context.shape[1])[None, :] < lengths[:, None]).to(torch.float32)
    return context, mask, torch.stack(targets), torch.stack(negatives)
