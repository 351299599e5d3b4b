"""w2v.vectors.formats: exact round trips with gensim and the C tool's layout, the native file, and
clear errors (path plus byte offset or line) for every kind of bad file."""

import bz2
import gzip
import json
import lzma
import struct

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from w2v.errors import W2VError
from w2v.vectors import formats, word2vec_format
from w2v.vectors.keyedvectors import KeyedVectors

DIM = 7
WORDS = ["the", "café", "日本語", "naïve", "ünïcödé", "🙂", "a_b", "x"]
WORDS += [f"w{i}" for i in range(12)]


def _vectors(rows=None, dim=DIM, seed=0):
    rows = len(WORDS) if rows is None else rows
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    # Values whose spelling or bits are easy to get wrong.
    special = [-0.0, 1e-45, -3.4028235e38, 1.1754944e-38, 0.1, 1e-5, 123456.79]
    vectors[0, : len(special)] = special[:dim]
    return vectors


def _same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def _gensim_kv(words, vectors):
    kv = GensimKV(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def _c_tool_binary(words, vectors, newline=b"\n"):
    """The exact bytes word2vec.c writes with -binary 1 (newline=b"" gives gensim's layout)."""
    out = [f"{len(words)} {vectors.shape[1]}\n".encode()]
    for w, row in zip(words, vectors, strict=True):
        out.append(w.encode() + b" " + row.astype("<f4").tobytes() + newline)
    return b"".join(out)


def _message(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- round trips with gensim and the C tool ---------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
def test_files_gensim_writes_load_exactly(tmp_path, binary):
    vectors = _vectors()
    path = tmp_path / "g.vec"
    _gensim_kv(WORDS, vectors).save_word2vec_format(str(path), binary=binary)
    words, loaded = formats.read_word2vec(path, binary=binary)
    assert words == WORDS
    assert loaded.dtype == np.float32
    assert _same_bits(loaded, vectors)


@pytest.mark.parametrize("binary", [True, False])
def test_files_written_here_load_in_gensim_exactly(tmp_path, binary):
    vectors = _vectors()
    path = tmp_path / "ours.vec"
    formats.write_word2vec(path, WORDS, vectors, binary=binary)
    kv = GensimKV.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == WORDS
    assert _same_bits(kv.vectors, vectors)


def test_text_file_is_byte_identical_to_gensims(tmp_path):
    vectors = _vectors()
    ours, theirs = tmp_path / "ours.txt", tmp_path / "gensim.txt"
    formats.write_word2vec(ours, WORDS, vectors, binary=False)
    _gensim_kv(WORDS, vectors).save_word2vec_format(str(theirs), binary=False)
    assert ours.read_bytes() == theirs.read_bytes()


def test_binary_file_is_the_c_tools_layout(tmp_path):
    vectors = _vectors()
    path = tmp_path / "ours.bin"
    formats.write_word2vec(path, WORDS, vectors, binary=True)
    assert path.read_bytes() == _c_tool_binary(WORDS, vectors)


@pytest.mark.parametrize("newline", [b"\n", b""], ids=["c-tool", "gensim"])
def test_binary_reads_with_and_without_record_newline(tmp_path, newline):
    vectors = _vectors()
    path = tmp_path / "c.bin"
    path.write_bytes(_c_tool_binary(WORDS, vectors, newline))
    words, loaded = formats.read_word2vec(path, binary=True)
    assert words == WORDS
    assert _same_bits(loaded, vectors)


def test_text_round_trip_is_exact_for_any_finite_float32(tmp_path):
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**32, size=(300, 5), dtype=np.uint64).astype(np.uint32)
    vectors = bits.view(np.float32)
    vectors[~np.isfinite(vectors)] = 1.5
    words = [f"r{i}" for i in range(len(vectors))]
    path = tmp_path / "r.txt"
    formats.write_word2vec(path, words, vectors, binary=False)
    assert _same_bits(formats.read_word2vec(path, binary=False)[1], vectors)
    assert _same_bits(GensimKV.load_word2vec_format(str(path)).vectors, vectors)


def test_c_tool_text_spelling_loads(tmp_path):
    # word2vec.c writes "%lf " per value: six decimals and a space before the newline.
    path = tmp_path / "c.txt"
    path.write_bytes(b"2 3\nthe 0.100000 -0.200000 0.300000 \nof 1.000000 2.000000 3.000000 \n")
    words, vectors = formats.read_word2vec(path, binary=False)
    assert words == ["the", "of"]
    assert np.array_equal(vectors, np.float32([[0.1, -0.2, 0.3], [1, 2, 3]]))


COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


@pytest.fixture(params=["zlib", "isal"])
def inflater(request, monkeypatch):
    """gzip read with the standard library's inflate, and with ISA-L's (the fast-gzip extra)
    where it is installed."""
    if request.param == "zlib":
        monkeypatch.setattr(word2vec_format, "_igzip", None)
    elif word2vec_format._igzip is None:
        pytest.skip("isal is not installed (pip install 'w2v[fast-gzip]')")
    return request.param


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
@pytest.mark.parametrize("binary", [True, False])
def test_compressed_file_loads_like_the_plain_one(tmp_path, kind, binary, inflater):
    vectors = _vectors()
    path = tmp_path / "v.bin"
    _gensim_kv(WORDS, vectors).save_word2vec_format(str(path), binary=binary)
    packed = tmp_path / "v.packed"  # told by its first bytes, not its name
    packed.write_bytes(COMPRESSORS[kind](path.read_bytes()))
    words, loaded = formats.read_word2vec(packed, binary=binary)
    assert words == WORDS and _same_bits(loaded, vectors)
    assert formats.detect_format(packed) == ("binary" if binary else "text")


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("limit", [None, 5])
def test_records_split_across_read_blocks_load_whole(tmp_path, monkeypatch, block, binary, limit,
                                                      inflater):
    vectors = _vectors()
    path = tmp_path / "v"
    path.write_bytes(gzip.compress(_c_tool_binary(WORDS, vectors)) if binary else b"")
    if not binary:
        _gensim_kv(WORDS, vectors).save_word2vec_format(str(path))
    monkeypatch.setattr(word2vec_format, "_BLOCK", block)
    words, loaded = formats.read_word2vec(path, binary=binary, limit=limit)
    rows = limit or len(WORDS)
    assert words == WORDS[:rows] and _same_bits(loaded, vectors[:rows])


def test_limit_stops_reading_a_compressed_file(tmp_path, monkeypatch, inflater):
    # A download cut short: the first records decompress, the rest of the stream is missing.
    vectors = _vectors(rows=20000, dim=50, seed=1)
    words = [f"w{i}" for i in range(len(vectors))]
    packed = gzip.compress(_c_tool_binary(words, vectors), compresslevel=1)
    path = tmp_path / "cut.bin.gz"
    path.write_bytes(packed[: len(packed) // 2])
    monkeypatch.setattr(word2vec_format, "_BLOCK", 1 << 16)
    got, loaded = formats.read_word2vec(path, binary=True, limit=100)
    assert got == words[:100] and _same_bits(loaded, vectors[:100])
    with pytest.raises(W2VError, match="gzip data truncated or corrupt after") as excinfo:
        formats.read_word2vec(path, binary=True)
    assert "re-download" in _message(excinfo)
    damaged = bytearray(packed)
    damaged[-8] ^= 0xFF  # the trailer's CRC-32: every byte inflates, the check fails at the end
    path.write_bytes(bytes(damaged))
    with pytest.raises(W2VError, match="gzip data truncated or corrupt after"):
        formats.read_word2vec(path, binary=True)


def test_compressed_file_shorter_than_its_header_names_the_word(tmp_path):
    path = tmp_path / "short.bin.xz"
    path.write_bytes(lzma.compress(b"5 7\n" + _c_tool_binary(WORDS[:2], _vectors(rows=2))[4:]))
    with pytest.raises(W2VError, match="word #2 of 5") as excinfo:
        formats.read_word2vec(path, binary=True)
    assert "limit=2" in _message(excinfo)


# --- GloVe's files, vocabulary files, float16, gensim's writing options ------------------------


def _glove(tmp_path, vectors, words=WORDS):
    """A GloVe text file: gensim's text records without the header line."""
    path = tmp_path / "glove.txt"
    _gensim_kv(words, vectors).save_word2vec_format(str(path), write_header=False)
    return path


@pytest.mark.parametrize("limit", [None, 3])
def test_glove_file_loads_without_header_like_gensim(tmp_path, limit):
    vectors = _vectors()
    path = _glove(tmp_path, vectors)
    words, loaded = formats.read_word2vec(path, binary=False, no_header=True, limit=limit)
    theirs = GensimKV.load_word2vec_format(str(path), no_header=True, limit=limit)
    assert words == theirs.index_to_key == WORDS[: limit or len(WORDS)]
    assert _same_bits(loaded, theirs.vectors)


def test_glove_file_with_a_ragged_row_names_the_line(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_bytes(b"a 1 2 3\nb 4 5\nc 6 7 8\n")
    with pytest.raises(W2VError, match="line 2 has 2 values") as excinfo:
        formats.read_word2vec(path, binary=False, no_header=True)
    assert "fix that line" in _message(excinfo)


def test_no_header_is_for_text_files(tmp_path):
    path = tmp_path / "v.bin"
    formats.write_word2vec(path, WORDS, _vectors(), binary=True)
    with pytest.raises(W2VError, match="drop no_header"):
        formats.read_word2vec(path, binary=True, no_header=True)


def test_vocabulary_file_gives_the_counts_and_gensim_reads_ours(tmp_path):
    vectors, counts = _vectors(), np.arange(len(WORDS), 0, -1) * 10
    path, vocab = tmp_path / "v.bin", tmp_path / "vocab.txt"
    KeyedVectors(WORDS, vectors, counts).save_word2vec_format(path, fvocab=vocab, binary=True)
    theirs = GensimKV.load_word2vec_format(str(path), fvocab=str(vocab), binary=True)
    ours = KeyedVectors.load_word2vec_format(path, fvocab=vocab, binary=True)
    assert ours.index_to_key == theirs.index_to_key == WORDS
    assert ours.counts.tolist() == [theirs.get_vecattr(w, "count") for w in WORDS]
    assert ours.counts.tolist() == counts.tolist()


def test_vocabulary_file_that_does_not_match_is_refused(tmp_path):
    path, vocab = tmp_path / "v.bin", tmp_path / "vocab.txt"
    formats.write_word2vec(path, WORDS, _vectors(), binary=True)
    vocab.write_text("the 10\ncafé 5\n", encoding="utf-8")
    with pytest.raises(W2VError, match="18 of their 20 words are not in it") as excinfo:
        KeyedVectors.load_word2vec_format(path, fvocab=vocab, binary=True)
    assert "'日本語'" in _message(excinfo)
    vocab.write_text("the ten\n", encoding="utf-8")
    with pytest.raises(W2VError, match="line 1 .* is not 'word count'"):
        KeyedVectors.load_word2vec_format(path, fvocab=vocab, binary=True)


def test_float16_halves_the_array_and_answers_like_float32(tmp_path):
    vectors = np.random.default_rng(3).standard_normal((len(WORDS), 16), dtype=np.float32)
    path = tmp_path / "v.bin"
    formats.write_word2vec(path, WORDS, vectors, binary=True)
    half = KeyedVectors.load_word2vec_format(path, binary=True, datatype=np.float16)
    full = KeyedVectors.load_word2vec_format(path, binary=True)
    assert half.vectors.dtype == np.float16 and half.vectors.nbytes * 2 == full.vectors.nbytes
    assert np.array_equal(half.vectors, vectors.astype(np.float16))
    theirs = GensimKV.load_word2vec_format(str(path), binary=True, datatype=np.float16)
    assert np.array_equal(half.vectors, theirs.vectors)
    for word in ("the", "x", "w3"):
        ours = [w for w, _ in half.most_similar(word, topn=5)]
        assert ours == [w for w, _ in full.most_similar(word, topn=5)]
    assert half.norms.dtype == np.float32


def test_value_beyond_float16s_range_is_refused(tmp_path):
    path = tmp_path / "v.bin"
    formats.write_word2vec(path, WORDS, _vectors(), binary=True)  # word 0 holds -3.4e38
    with pytest.raises(W2VError, match="word #0 .* beyond float16's range") as excinfo:
        formats.read_word2vec(path, binary=True, datatype=np.float16)
    assert "datatype=np.float32" in _message(excinfo)
    # An inf already in the file is a value, not an overflow.
    vectors = np.ones((len(WORDS), DIM), dtype=np.float32)
    vectors[2, 3] = np.inf
    formats.write_word2vec(path, WORDS, vectors, binary=True)
    assert np.isinf(formats.read_word2vec(path, binary=True, datatype=np.float16)[1][2, 3])


@pytest.mark.parametrize("datatype", [np.int32, "words"])
def test_datatype_that_is_not_a_float_is_refused(tmp_path, datatype):
    path = tmp_path / "v.bin"
    formats.write_word2vec(path, WORDS, _vectors(), binary=True)
    with pytest.raises(W2VError, match="datatype=.*np.float16"):
        formats.read_word2vec(path, binary=True, datatype=datatype)


@pytest.mark.parametrize("binary", [True, False])
def test_writing_options_make_gensims_bytes(tmp_path, binary):
    vectors = _vectors()
    options = dict(prefix="doc_", write_header=True, total_vec=len(WORDS) * 2)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for kv, path in ((KeyedVectors(WORDS, vectors), ours), (_gensim_kv(WORDS, vectors), theirs)):
        path.write_bytes(b"")
        kv.save_word2vec_format(str(path), binary=binary, **options)
        kv.save_word2vec_format(str(path), binary=binary, append=True, write_header=False)
    if binary:  # gensim leaves out the record newline that the C tool (and w2v) writes
        back = GensimKV.load_word2vec_format(str(ours), binary=True)
        assert back.index_to_key == ["doc_" + w for w in WORDS] + WORDS
        assert _same_bits(back.vectors, np.concatenate([vectors, vectors]))
    else:
        assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("binary", [True, False])
def test_compressed_name_writes_a_compressed_file_gensim_reads(tmp_path, suffix, binary):
    vectors = _vectors()
    path = tmp_path / f"v{'.bin' if binary else '.txt'}{suffix}"
    formats.save_vectors(KeyedVectors(WORDS, vectors), path)
    opened = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix](path).read()
    assert opened.startswith(f"{len(WORDS)} {DIM}\n".encode())
    theirs = GensimKV.load_word2vec_format(str(path), binary=binary)
    assert theirs.index_to_key == WORDS and _same_bits(theirs.vectors, vectors)
    assert formats.load_vectors(path).index_to_key == WORDS


def test_glove_file_is_detected_and_saved_by_name(tmp_path):
    vectors = np.random.default_rng(4).standard_normal((len(WORDS), DIM), dtype=np.float32)
    path = _glove(tmp_path, vectors)
    assert formats.detect_format(path) == "glove"
    kv = formats.load_vectors(path, datatype=np.float16)
    assert kv.index_to_key == WORDS and kv.vectors.dtype == np.float16
    formats.save_vectors(formats.load_vectors(path), tmp_path / "again.txt", "glove")
    assert (tmp_path / "again.txt").read_bytes() == path.read_bytes()


def test_glove_layout_round_trips(tmp_path):
    vectors = _vectors()
    path = tmp_path / "glove.txt"
    KeyedVectors(WORDS, vectors).save_word2vec_format(path, write_header=False)
    assert path.read_bytes() == _glove(tmp_path, vectors).read_bytes()


@pytest.mark.parametrize("binary", [True, False])
def test_limit_reads_the_first_records(tmp_path, binary):
    vectors = _vectors()
    path = tmp_path / "v"
    formats.write_word2vec(path, WORDS, vectors, binary=binary)
    words, loaded = formats.read_word2vec(path, binary=binary, limit=3)
    assert words == WORDS[:3] and _same_bits(loaded, vectors[:3])
    # As in gensim: 0 means all, a limit past the end reads everything.
    for limit in (0, 1000):
        words, _ = formats.read_word2vec(path, binary=binary, limit=limit)
        assert words == WORDS
    gensim = GensimKV.load_word2vec_format(str(path), binary=binary, limit=3)
    assert gensim.index_to_key == WORDS[:3]


def test_limit_reads_the_intact_start_of_a_truncated_file(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(_c_tool_binary(WORDS, _vectors())[:-10])
    words, _ = formats.read_word2vec(path, binary=True, limit=5)
    assert words == WORDS[:5]


def test_negative_limit_is_refused(tmp_path):
    path = tmp_path / "v.bin"
    formats.write_word2vec(path, WORDS, _vectors(), binary=True)
    with pytest.raises(W2VError, match="limit=-1"):
        formats.read_word2vec(path, binary=True, limit=-1)


# --- words that are not valid UTF-8, repeated words --------------------------------------------

# word2vec.c truncates long words at a byte count, which can cut a multibyte character.
BROKEN = [b"ok", b"caf\xc3", b"\xffbad", b"fine"]


def _broken_binary(tmp_path):
    vectors = _vectors(rows=len(BROKEN))
    body = [f"{len(BROKEN)} {DIM}\n".encode()]
    body += [w + b" " + row.tobytes() + b"\n" for w, row in zip(BROKEN, vectors, strict=True)]
    path = tmp_path / "broken.bin"
    path.write_bytes(b"".join(body))
    return path


def _broken_text(tmp_path):
    lines = [f"{len(BROKEN)} 2\n".encode()] + [w + b" 1.0 2.0\n" for w in BROKEN]
    path = tmp_path / "broken.txt"
    path.write_bytes(b"".join(lines))
    return path


def test_strict_decoding_names_the_byte_offset_and_the_fix(tmp_path):
    path = _broken_binary(tmp_path)
    with pytest.raises(W2VError) as excinfo:
        formats.read_word2vec(path, binary=True)
    message = _message(excinfo)
    # Header "4 7\n" (4 bytes) + "ok " + 28 vector bytes + "\n" puts "caf\xc3" at 36; \xc3 at 39.
    assert "byte offset 39" in message and "word #1" in message
    assert "unicode_errors='replace'" in message and "--unicode-errors replace" in message
    assert str(path) in message


def test_strict_decoding_in_text_names_the_line(tmp_path):
    path = _broken_text(tmp_path)
    with pytest.raises(W2VError, match="line 3") as excinfo:
        formats.read_word2vec(path, binary=False)
    assert "unicode_errors='replace'" in _message(excinfo)


@pytest.mark.parametrize("errors", ["replace", "ignore"])
@pytest.mark.parametrize("binary", [True, False])
def test_lenient_decoding_matches_gensim(tmp_path, errors, binary):
    path = _broken_binary(tmp_path) if binary else _broken_text(tmp_path)
    words, vectors = formats.read_word2vec(path, binary=binary, unicode_errors=errors)
    expected = [w.decode("utf-8", errors) for w in BROKEN]
    assert words == expected
    gensim = GensimKV.load_word2vec_format(str(path), binary=binary, unicode_errors=errors)
    assert gensim.index_to_key == words
    assert _same_bits(gensim.vectors, vectors)


def test_unknown_error_handler_is_refused(tmp_path):
    with pytest.raises(W2VError, match="unicode_errors='bogus'"):
        formats.read_word2vec(_broken_binary(tmp_path), binary=True, unicode_errors="bogus")


def test_repeated_words_keep_the_first_row_like_gensim(tmp_path):
    words = ["a", "b", "a", "c", "b"]
    vectors = _vectors(rows=5)
    path = tmp_path / "dup.bin"
    path.write_bytes(_c_tool_binary(words, vectors))
    with pytest.warns(UserWarning, match="2 repeated words"):
        got_words, got = formats.read_word2vec(path, binary=True)
    assert got_words == ["a", "b", "c"]
    assert _same_bits(got, vectors[[0, 1, 3]])
    gensim = GensimKV.load_word2vec_format(str(path), binary=True)
    # gensim 4.4 pads index_to_key with None and vectors with zero rows, one per repeat.
    assert gensim.key_to_index == {"a": 0, "b": 1, "c": 2}
    assert _same_bits(gensim.vectors[:3], got)


# --- the native file ---------------------------------------------------------------------------


def test_native_round_trip_memory_maps_the_vectors(tmp_path):
    vectors = _vectors()
    counts = np.arange(len(WORDS), 0, -1) * 1000
    path = tmp_path / "v.w2v"
    formats.write_native(path, WORDS, vectors, counts)
    words, loaded, got_counts = formats.read_native(path)
    assert words == WORDS
    assert isinstance(loaded, np.memmap) and not loaded.flags.writeable
    assert _same_bits(loaded, vectors)
    assert got_counts.dtype == np.int64 and np.array_equal(got_counts, counts)
    words, copied, _ = formats.read_native(path, mmap=False)
    assert not isinstance(copied, np.memmap) and _same_bits(copied, vectors)


def test_native_file_is_plain_safetensors(tmp_path):
    path = tmp_path / "v.safetensors"
    formats.write_native(path, WORDS, _vectors())
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    assert header.pop("__metadata__") == {"format": "w2v", "version": "1",
                                          "vocab_index": "crc32"}
    assert header["vectors"]["dtype"] == "F32" and header["vectors"]["shape"] == [len(WORDS), DIM]
    assert header["vocab"]["dtype"] == "U8" and "counts" not in header
    assert header["vocab_index"]["dtype"] == "I64"  # the words' hash table (word_index)
    data = raw[8 + length :]
    # Tensors tile the data with no holes, and the vectors start 4-byte aligned in the file.
    spans = sorted(t["data_offsets"] for t in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    begin, end = header["vectors"]["data_offsets"]
    assert (8 + length + begin) % 4 == 0
    assert _same_bits(np.frombuffer(data[begin:end], "<f4").reshape(-1, DIM), _vectors())
    begin, end = header["vocab"]["data_offsets"]
    assert data[begin:end].decode().split("\n") == WORDS
    assert formats.read_native(path)[2] is None


def test_native_round_trip_of_an_empty_vocabulary(tmp_path):
    path = tmp_path / "empty.w2v"
    formats.write_native(path, [], np.zeros((0, 4), np.float32))
    words, vectors, _ = formats.read_native(path)
    assert words == [] and vectors.shape == (0, 4)


# --- format detection --------------------------------------------------------------------------


def test_detect_format_tells_all_three(tmp_path):
    vectors = _vectors()
    formats.write_word2vec(tmp_path / "a", WORDS, vectors, binary=True)
    formats.write_word2vec(tmp_path / "b", WORDS, vectors, binary=False)
    formats.write_native(tmp_path / "c", WORDS, vectors)
    _gensim_kv(WORDS, vectors).save_word2vec_format(str(tmp_path / "d"), binary=True)
    found = [formats.detect_format(tmp_path / n) for n in "abcd"]
    assert found == ["binary", "text", "native", "binary"]


def test_detect_format_refuses_an_unknown_file(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"this is not a vector file\n")
    with pytest.raises(W2VError, match="line 1"):
        formats.detect_format(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v.bin", "binary"),
        ("v.BIN", "binary"),
        ("v.bin.gz", "binary"),
        ("v.txt", "text"),
        ("wiki.en.vec", "text"),
        ("v.w2v", "native"),
        ("model.v2.safetensors", "native"),
    ],
)
def test_format_from_suffix(name, expected):
    assert formats.format_from_suffix(name) == expected


def test_format_from_unknown_suffix_is_refused():
    with pytest.raises(W2VError, match=r"'\.pkl'"):
        formats.format_from_suffix("model.pkl")


# --- KeyedVectors in and out -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kv.bin", "kv.txt", "kv.w2v"])
def test_save_and_load_vectors_through_keyedvectors(tmp_path, name):
    from w2v.vectors.keyedvectors import KeyedVectors

    counts = np.arange(len(WORDS), 0, -1)
    kv = KeyedVectors(list(WORDS), _vectors(), counts)
    path = tmp_path / name
    formats.save_vectors(kv, path)
    loaded = formats.load_vectors(path)
    assert isinstance(loaded, KeyedVectors)
    assert loaded.index_to_key == WORDS and _same_bits(loaded.vectors, kv.vectors)
    if name.endswith(".w2v"):
        assert np.array_equal(loaded.counts, counts)
    assert formats.load_vectors(path, limit=4).index_to_key == WORDS[:4]


def test_unknown_format_name_is_refused(tmp_path):
    with pytest.raises(W2VError, match="'pickle'"):
        formats.load_vectors(tmp_path / "x", format="pickle")


# --- bad input: one W2VError naming the place --------------------------------------------------


@pytest.mark.parametrize(
    "read",
    [
        lambda p: formats.read_word2vec(p, binary=True),
        lambda p: formats.read_word2vec(p, binary=False),
        formats.read_native,
        formats.detect_format,
    ],
    ids=["binary", "text", "native", "detect"],
)
def test_missing_file_and_folder(tmp_path, read):
    with pytest.raises(W2VError, match="missing.bin"):
        read(tmp_path / "missing.bin")
    with pytest.raises(W2VError, match="cannot read"):
        read(tmp_path)


def test_truncated_binary_names_offset_and_word(tmp_path):
    path = tmp_path / "cut.bin"
    full = _c_tool_binary(WORDS, _vectors())
    path.write_bytes(full[:-10])
    with pytest.raises(W2VError) as excinfo:
        formats.read_word2vec(path, binary=True)
    last = len(WORDS) - 1
    start = len(full) - len(f"{WORDS[last]} ") - 4 * DIM - len("\n")
    message = _message(excinfo)
    assert f"byte offset {start}" in message and f"word #{last}" in message
    assert f"limit={last}" in message


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("header", [b"1000000 100", b"99999999999999 99999999999"])
def test_header_promising_more_than_the_file_holds_is_refused(tmp_path, binary, header):
    path = tmp_path / "lie"
    path.write_bytes(header + b"\n" + _c_tool_binary(["a"], _vectors(rows=1))[4:])
    with pytest.raises(W2VError, match="header promises") as excinfo:
        formats.read_word2vec(path, binary=binary)
    assert "bytes follow" in _message(excinfo)


def test_text_file_shorter_than_its_header_names_the_line(tmp_path):
    path = tmp_path / "short.txt"
    path.write_bytes(b"3 2\na 1 2\nb 3 4\n")
    with pytest.raises(W2VError, match="before line 4"):
        formats.read_word2vec(path, binary=False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [(b"b 1 2 3", "has 3 values"), (b"b 1", "has 1 values"), (b"b", "has 0 values")],
)
def test_text_line_with_wrong_value_count_names_the_line(tmp_path, line, expected):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"3 2\na 1 2\n" + line + b"\nc 5 6\n")
    with pytest.raises(W2VError, match=expected) as excinfo:
        formats.read_word2vec(path, binary=False)
    assert "line 3" in _message(excinfo)


@pytest.mark.parametrize("token", [b"x", b"1.2.3", b"1e", b"--1"])
def test_text_value_that_is_not_a_number_names_the_line(tmp_path, token):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"3 2\na 1 2\nb 3 " + token + b"\nc 5 6\n")
    with pytest.raises(W2VError, match="line 3") as excinfo:
        formats.read_word2vec(path, binary=False)
    assert "not a number" in _message(excinfo)


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize(
    "content", [b"hello world\n", b"5\n", b"1 2 3\n", b"-1 5\n", b"5 0\n", b"5 5", b"\x00" * 9]
)
def test_header_that_is_not_two_counts_is_refused(tmp_path, binary, content):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(W2VError, match="line 1") as excinfo:
        formats.read_word2vec(path, binary=binary)
    assert str(path) in _message(excinfo)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.bin"
    path.touch()
    with pytest.raises(W2VError, match="empty"):
        formats.read_word2vec(path, binary=True)
    with pytest.raises(W2VError, match="empty"):
        formats.detect_format(path)


def _native_with(tmp_path, header: dict, data: bytes = b"", length: int | None = None):
    text = json.dumps(header).encode()
    path = tmp_path / "bad.w2v"
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


META = {"format": "w2v", "version": "1"}
GOOD_VOCAB = {"dtype": "U8", "shape": [3], "data_offsets": [8, 11]}


@pytest.mark.parametrize(
    ("header", "length", "expected"),
    [
        ({"__metadata__": META}, 200_000_000, "byte offset 0"),
        ({"__metadata__": META}, 10_000, "byte offset 0"),
        ({"__metadata__": {"format": "other"}}, None, "not a w2v one"),
        ({"__metadata__": {"format": "w2v", "version": "9"}}, None, "upgrade w2v"),
        ({"__metadata__": META, "vocab": GOOD_VOCAB}, None, "no 'vectors' tensor"),
        (
            {
                "__metadata__": META,
                "vectors": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8000]},
                "vocab": GOOD_VOCAB,
            },
            None,
            "damaged",
        ),
        (
            {
                "__metadata__": META,
                "vectors": {"dtype": "F64", "shape": [1, 1], "data_offsets": [0, 8]},
                "vocab": GOOD_VOCAB,
            },
            None,
            "damaged",
        ),
        (
            {
                "__metadata__": META,
                "vectors": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]},
                "vocab": GOOD_VOCAB,
            },
            None,
            "1 words for 2 vectors",
        ),
    ],
)
def test_bad_native_header_is_refused(tmp_path, header, length, expected):
    path = _native_with(tmp_path, header, b"\x00" * 8 + b"abc", length)
    with pytest.raises(W2VError, match=expected) as excinfo:
        formats.read_native(path)
    assert str(path) in _message(excinfo)


def test_native_header_that_is_not_json_names_the_offset(tmp_path):
    path = tmp_path / "bad.w2v"
    path.write_bytes(struct.pack("<Q", 5) + b"{oops")
    with pytest.raises(W2VError, match="byte offset 8"):
        formats.read_native(path)


@pytest.mark.parametrize("word", ["two words", "line\nbreak"])
def test_writing_a_word_with_a_separator_is_refused(tmp_path, word):
    with pytest.raises(W2VError, match="word #1"):
        formats.write_word2vec(tmp_path / "v.bin", ["a", word], _vectors(rows=2), binary=True)
    assert not (tmp_path / "v.bin").exists()


def test_writing_mismatched_words_and_vectors_is_refused(tmp_path):
    with pytest.raises(W2VError, match="3 words but 2 vectors"):
        formats.write_native(tmp_path / "v.w2v", ["a", "b", "c"], _vectors(rows=2))
