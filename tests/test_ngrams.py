"""fastText's n-grams and hash, against gensim's transcription of fastText (the buckets must agree
for vectors to be shared between the libraries), and the bags training reads."""

import numpy as np
import pytest
from gensim.models.fasttext import ft_ngram_hashes
from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from w2v.errors import W2VError
from w2v.vectors.ngrams import bag_means, bags, check_subword_options, fnv1a, ngram_buckets, ngrams

WORDS = ["cat", "a", "", "naïve", "日本語", "résumé", "x" * 12, "é", "ab", "🐳whale"]


@pytest.mark.parametrize("min_n, max_n", [(3, 6), (1, 3), (1, 1), (2, 9), (5, 5)])
def test_ngrams_and_buckets_are_fasttexts(min_n, max_n):
    buckets, starts = ngram_buckets(WORDS, min_n, max_n, 1000)
    for i, word in enumerate(WORDS):
        assert ngrams(word, min_n, max_n) == compute_ngrams_bytes(word, min_n, max_n)
        assert buckets[starts[i]:starts[i + 1]].tolist() == ft_ngram_hashes(word, min_n, max_n,
                                                                            1000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=8), st.integers(1, 4),
       st.integers(0, 4), st.integers(1, 2**31 - 1))
def test_any_words_hash_as_gensim_hashes_them(words, min_n, extra, bucket):
    buckets, starts = ngram_buckets(words, min_n, min_n + extra, bucket)
    for i, word in enumerate(words):
        ours = buckets[starts[i]:starts[i + 1]].tolist()
        assert ours == ft_ngram_hashes(word, min_n, min_n + extra, bucket)


def test_the_hash_sign_extends_bytes_as_fasttexts_cpp_does():
    for gram in compute_ngrams_bytes("naïve日本🐳", 1, 6):
        assert fnv1a(gram) == ft_hash_bytes(gram)
    assert fnv1a(b"\xe6") != fnv1a(b"\x66")  # a byte >= 0x80 is not read as unsigned


def test_a_bag_is_the_word_then_its_ngrams_in_the_shared_table():
    rows, starts = bags(["cat", "dog"], 3, 4, 10)
    buckets, at = ngram_buckets(["cat", "dog"], 3, 4, 10)
    assert rows[starts[0]] == 0 and rows[starts[1]] == 1
    assert rows[starts[0] + 1:starts[1]].tolist() == (buckets[at[0]:at[1]] + 2).tolist()
    assert starts[-1] == len(rows) == len(buckets) + 2


def test_bag_means_average_each_bag_with_repeats():
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    rows = np.array([0, 3, 3, 1, 5], np.int32)
    means = bag_means(table, rows, np.array([0, 3, 5]))
    np.testing.assert_allclose(means, [(table[0] + 2 * table[3]) / 3, (table[1] + table[5]) / 2])


@pytest.mark.parametrize("min_n, max_n, bucket, culprit", [
    (5, 3, 10, "min_n=5, max_n=3"), (0, 3, 10, "min_n=0"), (3, 6, 0, "bucket=0"),
    (3, 6, -4, "bucket=-4"), (3.0, 6, 10, "min_n=3.0")])
def test_nonsensical_options_are_refused_by_name(min_n, max_n, bucket, culprit):
    with pytest.raises(W2VError, match=culprit):
        check_subword_options(min_n, max_n, bucket)
