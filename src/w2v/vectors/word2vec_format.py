"""word2vec.c's vector files, text and binary, as the C tool and gensim read and write them.

Both start with a line "VOCAB_SIZE VECTOR_SIZE" (GloVe's text files leave it out). Text
records are "word v1 ... vD\\n"; binary records are the word's UTF-8 bytes, a space, D
little-endian float32 and, as the C tool writes them, a newline (gensim omits it; both are
read). Text values are written as numpy spells a float32 (the shortest string that reads back
to the same float32), as gensim does, so a file round-trips exactly. A file that repeats a word
keeps the first occurrence and warns, as gensim does: decoding with unicode_errors="replace"
can merge distinct byte strings into one word. gzip, bzip2 and xz files are read as they are,
decompressed a block at a time: reading costs the array and one block, whatever the file's size.

Inputs are untrusted: a plain file's size is checked against its header before anything is
allocated, a compressed one is refused where it ends short, and every problem is raised once
as W2VError naming the path, the byte offset or line, and the fix.
"""

import bz2
import codecs
import contextlib
import gzip
import lzma
import os
import re
import warnings
import zlib
from array import array
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

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

# ISA-L's inflate, 1.7 times zlib's speed here: used where the fast-gzip extra is installed.
_igzip: Any
_isal_errors: tuple[type[Exception], ...]
try:
    from isal import igzip as _igzip
    from isal.isal_zlib import error as _isal_error

    _isal_errors = (cast(type[Exception], _isal_error),)
except ImportError:
    _igzip, _isal_errors = None, ()


def _gunzip(f):
    """A reader of the gzip data in `f`: ISA-L's where installed, else the standard library's."""
    return gzip.GzipFile(fileobj=f) if _igzip is None else _igzip.IGzipFile(fileobj=f)


# Compressed files are told by their first bytes, not their names, and decompressed as read.
_COMPRESSED = ((b"\x1f\x8b", _gunzip, "gzip"),
               (b"BZh", bz2.BZ2File, "bzip2"), (b"\xfd7zXZ\x00", lzma.LZMAFile, "xz"))
# Written compressed when the name ends so, as gensim (through smart_open) writes them.
COMPRESSED_SUFFIXES = {".gz": lambda f, mode: gzip.GzipFile(fileobj=f, mode=mode),
                       ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}
# What damaged compressed data raises (bz2 raises OSError, lzma LZMAError, gzip several).
_DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, *_isal_errors)
_HEADER_RE = re.compile(rb"[ \t]*(\d+)[ \t]+(\d+)[ \t\r]*")
_HEADER_MAX_BYTES = 1024
_BLOCK = 1 << 22  # bytes read at a time: the buffer beside the array, whatever the file's size
_FIRST_BLOCK = 1 << 16
_WRITE_CHUNK_ROWS = 10_000


class _Stream:
    """A vector file read front to back, `_BLOCK` bytes at a time, decompressed as it goes.

    `buf` holds the bytes not yet consumed and `offset` counts the (decompressed) bytes before
    it, so that errors name a place in the file's contents. Nothing is read twice and no more
    than two blocks are held beyond the record being parsed: a 3.6 GB file costs its array only.
    A compressed file's next block is decompressed in a thread while this one is parsed (zlib,
    bz2 and lzma release the GIL): decompressing is most of the time a .gz file takes, and the
    thread took a fifth off it (BENCHMARKS.md).
    """

    def __init__(self, path, f, kind: str | None, stored: int):
        self.path, self._file, self._kind, self._stored = path, f, kind, stored
        self.buf = b""
        self.offset = 0
        self._ahead = None if kind is None else ThreadPoolExecutor(1, "w2v-decompress")
        self._next: Future | None = None
        self._reads = 0

    def _size(self) -> int:
        """The next read's size: small first, since a read allocates its whole size before
        the header is checked, then doubling up to _BLOCK."""
        self._reads += 1
        return min(_FIRST_BLOCK << min(self._reads - 1, 16), _BLOCK)

    def _read(self) -> bytes:
        if self._ahead is None:
            return self._file.read(self._size())
        block = (self._next or self._ahead.submit(self._file.read, self._size())).result()
        self._next = self._ahead.submit(self._file.read, self._size()) if block else None
        return block

    def more(self, keep_from: int) -> bool:
        """Drop buf[:keep_from] and append the next block; False at the end of the file."""
        try:
            block = self._read()
        except _DECOMPRESS_ERRORS as err:
            if self._kind is None and isinstance(err, OSError):
                raise read_error(self.path, err) from err
            raise W2VError(
                f"cannot read {self.path}: {self._kind} data truncated or corrupt after "
                f"{self.offset + len(self.buf)} decompressed bytes; re-download the file"
            ) from err
        self.offset += keep_from
        self.buf = self.buf[keep_from:] + block
        return bool(block)

    def most(self) -> int | None:
        """The most bytes the file's contents can hold: its size, or for gzip 1032 times it
        (deflate's largest expansion); None for bzip2 and xz, whose bound is far looser."""
        expansion = {None: 1, "gzip": 1032}.get(self._kind)
        return None if expansion is None else expansion * self._stored

    def size(self) -> int:
        """The file's size as stored (compressed, when it is)."""
        return self._stored

    def fill(self, n: int) -> None:
        """Read until buf holds at least `n` bytes or the file ends."""
        while len(self.buf) < n and self.more(0):
            pass

    def close(self) -> None:
        """Wait for a read still running in the thread: the file is closed next."""
        if self._ahead is not None:
            self._ahead.shutdown(wait=True)


@contextlib.contextmanager
def _open(path) -> Iterator[_Stream]:
    """The file at `path` as a `_Stream`, decompressed when it is gzip, bzip2 or xz."""
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
            f.seek(0)
            kind, opener = next(((k, o) for m, o, k in _COMPRESSED if magic.startswith(m)),
                                (None, None))
            stored = os.fstat(f.fileno()).st_size
            if opener is None:
                yield _Stream(path, f, None, stored)
                return
            with opener(f) as inner:
                stream = _Stream(path, inner, kind, stored)
                try:
                    yield stream
                finally:
                    stream.close()
    except OSError as err:
        raise read_error(path, err) from err


def read_head(path, n: int) -> bytes:
    """The first `n` bytes of the file's contents (decompressed when compressed)."""
    with _open(path) as stream:
        stream.fill(n)
        return stream.buf[:n]


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
            "check that this is a word2vec file (native .w2v files load with format='native', "
            "GloVe files, which have no such line, with format='glove' or no_header=True)"
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

def _decode_words(raw: list[bytes], encoding: str, unicode_errors: str, path, where,
                  first: int = 0) -> list[str]:
    """Decode words #first.. (`raw`); on failure name the word's place via
    `where(word number, bad byte)`."""
    try:
        return [w.decode(encoding, unicode_errors) for w in raw]
    except UnicodeDecodeError:
        for i, w in enumerate(raw, first):
            try:
                w.decode(encoding, unicode_errors)
            except UnicodeDecodeError as err:
                raise W2VError(
                    f"{path}: word #{i} {w[:40]!r} at {where(i, err.start)} is not valid "
                    f"{encoding}; "
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


def _allocate(path, rows: int, dim: int, datatype) -> np.ndarray:
    """The (rows, dim) array the records are read into, before any of them is read."""
    try:
        return np.empty((rows, dim), dtype=datatype)
    except (MemoryError, ValueError) as err:
        raise W2VError(
            f"{path}: the header promises {rows} words of {dim} values, "
            f"{rows * dim * np.dtype(datatype).itemsize / 1e9:.1f} GB as {np.dtype(datatype)}, "
            "more than this machine can hold; the header is wrong, or pass limit= or "
            "datatype=np.float16"
        ) from err


def _check_size(stream: _Stream, start: int, least: int, promise: str) -> None:
    """Refuse a file that cannot hold its header's promise before allocating anything (a
    compressed file's exact size is known only once read: a short one fails where it ends)."""
    size = stream.most()
    if size is not None and least > size - start:
        held = "bytes follow it" if stream.most() == stream.size() else (
            "bytes can follow it once decompressed")
        raise W2VError(
            f"{stream.path}: header promises {promise} (at least {least} bytes) but at most "
            f"{size - start} {held}; the header is wrong or the file is truncated"
        )


def _store(path, out: np.ndarray, first: int, values: np.ndarray) -> None:
    """Copy float32 `values` into out[first:], refusing values too large for out's type."""
    with np.errstate(over="ignore"):
        block = out[first : first + len(values)]
        block[...] = values
    overflowed = (~np.isfinite(block) & np.isfinite(values) if out.dtype.itemsize < 4
                  else np.zeros(0, dtype=bool))
    if overflowed.any():  # an inf or NaN in the file itself stays what it is
        row, col = np.argwhere(overflowed)[0]
        raise W2VError(f"{path}: word #{first + row} has value {values[row, col]} in column "
                       f"{col}, beyond {out.dtype}'s range; load it with datatype=np.float32")


def _read_binary(stream: _Stream, start: int, out: np.ndarray, vocab_size: int, encoding: str,
                 unicode_errors: str) -> list[str]:
    """Read len(out) binary records from buf[start:] into `out`; return their words."""
    rows, dim = out.shape
    nbytes = 4 * dim
    # Per record the loop keeps the word as it stands before its space (after the C tool's
    # record newline, stripped once decoded, as gensim strips it) and the space's offset in the
    # file; a block's vectors are copied and its words decoded together.
    words: list[str] = []
    raw: list[bytes] = []  # the words of this block
    spaces = array("q")
    buf, pos, offset = stream.buf, start, stream.offset  # offset: the file's, of buf[0]

    def where(i, bad):
        return f"byte offset {spaces[i] - len(raw[i - len(words)]) + bad}"

    def flush() -> None:
        first, base = len(words), 1 - stream.offset
        with memoryview(buf) as view:
            packed = bytearray().join(view[s + base : s + base + nbytes] for s in spaces[first:])
        _store(stream.path, out, first, np.frombuffer(packed, dtype=F32).reshape(-1, dim))
        decoded = _decode_words(raw, encoding, unicode_errors, stream.path, where, first)
        words.extend(w.lstrip("\n") for w in decoded)
        raw.clear()

    for i in range(rows):
        space = buf.find(b" ", pos)
        if space < 0 or space + 1 + nbytes > len(buf):
            flush()
            while space < 0 or space + 1 + nbytes > len(buf):
                if not stream.more(pos):
                    head = stream.buf[:64]  # what is left of the file, from this record on
                    word_start = stream.offset + len(head) - len(head.lstrip(b"\n"))
                    raise W2VError(
                        f"{stream.path}: truncated at byte offset {word_start}: word #{i} of "
                        f"{vocab_size} has no complete {nbytes}-byte vector; the file is damaged "
                        f"or its header count is wrong: re-export it or pass limit={i}"
                    )
                buf, pos, offset = stream.buf, 0, stream.offset
                space = buf.find(b" ")
        raw.append(buf[pos:space])
        spaces.append(offset + space)
        pos = space + 1 + nbytes
    flush()
    return words


def _lines(stream: _Stream, start: int) -> Generator[list[bytes], None, None]:
    """The file's lines from buf[start:] on, a block's whole lines at a time; the last line
    counts even without its newline."""
    pos = start
    while True:
        end = stream.buf.rfind(b"\n", pos) + 1
        if end:
            yield stream.buf[pos : end - 1].split(b"\n")
            pos = end
        if not stream.more(pos):
            if stream.buf:
                yield [stream.buf]
            return
        pos = 0


def _read_text(stream: _Stream, start: int, out: np.ndarray, vocab_size: int, encoding: str,
               unicode_errors: str, first_line: int) -> list[str]:
    """Read len(out) text records from buf[start:] into `out`; return their words. The first
    record is line `first_line` of the file (2 after a header, 1 without)."""
    rows, dim = out.shape
    words: list[str] = []

    def where(i, _bad):
        return f"line {first_line + i}"

    blocks = _lines(stream, start)
    while len(words) < rows:
        lines = next(blocks, None)
        if lines is None:
            raise W2VError(
                f"{stream.path}: file ends before line {first_line + len(words)}; the header "
                f"promises {vocab_size} words: fix the header or pass limit={len(words)}"
            )
        first = len(words)
        raw: list[bytes] = []
        rests: list[bytes] = []
        for line in lines[: rows - first]:
            word, _, rest = line.rstrip().partition(b" ")
            # Counting single spaces is the cheap check; split() handles other whitespace.
            if rest.count(b" ") != dim - 1 and len(rest.split()) != dim:
                raise W2VError(
                    f"{stream.path}: line {first_line + first + len(raw)} has "
                    f"{len(rest.split())} values, the header says {dim}; fix that line or the "
                    "header"
                )
            raw.append(word)
            rests.append(rest)
        _store(stream.path, out, first, _parse_values(stream.path, rests, dim, first_line + first))
        words += _decode_words(raw, encoding, unicode_errors, stream.path, where, first)
    blocks.close()
    return words


def _parse_values(path, rests: list[bytes], dim: int, first_line: int) -> np.ndarray:
    try:
        # numpy warns (and will raise) when the text holds something that is not a number.
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            values = np.fromstring(b" ".join(rests), dtype=np.float32, sep=" ")
    except (ValueError, DeprecationWarning):
        values = None
    if values is None or values.size != len(rests) * dim:
        raise _locate_bad_value(path, rests, dim, first_line)
    return values.reshape(-1, dim)


def _locate_bad_value(path, rests: list[bytes], dim: int, first_line: int) -> W2VError:
    for i, rest in enumerate(rests):
        tokens = rest.split()
        if len(tokens) != dim:
            return W2VError(
                f"{path}: line {first_line + i} has {len(tokens)} values, the header says {dim}; "
                "fix that line or the header"
            )
        for token in tokens:
            try:
                float(token)
            except ValueError:
                return W2VError(
                    f"{path}: line {first_line + i}: {token[:40]!r} is not a number; fix that line"
                )
    return W2VError(f"{path}: could not parse the vectors as numbers; re-export the file")


def _glove_sizes(stream: _Stream, limit: int | None) -> tuple[int, int]:
    """(records, values per record) of a text file without a header, GloVe's layout: one pass
    counting lines (up to `limit`), as gensim's no_header=True makes, and the first line's
    values. The caller then reads the file again."""
    stream.fill(1)
    first = stream.buf.split(b"\n", 1)[0].split()
    if len(first) < 2:
        raise W2VError(
            f"{stream.path}: line 1 {bytes(first[0] if first else b'')[:60]!r} is not "
            "'word v1 v2 ...'; with no_header=True every line must be a word and its values"
        )
    lines = 0
    for block in _lines(stream, 0):
        lines += len(block)
        if limit and lines >= limit:
            break
    return lines, len(first) - 1


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError) as err:
        raise W2VError(f"encoding={encoding!r} is not a text encoding; the files word2vec.c "
                       "and gensim write are 'utf8'") from err


def _check_datatype(datatype) -> np.dtype:
    try:
        dtype = np.dtype(datatype)
    except TypeError as err:
        raise W2VError(f"datatype={datatype!r} is not a numpy type; pass np.float32 or "
                       "np.float16") from err
    if dtype.kind != "f":
        raise W2VError(f"datatype={datatype!r} is not a floating-point type; pass np.float32, "
                       "np.float16 (half the memory) or np.float64")
    return dtype


def read_word2vec(
    path, binary: bool, limit: int | None = None, unicode_errors: str = "strict", *,
    no_header: bool = False, datatype=np.float32, encoding: str = "utf8",
) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text or binary file into (words, array of shape (V, D)).

    `limit` reads only the first that many records (None or 0: all, as in gensim);
    `unicode_errors` is the error handler for decoding words from `encoding` ('strict',
    'replace', 'ignore'); `no_header` reads a text file without the "V D" line (GloVe's),
    counting its lines first, as gensim does; `datatype` is the returned array's type
    (np.float16 halves the memory). gzip, bzip2 and xz files are decompressed as they are read,
    never whole, and `limit` stops reading once its records are in. A repeated word keeps its
    first row (with a warning), as gensim does.
    """
    _check_unicode_errors(unicode_errors)
    _check_encoding(encoding)
    dtype = _check_datatype(datatype)
    if no_header and binary:
        raise W2VError(f"{path}: no_header=True reads text files (GloVe's); a binary word2vec "
                       "file always has its header: drop no_header")
    if no_header:
        with _open(path) as stream:
            vocab_size, dim = _glove_sizes(stream, limit)
    with _open(path) as stream:
        if no_header:
            start = 0
        else:
            stream.fill(_HEADER_MAX_BYTES)
            vocab_size, dim, start = parse_header(stream.buf, path)
        rows = rows_to_read(vocab_size, limit)
        if binary:
            _check_size(stream, start, rows * (4 * dim + 1),
                        f"{vocab_size} words of {dim} float32 (the first {rows})")
        else:  # shortest record: an empty word and D one-character values, each after a space
            _check_size(stream, start, rows * 2 * dim - 1,
                        f"{vocab_size} words of {dim} values (the first {rows})")
        out = _allocate(path, rows, dim, dtype)
        if binary:
            words = _read_binary(stream, start, out, vocab_size, encoding, unicode_errors)
        else:
            words = _read_text(stream, start, out, vocab_size, encoding, unicode_errors,
                               first_line=1 if no_header else 2)
    return _drop_duplicates(path, words, out)


def read_counts(path, words: Sequence[str], encoding: str = "utf8",
                unicode_errors: str = "strict") -> np.ndarray:
    """The count of each of `words` from a vocabulary file of "word count" lines (word2vec.c's
    -save-vocab, gensim's fvocab); every word must be in it."""
    counts: dict[str, int] = {}
    with _open(path) as stream:
        for n, line in enumerate((ln for block in _lines(stream, 0) for ln in block), 1):
            parts = line.decode(encoding, unicode_errors).split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit():
                raise W2VError(f"{path}: line {n} {line[:60]!r} is not 'word count'; give the "
                               "vocabulary file word2vec.c's -save-vocab wrote")
            counts.setdefault(parts[0], int(parts[1]))
    missing = [w for w in words if w not in counts]
    if missing:
        raise W2VError(f"{path} does not match the vectors: {len(missing)} of their {len(words)} "
                       f"words are not in it (first: {missing[0]!r}); pass the vocabulary file "
                       "saved with these vectors, or no fvocab")
    return np.fromiter((counts[w] for w in words), dtype=np.int64, count=len(words))

def write_word2vec(path, index_to_key: Sequence[str], vectors, binary: bool, *,
                   write_header: bool = True, total_vec: int | None = None, prefix: str = "",
                   append: bool = False) -> None:
    """Write words and vectors as a word2vec file, in the given order.

    Binary uses the C tool's layout (a newline after each vector), which gensim and the C
    tool both read. Text spells each value as gensim does, the shortest exact float32 string.
    As in gensim: `write_header=False` leaves out the "V D" line (GloVe's text layout),
    `total_vec` is the V it states (default: these rows), `prefix` goes before every word, and
    `append` adds to the end of an existing file (still replaced whole, never half-written).
    """
    vectors = check_vectors(path, index_to_key, vectors)
    words = encode_words(path, [prefix + str(w) for w in index_to_key], " \n")
    rows, dim = vectors.shape
    try:
        with atomic_write(path, "wb") as f, _compressing(path, f) as out:
            if append and os.path.exists(path):
                with _open(path) as old:
                    while old.more(len(old.buf)):
                        out.write(old.buf)
            if write_header:
                out.write(f"{rows if total_vec is None else total_vec} {dim}\n".encode())
            for lo in range(0, rows, _WRITE_CHUNK_ROWS):
                block = vectors[lo : lo + _WRITE_CHUNK_ROWS]
                names = words[lo : lo + _WRITE_CHUNK_ROWS]
                out.write(_binary_block(names, block) if binary else _text_block(names, block))
    except OSError as err:
        raise write_error(path, err) from err


@contextlib.contextmanager
def _compressing(path, f):
    """`f`, or a compressor writing into it when `path` ends in .gz, .bz2 or .xz."""
    compressor = COMPRESSED_SUFFIXES.get(os.path.splitext(str(path))[1].lower())
    if compressor is None:
        yield f
        return
    with compressor(f, "wb") as packed:
        yield packed


def write_counts(path, index_to_key: Sequence[str], counts) -> None:
    """Write "word count" lines, word2vec.c's -save-vocab file (gensim's fvocab)."""
    words = encode_words(path, index_to_key, " \n")
    try:
        with atomic_write(path, "wb") as f:
            f.write(b"".join(w + b" %d\n" % c for w, c in zip(words, counts, strict=True)))
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
