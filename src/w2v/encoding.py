"""The corpus encoded as word ids once, kept on disk and read back a slice at a time.

`scan` reads the text once: it gives each new word a provisional id as it first appears, writes
those ids to a temporary file and counts them with `bincount`, then builds the vocabulary and
rewrites the file in final ids, dropping words below min_count (as word2vec.c drops unknown
words). Memory holds one block of ids, the word table and the sentence offsets; the ids
themselves stay on disk, so training a corpus four times longer costs no more memory.
"""

import os
import tempfile
import weakref
from array import array
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from w2v.errors import W2VError
from w2v.vocab import Vocab

BLOCK_IDS = 1 << 20  # ids per block written or rewritten: ~25 MiB of temporaries at most
# Ids are gathered as C ints (array "i"), never as a long list of Python ints (36 bytes each).
assert array("i").itemsize == 4


class IdFile:
    """A flat int32 array on disk; `ids[a:b]` reads that range into memory with one read.

    Reads go through the page cache rather than a memory map, so what was read does not stay in
    this process's resident memory.
    """

    def __init__(self, path: Path, length: int):
        self.path, self.length = Path(path), length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: slice) -> np.ndarray:
        start, stop, step = item.indices(self.length)
        if step != 1:
            raise IndexError("IdFile supports contiguous slices only")
        count = max(stop - start, 0)
        return np.fromfile(self.path, dtype=np.int32, count=count, offset=4 * start)


class EncodedCorpus:
    """Sentence i is ids[starts[i]:starts[i+1]]; `ids` is an in-memory array or an `IdFile`."""

    def __init__(self, ids, starts: np.ndarray, corpus_words: int, folder=None):
        self.ids = ids
        self.starts = np.asarray(starts, dtype=np.int64)
        self.corpus_words = corpus_words  # raw tokens read, including the dropped ones
        self._folder = folder  # keeps a temporary folder alive as long as the corpus

    def __len__(self) -> int:
        return len(self.ids)

    def chunks(self, words: int):
        """Whole sentences of about `words` ids at a time: yields (ids, local starts)."""
        s, sentences = 0, len(self.starts) - 1
        while s < sentences:
            e = int(np.searchsorted(self.starts, self.starts[s] + words, side="right")) - 1
            e = min(max(e, s + 1), sentences)
            a, b = int(self.starts[s]), int(self.starts[e])
            yield np.ascontiguousarray(self.ids[a:b], dtype=np.int32), self.starts[s : e + 1] - a
            s = e


class _IdWriter:
    """Appends int32 blocks to a file in a temporary folder removed with its last user."""

    def __init__(self, name: str):
        self.folder = tempfile.TemporaryDirectory(prefix="w2v-corpus-")
        self.path = Path(self.folder.name) / name
        self.file = open(self.path, "wb")  # noqa: SIM115 - closed in finish()
        self.length = 0

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
            self.folder.cleanup()

    def finish(self) -> IdFile:
        self.file.close()
        ids = IdFile(self.path, self.length)
        weakref.finalize(ids, self.folder.cleanup)
        return ids


def scan(sentences: Iterable[list[str]], min_count: int = 5,
         max_final_vocab: int | None = None, trim_rule=None, sorted_vocab: bool = True,
         null_word: bool = False) -> tuple[Vocab, EncodedCorpus]:
    """Count and encode in one pass over the text: (vocabulary, corpus in its ids).

    The vocabulary options are `Vocab.from_counts`'s."""
    index: dict[str, int] = {}
    words: list[str] = []
    counts = np.zeros(0, dtype=np.int64)
    with _IdWriter("provisional.i32") as writer:
        starts, buffer, total = array("q", [0]), array("i"), 0
        get = index.get
        for sentence in sentences:
            ids = list(map(get, sentence))
            k = -1
            while True:  # visit only the unknown words; list.index scans in C
                try:
                    k = ids.index(None, k + 1)
                except ValueError:
                    break
                word = sentence[k]
                i = get(word)
                if i is None:
                    i = index[word] = len(words)
                    words.append(word)
                ids[k] = i
            buffer.extend(ids)
            total += len(ids)
            starts.append(total)
            if len(buffer) >= BLOCK_IDS:
                counts = _flush(buffer, writer, counts, len(words))
                buffer = array("i")
        counts = _flush(buffer, writer, counts, len(words))
        provisional = writer.finish()
    if total == 0:
        source = getattr(sentences, "source", None)
        where = f" {source}" if source is not None else ""
        raise W2VError(f"the corpus{where} is empty: it holds no words; give a corpus with text")
    vocab = Vocab.from_counts(dict(zip(words, counts.tolist(), strict=True)), min_count,
                              max_final_vocab, total, trim_rule, sorted_vocab, null_word)
    remap = np.full(len(words), -1, dtype=np.int32)
    seen = [(index[w], i) for i, w in enumerate(vocab.words) if w in index]  # not the null word
    remap[[p for p, _ in seen]] = np.array([i for _, i in seen], dtype=np.int32)
    return vocab, _remap(provisional, np.frombuffer(starts, dtype=np.int64), remap, total)


def _flush(buffer: array, writer: _IdWriter, counts: np.ndarray, num_words: int) -> np.ndarray:
    block = np.frombuffer(buffer, dtype=np.int32)
    writer.write(block)
    grown = np.zeros(num_words, dtype=np.int64)
    grown[: len(counts)] = counts
    return grown + np.bincount(block, minlength=num_words)


def _remap(provisional: IdFile, starts: np.ndarray, remap: np.ndarray, total: int):
    """Rewrite provisional ids as final ids, dropping -1s and moving sentence offsets to match."""
    with _IdWriter("ids.i32") as writer:
        new_starts = np.zeros_like(starts)
        kept_before = 0
        for a in range(0, total, BLOCK_IDS):
            b = min(a + BLOCK_IDS, total)
            ids = remap[provisional[a:b]]
            kept = ids >= 0
            writer.write(ids[kept])
            prefix = np.concatenate([[kept_before], kept_before + np.cumsum(kept)])
            lo, hi = np.searchsorted(starts, a, "left"), np.searchsorted(starts, b, "right")
            new_starts[lo:hi] = prefix[starts[lo:hi] - a]
            kept_before = int(prefix[-1])
        ids = writer.finish()
    os.unlink(provisional.path)
    return EncodedCorpus(ids, new_starts, total)


def encode(sentences: Iterable[list[str]], vocab: Vocab) -> EncodedCorpus:
    """Encode a corpus with a fixed vocabulary (read from a file, or built with pruning)."""
    index = vocab.index
    with _IdWriter("ids.i32") as writer:
        starts, buffer, total, corpus_words = array("q", [0]), array("i"), 0, 0
        for sentence in sentences:
            corpus_words += len(sentence)
            ids = [i for i in map(index.get, sentence) if i is not None]
            buffer.extend(ids)
            total += len(ids)
            starts.append(total)
            if len(buffer) >= BLOCK_IDS:
                writer.write(np.frombuffer(buffer, dtype=np.int32))
                buffer = array("i")
        writer.write(np.frombuffer(buffer, dtype=np.int32))
        ids = writer.finish()
    return EncodedCorpus(ids, np.frombuffer(starts, dtype=np.int64), corpus_words)
