"""fastText's subword vectors (Bojanowski et al., "Enriching Word Vectors with Subword
Information", 2017): a word is its own row plus the rows of its character n-grams, hashed into
`bucket` shared rows, so that any string, seen in training or not, has a vector.

The n-grams and the hash are fastText's (`Dictionary::computeSubwords`, `Dictionary::hash`),
which gensim's `FastText` repeats, so that bucket numbers agree with both: the word is wrapped
in `<` and `>`, n-grams are taken over its UTF-8 characters (a multi-byte character is never
split), from `min_n` to `max_n` characters, the whole wrapped word included when short enough,
the lone `<` and `>` never; each n-gram's bytes are hashed with 32-bit FNV-1a, every byte
sign-extended first as C++'s `int8_t` does. Duplicates are kept, as both libraries keep them.
"""

from collections.abc import Sequence

import numpy as np

from w2v.errors import W2VError

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619
BATCH_WORDS = 1 << 16  # words hashed together: bounds the arrays on a huge vocabulary


def check_subword_options(min_n: int, max_n: int, bucket: int) -> None:
    """Refuse n-gram lengths and bucket counts that cannot give a vector to any word."""
    if not (isinstance(min_n, int) and isinstance(max_n, int) and 1 <= min_n <= max_n):
        raise W2VError(f"min_n={min_n!r}, max_n={max_n!r}: n-gram lengths must be whole numbers "
                       "with 1 <= min_n <= max_n (fastText's default: min_n=3, max_n=6)")
    if not (isinstance(bucket, int) and 1 <= bucket < 2**31):
        raise W2VError(f"bucket={bucket!r}: the n-grams need at least one hash bucket, and "
                       "fewer than 2**31; fastText's default is 2000000")


def fnv1a(data: bytes) -> int:
    """fastText's `Dictionary::hash` of `data`: 32-bit FNV-1a over sign-extended bytes."""
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * FNV_PRIME) & 0xFFFFFFFF
    return h


def ngrams(word: str, min_n: int, max_n: int) -> list[bytes]:
    """The UTF-8 n-grams of `<word>` in fastText's order (by start, then by length)."""
    return [bytes(g) for g in _spans_bytes([word], min_n, max_n)]


def ngram_buckets(words: Sequence[str], min_n: int, max_n: int,
                  bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """The bucket of every n-gram of every word: (buckets (N,) int64, starts (len(words) + 1,)
    int64), word i's buckets being buckets[starts[i]:starts[i + 1]] in fastText's order."""
    parts, counts = [], []
    for lo in range(0, len(words), BATCH_WORDS):
        b, c = _batch_buckets(words[lo:lo + BATCH_WORDS], min_n, max_n, bucket)
        parts.append(b)
        counts.append(c)
    count = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    starts = np.zeros(len(words) + 1, np.int64)
    np.cumsum(count, out=starts[1:])
    return (np.concatenate(parts) if parts else np.zeros(0, np.int64)), starts


def bags(words: Sequence[str], min_n: int, max_n: int,
         bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Each word's input rows in one table of the words' rows and then the buckets' (fastText's
    input matrix): (rows (N,) int32, starts (len(words) + 1,) int64), word i's rows being
    rows[starts[i]:starts[i + 1]], its own row i first, then len(words) + each n-gram's bucket."""
    buckets, at = ngram_buckets(words, min_n, max_n, bucket)
    n = len(words)
    starts = at + np.arange(n + 1)
    rows = np.empty(len(buckets) + n, np.int32)
    rows[starts[:-1]] = np.arange(n)
    own = np.zeros(len(rows), bool)
    own[starts[:-1]] = True
    rows[~own] = buckets + n
    return rows, starts


def bag_means(table: np.ndarray, rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The mean of each bag's rows of `table`: (len(starts) - 1, D) float32."""
    out = np.empty((len(starts) - 1, table.shape[1]), np.float32)
    size = np.diff(starts)
    for lo in range(0, len(out), BATCH_WORDS):
        hi = min(lo + BATCH_WORDS, len(out))
        picked = table[rows[starts[lo]:starts[hi]]]
        out[lo:hi] = np.add.reduceat(picked, starts[lo:hi] - starts[lo], axis=0)
        out[lo:hi] /= size[lo:hi, None]
    return out


def _spans(words: Sequence[str], min_n: int, max_n: int):
    """(buffer of the wrapped words' UTF-8 bytes, each n-gram's word, first and end byte),
    the n-grams in fastText's order within each word."""
    encoded = [f"<{w}>".encode() for w in words]
    buf = np.frombuffer(b"".join(encoded), np.uint8)
    length = np.fromiter((len(e) for e in encoded), np.int64, len(encoded))
    first_byte = np.zeros(len(words) + 1, np.int64)
    np.cumsum(length, out=first_byte[1:])
    # The byte where each character starts (a UTF-8 continuation byte is 10xxxxxx), and after
    # each word's characters its end: word w's boundaries are bounds[at[w]:at[w] + chars[w] + 1].
    starts = (buf & 0xC0) != 0x80
    char_word = np.repeat(np.arange(len(words)), length)[starts]
    chars = np.bincount(char_word, minlength=len(words)).astype(np.int64)
    at = np.zeros(len(words), np.int64)
    np.cumsum(chars[:-1] + 1, out=at[1:])
    bounds = np.empty(len(char_word) + len(words), np.int64)
    bounds[np.arange(len(char_word)) + char_word] = np.flatnonzero(starts)
    bounds[at + chars] = first_byte[1:]
    pieces = []
    for size in range(min_n, max_n + 1):
        per_word = np.maximum(chars - size + 1, 0)  # (words,) n-grams of `size` characters
        word = np.repeat(np.arange(len(words)), per_word)
        i = np.arange(len(word)) - np.repeat(np.cumsum(per_word) - per_word, per_word)
        if size == 1:  # the lone "<" and ">" are the word's edges, not n-grams
            keep = (i > 0) & (i < chars[word] - 1)
            word, i = word[keep], i[keep]
        pieces.append((word, i, np.full(len(word), size), bounds[at[word] + i],
                       bounds[at[word] + i + size]))
    word, i, n, begin, end = (np.concatenate(p) for p in zip(*pieces, strict=True))
    order = np.lexsort((n, i, word))
    return buf, word[order], begin[order], end[order]


def _spans_bytes(words, min_n, max_n):
    buf, _, begin, end = _spans(words, min_n, max_n)
    return [buf[b:e] for b, e in zip(begin.tolist(), end.tolist(), strict=True)]


def _batch_buckets(words, min_n, max_n, bucket):
    buf, word, begin, end = _spans(words, min_n, max_n)
    signed = buf.astype(np.uint32)
    signed[buf >= 0x80] |= np.uint32(0xFFFFFF00)
    h = np.full(len(begin), FNV_OFFSET, np.uint32)
    span = end - begin
    for k in range(int(span.max()) if len(span) else 0):
        live = np.flatnonzero(span > k)
        h[live] = (h[live] ^ signed[begin[live] + k]) * np.uint32(FNV_PRIME)
    return (h % np.uint32(bucket)).astype(np.int64), np.bincount(word, minlength=len(words))
