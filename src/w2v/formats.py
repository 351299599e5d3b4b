"""Vector files: word2vec text and binary (the C tool's and gensim's), and w2v's native file.

word2vec files start with a line "VOCAB_SIZE VECTOR_SIZE". Text records are "word v1 ... vD\\n";
binary records are the word's UTF-8 bytes, a space, D little-endian float32 and, as the C tool
writes them, a newline (gensim omits it; both are read). Text values are written as numpy spells
a float32 (the shortest string that reads back to the same float32), as gensim does, so a file
round-trips exactly. A file that repeats a word keeps the first occurrence and warns, as gensim
does: decoding with unicode_errors="replace" can merge distinct byte strings into one word.

The native file is a safetensors file (8-byte little-endian header length, a JSON header, raw
little-endian data) holding "vectors" (F32, V x D), "vocab" (U8: the words' UTF-8 joined by
"\\n") and optionally "counts" (I64), so it can be memory-mapped and never needs unpickling.

Inputs are untrusted: sizes are checked against the file before anything is allocated, and
every problem is raised once as W2VError naming the path, the byte offset or line, and the fix.
"""

import codecs
import contextlib
import gzip
import json
import math
import mmap
import os
import re
import struct
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeGuard

import numpy as np

from w2v.atomic import atomic_write
from w2v.errors import W2VError

FORMATS = ("native", "binary", "text")
SUFFIX_FORMATS = {
    ".bin": "binary",
    ".txt": "text",
    ".vec": "text",
    ".w2v": "native",
    ".safetensors": "native",
}
NATIVE_MAX_HEADER = 100_000_000
NATIVE_METADATA = {"format": "w2v", "version": "1"}

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_RE = re.compile(rb"[ \t]*(\d+)[ \t]+(\d+)[ \t\r]*")
_HEADER_MAX_BYTES = 1024
# Reading allocates the requested size up front, so a lying header must not choose it alone.
_DETECT_MAX_BYTES = 1 << 26
_GZIP_CHUNK = 1 << 20  # bytes decompressed at a time: each read allocates that much
_WRITE_CHUNK_ROWS = 10_000
_F32 = np.dtype("<f4")
_I64 = np.dtype("<i8")


def _read_error(path, err: OSError) -> W2VError:
    reason = err.strerror or str(err)
    return W2VError(f"cannot read {path}: {reason}; check the path and its permissions")


def _write_error(path, err: OSError) -> W2VError:
    reason = err.strerror or str(err)
    return W2VError(f"cannot write {path}: {reason}; free disk space or choose another path")


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


def _short(value, limit: int = 120) -> str:
    """repr of a value from a file, cut: a hostile header may hold megabytes."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


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
        raise _read_error(path, err) from err
    if mapped is None:
        yield data
        return
    with mapped:
        yield mapped


def _read_head(path, n: int) -> bytes:
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
        raise _read_error(path, err) from err


def _parse_header(buf, path) -> tuple[int, int, int]:
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


def _rows_to_read(vocab_size: int, limit: int | None) -> int:
    # As in gensim, a falsy limit (None or 0) means "all".
    if limit is None or limit == 0:
        return vocab_size
    if not isinstance(limit, int | np.integer) or limit < 0:
        raise W2VError(f"limit={limit!r} is not a non-negative integer; pass e.g. limit=100000")
    return min(vocab_size, int(limit))


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
    vectors = np.frombuffer(packed, dtype=_F32).reshape(rows, dim).astype(np.float32, copy=False)

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
        vocab_size, dim, start = _parse_header(buf, path)
        rows = _rows_to_read(vocab_size, limit)
        reader = _read_binary if binary else _read_text
        words, vectors = reader(buf, path, start, rows, dim, vocab_size, unicode_errors)
    return _drop_duplicates(path, words, vectors)


def _check_vectors(path, index_to_key: Sequence[str], vectors) -> np.ndarray:
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] < 1:
        raise W2VError(
            f"cannot write {path}: vectors have shape {vectors.shape}; need (vocab, dim>=1)"
        )
    if len(index_to_key) != vectors.shape[0]:
        raise W2VError(
            f"cannot write {path}: {len(index_to_key)} words but {vectors.shape[0]} vectors; "
            "pass one word per row"
        )
    return np.ascontiguousarray(vectors, dtype=_F32)


def _encode_words(path, index_to_key: Sequence[str], forbidden: str) -> list[bytes]:
    """UTF-8 bytes of each word, refusing characters that would break the file's layout."""
    words = [str(w) for w in index_to_key]
    joined = "\x00".join(words)
    if any(c in joined for c in forbidden):
        i, w = next((i, w) for i, w in enumerate(words) if any(c in w for c in forbidden))
        raise W2VError(
            f"cannot write {path}: word #{i} {w!r} contains whitespace ({forbidden!r}) that "
            "this format uses as a separator; replace it (e.g. with '_') before saving"
        )
    try:
        return [w.encode("utf-8") for w in words]
    except UnicodeEncodeError:
        for i, w in enumerate(words):
            try:
                w.encode("utf-8")
            except UnicodeEncodeError as err:
                raise W2VError(
                    f"cannot write {path}: word #{i} {w!r} cannot be encoded as UTF-8; "
                    "fix or drop that word"
                ) from err
        raise


def write_word2vec(path, index_to_key: Sequence[str], vectors, binary: bool) -> None:
    """Write words and vectors as a word2vec file, in the given order.

    Binary uses the C tool's layout (a newline after each vector), which gensim and the C
    tool both read. Text spells each value as gensim does, the shortest exact float32 string.
    """
    vectors = _check_vectors(path, index_to_key, vectors)
    words = _encode_words(path, index_to_key, " \n")
    rows, dim = vectors.shape
    try:
        with atomic_write(path, "wb") as f:
            f.write(f"{rows} {dim}\n".encode())
            for lo in range(0, rows, _WRITE_CHUNK_ROWS):
                block = vectors[lo : lo + _WRITE_CHUNK_ROWS]
                names = words[lo : lo + _WRITE_CHUNK_ROWS]
                f.write(_binary_block(names, block) if binary else _text_block(names, block))
    except OSError as err:
        raise _write_error(path, err) from err


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


def write_native(
    path,
    index_to_key: Sequence[str],
    vectors,
    counts=None,
    extra: dict[str, np.ndarray] | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """Write the native file: a safetensors file with "vectors", "vocab" and maybe "counts".

    A whole model adds `extra` float32 (V, D) tables (e.g. "syn1neg") and string `metadata`
    (e.g. its settings); the file still loads as plain vectors.
    """
    vectors = _check_vectors(path, index_to_key, vectors)
    vocab = b"\n".join(_encode_words(path, index_to_key, "\n"))
    rows = vectors.shape[0]
    tensors: list[tuple[str, str, list[int], np.ndarray | bytes]] = []
    # Widest dtype first, as safetensors orders them, so every tensor starts aligned.
    if counts is not None:
        counts = np.asarray(counts)
        if counts.shape != (rows,) or not np.issubdtype(counts.dtype, np.integer):
            raise W2VError(
                f"cannot write {path}: counts have shape {counts.shape} and dtype "
                f"{counts.dtype}; need {rows} integers, one per word"
            )
        tensors.append(("counts", "I64", [rows], np.ascontiguousarray(counts, dtype=_I64)))
    tensors.append(("vectors", "F32", list(vectors.shape), vectors))
    for name, table in (extra or {}).items():
        table = np.ascontiguousarray(table, dtype=_F32)
        tensors.append((name, "F32", list(table.shape), table))
    tensors.append(("vocab", "U8", [len(vocab)], vocab))
    header: dict = {"__metadata__": {**(metadata or {}), **NATIVE_METADATA}}
    offset = 0
    for name, dtype, shape, data in tensors:
        size = data.nbytes if isinstance(data, np.ndarray) else len(data)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    # Pad with spaces (allowed by the spec) so the data starts 8-byte aligned for mmap.
    text += b" " * (-len(text) % 8)
    try:
        with atomic_write(path, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for _name, _dtype, _shape, data in tensors:
                f.write(data.tobytes() if isinstance(data, np.ndarray) else data)
    except OSError as err:
        raise _write_error(path, err) from err


def _native_header(path) -> tuple[dict, int, int]:
    """Parse and check the safetensors header: (header, data offset, data size)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            prefix = f.read(8)
            if len(prefix) < 8:
                raise W2VError(
                    f"{path}: {size} bytes is too short for a native file (8-byte header length "
                    "first); re-save it, or load word2vec files with format='binary'/'text'"
                )
            (length,) = struct.unpack("<Q", prefix)
            if length > NATIVE_MAX_HEADER or 8 + length > size:
                raise W2VError(
                    f"{path}: byte offset 0 declares a {length}-byte header, but the file has "
                    f"{size} bytes (limit {NATIVE_MAX_HEADER}); not a native file or damaged: "
                    "re-save it, or load word2vec files with format='binary'/'text'"
                )
            raw = f.read(length)
    except OSError as err:
        raise _read_error(path, err) from err
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise W2VError(
            f"{path}: the header at byte offset 8 is not JSON ({err}); the file is damaged, "
            "re-save it"
        ) from err
    if not isinstance(header, dict):
        raise W2VError(f"{path}: the header at byte offset 8 is not a JSON object; re-save it")
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != NATIVE_METADATA["format"]:
        raise W2VError(
            f"{path}: a safetensors file but not a w2v one (__metadata__ {_short(meta)}); "
            "save vectors with w2v to get one"
        )
    if meta.get("version") != NATIVE_METADATA["version"]:
        raise W2VError(
            f"{path}: native format version {meta.get('version')!r}; this w2v reads version "
            f"{NATIVE_METADATA['version']!r}: upgrade w2v"
        )
    return header, 8 + length, size - 8 - length


def _tensor(
    path, header: dict, name: str, dtype: str, ndim: int, data_size: int
) -> tuple[list[int], int, int]:
    """Return (shape, begin, end) for a tensor entry after checking it against the file."""
    itemsize = {"F32": 4, "I64": 8, "U8": 1}[dtype]
    entry = header.get(name)
    if not isinstance(entry, dict):
        raise W2VError(f"{path}: the header at byte offset 8 has no {name!r} tensor; re-save "
                       "the file")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not (
        entry.get("dtype") == dtype
        and _int_list(shape, ndim, lowest=0)
        and _int_list(offsets, 2)
        and 0 <= offsets[0] <= offsets[1] <= data_size
        # math.prod of Python ints cannot overflow, as numpy's int64 product would.
        and offsets[1] - offsets[0] == itemsize * math.prod(shape)
    ):
        raise W2VError(
            f"{path}: the header at byte offset 8 gives tensor {name!r} {_short(entry)}, which "
            f"does not describe {ndim}-D {dtype} data inside "
            f"the {data_size} data bytes; the file is damaged, re-save it"
        )
    begin, end = offsets
    return shape, begin, end


def _int_list(value, length: int, lowest: int | None = None) -> TypeGuard[list[int]]:
    """Whether a JSON value is a list of `length` integers, each >= `lowest` if given."""
    return (
        isinstance(value, list)
        and len(value) == length
        and all(isinstance(n, int) and (lowest is None or n >= lowest) for n in value)
    )


def read_native(path, mmap: bool = True) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Read a native file into (words, vectors, counts or None).

    With `mmap`, vectors is a read-only np.memmap of the file: loading costs no copy and
    several processes share one page-cached copy.
    """
    header, data_start, data_size = _native_header(path)
    (rows, dim), v_begin, _ = _tensor(path, header, "vectors", "F32", 2, data_size)
    _, w_begin, w_end = _tensor(path, header, "vocab", "U8", 1, data_size)
    has_counts = "counts" in header
    if has_counts:
        (n_counts,), c_begin, _ = _tensor(path, header, "counts", "I64", 1, data_size)
        if n_counts != rows:
            raise W2VError(f"{path}: {n_counts} counts for {rows} vectors; re-save the file")
    try:
        with open(path, "rb") as f:
            f.seek(data_start + w_begin)
            vocab = f.read(w_end - w_begin)
            counts = None
            if has_counts:
                f.seek(data_start + c_begin)
                counts = np.frombuffer(f.read(8 * rows), dtype=_I64).astype(np.int64)
            if rows * dim == 0:
                vectors = np.zeros((rows, dim), dtype=np.float32)
            elif mmap:
                vectors = np.memmap(
                    path, dtype=_F32, mode="r", offset=data_start + v_begin, shape=(rows, dim)
                )
            else:
                f.seek(data_start + v_begin)
                vectors = np.fromfile(f, dtype=_F32, count=rows * dim).reshape(rows, dim)
                vectors = vectors.astype(np.float32, copy=False)
    except OSError as err:
        raise _read_error(path, err) from err
    try:
        words = vocab.decode("utf-8").split("\n") if rows else []
    except UnicodeDecodeError as err:
        raise W2VError(
            f"{path}: vocab byte offset {data_start + w_begin + err.start} is not UTF-8; "
            "the file is damaged, re-save it"
        ) from err
    if len(words) != rows:
        raise W2VError(f"{path}: {len(words)} words for {rows} vectors; re-save the file")
    if len(set(words)) != rows:
        dup = next(w for w, n in Counter(words).items() if n > 1)
        raise W2VError(f"{path}: the vocabulary lists {dup!r} twice; the file is damaged, "
                       "re-save it")
    return words, vectors, counts


def read_native_extra(path, names: Sequence[str]) -> tuple[dict[str, np.ndarray], dict]:
    """The extra (V, D) float32 tables `names` of a native file and its metadata strings."""
    header, data_start, data_size = _native_header(path)
    tables = {}
    try:
        with open(path, "rb") as f:
            for name in names:
                (rows, dim), begin, _ = _tensor(path, header, name, "F32", 2, data_size)
                f.seek(data_start + begin)
                table = np.fromfile(f, dtype=_F32, count=rows * dim).reshape(rows, dim)
                tables[name] = table.astype(np.float32, copy=False)
    except OSError as err:
        raise _read_error(path, err) from err
    return tables, header["__metadata__"]


def _looks_native(path, head: bytes) -> bool:
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (length,) = struct.unpack("<Q", head[:8])
    if length > NATIVE_MAX_HEADER:
        return False
    try:
        json.loads(_read_head(path, 8 + length)[8:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def detect_format(path) -> str:
    """Tell "native", "binary" or "text" from the file's first bytes.

    Native if it starts with a safetensors header; otherwise word2vec, text when the first
    record is a word and D numbers on one line, binary when it is not.
    """
    head = _read_head(path, 4096)
    if _looks_native(path, head):
        return "native"
    _, dim, start = _parse_header(head, path)
    # Widest text record: a long word and D values in "%lf" spelling (up to ~48 characters).
    head = _read_head(path, min(start + 4096 + 64 * dim, _DETECT_MAX_BYTES))
    tokens = head[start:].split(b"\n", 1)[0].split()
    if len(head) == start or tokens and len(tokens) == dim + 1 and _all_numbers(tokens[1:]):
        return "text"
    return "binary"


def _all_numbers(tokens: list[bytes]) -> bool:
    try:
        for token in tokens:
            float(token)
    except ValueError:
        return False
    return True


def format_from_suffix(path) -> str:
    """The format a file name implies: .bin binary, .txt/.vec text, .w2v/.safetensors native.

    A trailing .gz is looked through (word2vec files may be gzip-compressed).
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
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
):
    """Load a KeyedVectors from any of the three formats; detect the format when None.

    `limit` and `unicode_errors` apply to word2vec files (limit also slices a native file);
    `mmap` to native files.
    """
    from w2v.keyedvectors import KeyedVectors

    fmt = _check_format(format) if format is not None else detect_format(path)
    if fmt == "native":
        words, vectors, counts = read_native(path, mmap=mmap)
        rows = _rows_to_read(len(words), limit)
        if rows < len(words):
            words, vectors = words[:rows], vectors[:rows]
            counts = None if counts is None else counts[:rows]
        return KeyedVectors(words, vectors, counts)
    words, vectors = read_word2vec(path, fmt == "binary", limit, unicode_errors)
    return KeyedVectors(words, vectors)


def save_vectors(kv, path, format: str | None = None) -> None:
    """Save a KeyedVectors' words, vectors (and counts, native only) in `format`.

    When format is None it comes from the file's suffix (see format_from_suffix).
    """
    fmt = _check_format(format) if format is not None else format_from_suffix(path)
    if fmt == "native":
        write_native(path, kv.index_to_key, kv.vectors, getattr(kv, "counts", None))
    else:
        write_word2vec(path, kv.index_to_key, kv.vectors, fmt == "binary")
