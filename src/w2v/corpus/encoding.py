"""The corpus encoded as word ids once, kept on disk and read back a slice at a time.

`scan` reads the text once: each new word gets a provisional id as it first appears and the
ids are counted while they go to a temporary file; then the vocabulary is built and the file
rewritten in place in final ids, dropping words below min_count (as word2vec.c drops unknown
words). Memory holds one block of ids, the word table and the sentence offsets; the ids
themselves stay on disk, 4 bytes a token at any moment, so training a corpus four times longer
costs no more memory.

Two things can read the text: the Python readers with `counting.count_words` (any iterable of
sentences), or, for a corpus file, the compiled scanner (`training/kernels/scanner.cpp`, handed
in as `scanner=` since this package imports numpy only), which splits and counts the file's
bytes to the same result at several times the speed and a fraction of the memory per word. A
large plain file is scanned by several threads at once, each a byte range of it cut at
whitespace, each writing its ids into the one file from the id offset equal to its range's
first byte. Their word tables are joined in file order and the rewrite closes the gaps, so the
result is the one-thread scan's to the last id, whatever the number of threads.

`prepare` is the one place that chooses how a corpus becomes (vocabulary, ids): a scan, a given
vocabulary, a pruning count, a grown vocabulary, or rank 0's vocabulary in a torchrun job. What
reading the text replaced and cut comes back with the corpus (`EncodedCorpus.report`).
"""

import os
import tempfile
import threading
import weakref
import zlib
from array import array
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeGuard

import numpy as np

from w2v.corpus import readers
from w2v.corpus.counting import BLOCK_IDS, count_words
from w2v.corpus.readers import FileReader, ReadReport, read_corpus
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError

# `encode` gathers ids as C ints (array "i"), never as a long list of Python ints (36 bytes each).
assert array("i").itemsize == 4
MAX_SCAN_THREADS = 4  # each holds a word table of its own; more gains little on a disk read
IDS = "ids.i32"
SCAN_SPAN_BYTES = 4 << 20  # below two of these a file is scanned by one thread: joining
# the tables would cost more than it saves


class IdFile:
    """A flat int32 array on disk; `ids[a:b]` reads that range into memory with one read.

    Reads go through the page cache rather than a memory map, so what was read does not stay in
    this process's resident memory.
    """

    def __init__(self, path: Path, length: int, offset: int = 0):
        self.path, self.length, self.offset = Path(path), length, offset  # offset: in ids

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: slice) -> np.ndarray:
        start, stop, step = item.indices(self.length)
        if step != 1:
            raise IndexError("IdFile supports contiguous slices only")
        count = max(stop - start, 0)
        return np.fromfile(self.path, dtype=np.int32, count=count,
                           offset=4 * (self.offset + start))


class EncodedCorpus:
    """Sentence i is ids[starts[i]:starts[i+1]]; `ids` is an in-memory array or an `IdFile`."""

    def __init__(self, ids, starts: np.ndarray, corpus_words: int, folder=None,
                 report: ReadReport | None = None):
        self.ids = ids
        self.starts = np.asarray(starts, dtype=np.int64)
        self.corpus_words = corpus_words  # raw tokens read, including the dropped ones
        self.report = report or ReadReport()  # what reading the text replaced and cut
        self._folder = folder  # keeps a temporary folder alive as long as the corpus

    def __len__(self) -> int:
        return len(self.ids)

    def checksum(self) -> int:
        """CRC-32 of the ids and the sentence starts: equal corpora, equal sums."""
        crc = zlib.crc32(self.starts.tobytes())
        for a in range(0, len(self.ids), BLOCK_IDS):
            crc = zlib.crc32(np.ascontiguousarray(self.ids[a : a + BLOCK_IDS]).tobytes(), crc)
        return crc

    def chunks(self, words: int):
        """Whole sentences of about `words` ids at a time: yields (ids, local starts)."""
        return map(self.read, self.spans(words))

    def spans(self, words: int):
        """Where `chunks` cuts, without reading: yields (s, e), the chunk of sentences s..e-1,
        whose ids are starts[s]..starts[e]."""
        s, sentences = 0, len(self.starts) - 1
        while s < sentences:
            e = int(np.searchsorted(self.starts, self.starts[s] + words, side="right")) - 1
            e = min(max(e, s + 1), sentences)
            yield s, e
            s = e

    def span_words(self, span: tuple[int, int]) -> int:
        return int(self.starts[span[1]] - self.starts[span[0]])

    def read(self, span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The chunk of sentences s..e-1: (ids, their sentence starts from 0)."""
        s, e = span
        a, b = int(self.starts[s]), int(self.starts[e])
        return np.ascontiguousarray(self.ids[a:b], dtype=np.int32), self.starts[s : e + 1] - a


class _IdWriter:
    """Writes int32 blocks one after the other into a file in `folder` from id `offset` on (the
    file is created if missing, never truncated: several writers may share it), or into a
    temporary folder of its own that is removed with the file's last user."""

    def __init__(self, name: str, folder: Path | None = None, offset: int = 0):
        self.folder = None
        if folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="w2v-corpus-")
            folder = Path(self.folder.name)
        self.path = folder / name
        self.file = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")
        self.file.seek(4 * offset)
        self.offset, self.length = offset, 0

    def write(self, ids: np.ndarray) -> None:
        try:
            ids.astype(np.int32, copy=False).tofile(self.file)
        except OSError as e:
            raise W2VError(f"cannot write the encoded corpus to {self.path}: {e.strerror or e}; "
                           "free disk space or point TMPDIR at a larger disk") from e
        self.length += len(ids)

    def __enter__(self) -> "_IdWriter":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is not None:  # a failed read or write leaves no file behind
            self.file.close()
            if self.folder:
                self.folder.cleanup()

    def finish(self, length: int | None = None) -> IdFile:
        """The ids written; `length` cuts the file there (after a rewrite in place)."""
        if length is not None:
            self.file.truncate(4 * (self.offset + length))
            self.length = length
        self.file.close()
        ids = IdFile(self.path, self.length, self.offset)
        if self.folder:
            weakref.finalize(ids, self.folder.cleanup)
        return ids


@dataclass
class _Part:
    """One pass over (a range of) the corpus: its sentence starts from 0, its provisional ids
    on disk and what reading it replaced and cut."""

    starts: np.ndarray
    ids: IdFile
    report: ReadReport = field(default_factory=ReadReport)


def prepare(sentences: Iterable[list[str]], *, min_count: int = 5,
            max_final_vocab: int | None = None, max_vocab_size: int | None = None,
            sorted_vocab: bool = True, null_word: bool = False, trim_rule=None,
            vocab: Vocab | None = None, grow: Vocab | None = None,
            share: Callable[[Vocab | None], Vocab] | None = None,
            root: bool = True, scanner=None) -> tuple[Vocab, EncodedCorpus]:
    """The corpus as (vocabulary, ids), by the one way that fits what is given:

    - `vocab`, a fixed vocabulary (read from a file): encode with it;
    - `grow`, the vocabulary of a model trained before (gensim's build_vocab(update=True)):
      count the new corpus, append its new words (`Vocab.updated`), encode;
    - otherwise: `scan`, which counts and encodes in one pass (two if it must prune).

    In a torchrun job `share` takes rank 0's vocabulary to every rank: on rank 0 (`root`) it is
    called with the vocabulary chosen as above, on the others with None, and returns rank 0's,
    which they encode with. The vocabulary options are `Vocab.choose`'s; `max_vocab_size` and
    `scanner` are `scan`'s."""
    if share is not None and not root:
        shared = share(None)
        return shared, encode(sentences, shared, scanner)
    if vocab is not None:
        corpus = encode(sentences, vocab, scanner)
    elif grow is not None:
        counted = count_words(sentences, max_vocab_size=max_vocab_size, trim_rule=trim_rule)
        vocab = grow.updated(counted.as_dict(), min_count, max_final_vocab,
                             counted.corpus_words, trim_rule, null_word)
        corpus = encode(sentences, vocab, scanner)
    else:
        vocab, corpus = scan(sentences, min_count, max_final_vocab, trim_rule, sorted_vocab,
                             null_word, max_vocab_size, scanner=scanner)
    if share is not None:
        share(vocab)
    return vocab, corpus


def scan(sentences: Iterable[list[str]], min_count: int = 5,
         max_final_vocab: int | None = None, trim_rule=None, sorted_vocab: bool = True,
         null_word: bool = False, max_vocab_size: int | None = None, threads: int | None = None,
         scanner=None) -> tuple[Vocab, EncodedCorpus]:
    """Count and encode in one pass over the text: (vocabulary, corpus in its ids).

    The vocabulary options are `Vocab.choose`'s. With `max_vocab_size`, whenever more words
    than that are held after a sentence, the rare ones are pruned as gensim prunes them
    (`counting.count_words`); the ids given until then mean nothing after it, so such a corpus
    is encoded in a second pass with the vocabulary. A corpus of fewer distinct words is read
    once, as without the limit.

    Given `scanner`, the compiled `Scanner` class (`training.kernels.corpus_scanner()`), a
    corpus file read without lowercasing or tokenising is split and counted in compiled code, a
    plain file of at least two SCAN_SPAN_BYTES by up to `threads` threads at once (None: one
    per CPU, up to MAX_SCAN_THREADS), each a byte range of it; anything else is read by the
    Python readers and `counting.count_words`. The result is the same either way, whatever the
    number of threads."""
    folder = tempfile.TemporaryDirectory(prefix="w2v-corpus-")
    try:
        path = Path(folder.name) / IDS
        found = None
        if _compiled(sentences, scanner):
            found = _scan_compiled(sentences, scanner, path, threads, min_count, trim_rule,
                                   max_vocab_size)
        if found is None:
            found = _scan_python(sentences, path, max_vocab_size, trim_rule)
        report = ReadReport()
        for part in found.parts:
            report.add(part.report)
        if found.tokens == 0:
            source = getattr(sentences, "source", None)
            where = f" {source}" if source is not None else ""
            raise W2VError(f"the corpus{where} is empty: it holds no words; give a corpus with "
                           "text")
        vocab, picked = Vocab.choose(found.words, found.counts, min_count, max_final_vocab,
                                     found.tokens, trim_rule, sorted_vocab, null_word)
        if found.pruned:  # a second pass, which says what reading replaced and cut
            folder.cleanup()
            return vocab, encode(sentences, vocab, scanner)
        report.warn(getattr(sentences, "source", "the corpus"))
        final = np.full(found.size, -1, dtype=np.int32)  # provisional id -> final id
        final[found.ids[picked]] = np.arange(len(picked), dtype=np.int32)
        pieces = [(p.ids, final[ids]) for p, ids in zip(found.parts, found.maps, strict=True)]
        corpus = _remap(pieces, _starts(sentences, found.parts, found.tokens), found.tokens)
    except BaseException:
        folder.cleanup()
        raise
    weakref.finalize(corpus.ids, folder.cleanup)
    corpus.report = report
    return vocab, corpus


class _Scanned(NamedTuple):
    """What the pass over the corpus found: `size` provisional ids; the words a vocabulary
    may keep with their provisional ids and counts; per part, the map from its own provisional
    ids to the joined ones, and the part; the tokens read; whether pruning voided the ids."""

    size: int
    ids: np.ndarray
    words: list[str]
    counts: np.ndarray
    maps: list[np.ndarray]
    parts: list[_Part]
    tokens: int
    pruned: bool


class _TooManyWords(Exception):
    """Tables scanning side by side hold more words than the limit allows: they cannot prune
    as one pass would, so the scan is made again by one table."""


def _compiled(sentences, scanner) -> TypeGuard[FileReader]:
    """Whether the compiled scanner reads this corpus as the Python readers would."""
    return (scanner is not None and isinstance(sentences, FileReader)
            and not sentences.lowercase and not sentences.tokenize_text)


def _scan_python(sentences, path: Path, max_vocab_size: int | None, trim_rule) -> _Scanned:
    """One pass of the Python readers and `count_words`: every word seen, its provisional id its
    place in the list."""
    report = ReadReport()
    with _IdWriter(path.name, path.parent) as writer:
        counted = count_words(read_corpus(sentences, report), writer, max_vocab_size, trim_rule)
        part = _Part(counted.starts, writer.finish(), report)
    every = np.arange(len(counted.words), dtype=np.int64)
    return _Scanned(len(every), every, counted.words, counted.counts, [every], [part],
                    counted.corpus_words, counted.pruned)


def _scan_compiled(reader: FileReader, scanner, path: Path, threads: int | None,
                   min_count: int, trim_rule, max_vocab_size: int | None) -> _Scanned | None:
    """The file's byte ranges scanned by a thread each (the scanner lets go of the GIL), their
    word tables joined into the first in file order; only the words a vocabulary could keep
    come back as Python strings (all of them when a trim_rule decides). None: the scan would
    have to prune by a trim_rule, which only the Python count applies."""
    if threads is None:
        spans = reader.spans(min(len(os.sched_getaffinity(0)), MAX_SCAN_THREADS),
                             SCAN_SPAN_BYTES)
    else:
        spans = reader.spans(threads)
    # One table prunes as gensim does. Tables side by side cannot (pruning follows the order of
    # the sentences), nor can one under a trim_rule: they give up past their share of the limit.
    prunes = max_vocab_size is not None and len(spans) == 1 and trim_rule is None
    most = None if max_vocab_size is None or prunes else max_vocab_size // len(spans)
    limit = -1 if reader.limit is None else reader.limit
    tables = [scanner(reader.by_line, reader.max_sentence_length, readers.MAX_WORD, limit,
                      max_words=max_vocab_size if prunes else -1) for _ in spans]
    stop = threading.Event()  # a failed range stops the others at their next block

    def part(table, span) -> _Part:
        # A token takes at least a byte, so ranges written from the id offset equal to their
        # first byte cannot meet; the gaps between them are holes that take no disk.
        with _IdWriter(path.name, path.parent, span[0]) as writer:
            starts, report = _feed(reader, table, span, writer, stop, most)
            return _Part(starts, writer.finish(), report)

    with ThreadPoolExecutor(len(spans)) as pool:
        try:
            parts = list(pool.map(part, tables, spans))
        except _TooManyWords:
            parts = None
        except BaseException:
            stop.set()
            raise
    first = tables[0]
    if parts is not None:
        maps = [np.arange(len(first), dtype=np.int64)] + [first.absorb(t) for t in tables[1:]]
    if parts is None or (max_vocab_size is not None and not prunes
                         and len(first) > max_vocab_size):
        path.unlink(missing_ok=True)
        if trim_rule is not None:
            return None
        return _scan_compiled(reader, scanner, path, 1, min_count, None, max_vocab_size)
    tokens = sum(t.tokens for t in tables)
    del tables[1:]
    ids, words, counts = first.frequent(1 if trim_rule else min_count)
    if not words:  # every word, for the error that names the most frequent one's count
        ids, words, counts = first.frequent(1)
    return _Scanned(len(first), ids, words, counts, maps, parts, tokens, first.pruned)


def _feed(reader: FileReader, table, span: tuple[int, int | None], writer: "_IdWriter",
          stop: threading.Event | None = None,
          most: int | None = None) -> tuple[np.ndarray, ReadReport]:
    """Bytes [span) of the file through the compiled `table` into `writer`: the sentence starts
    from 0 and what reading replaced and cut. Past `most` words held, or once `stop` is set,
    it gives up (_TooManyWords, which sets `stop` for the other ranges)."""
    starts = [np.zeros(1, dtype=np.int64)]
    for block in reader.blocks(*span):
        if stop is not None and stop.is_set():
            raise _TooManyWords
        ids, ends = table.feed(block)
        if most is not None and len(table) > most:
            if stop is not None:
                stop.set()
            raise _TooManyWords
        writer.write(ids)
        starts.append(ends)
        if table.done:
            break
    ids, ends = table.finish()
    writer.write(ids)
    starts.append(ends)
    return np.concatenate(starts), ReadReport(table.decode_errors, table.truncated)


def _starts(sentences, parts: list[_Part], total: int) -> np.ndarray:
    """The sentence offsets of the whole corpus, as one pass over it would have cut them."""
    if len(parts) > 1 and not sentences.by_line:
        # A stream is cut every max_sentence_length words from its start, not from a range's.
        step = sentences.max_sentence_length
        return np.append(np.arange(0, total, step, dtype=np.int64), total)
    offsets = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
    return np.concatenate([parts[0].starts[:1]]
                          + [p.starts[1:] + o for p, o in zip(parts, offsets, strict=True)])


def _remap(pieces: list[tuple[IdFile, np.ndarray]], starts: np.ndarray, total: int):
    """Rewrite each piece's provisional ids through its map to final ids, end to end from the
    start of their one file, dropping -1s and moving the sentence offsets to match. In place:
    a block is read before anything is written over it, since the write position never passes
    the read position."""
    first = pieces[0][0]
    with _IdWriter(first.path.name, first.path.parent) as writer:
        new_starts = np.zeros_like(starts)
        kept_before = offset = 0
        for provisional, remap in pieces:
            for a in range(offset, offset + len(provisional), BLOCK_IDS):
                b = min(a + BLOCK_IDS, offset + len(provisional))
                ids = remap[provisional[a - offset : b - offset]]
                kept = ids >= 0
                writer.write(ids[kept])
                prefix = np.concatenate([[kept_before], kept_before + np.cumsum(kept)])
                lo, hi = np.searchsorted(starts, a, "left"), np.searchsorted(starts, b, "right")
                new_starts[lo:hi] = prefix[starts[lo:hi] - a]
                kept_before = int(prefix[-1])
            offset += len(provisional)
        ids = writer.finish(kept_before)
    return EncodedCorpus(ids, new_starts, total)


def encode(sentences: Iterable[list[str]], vocab: Vocab, scanner=None) -> EncodedCorpus:
    """Encode a corpus with a fixed vocabulary (read from a file, built with pruning, grown);
    a corpus file through the compiled `scanner` where `scan` would use it."""
    if _compiled(sentences, scanner):
        return _encode_compiled(sentences, vocab, scanner)
    index = vocab.index
    report = ReadReport()
    with _IdWriter(IDS) as writer:
        starts, buffer, total, corpus_words = array("q", [0]), array("i"), 0, 0
        for sentence in read_corpus(sentences, report):
            corpus_words += len(sentence)
            known = [i for i in map(index.get, sentence) if i is not None]
            buffer.extend(known)
            total += len(known)
            starts.append(total)
            if len(buffer) >= BLOCK_IDS:
                writer.write(np.frombuffer(buffer, dtype=np.int32))
                buffer = array("i")
        writer.write(np.frombuffer(buffer, dtype=np.int32))
        encoded = writer.finish()
    report.warn(getattr(sentences, "source", "the corpus"))
    return EncodedCorpus(encoded, np.frombuffer(starts, dtype=np.int64), corpus_words,
                         report=report)


def _encode_compiled(reader: FileReader, vocab: Vocab, scanner) -> EncodedCorpus:
    """`encode` by a compiled table that holds the vocabulary and drops every other word."""
    limit = -1 if reader.limit is None else reader.limit
    table = scanner(reader.by_line, reader.max_sentence_length, readers.MAX_WORD, limit,
                    frozen=True)
    # Bytes as Python would encode them; a lone surrogate can match no decoded token.
    table.add([w.encode("utf-8", "surrogatepass") for w in vocab.words])
    with _IdWriter(IDS) as writer:
        starts, report = _feed(reader, table, (0, None), writer)
        encoded = writer.finish()
    report.warn(reader.source)
    return EncodedCorpus(encoded, starts, table.tokens, report=report)
