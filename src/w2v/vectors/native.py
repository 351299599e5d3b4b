"""w2v's native vector file: a safetensors file that can be memory-mapped and never unpickles.

Layout: an 8-byte little-endian header length, a JSON header, raw little-endian data holding
"vectors" (F32, V x D), "vocab" (U8: the words' UTF-8 joined by "\\n"), "vocab_index" (I64: the
words' hash table, `word_index`, so that loading builds no dict; files written before it lack it
and still load) and optionally "counts" (I64). Subword vectors add "vectors_ngrams" (F32, bucket x
D) and their n-gram lengths in the metadata. A whole model adds further F32 tables and string
metadata; it still loads as vectors. Every size in the header is checked against the file before
anything is read.
"""

import json
import math
import os
import struct
from collections import Counter
from collections.abc import Sequence
from typing import TypeGuard

import numpy as np

from w2v.atomic import atomic_write
from w2v.errors import W2VError
from w2v.vectors.checks import F32, I64, check_vectors, encode_words, read_error, short, write_error
from w2v.vectors.word_index import HASH, WordIndex, build_word_index, index_problem

NATIVE_MAX_HEADER = 100_000_000
NATIVE_METADATA = {"format": "w2v", "version": "1"}
SUBWORDS_KEY = "subwords"  # metadata: the n-gram lengths (JSON) of subword vectors, ...
NGRAMS = "vectors_ngrams"  # ... whose (bucket, D) n-gram table is this tensor
INDEX = "vocab_index"  # tensor and metadata entry (its hash's name) of the words' hash table

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
    vectors = check_vectors(path, index_to_key, vectors)
    vocab = b"\n".join(encode_words(path, index_to_key, "\n"))
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
        tensors.append(("counts", "I64", [rows], np.ascontiguousarray(counts, dtype=I64)))
    slots = build_word_index(index_to_key).astype(I64)
    tensors.append((INDEX, "I64", [len(slots)], slots))
    tensors.append(("vectors", "F32", list(vectors.shape), vectors))
    for name, table in (extra or {}).items():
        table = np.ascontiguousarray(table, dtype=F32)
        tensors.append((name, "F32", list(table.shape), table))
    tensors.append(("vocab", "U8", [len(vocab)], vocab))
    header: dict = {"__metadata__": {**(metadata or {}), INDEX: HASH, **NATIVE_METADATA}}
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
        raise write_error(path, err) from err


def native_header(path, f) -> tuple[dict, int, int]:
    """Parse and check the safetensors header of `path`, open as `f`: (header, data offset,
    data size)."""
    try:
        size = os.fstat(f.fileno()).st_size
        f.seek(0)
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
        raise read_error(path, err) from err
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
            f"{path}: a safetensors file but not a w2v one (__metadata__ {short(meta)}); "
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
            f"{path}: the header at byte offset 8 gives tensor {name!r} {short(entry)}, which "
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
    words, vectors, counts, _, _, _ = _read(path, mmap, extra=())
    return words, vectors, counts


def read_native_subwords(path, mmap: bool = True):
    """A native file's (words, vectors, counts or None, subwords or None, index or None):
    subwords is (the n-gram table "vectors_ngrams", min_n, max_n) when the file holds subword
    vectors, index the words' `WordIndex` when the file stores one. Without an index the words
    are not checked to be distinct: the caller's index of them does that."""
    words, vectors, counts, tables, meta, index = _read(path, mmap, extra=(), subwords=True,
                                                        unique=False)
    if SUBWORDS_KEY not in meta:
        return words, vectors, counts, None, index
    try:
        lengths = json.loads(meta[SUBWORDS_KEY])
        min_n, max_n = int(lengths["min_n"]), int(lengths["max_n"])
    except (ValueError, TypeError, KeyError) as err:
        raise W2VError(f"{path}: the metadata entry {SUBWORDS_KEY!r} is "
                       f"{short(meta[SUBWORDS_KEY])}, not the n-gram lengths; re-save the "
                       "file") from err
    return words, vectors, counts, (tables[NGRAMS], min_n, max_n), index


def read_native_model(path):
    """Everything in a native file through one open: (words, vectors, counts or None, every
    other float32 table by name, metadata strings); what a saved model or a checkpoint holds."""
    return _read(path, mmap=False, extra=None)[:5]


def _read(path, mmap: bool, extra: Sequence[str] | None, subwords: bool = False,
          unique: bool = True):
    """Words, vectors, counts, the float32 tables `extra` (None: all of them; with
    `subwords`, the n-gram table too where the metadata announces one), metadata and the
    words' WordIndex (None where the file has none). With an index the words are checked to
    be distinct whatever `unique` says: nothing else will check them."""
    try:
        with open(path, "rb") as f:
            header, data_start, data_size = native_header(path, f)
            (rows, dim), v_begin, _ = _tensor(path, header, "vectors", "F32", 2, data_size)
            _, w_begin, w_end = _tensor(path, header, "vocab", "U8", 1, data_size)
            counts = None
            if "counts" in header:
                (n_counts,), c_begin, _ = _tensor(path, header, "counts", "I64", 1, data_size)
                if n_counts != rows:
                    raise W2VError(f"{path}: {n_counts} counts for {rows} vectors; re-save "
                                   "the file")
                f.seek(data_start + c_begin)
                counts = np.frombuffer(f.read(8 * rows), dtype=I64).astype(np.int64)
            f.seek(data_start + w_begin)
            vocab = f.read(w_end - w_begin)
            if rows * dim == 0:
                vectors = np.zeros((rows, dim), dtype=np.float32)
            elif mmap:
                vectors = np.memmap(
                    path, dtype=F32, mode="r", offset=data_start + v_begin, shape=(rows, dim)
                )
            else:
                f.seek(data_start + v_begin)
                vectors = np.fromfile(f, dtype=F32, count=rows * dim).reshape(rows, dim)
                vectors = vectors.astype(np.float32, copy=False)
            if extra is None:
                extra = [name for name, entry in header.items() if name != "vectors"
                         and isinstance(entry, dict) and entry.get("dtype") == "F32"]
            elif subwords and SUBWORDS_KEY in header["__metadata__"]:
                extra = [*extra, NGRAMS]
            tables = _tables(path, f, header, data_start, data_size, extra, mmap)
            slots = _index_slots(path, f, header, data_start, data_size, rows, mmap)
    except OSError as err:
        raise read_error(path, err) from err
    words = _words(path, vocab, rows, data_start + w_begin, unique or slots is not None)
    index = None if slots is None else WordIndex(words, slots)
    return words, vectors, counts, tables, header["__metadata__"], index


def _index_slots(path, f, header: dict, data_start: int, data_size: int, rows: int,
                 mmap: bool) -> np.ndarray | None:
    """The stored hash table of the words, checked, or None where the file has none (or one
    by a hash this w2v does not know, which is then ignored: the words are indexed anew)."""
    if header["__metadata__"].get(INDEX) != HASH:
        return None
    (size,), begin, _ = _tensor(path, header, INDEX, "I64", 1, data_size)
    slots: np.ndarray
    if mmap and size:
        slots = np.memmap(path, dtype=I64, mode="r", offset=data_start + begin, shape=(size,))
    else:
        f.seek(data_start + begin)
        slots = np.fromfile(f, dtype=I64, count=size)
    problem = index_problem(slots, rows)
    if problem:
        raise W2VError(f"{path}: the words' hash table {INDEX!r} has {problem}; the file is "
                       "damaged, re-save it")
    return slots.astype(np.int64, copy=False)


def _tables(path, f, header: dict, data_start: int, data_size: int,
            names: Sequence[str], mmap: bool = False) -> dict[str, np.ndarray]:
    tables: dict[str, np.ndarray] = {}
    for name in names:
        (rows, dim), begin, _ = _tensor(path, header, name, "F32", 2, data_size)
        if mmap and rows * dim:
            tables[name] = np.memmap(path, dtype=F32, mode="r", offset=data_start + begin,
                                     shape=(rows, dim))
            continue
        f.seek(data_start + begin)
        table = np.fromfile(f, dtype=F32, count=rows * dim).reshape(rows, dim)
        tables[name] = table.astype(np.float32, copy=False)
    return tables


def _words(path, vocab: bytes, rows: int, offset: int, unique: bool = True) -> list[str]:
    """The vocabulary's words, checked: UTF-8, one per row, and each once unless the caller
    checks that itself (KeyedVectors does, as it indexes them: a third of the time a 3M-word
    file takes to load)."""
    try:
        words = vocab.decode("utf-8").split("\n") if rows else []
    except UnicodeDecodeError as err:
        raise W2VError(
            f"{path}: vocab byte offset {offset + err.start} is not UTF-8; "
            "the file is damaged, re-save it"
        ) from err
    if len(words) != rows:
        raise W2VError(f"{path}: {len(words)} words for {rows} vectors; re-save the file")
    if unique and len(set(words)) != rows:
        raise repeated_word(path, words)
    return words


def repeated_word(path, words: list[str]) -> W2VError:
    dup = next(w for w, n in Counter(words).items() if n > 1)
    return W2VError(f"{path}: the vocabulary lists {dup!r} twice; the file is damaged, re-save it")
