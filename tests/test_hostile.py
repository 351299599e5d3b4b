"""Hostile input: corpora and files built to break a reader. Each gives correct training or one
W2VError line naming the culprit, never another exception, code execution, or memory that grows
with what a file claims or with the length of a line."""

import gzip
import json
import os
import pickle
import struct
import tracemalloc
import warnings

import numpy as np
import pytest

import w2v.corpus.readers
from w2v import KeyedVectors, Word2Vec
from w2v.corpus.readers import MAX_WORD, LineSentence, open_corpus
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError
from w2v.vectors import formats
from w2v.vectors.evaluate import evaluate_word_pairs, read_analogies

TINY = dict(vector_size=8, min_count=1, epochs=1, workers=1, seed=1)
SENTENCE = b"the quick brown fox jumps over the lazy dog\n"
STREAM_BYTES = 50_000_000


def _one_line(excinfo) -> str:
    assert type(excinfo.value) is W2VError
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


class _Peak:
    """Peak bytes allocated by Python and numpy inside the block."""

    def __enter__(self):
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


# -- corpora ------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, fragment", [
    (b"", "is empty"),
    (b" \n\t\r\n  \x0b\x0c\n", "is empty"),
])
def test_a_corpus_without_words_is_refused_naming_it(tmp_path, content, fragment):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(W2VError) as excinfo:
        Word2Vec(corpus_file=path, **TINY)
    message = _one_line(excinfo)
    assert fragment in message and str(path) in message


@pytest.mark.parametrize("make, fragment", [
    ("missing", "does not exist"),
    ("empty folder", "holds no files"),
    ("damaged gzip", "byte offset"),
    ("gzip of nothing but a header", "byte offset"),
])
def test_a_bad_corpus_path_is_one_line(tmp_path, make, fragment):
    path = tmp_path / "corpus.txt.gz"
    if make == "empty folder":
        path.mkdir()
    elif make == "damaged gzip":
        path.write_bytes(gzip.compress(SENTENCE * 1000)[:-30] + b"junk" * 10)
    elif make == "gzip of nothing but a header":
        path.write_bytes(gzip.compress(SENTENCE)[:12])
    with pytest.raises(W2VError) as excinfo:
        Word2Vec(corpus_file=path, **TINY)
    message = _one_line(excinfo)
    assert fragment in message and str(path) in message


def test_a_folder_where_a_file_is_expected_is_one_line(tmp_path):
    for read in (LineSentence, formats.load_vectors, Vocab.load, read_analogies):
        with pytest.raises(W2VError) as excinfo:
            read(tmp_path)
        assert str(tmp_path) in _one_line(excinfo)


def test_an_unreadable_corpus_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "corpus.txt"
    path.write_bytes(SENTENCE)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(w2v.corpus.readers, "open", refuse, raising=False)
    with pytest.raises(W2VError) as excinfo:
        Word2Vec(corpus_file=path, **TINY)
    assert "Permission denied" in _one_line(excinfo)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission_is_one_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(SENTENCE)
    path.chmod(0)
    for read in (LineSentence, formats.load_vectors, Vocab.load, read_analogies):
        with pytest.raises(W2VError) as excinfo:
            read(path)
        assert "ermission" in _one_line(excinfo)


def test_nul_bytes_and_invalid_utf8_train_and_are_counted(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes((b"a\x00b c \xff\xfe d\x00\n" + SENTENCE) * 20)
    model = Word2Vec(corpus_file=path, **TINY)
    assert "a\x00b" in model.wv and "d\x00" in model.wv and "\ufffd\ufffd" in model.wv
    assert model.decode_errors == 40
    assert np.isfinite(model.wv.vectors).all()


def test_a_one_megabyte_word_is_cut_to_max_word_and_reported(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(SENTENCE * 5 + b"x" * 1_000_000 + b" tail\n" + SENTENCE * 5)
    with pytest.warns(UserWarning, match=f"1 tokens longer than {MAX_WORD} characters"):
        model = Word2Vec(corpus_file=path, **TINY)
    assert "x" * MAX_WORD in model.wv and "tail" in model.wv
    assert max(map(len, model.wv.index_to_key)) == MAX_WORD


@pytest.fixture(scope="module")
def one_line_corpus(tmp_path_factory):
    """50 MB of words and not a single newline."""
    path = tmp_path_factory.mktemp("long") / "one_line.txt"
    words = [f"word{i:04d}-padded-out" for i in range(2000)]
    chunk = " ".join(np.random.default_rng(0).choice(words, 40_000)).encode() + b" "
    with open(path, "wb") as f:
        for _ in range(-(-STREAM_BYTES // len(chunk))):
            f.write(chunk)
    return path, len(chunk.split()) * -(-STREAM_BYTES // len(chunk))


@pytest.mark.parametrize("reader", [open_corpus, LineSentence])
def test_a_50_mb_line_without_newline_streams_in_bounded_memory(one_line_corpus, reader):
    path, words = one_line_corpus
    with _Peak() as peak:
        sentences = reader(path)
        assert sum(len(s) for s in sentences) == words
    # Holding the line would take its 50 MB of bytes, as much again of str, and 50 MB more of
    # word objects; streaming holds one 1 MiB block's words and one sentence.
    assert peak.bytes < 32 << 20


def test_training_never_rereads_the_corpus_file(tmp_path, monkeypatch):
    path = tmp_path / "corpus.txt"
    path.write_bytes(SENTENCE * 50)
    model = Word2Vec(**TINY)
    model.build_vocab(corpus_file=path)
    opened = []
    real_open = w2v.corpus.readers.open_binary
    monkeypatch.setattr(w2v.corpus.readers, "open_binary",
                        lambda p: opened.append(p) or real_open(p))
    path.write_bytes(b"grown " * 1000)  # the file changes, then vanishes, after it was read
    path.unlink()
    model.train(epochs=2, total_examples=model.corpus_count)
    assert opened == []
    assert sorted(model.wv.index_to_key) == sorted(set(SENTENCE.decode().split()))


# -- vector files ------------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [True, False])
def test_an_absurd_word2vec_header_is_refused_before_allocating(tmp_path, binary):
    path = tmp_path / "v.bin"
    path.write_bytes(b"999999999999 300\nthe " + b"\x00" * 1200 + b"\n")
    with _Peak() as peak, pytest.raises(W2VError) as excinfo:
        formats.read_word2vec(path, binary=binary)
    assert "header promises 999999999999" in _one_line(excinfo)
    assert peak.bytes < 1 << 20


@pytest.mark.parametrize("compress", [bytes, gzip.compress])
def test_detecting_the_format_of_an_absurd_header_allocates_little(tmp_path, compress):
    path = tmp_path / "v.txt"
    path.write_bytes(compress(b"6 9999999999994\nthe -2.0 -1.7 -1.5 -1.3\n"))
    with _Peak() as peak, pytest.raises(W2VError) as excinfo:
        formats.load_vectors(path)
    assert "header promises 6 words of 9999999999994" in _one_line(excinfo)
    assert peak.bytes < 2 << 20


def _native(tmp_path, header, payload=b"", length=None):
    header = {"__metadata__": formats.NATIVE_METADATA, **header}
    text = json.dumps(header).encode()
    path = tmp_path / "v.w2v"
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + payload)
    return path


VOCAB_AB = {"dtype": "U8", "shape": [3], "data_offsets": [16, 19]}


@pytest.mark.parametrize("header, payload, length, fragment", [
    ({}, b"", 2**63, "declares a 9223372036854775808-byte header"),
    # 2**62 rows of 4 floats: an int64 product wraps to 0 and would match the empty extent.
    ({"vectors": {"dtype": "F32", "shape": [2**62, 4], "data_offsets": [0, 0]},
      "vocab": VOCAB_AB}, b"\x00" * 19, None, "'vectors'"),
    ({"vectors": {"dtype": "F32", "shape": [10**9, 300], "data_offsets": [0, 12 * 10**11]},
      "vocab": VOCAB_AB}, b"\x00" * 19, None, "data bytes"),
    ({"vectors": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
      "vocab": VOCAB_AB}, b"\x00" * 16 + b"a\na", None, "lists 'a' twice"),
])
def test_a_lying_native_header_is_refused_before_allocating(tmp_path, header, payload, length,
                                                           fragment):
    path = _native(tmp_path, header, payload, length)
    with _Peak() as peak, pytest.raises(W2VError) as excinfo:
        formats.load_vectors(path, "native")
    message = _one_line(excinfo)
    assert fragment in message and str(path) in message
    assert peak.bytes < 1 << 20


def test_a_deeply_nested_native_header_is_refused(tmp_path):
    text = b"[" * 100_000 + b"]" * 100_000
    path = tmp_path / "deep.w2v"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    with pytest.raises(W2VError) as excinfo:
        formats.read_native(path)
    assert "byte offset 8" in _one_line(excinfo)
    with pytest.raises(W2VError) as excinfo:  # nor is it taken for native when detecting
        formats.load_vectors(path)
    _one_line(excinfo)


class _Payload:
    """Unpickling this would create the file `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_no_loader_unpickles(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "model.w2v"
    path.write_bytes(pickle.dumps({"vectors": _Payload(marker)}))
    loaders = [formats.load_vectors, KeyedVectors.load, Word2Vec.load, Vocab.load,
               lambda p: KeyedVectors.load_word2vec_format(p, binary=True)]
    for load in loaders:
        with pytest.raises(W2VError) as excinfo:
            load(path)
        _one_line(excinfo)
    assert not marker.exists()


# -- vocabulary and evaluation files ------------------------------------------------------------

@pytest.mark.parametrize("content, fragment", [
    (b"a 3\nb 99999999999999999999\n", "vocab.txt:2"),
    (b"a 9223372036854775807\nb 1\n", "vocab.txt:2: the counts add up"),
    (b"a 3\nb " + b"9" * 100_000 + b"\n", "vocab.txt:2"),
    (b"a 3\n" + b"x" * 3_000_000, "vocab.txt:2: line longer than"),
])
def test_a_hostile_vocabulary_file_is_refused_with_its_line(tmp_path, content, fragment):
    path = tmp_path / "vocab.txt"
    path.write_bytes(content)
    with _Peak() as peak, pytest.raises(W2VError) as excinfo:
        Vocab.load(path)
    assert fragment in _one_line(excinfo)
    assert peak.bytes < 4 << 20


def test_a_vocabulary_file_with_invalid_utf8_loads_replaced(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"caf\xe9 5\nword\xc2\xa0x 3\n")
    assert Vocab.load(path).words == ["caf\ufffd", "word\xa0x"]


def test_vocab_save_refuses_words_the_format_cannot_hold(tmp_path):
    with pytest.raises(W2VError) as excinfo:
        Vocab(["ok", "two words"], [2, 1]).save(tmp_path / "vocab.txt")
    assert "two words" in _one_line(excinfo)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("content, options, fragment", [
    (b"cat\tdog\tnan\nbird\tfish\t1\n", {}, "line 1: score 'nan' is not finite"),
    (b"cat\tdog\t1e999\n", {}, "line 1: score '1e999' is not finite"),
    (b"cat\tdog\t1\n", {"delimiter": ""}, "delimiter"),
])
def test_hostile_word_pair_files_are_one_line(tmp_path, content, options, fragment):
    kv = KeyedVectors(["CAT", "DOG", "BIRD", "FISH"], np.eye(4, dtype=np.float32))
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(W2VError) as excinfo, warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_word_pairs(kv, path, **options)
    assert fragment in _one_line(excinfo)
