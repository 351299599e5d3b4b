import numpy as np
import pytest

import w2v.encoding
from w2v.encoding import EncodedCorpus, IdFile, encode, scan
from w2v.errors import W2VError
from w2v.vocab import Vocab

SENTENCES = [["a", "b", "a", "c"], ["a", "b", "d"], ["e"], ["c", "a", "b", "b"]]


def _decoded(corpus, vocab):
    return [[vocab.words[i] for i in corpus.ids[a:b]]
            for a, b in zip(corpus.starts[:-1], corpus.starts[1:], strict=True)]


@pytest.mark.parametrize("block", [2, 3, 1 << 22])
def test_scan_counts_and_encodes_in_one_pass(monkeypatch, block):
    monkeypatch.setattr(w2v.encoding, "BLOCK_IDS", block)  # blocks split sentences too
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
