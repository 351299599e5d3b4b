"""Vector files by name: the three formats, telling them apart, and loading or saving a
`KeyedVectors` in any of them. Each format's reader and writer lives in its own module
(`word2vec_format`: the C tool's text and binary; `native`: safetensors) and is re-exported here.
"""

import json
import struct
from pathlib import Path

import numpy as np

from w2v.errors import W2VError
from w2v.vectors.checks import rows_to_read
from w2v.vectors.fasttext_bin import is_fasttext_bin, load_facebook_vectors
from w2v.vectors.keyedvectors import FastTextKeyedVectors, KeyedVectors, load_native
from w2v.vectors.native import (
    NATIVE_MAX_HEADER,
    NATIVE_METADATA,
    read_native,
    write_native,
)
from w2v.vectors.word2vec_format import (
    COMPRESSED_SUFFIXES,
    parse_header,
    read_head,
    read_word2vec,
    write_word2vec,
)

__all__ = ["FORMATS", "NATIVE_METADATA", "SUFFIX_FORMATS", "detect_format", "format_from_suffix",
           "load_vectors", "read_native", "read_word2vec", "save_vectors",
           "write_native", "write_word2vec"]

# "glove": text records without the "V D" header line; fastText's .bin models: read only.
FORMATS = ("native", "binary", "text", "glove", "fasttext")
SUFFIX_FORMATS = {
    ".bin": "binary",
    ".txt": "text",
    ".vec": "text",
    ".w2v": "native",
    ".safetensors": "native",
}
# Reading allocates the requested size up front, so a lying header must not choose it alone.
_DETECT_MAX_BYTES = 1 << 26


def _looks_native(path, head: bytes) -> bool:
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (length,) = struct.unpack("<Q", head[:8])
    if length > NATIVE_MAX_HEADER:
        return False
    try:
        json.loads(read_head(path, 8 + length)[8:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def detect_format(path) -> str:
    """Tell "native", "binary", "text", "glove" or "fasttext" from the file's first bytes.

    Native if it starts with a safetensors header, fasttext if with fastText's magic number
    (a model file, `cc.en.300.bin`), glove if its first line is a word and numbers rather than
    a header; otherwise word2vec, text when the first record is a word and D numbers on one
    line, binary when it is not.
    """
    head = read_head(path, 4096)
    if _looks_native(path, head):
        return "native"
    if is_fasttext_bin(head):
        return "fasttext"
    if _looks_glove(path, head):
        return "glove"
    _, dim, start = parse_header(head, path)
    # Widest text record: a long word and D values in "%lf" spelling (up to ~48 characters).
    head = read_head(path, min(start + 4096 + 64 * dim, _DETECT_MAX_BYTES))
    tokens = head[start:].split(b"\n", 1)[0].split()
    if len(head) == start or tokens and len(tokens) == dim + 1 and _all_numbers(tokens[1:]):
        return "text"
    return "binary"


def _looks_glove(path, head: bytes) -> bool:
    """A first line of a word and at least two numbers: GloVe's layout (a header has two
    numbers and no word)."""
    line = read_head(path, _DETECT_MAX_BYTES).split(b"\n", 1)[0] if b"\n" not in head else (
        head.split(b"\n", 1)[0])
    tokens = line.split()
    return len(tokens) >= 3 and not _all_numbers(tokens[:1]) and _all_numbers(tokens[1:])


def _all_numbers(tokens: list[bytes]) -> bool:
    try:
        for token in tokens:
            float(token)
    except ValueError:
        return False
    return True


def format_from_suffix(path) -> str:
    """The format a file name implies: .bin binary, .txt/.vec text, .w2v/.safetensors native.

    A trailing .gz, .bz2 or .xz is looked through (word2vec files may be compressed).
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes.pop()
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in SUFFIX_FORMATS:
        raise W2VError(
            f"cannot tell the format of {path} from its suffix {suffix!r}; name it "
            f"{', '.join(SUFFIX_FORMATS)} or pass the format ({', '.join(FORMATS)})"
        )
    return SUFFIX_FORMATS[suffix]


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise W2VError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    return format


def load_vectors(
    path,
    format: str | None = None,
    *,
    limit: int | None = None,
    unicode_errors: str = "strict",
    mmap: bool = True,
    datatype=np.float32,
):
    """Load a KeyedVectors from any format; detect the format when None.

    `limit` and `unicode_errors` apply to word2vec and GloVe files (limit also slices a native
    file), `datatype` to word2vec and GloVe files (np.float16 halves the memory); `mmap` to
    native files. A fastText model gives FastTextKeyedVectors, its n-gram rows mapped.
    """
    fmt = _check_format(format) if format is not None else detect_format(path)
    if fmt == "fasttext":
        kv = load_facebook_vectors(path)
        rows = rows_to_read(len(kv), limit)
        return kv if rows == len(kv) else _first_rows(kv, rows)
    if fmt == "native":
        kv = load_native(path, mmap)
        rows = rows_to_read(len(kv), limit)
        return kv if rows == len(kv) else _first_rows(kv, rows)
    words, vectors = read_word2vec(path, fmt == "binary", limit, unicode_errors,
                                   no_header=fmt == "glove", datatype=datatype)
    return KeyedVectors(words, vectors)


def _first_rows(kv: KeyedVectors, rows: int) -> KeyedVectors:
    """The first `rows` words of `kv` (a subword model keeps all its n-gram rows)."""
    counts = None if kv.counts is None else kv.counts[:rows]
    if isinstance(kv, FastTextKeyedVectors):
        return FastTextKeyedVectors(kv.index_to_key[:rows], kv.vectors[:rows], kv.vectors_ngrams,
                                    kv.min_n, kv.max_n, counts)
    return KeyedVectors(kv.index_to_key[:rows], kv.vectors[:rows], counts)


def save_vectors(kv, path, format: str | None = None) -> None:
    """Save a KeyedVectors' words, vectors (and counts, native only) in `format`.

    When format is None it comes from the file's suffix (see format_from_suffix).
    """
    fmt = _check_format(format) if format is not None else format_from_suffix(path)
    if fmt == "fasttext":
        raise W2VError(f"cannot write {path} as a fastText .bin model: w2v reads them only; save "
                       "as .w2v (w2v's native file keeps the n-gram vectors) or .vec (words only)")
    if fmt == "native":
        kv.save(path)
    else:
        write_word2vec(path, kv.index_to_key, kv.vectors, fmt == "binary",
                       write_header=fmt != "glove")
