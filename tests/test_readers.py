import bz2
import gzip
import lzma

import pytest

from w2v.corpus.readers import LineSentence, PathLineSentences, Text8Corpus, open_corpus, tokenize
from w2v.errors import W2VError


def test_line_sentence_reads_compressed_files_transparently(tmp_path):
    text = b"the cat sat\n\non the mat\n"
    for suffix, opener in [("", open), (".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)]:
        path = tmp_path / f"c.txt{suffix}"
        with opener(path, "wb") as f:
            f.write(text)
        corpus = LineSentence(path)
        assert list(corpus) == [["the", "cat", "sat"], ["on", "the", "mat"]]
        assert list(corpus) == list(corpus)  # re-iterable


def test_text8_cuts_one_line_into_fixed_sentences_across_blocks(tmp_path, monkeypatch):
    import w2v.corpus.readers

    monkeypatch.setattr(w2v.corpus.readers, "BLOCK", 7)  # words straddle many block edges
    words = [f"w{i}" for i in range(95)]
    path = tmp_path / "text8"
    path.write_text(" " + " ".join(words))
    sentences = list(Text8Corpus(path, max_sentence_length=10))
    assert [len(s) for s in sentences] == [10] * 9 + [5]
    assert sum(sentences, []) == words


def test_invalid_utf8_is_replaced_and_counted(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 ok\n\xff\xfe word\n")
    corpus = LineSentence(path)
    sentences = list(corpus)
    assert sentences[0] == ["caf\ufffd", "ok"]
    assert corpus.decode_errors == 3  # \xe9, \xff, \xfe


def test_tokenizer_strips_punctuation_and_lowercases():
    assert tokenize("\u201cDon't stop!\u201d said Mr. Darcy-Smith, 1813.") == [
        "don't", "stop", "said", "mr", "darcy-smith", "1813",
    ]


def test_path_line_sentences_reads_every_file_in_order(tmp_path):
    (tmp_path / "b.txt").write_text("two\n")
    (tmp_path / "a.txt").write_text("one\n")
    assert list(PathLineSentences(tmp_path)) == [["one"], ["two"]]


def test_open_corpus_picks_the_reader(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("a b\nc\n")
    assert isinstance(open_corpus(lines), LineSentence)
    assert isinstance(open_corpus(tmp_path), PathLineSentences)
    one_line = tmp_path / "text8"
    one_line.write_text(" a b" * 300_000)
    assert isinstance(open_corpus(one_line), Text8Corpus)


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_bad_paths_give_one_clear_error(tmp_path, make):
    path = tmp_path / "nope.txt"
    if make == "folder":
        path.mkdir()
    with pytest.raises(W2VError, match="nope.txt"):
        LineSentence(path)


def test_python_sentences_are_cut_like_a_files():
    from w2v.corpus.readers import CutSentences

    long = [f"w{i}" for i in range(25)]
    corpus = CutSentences([long, ["a", "b"], iter(["c", "d", "e"])], max_sentence_length=10)
    assert list(corpus) == [long[:10], long[10:20], long[20:], ["a", "b"], ["c", "d", "e"]]
    assert list(CutSentences([long], 10)) == list(CutSentences([long], 10))  # re-iterable


def test_word2vec_cuts_a_long_python_sentence(austen):
    from w2v import Word2Vec

    words = [w for sentence in austen[:3000] for w in sentence]  # one list, ~35k words
    model = Word2Vec([words], max_sentence_length=1000, vector_size=8, epochs=1, workers=1)
    assert model.corpus_count == -(-len(words) // 1000)
    assert model.corpus_total_words == len(words)
