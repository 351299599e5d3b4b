import pytest

from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError

SENTENCES = [["a", "b", "a", "c"], ["a", "b", "d"], ["e"]]


def test_build_orders_by_descending_count_and_applies_min_count():
    vocab = Vocab.build(SENTENCES, min_count=2)
    assert vocab.words == ["a", "b"]
    assert vocab.counts.tolist() == [3, 2]
    assert vocab.corpus_words == 8
    assert vocab.total_words == 5
    assert vocab.index == {"a": 0, "b": 1}


def test_ties_keep_first_seen_order():
    vocab = Vocab.build([["x", "y", "z"]], min_count=1)
    assert vocab.words == ["x", "y", "z"]


def test_no_word_reaching_min_count_names_the_fix():
    with pytest.raises(W2VError, match="lower min_count"):
        Vocab.build(SENTENCES, min_count=10)


def test_empty_corpus_is_an_error():
    with pytest.raises(W2VError, match="empty"):
        Vocab.build([[], []])


def test_max_final_vocab_raises_min_count():
    sentences = [["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2]
    vocab = Vocab.build(sentences, min_count=1, max_final_vocab=2)
    assert vocab.words == ["a", "b"]


def test_save_load_round_trip_in_c_format(tmp_path):
    vocab = Vocab.build(SENTENCES, min_count=1)
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    assert path.read_text().splitlines()[:2] == ["a 3", "b 2"]
    loaded = Vocab.load(path)
    assert loaded.words == vocab.words
    assert loaded.counts.tolist() == vocab.counts.tolist()


def test_load_rejects_a_malformed_line_with_its_number(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a 3\nb two\n")
    with pytest.raises(W2VError, match=r"vocab.txt:2"):
        Vocab.load(path)
