"""Counting words: the one routine every way of building a vocabulary goes through.

`count_words` gives each new word the next provisional id where it first appears and counts the
ids a block at a time with `np.add.at` into an array grown by doubling, never a Python dict
entry per token: the work per token does not grow with the vocabulary. Given somewhere to
write them, it also writes each token's provisional id, so that a scan encodes the corpus in the
same pass (`encoding.scan`). With `max_vocab_size` it prunes rare words while counting, as
gensim does, to bound memory; the survivors are renumbered, so from the first pruning on no ids
are written (`Counted.pruned`) and the corpus is encoded afterwards with the final vocabulary.

Also here: the rules that decide which words stay (gensim's `trim_rule` constants), since
pruning applies them as the vocabulary does.
"""

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

import numpy as np

BLOCK_IDS = 1 << 20  # ids counted (and written) per block: ~25 MiB of temporaries at most
# Words looked up per call: one numpy conversion for many sentences, whatever their length, and
# only a batch's strings alive at once.
BATCH_WORDS = 1 << 16

# What a trim_rule returns: the values of gensim.utils' constants, so either set works.
RULE_DEFAULT = 0  # apply min_count
RULE_DISCARD = 1  # drop the word whatever its count
RULE_KEEP = 2  # keep the word whatever its count


def keep_vocab_item(word: str, count: int, min_count: int, trim_rule=None) -> bool:
    """gensim's rule: keep a word seen at least min_count times, unless trim_rule says otherwise."""
    default = count >= min_count
    if trim_rule is None:
        return default
    rule = trim_rule(word, count, min_count)
    if rule == RULE_KEEP:
        return True
    if rule == RULE_DISCARD:
        return False
    return default


@dataclass
class Counted:
    """One pass of counting: the words in first-seen order (a word's provisional id is its place
    here), their counts, the sentence offsets into the tokens and the number of tokens read."""

    words: list[str]
    counts: np.ndarray  # (V,) int64
    starts: np.ndarray  # (S + 1,) int64
    corpus_words: int
    pruned: bool = False  # the ids written stop at the first pruning: they are void

    def as_dict(self) -> dict[str, int]:
        """{word: count} in first-seen order."""
        return dict(zip(self.words, self.counts.tolist(), strict=True))


def count_words(sentences: Iterable[list[str]], ids=None, max_vocab_size: int | None = None,
                trim_rule=None) -> Counted:
    """Count the tokens of one pass over `sentences`.

    `ids`, if given, is something with a `write(int32 array)` method that receives every
    token's provisional id in corpus order. With `max_vocab_size`, whenever more words than that
    are held, every word seen at most `min_reduce` times is dropped (unless `trim_rule` keeps
    it) and min_reduce rises by one, after each sentence as gensim checks; pruning renumbers the
    words, so it stops the writing of ids.
    """
    index: dict[str, int] = {}
    counts = np.zeros(0, dtype=np.int64)
    batch: list[str] = []
    blocks: list[np.ndarray] = []
    starts, buffered, total, min_reduce = array("q", [0]), 0, 0, 1
    for sentence in sentences:
        before = len(batch)
        batch += sentence  # any iterable of tokens will do, a generator too
        total += len(batch) - before
        starts.append(total)
        # Pruning is decided after each sentence, so its words must have ids by then: whenever
        # the held words and the batch's tokens together could pass the limit.
        if len(batch) >= BATCH_WORDS or (max_vocab_size is not None
                                         and len(index) + len(batch) > max_vocab_size):
            blocks.append(_ids(batch, index))
            buffered += len(batch)
            batch = []
            pruning = max_vocab_size is not None and len(index) > max_vocab_size
            if buffered >= BLOCK_IDS or pruning:
                counts = _flush(blocks, counts, len(index), ids)
                blocks, buffered = [], 0
            if pruning:
                index, counts = _prune(index, counts[: len(index)], min_reduce, trim_rule)
                min_reduce += 1
                ids = None
    blocks.append(_ids(batch, index))
    counts = _flush(blocks, counts, len(index), ids)[: len(index)]
    return Counted(list(index), counts, np.frombuffer(starts, dtype=np.int64), total,
                   min_reduce > 1)


def _ids(batch: list[str], index: dict[str, int]) -> np.ndarray:
    """The batch's words as ids; a new word gets the next id where it first appears."""
    ids = np.fromiter(map(index.get, batch, repeat(-1)), dtype=np.int32, count=len(batch))
    add = index.setdefault
    for k in np.flatnonzero(ids < 0).tolist():  # new words, and their repeats in this batch
        ids[k] = add(batch[k], len(index))
    return ids


def _flush(blocks: list[np.ndarray], counts: np.ndarray, num_words: int, ids) -> np.ndarray:
    """`counts` (room for at least `num_words` words) plus the blocks' tokens; the blocks go to
    `ids`. The room doubles when outgrown, so growing costs O(1) per word over a pass, and the
    counting O(1) per token: a bincount would cost O(vocabulary) per block."""
    block = np.concatenate(blocks)
    if ids is not None:
        ids.write(block)
    if num_words > len(counts):
        room = np.zeros(max(num_words, 2 * len(counts)), dtype=np.int64)
        room[: len(counts)] = counts
        counts = room
    np.add.at(counts, block, 1)
    return counts


def _prune(index: dict[str, int], counts: np.ndarray, min_reduce: int, trim_rule):
    """gensim's prune_vocab: drop the words seen at most `min_reduce` times (unless trim_rule
    keeps them); the others keep their order and are numbered afresh."""
    kept = [(w, c) for w, c in zip(index, counts.tolist(), strict=True)
            if keep_vocab_item(w, c, min_reduce + 1, trim_rule)]
    return ({w: i for i, (w, _) in enumerate(kept)},
            np.array([c for _, c in kept], dtype=np.int64))
