"""word2vec.c's vector files, text and binary, as the C tool and gensim read and write them.

Both start with a line "VOCAB_SIZE VECTOR_SIZE". Text records are "word v1 ... vD\\n"; binary
records are the word's UTF-8 bytes, a space, D little-endian float32 and, as the C tool writes
them, a newline (gensim omits it; both are read). Text values are written as numpy spells a
float32 (the shortest string that reads back to the same float32), as gensim does, so a file
round-trips exactly. A file that repeats a word keeps the first occurrence and warns, as gensim
does: decoding with unicode_errors="replace" can merge distinct byte strings into one word.
Gzip-compressed files are read as they are.

Inputs are untrusted: sizes are checked against the file before anything is allocated, and
every problem is raised once as W2VError naming the path, the byte offset or line, and the fix.
"""

import codecs
import contextlib
import gzip
import mmap
import os
import re
import warnings
import zlib
from collections.abc import Iterator, Sequence

import numpy as np

from w2v.atomic import atomic_write
from w2v.errors import W2VError
from w2v.vectors.checks import (
    F32,
    check_vectors,
    encode_words,
    read_error,
    rows_to_read,
    write_error,
)

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_RE = re.compile(rb"[ \t]*(\d+)[ \t]+(\d+)[ \t\r]*")
_HEADER_MAX_BYTES = 1024
_GZIP_CHUNK = 1 << 20  # bytes decompressed at a time: each read allocates that much
_WRITE_CHUNK_ROWS = 10_000

def _gzip_error(path, offset: int | None = None) -> W2VError:
    where = "" if offset is None else f" after {offset} decompressed bytes"
    return W2VError(f"cannot read {path}: gzip data truncated or corrupt{where}; re-download "
                    "the file")


def _gunzip(f, path) -> bytes:
    """The decompressed contents of the gzip file `f`; a failure names how far it got."""
    parts, offset = [], 0
    try:
        with gzip.GzipFile(fileobj=f) as g:
            while chunk := g.read(_GZIP_CHUNK):
                parts.append(chunk)
                offset += len(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise _gzip_error(path, offset) from err
    return b"".join(parts)

@contextlib.contextmanager
def _file_bytes(path) -> Iterator[bytes | mmap.mmap]:
    """Yield the whole file as a buffer: memory-mapped, or decompressed when it is gzip.

    Mapping lets the page cache hold the file once instead of copying it into the heap.
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
            if magic == _GZIP_MAGIC:
                f.seek(0)
                data, mapped = _gunzip(f, path), None
            elif not magic:
                data, mapped = b"", None
            else:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise read_error(path, err) from err
    if mapped is None:
        yield data
        return
    with mapped:
        yield mapped


def read_head(path, n: int) -> bytes:
    """The first `n` bytes of the file (decompressed when gzip)."""
    try:
        with open(path, "rb") as f:
            # read(n) allocates n bytes up front: ask for no more than the file holds.
            head = f.read(min(n, os.fstat(f.fileno()).st_size))
            if head[:2] != _GZIP_MAGIC:
                return head
            f.seek(0)
            with gzip.GzipFile(fileobj=f) as g:
                parts, size = [], 0
                while size < n and (part := g.read(min(n - size, _GZIP_CHUNK))):
                    parts.append(part)
                    size += len(part)
                return b"".join(parts)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise _gzip_error(path) from err
    except OSError as err:
        raise read_error(path, err) from err


def parse_header(buf, path) -> tuple[int, int, int]:
    """Return (vocab_size, vector_size, offset of the first record) from the "V D" line."""
    if not len(buf):
        raise W2VError(
            f"{path} is empty (0 bytes); expected a word2vec file starting with "
            "'VOCAB_SIZE VECTOR_SIZE'; re-export it"
        )
    newline = buf.find(b"\n", 0, _HEADER_MAX_BYTES)
    line = bytes(buf[: newline if newline >= 0 else _HEADER_MAX_BYTES])
    match = _HEADER_RE.fullmatch(line)
    if newline < 0 or match is None:
        raise W2VError(
            f"{path}: line 1 {line[:60]!r} is not a word2vec header 'VOCAB_SIZE VECTOR_SIZE'; "
            "check that this is a word2vec file (native .w2v files load with format='native')"
        )
    vocab_size, vector_size = int(match[1]), int(match[2])
    if vector_size < 1:
        raise W2VError(f"{path}: line 1 says vector size 0; the header is wrong, re-export it")
    return vocab_size, vector_size, newline + 1


def _check_unicode_errors(unicode_errors: str) -> None:
    try:
        codecs.lookup_error(unicode_errors)
    except (LookupError, TypeError) as err:
        raise W2VError(
            f"unicode_errors={unicode_errors!r} is not a codec error handler; "
            "use 'strict', 'replace' or 'ignore'"
        ) from err

def _decode_words(raw: list[bytes], unicode_errors: str, path, where) -> list[str]:
    """Decode all words; on failure name the word's place via `where(index, bad_byte)`."""
    try:
        return [w.decode("utf-8", unicode_errors) for w in raw]
    except UnicodeDecodeError:
        for i, w in enumerate(raw):
            try:
                w.decode("utf-8", unicode_errors)
            except UnicodeDecodeError as err:
                raise W2VError(
                    f"{path}: word #{i} {w[:40]!r} at {where(i, err.start)} is not valid UTF-8; "
                    "pass unicode_errors='replace' (CLI: --unicode-errors replace) to load it"
                ) from err
        raise


def _drop_duplicates(path, words: list[str], vectors: np.ndarray):
    """Keep each word's first row, as gensim does, and warn about the rest."""
    if len(set(words)) == len(words):
        return words, vectors
    first: dict[str, int] = {}
    for i, w in enumerate(words):
        first.setdefault(w, i)
    keep = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    dup = next(i for i, w in enumerate(words) if first[w] != i)
    warnings.warn(
        f"{path}: {len(words) - len(first)} repeated words (first: {words[dup]!r}, word #{dup}); "
        "kept the first occurrence of each, as gensim does",
        UserWarning,
        stacklevel=3,
    )
    return list(first), np.ascontiguousarray(vectors[keep])


def _read_binary(buf, path, start: int, rows: int, dim: int, vocab_size: int, unicode_errors):
    nbytes = 4 * dim
    size = len(buf)
    if rows * (nbytes + 1) > size - start:
        raise W2VError(
            f"{path}: header promises {vocab_size} words of {dim} float32 (at least "
            f"{rows * (nbytes + 1)} bytes for the first {rows}) but only {size - start} bytes "
            "follow it; the header is wrong or the file is truncated (or it is a text file: "
            "use format='text')"
        )
    find = buf.find
    raw: list[bytes] = []
    starts: list[int] = []
    pos = start
    for i in range(rows):
        space = find(b" ", pos)
        if space < 0 or space + 1 + nbytes > size:
            head = buf[pos : pos + 64]
            word_start = pos + len(head) - len(head.lstrip(b"\n"))
            raise W2VError(
                f"{path}: truncated at byte offset {word_start}: word #{i} of {vocab_size} has no "
                f"complete {nbytes}-byte vector; the file is damaged or its header count is "
                f"wrong: re-export it or pass limit={i}"
            )
        # The C tool ends each record with "\n"; gensim does not. Strip it, as gensim does.
        raw.append(buf[pos:space].lstrip(b"\n"))
        starts.append(space + 1)
        pos = space + 1 + nbytes
    with memoryview(buf) as view:
        packed = bytearray().join(view[s : s + nbytes] for s in starts)
    vectors = np.frombuffer(packed, dtype=F32).reshape(rows, dim).astype(np.float32, copy=False)

    def where(i, bad):
        return f"byte offset {starts[i] - 1 - len(raw[i]) + bad}"

    return _decode_words(raw, unicode_errors, path, where), vectors


def _locate_bad_value(path, rests: list[bytes], dim: int) -> W2VError:
    for i, rest in enumerate(rests):
        tokens = rest.split()
        if len(tokens) != dim:
            return W2VError(
                f"{path}: line {i + 2} has {len(tokens)} values, the header says {dim}; "
                "fix that line or the header"
            )
        for token in tokens:
            try:
                float(token)
            except ValueError:
                return W2VError(
                    f"{path}: line {i + 2}: {token[:40]!r} is not a number; fix that line"
                )
    return W2VError(f"{path}: could not parse the vectors as numbers; re-export the file")


def _read_text(buf, path, start: int, rows: int, dim: int, vocab_size: int, unicode_errors):
    size = len(buf)
    # Shortest record: an empty word and D one-character values, each after a separator.
    if rows * 2 * dim > size - start + 1:
        raise W2VError(
            f"{path}: header promises {vocab_size} lines of {dim} values (at least "
            f"{rows * 2 * dim} bytes for the first {rows}) but only {size - start} bytes follow "
            "it; the header is wrong or the file is truncated"
        )
    find = buf.find
    raw: list[bytes] = []
    rests: list[bytes] = []
    pos = start
    for i in range(rows):
        if pos >= size:
            raise W2VError(
                f"{path}: file ends before line {i + 2}; the header promises {vocab_size} "
                f"words: fix the header or pass limit={i}"
            )
        newline = find(b"\n", pos)
        end = newline if newline >= 0 else size
        word, _, rest = buf[pos:end].rstrip().partition(b" ")
        # Counting single spaces is the cheap check; split() handles other whitespace.
        if rest.count(b" ") != dim - 1 and len(rest.split()) != dim:
            raise W2VError(
                f"{path}: line {i + 2} has {len(rest.split())} values, the header says {dim}; "
                "fix that line or the header"
            )
        raw.append(word)
        rests.append(rest)
        pos = end + 1
    try:
        # numpy warns (and will raise) when the text holds something that is not a number.
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            values = np.fromstring(b" ".join(rests), dtype=np.float32, sep=" ")
    except (ValueError, DeprecationWarning):
        values = None
    if values is None or values.size != rows * dim:
        raise _locate_bad_value(path, rests, dim)

    def where(i, _bad):
        return f"line {i + 2}"

    return _decode_words(raw, unicode_errors, path, where), values.reshape(rows, dim)


def read_word2vec(
    path, binary: bool, limit: int | None = None, unicode_errors: str = "strict"
) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text or binary file into (words, float32 array of shape (V, D)).

    `limit` reads only the first that many records (None or 0: all, as in gensim);
    `unicode_errors` is the UTF-8 decoding error handler for words ('strict', 'replace',
    'ignore'). Gzip-compressed files are read transparently. A repeated word keeps its first
    row (with a warning), as gensim does.
    """
    _check_unicode_errors(unicode_errors)
    with _file_bytes(path) as buf:
        vocab_size, dim, start = parse_header(buf, path)
        rows = rows_to_read(vocab_size, limit)
        reader = _read_binary if binary else _read_text
        words, vectors = reader(buf, path, start, rows, dim, vocab_size, unicode_errors)
    return _drop_duplicates(path, words, vectors)

def write_word2vec(path, index_to_key: Sequence[str], vectors, binary: bool) -> None:
    """Write words and vectors as a word2vec file, in the given order.

    Binary uses the C tool's layout (a newline after each vector), which gensim and the C
    tool both read. Text spells each value as gensim does, the shortest exact float32 string.
    """
    vectors = check_vectors(path, index_to_key, vectors)
    words = encode_words(path, index_to_key, " \n")
    rows, dim = vectors.shape
    try:
        with atomic_write(path, "wb") as f:
            f.write(f"{rows} {dim}\n".encode())
            for lo in range(0, rows, _WRITE_CHUNK_ROWS):
                block = vectors[lo : lo + _WRITE_CHUNK_ROWS]
                names = words[lo : lo + _WRITE_CHUNK_ROWS]
                f.write(_binary_block(names, block) if binary else _text_block(names, block))
    except OSError as err:
        raise write_error(path, err) from err


def _binary_block(words: list[bytes], block: np.ndarray) -> bytes:
    data = block.tobytes()
    step = 4 * block.shape[1]
    parts: list[bytes] = []
    for i, w in enumerate(words):
        parts += (w, b" ", data[i * step : (i + 1) * step], b"\n")
    return b"".join(parts)


def _text_block(words: list[bytes], block: np.ndarray) -> bytes:
    # numpy's str() of a float32 is its shortest round-trip spelling unless a caller set
    # legacy print options, which would lose digits.
    with np.printoptions(legacy=False):
        lines = [
            w + b" " + " ".join(map(str, row)).encode() + b"\n"
            for w, row in zip(words, block, strict=True)
        ]
    return b"".join(lines)
