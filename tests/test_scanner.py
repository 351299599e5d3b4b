"""The compiled corpus scanner (`training/kernels/scanner.cpp`) against Python's own decoding
and splitting, on any bytes fed in any pieces. Whole scans, sentences and threads are compared
with the Python readers in test_encoding.py."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from w2v.training.kernels import corpus_scanner

Scanner = corpus_scanner()
# Bytes that make UTF-8 interesting: lead bytes of every length, continuations, the bytes that
# are never valid, and whitespace of one, two and three bytes.
PIECES = [b"a", b"b", b" ", b"\n", b"\x1f", b"\x80", b"\xbf", b"\xc0", b"\xc2", b"\xc2\x85",
          b"\xc2\xa0", b"\xe0", b"\xe0\xa0", b"\xed", b"\xed\xa0", b"\xe2\x80", b"\xe2\x80\xa8",
          b"\xe3\x80\x80", b"\xef\xbf\xbd", b"\xf0", b"\xf0\x90", b"\xf4\x8f", b"\xf4\x90",
          b"\xf5", b"\xff", "日".encode()]
texts = st.one_of(st.binary(max_size=60),
                  st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join))


def _scanned(data: bytes, cuts: list[int], max_word: int):
    table = Scanner(False, 10**9, max_word)
    ids = []
    edges = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for a, b in zip(edges, edges[1:], strict=False):
        ids += table.feed(data[a:b])[0].tolist()
    ids += table.finish()[0].tolist()
    _, words, counts = table.frequent(1)
    return [words[i] for i in ids], table.decode_errors, table.truncated, table.tokens


@settings(max_examples=400, deadline=None, database=None)
@given(data=texts, cuts=st.lists(st.integers(0, 60), max_size=6), max_word=st.integers(1, 4))
def test_words_are_pythons_decode_replace_then_split(data, cuts, max_word):
    text = data.decode("utf-8", "replace")
    words = text.split()
    expected = ([w[:max_word] for w in words], text.count("\ufffd"),
                sum(len(w) > max_word for w in words), len(words))
    assert _scanned(data, cuts, max_word) == expected


def test_a_frozen_table_gives_only_the_words_it_was_given():
    table = Scanner(True, 10, 100, frozen=True)
    table.add([b"b", "é".encode()])
    ids, ends = table.feed("a b é\nc\nb".encode())
    more, last = table.finish()
    assert ids.tolist() + more.tolist() == [0, 1, 0]
    # Sentences are the lines that hold words, counted in kept ids: "c" is an empty one.
    assert ends.tolist() + last.tolist() == [2, 2, 3]
    assert table.tokens == 5 and len(table) == 2


def test_joined_tables_sum_counts_and_append_new_words_in_order():
    first, second = Scanner(False, 10, 100), Scanner(False, 10, 100)
    first.feed(b"x y x ")
    second.feed(b"z y z w ")
    assert first.absorb(second).tolist() == [2, 1, 3]
    ids, words, counts = first.frequent(2)
    assert (ids.tolist(), words, counts.tolist()) == ([0, 1, 2], ["x", "y", "z"], [2, 2, 2])


@pytest.mark.parametrize("limit, expected",
                         [(0, []), (1, [0, 1]), (2, [0, 1, 2]), (5, [0, 1, 2, 1])])
def test_a_line_limit_stops_reading(limit, expected):
    table = Scanner(True, 10, 100, limit)
    ids = table.feed(b"a b\nc\nb")[0].tolist() + table.finish()[0].tolist()
    assert ids == expected
    assert table.done == (limit <= 2)  # the last line has no newline: it ends no line
