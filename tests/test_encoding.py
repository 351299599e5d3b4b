import errno
import gzip
import io
import multiprocessing
import os
import tempfile
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import w2v.corpus.counting
import w2v.corpus.encoding
import w2v.corpus.readers
from w2v.corpus.encoding import EncodedCorpus, IdFile, encode, scan
from w2v.corpus.readers import LineSentence, Text8Corpus
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError

SENTENCES = [["a", "b", "a", "c"], ["a", "b", "d"], ["e"], ["c", "a", "b", "b"]]


def _decoded(corpus, vocab):
    return [[vocab.words[i] for i in corpus.ids[a:b]]
            for a, b in zip(corpus.starts[:-1], corpus.starts[1:], strict=True)]


@pytest.mark.parametrize("block", [2, 3, 1 << 22])
def test_scan_counts_and_encodes_in_one_pass(monkeypatch, block):
    monkeypatch.setattr(w2v.corpus.encoding, "BLOCK_IDS", block)  # blocks split sentences too
    monkeypatch.setattr(w2v.corpus.counting, "BLOCK_IDS", block)
    monkeypatch.setattr(w2v.corpus.counting, "BATCH_WORDS", block)
    vocab, corpus = scan(SENTENCES, min_count=2)
    reference = Vocab.build(SENTENCES, min_count=2)
    assert vocab.words == reference.words == ["a", "b", "c"]
    assert vocab.counts.tolist() == reference.counts.tolist()
    assert vocab.corpus_words == corpus.corpus_words == 12
    assert isinstance(corpus.ids, IdFile) and len(corpus) == 10
    expected = [[w for w in s if w in vocab] for s in SENTENCES]
    assert _decoded(corpus, vocab) == expected


def test_encode_with_a_fixed_vocabulary_drops_unknown_words():
    vocab = Vocab(["b", "a"], [5, 3])
    corpus = encode(SENTENCES, vocab)
    assert _decoded(corpus, vocab) == [["a", "b", "a"], ["a", "b"], [], ["a", "b", "b"]]
    assert corpus.corpus_words == 12


def test_temporary_files_go_with_the_corpus():
    _, corpus = scan(SENTENCES, min_count=1)
    folder = corpus.ids.path.parent
    assert folder.is_dir()
    del corpus
    assert not folder.exists()


def test_chunks_hold_whole_sentences_and_cover_the_corpus():
    ids = np.arange(100, dtype=np.int32)
    starts = np.array([0, 10, 35, 36, 80, 100])
    corpus = EncodedCorpus(ids, starts, 100)
    pieces = list(corpus.chunks(30))
    assert np.array_equal(np.concatenate([p for p, _ in pieces]), ids)
    for part, local in pieces:
        assert local[0] == 0 and local[-1] == len(part)


def test_an_empty_corpus_is_an_error():
    with pytest.raises(W2VError, match="empty"):
        scan([[], []])


# -- a corpus file scanned by several processes ----------------------------------------------

TOKENS = [b"the", b"The", b"caf\xc3\xa9", "日本語".encode(), "ΟΔΟΣ".encode(), b"don't", b"a-b",
          b"\xff", b"\xe2\x82", b"\xc3", b"x" * 7, b"y" * 12, b"\x00", b""]
SEPARATORS = [b" ", b" ", b" ", b"  ", b"\n", b"\n", b"\n\n", b"\t", b"\r\n",
              "\u2028".encode(), b""]
parallel_files = st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)),
                          min_size=1, max_size=80).map(lambda pairs: b"".join(sum(pairs, ())))


def _scanned(reader, processes: int, min_count: int):
    """Everything a scan gives: vocabulary, ids, sentences, reader counters and warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            vocab, corpus = scan(reader, min_count=min_count, processes=processes)
        except W2VError as err:
            return str(err)
    return (vocab.words, vocab.counts.tolist(), vocab.corpus_words, corpus.corpus_words,
            corpus.ids[0 : len(corpus)].tolist(), corpus.starts.tolist(),
            corpus.report.decode_errors, corpus.report.truncated_words,
            [str(w.message) for w in caught])


@settings(max_examples=60, deadline=None, database=None)
@given(data=parallel_files, processes=st.integers(2, 4), n=st.integers(1, 5),
       block=st.integers(1, 9), min_count=st.integers(1, 2), one_line=st.booleans(),
       lowercase=st.booleans(), tokenize_text=st.booleans())
def test_a_file_scanned_by_several_processes_gives_the_one_process_result(
        tmp_path_factory, data, processes, n, block, min_count, one_line, lowercase,
        tokenize_text):
    path = tmp_path_factory.getbasetemp() / "parallel.txt"
    path.write_bytes(data)
    reader = (Text8Corpus if one_line else LineSentence)(
        path, max_sentence_length=n, lowercase=lowercase, tokenize_text=tokenize_text)
    # Small blocks and a small MAX_WORD put block edges and cut tokens near the range edges.
    with mock.patch.object(w2v.corpus.readers, "BLOCK", block), \
            mock.patch.object(w2v.corpus.readers, "MAX_WORD", 5):
        assert _scanned(reader, processes, min_count) == _scanned(reader, 1, min_count)


@pytest.mark.parametrize("one_line", [False, True])
def test_ranges_end_just_after_whitespace_and_cover_the_file(tmp_path, one_line):
    path = tmp_path / "c.txt"
    path.write_bytes(b"alpha beta\ngamma delta epsilon\nzeta eta\n" * 50)
    reader = (Text8Corpus if one_line else LineSentence)(path)
    spans = reader.spans(5)
    assert len(spans) == 5 and spans[0][0] == 0 and spans[-1][1] is None
    cuts = [start for start, _ in spans[1:]]
    assert cuts == [stop for _, stop in spans[:-1]]
    data = path.read_bytes()
    assert all(data[c - 1 : c] in ((b" ", b"\n") if one_line else (b"\n",)) for c in cuts)


def test_a_file_without_whitespace_or_compressed_is_one_range(tmp_path):
    blob = tmp_path / "blob.txt"
    blob.write_bytes(b"x" * 5000)
    packed = tmp_path / "c.txt.gz"
    packed.write_bytes(gzip.compress(b"a b\n" * 1000))
    assert LineSentence(blob).spans(4) == [(0, None)]
    assert Text8Corpus(packed).spans(4) == [(0, None)]


def test_by_default_only_a_large_file_is_scanned_in_processes(tmp_path, monkeypatch):
    path = tmp_path / "c.txt"
    path.write_bytes(b"one two three\nfour five\n" * 400)
    started = []
    real_start = multiprocessing.process.BaseProcess.start
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start",
                        lambda job: started.append(job) or real_start(job))
    serial = _scanned(LineSentence(path), None, 1)
    assert started == []
    monkeypatch.setattr(w2v.corpus.encoding, "SCAN_SPAN_BYTES", 1024)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert _scanned(LineSentence(path), None, 1) == serial
    assert len(started) == 2


def _failing_reads(path, offset: int):
    """open() for w2v.corpus.readers whose readline fails from `offset` of `path` on, as a bad
    disk does."""

    class Failing(io.BufferedReader):
        def readline(self, size=-1):
            if self.tell() >= offset:
                raise OSError(errno.EIO, "Input/output error")
            return super().readline(size)

    return lambda name, mode: Failing(io.FileIO(name, mode.replace("b", "")))


def test_a_read_error_in_a_worker_is_the_one_process_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = tmp_path / "c.txt"
    path.write_bytes(b"".join(b"line %d of words\n" % i for i in range(2000)))
    reader = LineSentence(path)
    monkeypatch.setattr(w2v.corpus.readers, "open", _failing_reads(path, 30_000), raising=False)
    errors = []
    for processes in (1, 3):
        with pytest.raises(W2VError, match="byte offset 300") as excinfo:
            scan(reader, min_count=1, processes=processes)
        errors.append(str(excinfo.value))
    assert errors[0] == errors[1]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file is left behind


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b c\n" * 1000)
    parent, real_scan_span = os.getpid(), w2v.corpus.encoding._scan_span

    def killed_in_children(*args):
        if os.getpid() != parent:
            os._exit(9)
        return real_scan_span(*args)

    monkeypatch.setattr(w2v.corpus.encoding, "_scan_span", killed_in_children)
    with pytest.raises(W2VError, match=r"c\.txt stopped \(exit code 9\)"):
        scan(LineSentence(path), min_count=1, processes=2)
    assert list(tmp_path.iterdir()) == [path]


def test_sentences_may_be_any_iterable_of_words():
    vocab, corpus = scan([iter(s) if i % 2 else tuple(s) for i, s in enumerate(SENTENCES)],
                         min_count=2)
    assert _decoded(corpus, vocab) == [[w for w in s if w in vocab] for s in SENTENCES]


def test_a_scan_holds_at_most_4_bytes_of_disk_per_token(tmp_path, monkeypatch):
    """Provisional ids from several processes share one sparse file, rewritten in place."""
    words = np.random.default_rng(0).zipf(1.3, 300_000) % 5000
    path = tmp_path / "corpus.txt"
    path.write_text(" ".join(f"w{w}" for w in words.tolist()))
    used = []

    def disk(folder) -> int:
        return sum(f.stat().st_blocks * 512 for f in folder.iterdir())

    remap = w2v.corpus.encoding._remap

    def measured(pieces, starts, total):
        used.append(disk(pieces[0][0].path.parent))  # every provisional id written
        corpus = remap(pieces, starts, total)
        used.append(disk(corpus.ids.path.parent))
        return corpus

    monkeypatch.setattr(w2v.corpus.encoding, "_remap", measured)
    vocab, corpus = scan(Text8Corpus(path), min_count=2, processes=3)
    slack = 3 * 64 * 1024  # filesystem blocks at each range's edges
    assert used[0] <= 4 * 300_000 + slack
    assert used[1] <= 4 * len(corpus) + slack and len(corpus) < 300_000
    assert len(list(corpus.ids.path.parent.iterdir())) == 1
    assert np.array_equal(corpus.ids[0:len(corpus)],
                          scan(Text8Corpus(path), min_count=2, processes=1)[1].ids[0:len(corpus)])
