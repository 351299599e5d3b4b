"""fastText's own `.bin` model files (`cc.en.300.bin` and the like), read into
`FastTextKeyedVectors` without unpickling anything and without fastText installed.

The layout is fastText's `FastText::saveModel`, all little-endian: the magic 793712314 and
version 12 (int32 each); `Args::save` (12 int32 and the double `t`: dim, ws, epoch, minCount,
neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate); `Dictionary::save` (size,
nwords, nlabels as int32, ntokens and pruneidx_size as int64, then each entry's UTF-8 bytes,
a 0 byte, its count int64 and its type int8, then pruneidx_size pairs of int32); a bool saying
whether the input matrix is quantized; the input matrix (rows, cols as int64, then float32),
the words' rows first and then the buckets'. The output matrix that follows is not needed for
word vectors and is not read.

A word's vector is fastText's `getWordVector`: the mean of its own row and its n-grams' rows
(the end-of-sentence word `</s>` has no n-grams); any other string's, the mean of its n-grams'.
Quantized (`.ftz`) and pruned models are refused: their rows are codes, not vectors.
"""

import struct

import numpy as np

from w2v.errors import W2VError
from w2v.vectors.checks import read_error
from w2v.vectors.keyedvectors import FastTextKeyedVectors, KeyedVectors
from w2v.vectors.ngrams import bag_means, bags

MAGIC = 793712314
VERSION = 12
EOS = "</s>"  # fastText's end-of-sentence word: its own row, no n-grams
_ARGS = struct.Struct("<12id")
_DICT = struct.Struct("<3i2q")
_MATRIX = struct.Struct("<2q")


def is_fasttext_bin(head: bytes) -> bool:
    """Whether a file starting with `head` is a fastText model (its magic number first)."""
    return len(head) >= 4 and struct.unpack("<i", head[:4])[0] == MAGIC


def load_facebook_vectors(path, encoding: str = "utf-8") -> KeyedVectors:
    """Read a fastText `.bin` model's word and n-gram vectors: FastTextKeyedVectors (plain
    KeyedVectors for a model trained without subwords, maxn = 0)."""
    try:
        with open(path, "rb") as f:
            magic, version = struct.unpack("<2i", _read(f, 8, path, "the magic number"))
            if magic != MAGIC:
                raise W2VError(f"{path}: byte offset 0 holds {magic}, not fastText's magic number "
                               f"{MAGIC}; not a fastText .bin model (a word2vec .bin file loads "
                               "with format='binary')")
            if version != VERSION:
                raise W2VError(f"{path}: fastText format version {version}; w2v reads version "
                               f"{VERSION}, what fastText has written since 2017: re-save the "
                               "model with a current fastText")
            args = _ARGS.unpack(_read(f, _ARGS.size, path, "the training arguments"))
            dim, bucket, minn, maxn = args[0], args[8], args[9], args[10]
            words, counts = _dictionary(f, path, encoding)
            quantized = _read(f, 1, path, "the quantization flag") != b"\0"
            if quantized:
                raise W2VError(f"{path} is a quantized fastText model (.ftz): its rows are codes, "
                               "not vectors; use the unquantized .bin model")
            rows, cols = _MATRIX.unpack(_read(f, _MATRIX.size, path, "the input matrix's shape"))
            offset = f.tell()
    except OSError as err:
        raise read_error(path, err) from err
    if cols != dim or rows != len(words) + bucket:
        raise W2VError(f"{path}: the input matrix is {rows} x {cols}, but the model has {dim} "
                       f"dimensions, {len(words)} words and {bucket} buckets; the file is damaged")
    try:
        table = np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(rows, cols))
    except ValueError as err:  # shorter than the matrix it declares
        raise W2VError(f"{path}: the file ends inside its {rows} x {cols} input matrix at byte "
                       f"offset {offset}; the file is truncated") from err
    if maxn == 0:
        return KeyedVectors(words, np.array(table[:len(words)]), counts)
    rows_of, starts = bags(words, minn, maxn, bucket)
    vectors = bag_means(table, rows_of, starts)
    if EOS in words:
        eos = words.index(EOS)
        vectors[eos] = table[eos]
    return FastTextKeyedVectors(words, vectors, table[len(words):], minn, maxn, counts)


def _read(f, size: int, path, what: str) -> bytes:
    data = f.read(size)
    if len(data) < size:
        raise W2VError(f"{path}: the file ends at byte offset {f.tell()} inside {what}; the file "
                       "is truncated")
    return data


def _dictionary(f, path, encoding: str) -> tuple[list[str], np.ndarray]:
    """The dictionary's words (labels of supervised models left out) and their counts."""
    size, nwords, _, _, pruned = _DICT.unpack(_read(f, _DICT.size, path, "the dictionary"))
    if pruned > 0:
        raise W2VError(f"{path} is a pruned fastText model (its n-grams renumbered by "
                       "quantization); use the unquantized .bin model")
    words, counts = [], np.zeros(nwords, np.int64)
    buffer, at = b"", 0
    for i in range(size):
        end = buffer.find(b"\0", at)
        while end < 0 or len(buffer) < end + 10:  # the word, its 0 byte, count and type
            more = f.read(1 << 20)
            if not more:
                raise W2VError(f"{path}: the file ends inside dictionary entry {i} of {size}; "
                               "the file is truncated")
            buffer, at = buffer[at:] + more, 0
            end = buffer.find(b"\0")
        if i < nwords:
            try:
                words.append(buffer[at:end].decode(encoding))
            except UnicodeDecodeError as err:
                raise W2VError(f"{path}: dictionary entry {i} is not {encoding} ({err}); pass "
                               "the encoding the model was trained in") from err
            counts[i] = struct.unpack_from("<q", buffer, end + 1)[0]
        at = end + 10
    f.seek(f.tell() - (len(buffer) - at))
    return words, counts
