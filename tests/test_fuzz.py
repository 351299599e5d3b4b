"""Property-based tests over every reader: valid files truncated, byte-mutated, or replaced by
random bytes give a successful parse or one W2VError line, never another exception, a hang
(hypothesis deadline) or an allocation beyond a small bound; the streaming corpus readers agree
with a whole-file reference for any bytes and any block size."""

import bz2
import gzip
import json
import lzma
import os
import struct
import tracemalloc
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import w2v.corpus.readers
from w2v.corpus.encoding import scan
from w2v.corpus.readers import LineSentence, Text8Corpus, open_corpus, tokenize
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError
from w2v.vectors import formats
from w2v.vectors.evaluate import evaluate_word_pairs, read_analogies
from w2v.vectors.keyedvectors import KeyedVectors

# W2V_FUZZ_EXAMPLES=5000 searches deeper than the suite's fast default.
EXAMPLES = int(os.environ.get("W2V_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, database=None,
                suppress_health_check=[HealthCheck.too_slow])
# Inputs are under a few KiB: the bound leaves room for one read block and an xz dictionary
# (8 MiB) only; a reader that believed a lying size would allocate far more.
MEMORY_BOUND = 16 << 20

WORDS = ["the", "café", "日本語", "🙂", "a_b", "x"]
VECTORS = np.linspace(-2, 3, len(WORDS) * 4, dtype=np.float32).reshape(len(WORDS), 4)
KV = KeyedVectors(["CAT", "DOG", "BIRD", "FISH"], np.eye(4, dtype=np.float32) + 0.5)
CORPUS = "the cat sat\n\non the mat  \r\nnaïve café 日本語\n\ta\x00b \xa0 end".encode()
ANALOGIES = b": capitals\nathens greece berlin germany\n\n: family\nboy girl son daughter\n"
PAIRS = b"# word pairs\ncat\tdog\t7.5\nbird\tfish\t2\ncat\tbird\t4.25\n"
# Bytes that stress parsers: separators, signs, huge counts, JSON syntax, broken UTF-8.
TOKENS = [b" ", b"\n", b"\t", b"\r", b"\x00", b"-", b"-1", b"0", b"999999999999", b"1e999",
          b"nan", b"inf", b"{", b"}", b"[", b"]", b'"', b":", b",", b"\xff", b"\xc3", b"\xe6\x97",
          b"\x1f\x8b", b": ", b"#", b"9" * 30]


def _compress(data: bytes, suffix: str) -> bytes:
    return {"": bytes, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix](
        data)


def _seed_files(tmp_path_factory) -> dict[str, list[bytes]]:
    folder = tmp_path_factory.mktemp("seeds")
    text, binary, native = folder / "v.txt", folder / "v.bin", folder / "v.w2v"
    formats.write_word2vec(text, WORDS, VECTORS, binary=False)
    formats.write_word2vec(binary, WORDS, VECTORS, binary=True)
    formats.write_native(native, WORDS, VECTORS, counts=np.arange(len(WORDS)) + 1)
    vocab = folder / "vocab.txt"
    Vocab(WORDS, np.arange(len(WORDS), 0, -1)).save(vocab)
    vectors = [p.read_bytes() for p in (text, binary, native)]
    return {
        "vectors": vectors + [gzip.compress(v) for v in vectors[:2]],
        "vocab": [vocab.read_bytes()],
        "analogies": [ANALOGIES],
        "pairs": [PAIRS],
    }


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seed_files(tmp_path_factory)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """`seed` after a few truncations, bit flips, insertions, deletions and token splices."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "token"]))
        at = draw(st.integers(0, len(data)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=12))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 12))]
        elif kind == "token":
            data[at : at + draw(st.integers(0, 3))] = draw(st.sampled_from(TOKENS))
    return bytes(data)


def inputs(seeds: list[bytes]):
    return st.one_of(st.sampled_from(seeds).flatmap(mutated), st.binary(max_size=300))


def _tensor_entry():
    sizes = st.one_of(st.integers(-3, 40), st.integers(-(2**70), 2**70),
                      st.sampled_from([2**62, 2**63, 2**64 - 1, 2**31]))
    return st.fixed_dictionaries({
        "dtype": st.sampled_from(["F32", "I64", "U8", "F64", 4]),
        "shape": st.one_of(st.lists(sizes, max_size=3), st.just("2")),
        "data_offsets": st.one_of(st.lists(sizes, min_size=2, max_size=2), st.just(None)),
    })


@st.composite
def native_files(draw) -> bytes:
    """Native files whose header is valid JSON but whose tensors claim anything."""
    header = {"__metadata__": {"format": "w2v", "version": "1"}}
    for name in ("vectors", "vocab", "counts"):
        if draw(st.booleans()) or name != "counts":
            header[name] = draw(_tensor_entry())
    text = json.dumps(header).encode()
    length = draw(st.one_of(st.just(len(text)), st.integers(0, 2**64 - 1)))
    return struct.pack("<Q", length) + text + draw(st.binary(max_size=64))


def _parse_or_refuse(read, path, data: bytes) -> None:
    """Read `data` from `path`: success or one W2VError line, within the memory bound."""
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # Documented warnings: repeated words, cut over-long tokens.
            warnings.simplefilter("ignore", UserWarning)
            read(path)
    except W2VError as err:
        assert "\n" not in str(err) and str(err)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_BOUND


def _scan_corpus(path):
    return scan(open_corpus(path), min_count=1)


READERS = {
    "detect": ("vectors", formats.load_vectors),
    "text": ("vectors", lambda p: formats.load_vectors(p, "text", unicode_errors="replace")),
    "text-limit": ("vectors", lambda p: formats.load_vectors(p, "text", limit=2)),
    "binary": ("vectors", lambda p: formats.load_vectors(p, "binary")),
    "native": ("vectors", lambda p: formats.load_vectors(p, "native")),
    "native-copy": ("vectors", lambda p: formats.read_native(p, mmap=False)),
    "vocab": ("vocab", Vocab.load),
    "analogies": ("analogies", read_analogies),
    "pairs": ("pairs", lambda p: evaluate_word_pairs(KV, p)),
}


@pytest.mark.parametrize("reader", READERS)
def test_damaged_files_parse_or_raise_w2v_error(seeds, scratch, reader):
    kind, read = READERS[reader]
    path = scratch / f"{reader}.file"

    @FUZZ
    @given(data=inputs(seeds[kind]))
    def check(data):
        _parse_or_refuse(read, path, data)

    check()


@pytest.mark.parametrize("mmap", [True, False])
def test_native_headers_claiming_anything_parse_or_raise(scratch, mmap):
    path = scratch / "claims.w2v"

    @FUZZ
    @given(data=native_files())
    def check(data):
        _parse_or_refuse(lambda p: formats.read_native(p, mmap=mmap), path, data)

    check()


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".xz"])
def test_damaged_corpora_scan_or_raise_w2v_error(scratch, suffix):
    path = scratch / f"corpus.txt{suffix}"
    seeds = [_compress(CORPUS, suffix), _compress(CORPUS * 3 + b" \xff\xfe", suffix)]

    @FUZZ
    @given(data=inputs(seeds))
    def check(data):
        _parse_or_refuse(_scan_corpus, path, data)

    check()


def test_damaged_folder_corpora_scan_or_raise_w2v_error(scratch):
    folder = scratch / "folder"
    folder.mkdir()

    @FUZZ
    @given(first=inputs([CORPUS]), second=inputs([CORPUS]))
    def check(first, second):
        (folder / "b.txt").write_bytes(second)
        _parse_or_refuse(_scan_corpus, folder / "a.txt", first)

    check()


# -- the streaming readers equal a whole-file reference --------------------------------------

def _reference_words(text: str, lowercase: bool, tokenize_text: bool, max_word: int):
    words = [w[:max_word] for w in text.split()]
    if tokenize_text:
        return tokenize(" ".join(words), lowercase)
    return " ".join(words).lower().split() if lowercase else words


def _cut(words: list[str], n: int) -> list[list[str]]:
    return [words[i : i + n] for i in range(0, len(words), n)]


# An em space and an ideographic space (whitespace to str.split only), a combining accent, and
# "İ", which lower() turns into two characters.
UNICODE_TOKENS = ["\u2003".encode(), "\u3000".encode(), "A\u0301".encode(), "\u0130".encode()]
corpus_bytes = st.lists(
    st.one_of(st.sampled_from(TOKENS + UNICODE_TOKENS), st.text(max_size=12).map(str.encode),
              st.binary(max_size=6)),
    max_size=40,
).map(b"".join)


@FUZZ
@given(data=corpus_bytes, block=st.integers(1, 40), max_word=st.integers(1, 9),
       n=st.integers(1, 6), lowercase=st.booleans(), tokenize_text=st.booleans(),
       by_line=st.booleans())
def test_streaming_readers_equal_reading_the_whole_file(
        tmp_path_factory, data, block, max_word, n, lowercase, tokenize_text, by_line):
    path = tmp_path_factory.getbasetemp() / "stream.txt"
    path.write_bytes(data)
    text = data.decode("utf-8", "replace")
    options = dict(max_sentence_length=n, lowercase=lowercase, tokenize_text=tokenize_text)
    if by_line:
        reader = LineSentence(path, **options)
        expected = [s for line in text.split("\n")
                    for s in _cut(_reference_words(line, lowercase, tokenize_text, max_word), n)]
    else:
        reader = Text8Corpus(path, **options)
        expected = _cut(_reference_words(text, lowercase, tokenize_text, max_word), n)
    with mock.patch.object(w2v.corpus.readers, "BLOCK", block), \
            mock.patch.object(w2v.corpus.readers, "MAX_WORD", max_word), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert list(reader) == expected
    assert reader.decode_errors == text.count("\ufffd")
    assert reader.truncated_words == sum(len(w) > max_word for w in text.split())
