"""A vocabulary's hash table, stored in the native file so that loading needs no dict.

Python builds a dict of 3M words in about a second, three times what the rest of loading a
GoogleNews-sized native file costs (the vectors are memory-mapped). So `write_native` stores
each word's row in an open-addressing table (linear probing, at most half full, keyed by the
CRC-32 of the word's UTF-8: fixed by the format, unlike Python's salted `hash`), and
`WordIndex` answers `key_to_index` lookups from it: 0.8 microseconds a random word of 3M,
twice a dict's 0.4 (BENCHMARKS.md).
"""

import zlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

EMPTY = -1  # a slot that holds no row
HASH = "crc32"  # the metadata's name for the table's hash, so that another could follow


def word_hash(word: str) -> int:
    """The table's hash of `word`: CRC-32 of its UTF-8 (raises UnicodeEncodeError for a lone
    surrogate, which no stored word has)."""
    return zlib.crc32(word.encode("utf-8"))


def table_size(words: int) -> int:
    """Slots for `words` words: the power of two at least twice as many (at least 8), so that
    a probe walks on average under two slots."""
    return max(8, 1 << (2 * words - 1).bit_length()) if words else 8


def build_word_index(words: Sequence[str]) -> np.ndarray:
    """The (table_size,) int64 table of `words` (distinct): slot s holds the row of a word
    whose probe sequence (its hash's slot, then the next ones, wrapping) reaches s, or EMPTY.

    Built in vectorized rounds, not word by word: each round, every word not yet placed tries
    the next slot on its sequence and the lowest row among those trying a free slot takes it.
    A word moves on only past a slot that is taken, so a lookup that walks from its home slot to
    the first empty one finds it."""
    size = table_size(len(words))
    mask = size - 1
    slots = np.full(size, EMPTY, dtype=np.int64)
    pending = np.arange(len(words), dtype=np.int64)
    at = np.fromiter((word_hash(w) for w in words), dtype=np.int64, count=len(words)) & mask
    while len(pending):
        free = np.flatnonzero(slots[at] == EMPTY)
        # np.unique's first occurrence is the lowest row: pending stays in ascending order.
        taken, first = np.unique(at[free], return_index=True)
        slots[taken] = pending[free[first]]
        placed = np.zeros(len(pending), dtype=bool)
        placed[free[first]] = True
        pending, at = pending[~placed], (at[~placed] + 1) & mask
    return slots


def index_problem(slots: np.ndarray, rows: int) -> str | None:
    """What is wrong with a stored table for `rows` words, or None: its size, a row outside
    the vocabulary, or a row held by no slot or by two."""
    if len(slots) != table_size(rows):
        return f"{len(slots)} slots where {rows} words need {table_size(rows)}"
    held = slots[slots != EMPTY]
    if len(held) != rows or (rows and (held.min() < 0 or held.max() >= rows)):
        return f"{len(held)} rows for {rows} words, or a row outside them"
    if rows and np.bincount(held, minlength=rows).max() > 1:
        return "a row held twice"
    return None


class WordIndex(Mapping[str, int]):
    """`key_to_index` answered from a stored table (`build_word_index`) over `words`: a
    read-only mapping with a dict's lookups, iteration in row order and length.
    `KeyedVectors` replaces it with a dict when words are added."""

    def __init__(self, words: list[str], slots: np.ndarray):
        self._words = words
        self._slots = np.ascontiguousarray(slots, dtype=np.int64).data  # a memmap stays mapped
        self._mask = len(slots) - 1

    def __getitem__(self, key) -> int:
        if isinstance(key, str):
            try:
                at = word_hash(key) & self._mask
            except UnicodeEncodeError:
                raise KeyError(key) from None
            slots, words = self._slots, self._words
            while (row := slots[at]) != EMPTY:
                if words[row] == key:
                    return row
                at = (at + 1) & self._mask
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def __repr__(self) -> str:
        return f"WordIndex({len(self)} words)"
