import json
import struct

import numpy as np
import pytest

from w2v import KeyedVectors
from w2v.errors import W2VError
from w2v.vectors import formats
from w2v.vectors.word_index import (
    EMPTY,
    WordIndex,
    build_word_index,
    index_problem,
    table_size,
    word_hash,
)

# Enough words that many share a home slot, some of them non-ASCII.
WORDS = [f"w{i}" for i in range(3000)] + ["naïve", "日本", "über", "", " "]


def test_every_word_is_found_at_its_row_and_nothing_else_is():
    slots = build_word_index(WORDS)
    homes = np.array([word_hash(w) & (len(slots) - 1) for w in WORDS])
    assert len(np.unique(homes)) < len(WORDS)  # collisions happened, so probing was exercised
    index = WordIndex(WORDS, slots)
    assert dict(index) == {w: i for i, w in enumerate(WORDS)}
    assert list(index) == WORDS and len(index) == len(WORDS)
    for absent in ("w3000", "W1", "naive", "\ud800", 7, None, b"w1"):
        assert absent not in index
        assert index.get(absent) is None
        with pytest.raises(KeyError):
            index[absent]


def test_the_table_is_at_most_half_full_and_a_power_of_two():
    for n in (0, 1, 2, 3, 4, 5, 1000, 1024, 1025):
        size = table_size(n)
        assert size >= max(8, 2 * n) and size & (size - 1) == 0
        assert index_problem(build_word_index([str(i) for i in range(n)]), n) is None


def test_a_damaged_table_is_named():
    slots = build_word_index(WORDS)
    assert "slots" in index_problem(slots[:-1], len(WORDS))
    held = np.flatnonzero(slots != EMPTY)
    lost = slots.copy()
    lost[held[0]] = EMPTY
    assert "rows for" in index_problem(lost, len(WORDS))
    twice = slots.copy()
    twice[held[0]] = slots[held[1]]
    assert "twice" in index_problem(twice, len(WORDS))
    outside = slots.copy()
    outside[held[0]] = len(WORDS)
    assert "outside" in index_problem(outside, len(WORDS))


def _saved(tmp_path, words=WORDS):
    path = tmp_path / "v.w2v"
    vectors = np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2)
    KeyedVectors(words, vectors, counts=np.arange(len(words)) + 1).save(path)
    return path


@pytest.mark.parametrize("mmap", [True, False])
def test_a_saved_file_answers_lookups_from_its_stored_table(tmp_path, mmap):
    kv = KeyedVectors.load(_saved(tmp_path), mmap=mmap)
    assert isinstance(kv.key_to_index, WordIndex)
    assert kv.key_to_index["naïve"] == WORDS.index("naïve")
    assert kv.get_index("w17") == 17 and "w3000" not in kv
    assert np.array_equal(kv["w5"], [10, 11])
    assert kv.most_similar("w1", topn=1)[0][0] in WORDS


def test_adding_words_to_loaded_vectors_makes_the_index_a_dict(tmp_path):
    kv = KeyedVectors.load(_saved(tmp_path))
    stored = kv.key_to_index
    kv.add_vectors(["new", "w3"], np.ones((2, 2)))
    assert len(stored) == len(WORDS) and "new" not in stored  # its words are its own
    assert isinstance(kv.key_to_index, dict)
    assert kv.key_to_index["new"] == len(WORDS) and kv.key_to_index["w3"] == 3
    assert np.array_equal(kv["new"], [1, 1])


def _rewrite_metadata(path, change):
    """Rewrite the native file's header through `change(header)`, keeping the data where it
    was (the header is padded back to its old length)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    change(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= length
    path.write_bytes(data[:8] + text + b" " * (length - len(text)) + data[8 + length :])


def test_a_file_without_a_table_it_knows_is_indexed_anew(tmp_path):
    path = _saved(tmp_path)
    _rewrite_metadata(path, lambda h: h["__metadata__"].update(vocab_index="crc99"))
    kv = KeyedVectors.load(path)
    assert isinstance(kv.key_to_index, dict) and kv.key_to_index["w9"] == 9


def test_a_damaged_stored_table_is_refused_naming_it(tmp_path):
    path = _saved(tmp_path)

    def halve(header):
        entry = header["vocab_index"]
        entry["shape"] = [entry["shape"][0] // 2]
        entry["data_offsets"][1] -= 8 * entry["shape"][0]

    _rewrite_metadata(path, halve)
    with pytest.raises(W2VError, match="'vocab_index'.*re-save"):
        KeyedVectors.load(path)


def test_a_file_listing_a_word_twice_is_refused_even_with_a_table(tmp_path):
    path = tmp_path / "v.w2v"
    formats.write_native(path, ["a", "b", "a"], np.zeros((3, 2), np.float32))
    with pytest.raises(W2VError, match="lists 'a' twice"):
        KeyedVectors.load(path)
