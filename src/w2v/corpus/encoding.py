"""The corpus encoded as word ids once, kept on disk and read back a slice at a time.

`scan` reads the text once: `counting.count_words` gives each new word a provisional id as it
first appears and counts them while the ids go to a temporary file; then the vocabulary is
built and the file rewritten in place in final ids, dropping words below min_count (as
word2vec.c drops unknown words). Memory holds one block of ids, the word table and the sentence
offsets; the ids themselves stay on disk, 4 bytes a token at any moment, so training a corpus
four times longer costs no more memory.

A large plain corpus file is scanned by several processes at once, each a byte range of it cut
at whitespace, each writing its ids into the one file from the id offset equal to its range's
first byte (a token takes at least a byte, so the ranges cannot meet; the gaps between them are
holes that take no disk). Their word tables are joined in file order and the rewrite closes the
gaps, so the result is the one-process scan's to the last id, whatever the number of processes.

`prepare` is the one place that chooses how a corpus becomes (vocabulary, ids): a scan, a given
vocabulary, a pruning count, a grown vocabulary, or rank 0's vocabulary in a torchrun job. What
reading the text replaced and cut comes back with the corpus (`EncodedCorpus.report`).
"""

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import tempfile
import warnings
import weakref
import zlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2v.corpus.counting import BLOCK_IDS, Counted, count_words
from w2v.corpus.readers import FileReader, ReadReport, read_corpus
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError

# `encode` gathers ids as C ints (array "i"), never as a long list of Python ints (36 bytes each).
assert array("i").itemsize == 4
MAX_SCAN_PROCESSES = 4  # each holds a word table of its own; more gains little on a disk read
IDS = "ids.i32"
SCAN_SPAN_BYTES = 4 << 20  # below two of these a file is scanned by one process: starting
# another and joining the tables would cost more than it saves


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
    """One pass over (a range of) the corpus: what counting found, its provisional ids on disk
    and what reading it replaced and cut."""

    counted: Counted
    ids: IdFile
    report: ReadReport = field(default_factory=ReadReport)


def prepare(sentences: Iterable[list[str]], *, min_count: int = 5,
            max_final_vocab: int | None = None, max_vocab_size: int | None = None,
            sorted_vocab: bool = True, null_word: bool = False, trim_rule=None,
            vocab: Vocab | None = None, grow: Vocab | None = None,
            share: Callable[[Vocab | None], Vocab] | None = None,
            root: bool = True) -> tuple[Vocab, EncodedCorpus]:
    """The corpus as (vocabulary, ids), by the one way that fits what is given:

    - `vocab`, a fixed vocabulary (read from a file): encode with it;
    - `grow`, the vocabulary of a model trained before (gensim's build_vocab(update=True)):
      count the new corpus, append its new words (`Vocab.updated`), encode;
    - `max_vocab_size`: count while pruning, build the vocabulary, then encode (two passes);
    - otherwise: `scan`, which counts and encodes in one pass.

    In a torchrun job `share` takes rank 0's vocabulary to every rank: on rank 0 (`root`) it is
    called with the vocabulary chosen as above, on the others with None, and returns rank 0's,
    which they encode with. The vocabulary options are `Vocab.from_counts`'s."""
    if share is not None and not root:
        shared = share(None)
        return shared, encode(sentences, shared)
    if vocab is not None:
        corpus = encode(sentences, vocab)
    elif grow is not None:
        counted = count_words(sentences, max_vocab_size=max_vocab_size, trim_rule=trim_rule)
        vocab = grow.updated(counted.as_dict(), min_count, max_final_vocab,
                             counted.corpus_words, trim_rule, null_word)
        corpus = encode(sentences, vocab)
    elif max_vocab_size is not None:
        vocab = Vocab.build(sentences, min_count, max_vocab_size, max_final_vocab, trim_rule,
                            sorted_vocab, null_word)
        corpus = encode(sentences, vocab)
    else:
        vocab, corpus = scan(sentences, min_count, max_final_vocab, trim_rule, sorted_vocab,
                             null_word)
    if share is not None:
        share(vocab)
    return vocab, corpus


def scan(sentences: Iterable[list[str]], min_count: int = 5,
         max_final_vocab: int | None = None, trim_rule=None, sorted_vocab: bool = True,
         null_word: bool = False, processes: int | None = None) -> tuple[Vocab, EncodedCorpus]:
    """Count and encode in one pass over the text: (vocabulary, corpus in its ids).

    The vocabulary options are `Vocab.from_counts`'s. A plain corpus file (a `FileReader`) is
    read by up to `processes` processes at once; None: one per CPU, up to MAX_SCAN_PROCESSES,
    for a file of at least two SCAN_SPAN_BYTES. The result does not depend on the number."""
    folder = tempfile.TemporaryDirectory(prefix="w2v-corpus-")
    try:
        parts = _scan_parts(sentences, Path(folder.name), processes)
        report = ReadReport()
        for part in parts:
            report.add(part.report)
        report.warn(getattr(sentences, "source", "the corpus"))
        total = sum(len(p.ids) for p in parts)
        if total == 0:
            source = getattr(sentences, "source", None)
            where = f" {source}" if source is not None else ""
            raise W2VError(f"the corpus{where} is empty: it holds no words; give a corpus with "
                           "text")
        words, counts, provisional = _join(parts)
        vocab = Vocab.from_counts(dict(zip(words, counts.tolist(), strict=True)), min_count,
                                  max_final_vocab, total, trim_rule, sorted_vocab, null_word)
        final = np.array([vocab.index.get(w, -1) for w in words], dtype=np.int32)
        pieces = [(p.ids, final[ids]) for p, ids in zip(parts, provisional, strict=True)]
        corpus = _remap(pieces, _starts(sentences, parts, total), total)
    except BaseException:
        folder.cleanup()
        raise
    weakref.finalize(corpus.ids, folder.cleanup)
    corpus.report = report
    return vocab, corpus


def _scan_parts(sentences, folder: Path, processes: int | None) -> list[_Part]:
    spans = _spans(sentences, processes)
    if len(spans) < 2:
        return [_scan_span(sentences, None, folder / IDS)]
    return _scan_in_processes(sentences, spans, folder / IDS)


def _spans(sentences, processes: int | None) -> list[tuple[int, int | None]]:
    """The byte ranges to scan in processes of their own; fewer than two: scan in this one."""
    # Workers are forked, so they start at once and need nothing pickled; a daemonic process
    # (a multiprocessing pool's worker) may not start children.
    if (not isinstance(sentences, FileReader) or not sys.platform.startswith("linux")
            or multiprocessing.current_process().daemon):
        return []
    if processes is None:
        processes = min(len(os.sched_getaffinity(0)), MAX_SCAN_PROCESSES)
        return sentences.spans(processes, SCAN_SPAN_BYTES)
    return sentences.spans(processes)


def _scan_span(sentences, span: tuple[int, int | None] | None, path: Path) -> _Part:
    """Count (a byte range of) the corpus, writing its provisional ids into `path` from the id
    offset equal to the range's first byte."""
    report = ReadReport()
    reading = read_corpus(sentences, report) if span is None else sentences.read(report, *span)
    with _IdWriter(path.name, path.parent, span[0] if span else 0) as writer:
        counted = count_words(reading, writer)
        return _Part(counted, writer.finish(), report)


def _scan_in_processes(reader: FileReader, spans, path: Path) -> list[_Part]:
    """Scan the first span here and each other in a forked process; any failure is raised here
    as the one-process scan would raise it, and stops the other processes."""
    context = multiprocessing.get_context("fork")
    jobs = []
    try:
        for span in spans[1:]:
            receive, send = context.Pipe(duplex=False)
            job = context.Process(target=_worker, args=(reader, span, path, send, receive))
            with warnings.catch_warnings():
                # Python 3.12+ warns on forking a process with threads (torch's pools). The
                # child runs only the reading and numpy code above, and leaves by os._exit.
                warnings.simplefilter("ignore", DeprecationWarning)
                job.start()
            send.close()  # so that a child's death reads as the end of its pipe
            jobs.append((job, receive))
        parts = [_scan_span(reader, spans[0], path)]
        return parts + [_receive(reader, job, receive) for job, receive in jobs]
    finally:
        for job, receive in jobs:
            if job.is_alive():
                job.kill()
            job.join()
            receive.close()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _worker(reader: FileReader, span, path: Path, send, receive) -> None:
    # Ctrl-C reaches the whole process group; the parent stops its workers itself, so they do
    # not each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # If the parent dies (killed, out of memory), end too rather than block on a full pipe that
    # nobody reads: hold no read end of our own pipe, and ask Linux for SIGKILL on its death.
    receive.close()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    outcome: _Part | Exception
    try:
        outcome = _scan_span(reader, span, path)
    except Exception as err:  # sent to the parent, which raises it
        outcome = err
    send.send(outcome)


def _receive(reader: FileReader, job, receive) -> _Part:
    try:
        outcome = receive.recv()
    except EOFError:
        job.join()
        raise W2VError(f"a process scanning corpus file {reader.source} stopped (exit code "
                       f"{job.exitcode}), killed for memory perhaps; free memory and retry"
                       ) from None
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _join(parts: list[_Part]) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """The parts' words in first-seen order over all parts, their summed counts, and each
    part's map from its provisional ids to the joined ones. The first part's words keep their
    ids, so one part needs no table at all, and the others are looked up in one built at C
    speed from the first."""
    first = parts[0].counted
    maps = [np.arange(len(first.words), dtype=np.int64)]
    if len(parts) == 1:
        return first.words, first.counts, maps
    index = dict(zip(first.words, range(len(first.words)), strict=True))
    for part in parts[1:]:
        maps.append(np.array([index.setdefault(w, len(index)) for w in part.counted.words],
                             dtype=np.int64))
    counts = np.zeros(len(index), dtype=np.int64)
    for part, ids in zip(parts, maps, strict=True):
        counts[ids] += part.counted.counts  # a part lists each word once
    return list(index), counts, maps


def _starts(sentences, parts: list[_Part], total: int) -> np.ndarray:
    """The sentence offsets of the whole corpus, as one pass over it would have cut them."""
    if len(parts) > 1 and not sentences.by_line:
        # A stream is cut every max_sentence_length words from its start, not from a range's.
        step = sentences.max_sentence_length
        return np.append(np.arange(0, total, step, dtype=np.int64), total)
    offsets = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
    return np.concatenate([parts[0].counted.starts[:1]]
                          + [p.counted.starts[1:] + o for p, o in zip(parts, offsets, strict=True)])


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


def encode(sentences: Iterable[list[str]], vocab: Vocab) -> EncodedCorpus:
    """Encode a corpus with a fixed vocabulary (read from a file, built with pruning, grown)."""
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
