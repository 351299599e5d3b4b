import errno
import gzip
import io
import os
import re
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
from w2v.corpus.vocab import RULE_DEFAULT, RULE_KEEP, Vocab
from w2v.errors import W2VError
from w2v.training.kernels import corpus_scanner

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


# -- a corpus file scanned by the compiled scanner, in several threads --------------------------

SCANNER = corpus_scanner()
TOKENS = [b"the", b"The", b"caf\xc3\xa9", "日本語".encode(), "ΟΔΟΣ".encode(), b"don't", b"a-b",
          b"\xff", b"\xe2\x82", b"\xc3", b"x" * 7, b"y" * 12, b"\x00", b"", b"\xe0\x80",
          b"\xed\xa0\x80", b"\xf0\x90\x80", b"\xef\xbf\xbd", "é日".encode() * 3]
SEPARATORS = [b" ", b" ", b" ", b"  ", b"\n", b"\n", b"\n\n", b"\t", b"\r\n", b"\x1c",
              "\u2028".encode(), "\xa0".encode(), "\x85".encode(), "\u3000".encode(), b""]
corpus_files = st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)),
                        min_size=1, max_size=80).map(lambda pairs: b"".join(sum(pairs, ())))


def _scanned(reader, min_count: int, scanner=None, threads: int | None = 1, **options):
    """Everything a scan gives: vocabulary, ids, sentences, reader counters and warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            vocab, corpus = scan(reader, min_count=min_count, threads=threads, scanner=scanner,
                                 **options)
        except W2VError as err:
            return str(err)
    return (vocab.words, vocab.counts.tolist(), vocab.corpus_words, corpus.corpus_words,
            corpus.ids[0 : len(corpus)].tolist(), corpus.starts.tolist(),
            corpus.report.decode_errors, corpus.report.truncated_words,
            [str(w.message) for w in caught])


def _encoded(reader, vocab, scanner=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = encode(reader, vocab, scanner)
    return (corpus.ids[0 : len(corpus)].tolist(), corpus.starts.tolist(), corpus.corpus_words,
            corpus.report.decode_errors, corpus.report.truncated_words,
            [str(w.message) for w in caught])


def _rare_first(word, count, min_count):
    return RULE_KEEP if word == "x" * 5 else RULE_DEFAULT


@settings(max_examples=120, deadline=None, database=None)
@given(data=corpus_files, threads=st.integers(1, 4), n=st.integers(1, 5),
       block=st.integers(1, 9), min_count=st.integers(1, 2), one_line=st.booleans(),
       limit=st.sampled_from([None, None, 0, 1, 3]), lowercase=st.booleans(),
       max_vocab_size=st.sampled_from([None, None, 1, 2, 4, 8]),
       trim_rule=st.sampled_from([None, None, _rare_first]))
def test_the_compiled_scanner_in_any_number_of_threads_gives_the_python_readers_result(
        tmp_path_factory, data, threads, n, block, min_count, one_line, limit, lowercase,
        max_vocab_size, trim_rule):
    path = tmp_path_factory.getbasetemp() / "parallel.txt"
    path.write_bytes(data)
    if one_line:
        reader = Text8Corpus(path, max_sentence_length=n, lowercase=lowercase)
    else:
        reader = LineSentence(path, limit=limit, max_sentence_length=n, lowercase=lowercase)
    # Small blocks and a small MAX_WORD put block edges and cut tokens near the range edges.
    with mock.patch.object(w2v.corpus.readers, "BLOCK", block), \
            mock.patch.object(w2v.corpus.readers, "MAX_WORD", 5):
        options = {"max_vocab_size": max_vocab_size, "trim_rule": trim_rule}
        python = _scanned(reader, min_count, **options)
        assert _scanned(reader, min_count, SCANNER, threads, **options) == python
        if not isinstance(python, str):
            # Pruning while counting, then encoding: gensim's two passes, which a scan that
            # prunes repeats and one that does not (fewer words than the limit) saves.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # cut tokens, warned of above
                vocab = Vocab.build(reader, min_count, max_vocab_size, trim_rule=trim_rule)
            assert python[:2] == (vocab.words, vocab.counts.tolist())
            assert python[4:6] == _encoded(reader, vocab)[:2]
            vocab = Vocab(python[0], python[1])
            assert _encoded(reader, vocab, SCANNER) == _encoded(reader, vocab)


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


def test_by_default_only_a_large_file_is_scanned_in_threads(tmp_path, monkeypatch):
    path = tmp_path / "c.txt"
    path.write_bytes(b"one two three\nfour five\n" * 400)
    made = []

    def counted(*args, **kwargs):
        made.append(args)
        return SCANNER(*args, **kwargs)

    serial = _scanned(LineSentence(path), 1, counted, None)
    assert len(made) == 1
    monkeypatch.setattr(w2v.corpus.encoding, "SCAN_SPAN_BYTES", 1024)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert _scanned(LineSentence(path), 1, counted, None) == serial
    assert len(made) == 1 + 3


def _failing_reads(path, offset: int):
    """open() for w2v.corpus.readers whose reads fail from `offset` of `path` on, as a bad
    disk does."""

    class Failing(io.BufferedReader):
        def _check(self):
            if self.tell() >= offset:
                raise OSError(errno.EIO, "Input/output error")

        def readline(self, size=-1):
            self._check()
            return super().readline(size)

        def read(self, size=-1):
            self._check()
            return super().read(size)

    return lambda name, mode: Failing(io.FileIO(name, mode.replace("b", "")))


def test_a_read_error_in_any_thread_is_the_python_readers_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(w2v.corpus.readers, "BLOCK", 4096)
    path = tmp_path / "c.txt"
    path.write_bytes(b"".join(b"line %d of words\n" % i for i in range(2000)))
    reader = LineSentence(path)
    monkeypatch.setattr(w2v.corpus.readers, "open", _failing_reads(path, 30_000), raising=False)
    errors = set()
    for scanner, threads in ((None, 1), (SCANNER, 1), (SCANNER, 3)):
        with pytest.raises(W2VError, match=r"byte offset (\d+)") as excinfo:
            scan(reader, min_count=1, threads=threads, scanner=scanner)
        # Each reader names the offset of the first read that failed: past 30,000, within a block.
        offset = int(re.search(r"byte offset (\d+)", str(excinfo.value)).group(1))
        assert 30_000 <= offset < 30_000 + 4096
        errors.add(str(excinfo.value).replace(str(offset), "N"))
    assert len(errors) == 1
    assert list(tmp_path.iterdir()) == [path]  # no temporary file is left behind


def test_sentences_may_be_any_iterable_of_words():
    vocab, corpus = scan([iter(s) if i % 2 else tuple(s) for i, s in enumerate(SENTENCES)],
                         min_count=2)
    assert _decoded(corpus, vocab) == [[w for w in s if w in vocab] for s in SENTENCES]


def test_a_scan_holds_at_most_4_bytes_of_disk_per_token(tmp_path, monkeypatch):
    """Provisional ids from several threads share one sparse file, rewritten in place."""
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
    vocab, corpus = scan(Text8Corpus(path), min_count=2, threads=3, scanner=SCANNER)
    slack = 3 * 64 * 1024  # filesystem blocks at each range's edges
    assert used[0] <= 4 * 300_000 + slack
    assert used[1] <= 4 * len(corpus) + slack and len(corpus) < 300_000
    assert len(list(corpus.ids.path.parent.iterdir())) == 1
    assert np.array_equal(corpus.ids[0:len(corpus)],
                          scan(Text8Corpus(path), min_count=2)[1].ids[0:len(corpus)])


@pytest.mark.parametrize("scanner", [None, SCANNER])
def test_a_limit_above_the_distinct_words_changes_nothing_and_reads_once(tmp_path, monkeypatch,
                                                                          scanner):
    path = tmp_path / "c.txt"
    path.write_bytes(b"one two three\nfour five one\n" * 400)
    reads = []
    real_read, real_blocks = LineSentence.read, LineSentence.blocks
    monkeypatch.setattr(LineSentence, "read", lambda *a: reads.append(a) or real_read(*a))
    monkeypatch.setattr(LineSentence, "blocks", lambda *a: reads.append(a) or real_blocks(*a))
    unlimited = _scanned(LineSentence(path), 1, scanner, None)
    reads.clear()
    assert _scanned(LineSentence(path), 1, scanner, None, max_vocab_size=5) == unlimited
    assert len(reads) == 1
    pruned = _scanned(LineSentence(path), 1, scanner, None, max_vocab_size=4)
    assert pruned[0] == ["one"] and len(reads) == 1 + 2  # counted, then encoded
