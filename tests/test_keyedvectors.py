"""KeyedVectors: every query agrees with gensim 4's KeyedVectors on the same vectors."""

import logging
import re
from pathlib import Path

import gensim
import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from w2v.errors import W2VError
from w2v.vectors import formats, keyedvectors
from w2v.vectors.keyedvectors import FastTextKeyedVectors, KeyedVectors

LEE = Path(gensim.__file__).parent / "test" / "test_data" / "lee_background.cor"
V, D = 2000, 40
# gensim's most_similar_cosmul calls its own deprecated init_sims.
GENSIM_COSMUL = pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`")


@pytest.fixture(scope="module")
def words() -> list[str]:
    """Real words, mixed case, in corpus order (as a frequency-sorted vocabulary would mix)."""
    tokens = re.findall(r"[A-Za-z]+", LEE.read_text(encoding="utf8"))
    return list(dict.fromkeys(tokens))[:V]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(V, D)).astype(np.float32)


@pytest.fixture(scope="module")
def kv(words, vectors) -> KeyedVectors:
    return KeyedVectors(words, vectors.copy())


def _gensim(words, vectors) -> GensimKV:
    reference = GensimKV(D)
    reference.add_vectors(words, vectors.copy())
    return reference


@pytest.fixture(scope="module")
def gkv(words, vectors) -> GensimKV:
    return _gensim(words, vectors)


def assert_same_ranking(ours, theirs):
    assert [word for word, _ in ours] == [word for word, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=0, atol=1e-6)
    assert all(isinstance(word, str) and isinstance(s, float) for word, s in ours)


QUERIES = {
    "one word as a string": lambda w, v: {"positive": w[10]},
    "analogy": lambda w, v: {"positive": [w[1], w[2]], "negative": [w[3]], "topn": 7},
    "weighted pairs": lambda w, v: {"positive": [(w[4], 2.0), (w[5], 0.5)],
                                    "negative": [(w[6], -0.7)]},
    "raw vector and word": lambda w, v: {"positive": [v[20] * 3.0], "negative": [w[21]]},
    "row index as key": lambda w, v: {"positive": [5, w[30]]},
    "negative only": lambda w, v: {"negative": [w[40]], "topn": 3},
    "restrict_vocab": lambda w, v: {"positive": [w[50], w[900]], "restrict_vocab": 300},
    "clip window": lambda w, v: {"positive": [w[60]], "clip_start": 100, "clip_end": 900},
    "topn beyond vocab": lambda w, v: {"positive": [w[70]], "topn": V + 50},
}


@pytest.mark.parametrize("case", QUERIES)
def test_most_similar_matches_gensim(kv, gkv, words, vectors, case):
    kwargs = QUERIES[case](words, vectors)
    assert_same_ranking(kv.most_similar(**kwargs), gkv.most_similar(**kwargs))


def test_most_similar_topn_none_gives_every_score(kv, gkv, words):
    for kwargs in ({"positive": [words[1]], "negative": [words[2]]},
                   {"positive": [words[3]], "restrict_vocab": 500}):
        ours, theirs = kv.most_similar(topn=None, **kwargs), gkv.most_similar(topn=None, **kwargs)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert kv.most_similar(positive=[words[1]], topn=0) == []


def test_most_similar_leaves_out_input_words_and_uses_indexer(kv, words):
    found = [w for w, _ in kv.most_similar(positive=[words[1], words[2]], topn=V)]
    assert words[1] not in found and words[2] not in found and len(found) == V - 2

    class Indexer:
        def most_similar(self, vector, topn):
            return [("from-indexer", float(np.linalg.norm(vector)))] * topn

    answer = kv.most_similar(positive=[words[1]], topn=2, indexer=Indexer())
    assert answer == [("from-indexer", pytest.approx(1.0))] * 2


def test_similar_by_word_key_and_vector(kv, gkv, words, vectors):
    assert_same_ranking(kv.similar_by_word(words[8], topn=5), gkv.similar_by_word(words[8], topn=5))
    assert_same_ranking(kv.similar_by_key(words[9], restrict_vocab=100),
                        gkv.similar_by_key(words[9], restrict_vocab=100))
    assert_same_ranking(kv.similar_by_vector(vectors[11]), gkv.similar_by_vector(vectors[11]))


@GENSIM_COSMUL
@pytest.mark.parametrize("case", [
    {"positive": [1, 2], "negative": [3]},
    {"positive": [4], "topn": 4},
    {"positive": [5, 6, 7], "negative": [8, 9], "topn": 12},
])
def test_most_similar_cosmul_matches_gensim(kv, words, vectors, case):
    # gensim's cosmul normalises its vectors in place, so it gets a fresh copy each time.
    reference = _gensim(words, vectors)
    named = {key: ([words[i] for i in value] if isinstance(value, list) else value)
             for key, value in case.items()}
    assert_same_ranking(kv.most_similar_cosmul(**named), reference.most_similar_cosmul(**named))


@GENSIM_COSMUL
def test_most_similar_cosmul_single_string_scores_and_restrict(kv, words, vectors):
    reference = _gensim(words, vectors)
    assert_same_ranking(kv.most_similar_cosmul(words[12], words[13]),
                        reference.most_similar_cosmul([words[12]], [words[13]]))
    every = reference.most_similar_cosmul(positive=[words[14]], negative=[words[15]], topn=None)
    np.testing.assert_allclose(
        kv.most_similar_cosmul(positive=[words[14]], negative=[words[15]], topn=None), every,
        atol=1e-6)
    # gensim 4.4 ignores restrict_vocab here; ours searches only the first 400 words.
    first = np.argsort(-every[:400])
    expected = [(words[i], float(every[i])) for i in first if i not in (14, 15)][:10]
    assert_same_ranking(
        kv.most_similar_cosmul(positive=[words[14]], negative=[words[15]], restrict_vocab=400),
        expected)


def test_pairwise_similarities_match_gensim(kv, gkv, words):
    for a, b in [(words[1], words[2]), (words[3], words[3]), (words[100], words[1999])]:
        assert kv.similarity(a, b) == pytest.approx(float(gkv.similarity(a, b)), abs=1e-6)
        assert kv.distance(a, b) == pytest.approx(float(gkv.distance(a, b)), abs=1e-6)
    group1, group2 = words[10:14], [words[20], words[25]]
    assert kv.n_similarity(group1, group2) == pytest.approx(
        float(gkv.n_similarity(group1, group2)), abs=1e-6)


def test_distances_and_cosine_similarities_match_gensim(kv, gkv, words, vectors):
    np.testing.assert_allclose(kv.distances(words[5]), gkv.distances(words[5]), atol=1e-6)
    np.testing.assert_allclose(kv.distances(vectors[6], words[7:30]),
                               gkv.distances(vectors[6], words[7:30]), atol=1e-6)
    np.testing.assert_allclose(KeyedVectors.cosine_similarities(vectors[0], vectors[1:50]),
                               GensimKV.cosine_similarities(vectors[0], vectors[1:50]),
                               atol=1e-6)


def test_rank_and_closer_than_match_gensim(kv, gkv, words):
    for a, b in [(words[0], words[1]), (words[5], words[1500]), (words[9], words[9]),
                 (words[42], words[43])]:
        assert kv.rank(a, b) == gkv.rank(a, b)
    assert kv.closer_than(words[3], words[700]) == gkv.closer_than(words[3], words[700])


def test_doesnt_match_matches_gensim_and_warns_about_unknown_words(kv, gkv, words, caplog):
    for group in (words[:5], words[100:110], [words[3], words[3], words[800]]):
        assert kv.doesnt_match(group) == gkv.doesnt_match(group)
    with caplog.at_level(logging.WARNING, logger="w2v.vectors.keyedvectors"):
        assert kv.doesnt_match(words[:4] + ["notaword"]) == gkv.doesnt_match(words[:4])
    assert "notaword" in caplog.text
    with pytest.raises(W2VError):
        kv.doesnt_match(["notaword"])


def test_vectors_lookup(kv, gkv, words, vectors):
    assert len(kv) == V and kv.vector_size == D and kv.vectors.dtype == np.float32
    assert words[3] in kv and "notaword" not in kv and 5 in kv and V not in kv
    assert kv.get_index(words[7]) == 7 and kv.get_index(12) == 12
    assert kv.get_index("notaword", default=-3) == -3
    np.testing.assert_array_equal(kv[words[4]], vectors[4])
    np.testing.assert_array_equal(kv[[words[4], words[9]]], vectors[[4, 9]])
    assert kv[[]].shape == (0, D)
    np.testing.assert_allclose(kv.get_vector(words[4], norm=True),
                               gkv.get_vector(words[4], norm=True), atol=1e-7)
    np.testing.assert_allclose(kv.get_normed_vectors(), gkv.get_normed_vectors(), atol=1e-7)
    with pytest.raises(ValueError):
        kv[words[4]][0] = 1.0  # read-only view: writing would silently stale the norms


@pytest.mark.parametrize("query", [
    lambda kv: kv["notaword"],
    lambda kv: kv[["the", "notaword"]],
    lambda kv: kv.get_vector("notaword", norm=True),
    lambda kv: kv.most_similar(positive=["notaword"]),
    lambda kv: kv.most_similar(positive=[kv.index_to_key[0]], negative=["notaword"]),
    lambda kv: kv.most_similar_cosmul(positive=["notaword"]),
    lambda kv: kv.similar_by_word("notaword"),
    lambda kv: kv.similarity(kv.index_to_key[0], "notaword"),
    lambda kv: kv.n_similarity([kv.index_to_key[0]], ["notaword"]),
    lambda kv: kv.distances(kv.index_to_key[0], ["notaword"]),
    lambda kv: kv.rank(kv.index_to_key[0], "notaword"),
])
def test_unknown_word_raises_key_error_naming_it(kv, query):
    with pytest.raises(KeyError, match="Key 'notaword' not present"):
        query(kv)


def test_empty_queries_are_rejected(kv, words):
    with pytest.raises(W2VError):
        kv.most_similar()
    with pytest.raises(W2VError):
        kv.most_similar_cosmul(negative=[words[0]])
    with pytest.raises(W2VError):
        kv.n_similarity([], [words[0]])


def test_norms_are_computed_once_and_dropped_with_new_vectors(words, vectors, monkeypatch):
    calls = []
    real = keyedvectors.row_norms
    monkeypatch.setattr(keyedvectors, "row_norms", lambda v: calls.append(1) or real(v))
    kv = KeyedVectors(words, vectors.copy())
    assert calls == []  # lazily: loading vectors must not pay for norms
    kv.most_similar(positive=[words[1]])
    kv.most_similar_cosmul(positive=[words[2]])
    kv.get_vector(words[3], norm=True)
    kv.rank(words[1], words[2])
    normed = kv.get_normed_vectors()
    assert kv.get_normed_vectors() is normed
    assert len(calls) == 1

    kv.vectors = vectors[::-1].copy()
    assert kv.get_normed_vectors() is not normed
    assert len(calls) == 2
    reference = _gensim(words, vectors[::-1])
    assert_same_ranking(kv.most_similar(positive=[words[1]]),
                        reference.most_similar(positive=[words[1]]))


def test_zero_vector_scores_zero_not_nan(words):
    vectors = np.eye(4, 3, dtype=np.float32)  # the fourth row is all zeros
    kv = KeyedVectors(["a", "b", "c", "pad"], vectors)
    scores = dict(kv.most_similar(positive=["a"]))
    assert scores == {"b": 0.0, "c": 0.0, "pad": 0.0}
    assert not np.isnan(kv.get_normed_vectors()).any()


def test_bad_construction_is_rejected():
    with pytest.raises(W2VError, match="duplicate word 'a'"):
        KeyedVectors(["a", "b", "a"], np.zeros((3, 2)))
    with pytest.raises(W2VError, match="2 rows but there are 3 words"):
        KeyedVectors(["a", "b", "c"], np.zeros((2, 2)))
    with pytest.raises(W2VError, match="2D"):
        KeyedVectors(["a"], np.zeros(2))
    with pytest.raises(W2VError, match="one count per word"):
        KeyedVectors(["a", "b"], np.zeros((2, 2)), counts=[1])
    kv = KeyedVectors(["a", "b"], np.ones((2, 2)), counts=[5, 3])
    assert kv.get_vecattr("b", "count") == 3
    assert kv.vectors.dtype == np.float32


def test_files_and_evaluation_go_through_their_modules(monkeypatch, tmp_path):
    calls = []
    fake = dict(
        write_word2vec=lambda *a, **options: calls.append(("write_word2vec", a)),
        read_word2vec=lambda path, binary, **options: (
            ["x", "y"], np.ones((2, 3), dtype=np.float32)),
        write_native=lambda *a: calls.append(("write_native", a)),
        read_native_subwords=lambda path, mmap=True: (
            ["x"], np.ones((1, 3), np.float32), np.array([4]), None, None),
    )
    for name, function in fake.items():  # the format modules' functions, as KeyedVectors sees them
        monkeypatch.setattr(keyedvectors, name, function)
    kv = KeyedVectors(["p", "q"], np.ones((2, 3)), counts=[2, 1])
    kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    kv.save(tmp_path / "v.w2v")
    assert [(name, args[0], args[-1]) for name, args in calls] == [
        ("write_word2vec", tmp_path / "v.bin", True), ("write_native", tmp_path / "v.w2v",
                                                       kv.counts)]
    loaded = KeyedVectors.load_word2vec_format(tmp_path / "v.txt", limit=2)
    assert loaded.index_to_key == ["x", "y"]
    native = KeyedVectors.load(tmp_path / "v.w2v")
    assert native.index_to_key == ["x"] and native.counts.tolist() == [4]



@pytest.mark.parametrize("size, n", [(70_000, 10), (70_001, 37), (1_000, 1), (640, 2), (50, 60)])
def test_top_indices_equal_a_full_sort(size, n):
    from w2v.vectors.keyedvectors import top_indices

    scores = np.random.default_rng(size + n).standard_normal(size).astype(np.float32)
    expected = np.argsort(-scores, kind="stable")[:n]
    assert top_indices(scores, n).tolist() == expected.tolist()


# -- subword vectors: any string has a vector (gensim's FastTextKeyedVectors) ----------------------

@pytest.fixture(scope="module")
def subword_pair():
    """The same subword vectors as ours and as gensim's FastTextKeyedVectors."""
    from gensim.models.fasttext import FastTextKeyedVectors as GensimFastText

    rng = np.random.default_rng(5)
    words = ["whale", "whales", "whaling", "ship", "ships", "sea", "captain", "ahab", "naïve"]
    table = rng.normal(size=(len(words) + 50, 6)).astype(np.float32)
    ours = FastTextKeyedVectors.from_input_table(words, table, 3, 5)
    theirs = GensimFastText(6, 3, 5, 50)
    theirs.add_vectors(words, table[:len(words)])
    theirs.vectors_vocab = table[:len(words)].copy()
    theirs.vectors_ngrams = table[len(words):].copy()
    theirs.recalc_char_ngram_buckets()
    theirs.adjust_vectors()
    return ours, theirs


def test_subword_vectors_answer_any_string_as_gensims_do(subword_pair):
    ours, theirs = subword_pair
    np.testing.assert_allclose(ours.vectors, theirs.vectors, rtol=1e-6, atol=1e-6)
    for word in ["whale", "whalle", "shipz", "naïvety", "a"]:
        np.testing.assert_allclose(ours[word], theirs[word], rtol=1e-5, atol=1e-6)
        assert ours.similarity(word, "sea") == pytest.approx(theirs.similarity(word, "sea"),
                                                             abs=1e-5)
    mine = ours.most_similar("whalle", topn=4)
    assert [w for w, _ in mine] == [w for w, _ in theirs.most_similar("whalle", topn=4)]
    assert ours["whalle", "ship"].shape == (2, 6)


def test_in_means_has_a_vector_and_key_to_index_the_vocabulary(subword_pair):
    ours, _ = subword_pair
    assert "whalle" in ours and "whalle" not in ours.key_to_index
    assert not ours.has_index_for("whalle")
    assert "" not in ours  # "<>" has no n-gram of 3 to 5 characters
    with pytest.raises(KeyError, match="no n-grams of 3 to 5 characters"):
        ours[""]


def test_subword_vectors_survive_the_native_file_and_export_their_words(subword_pair, tmp_path):
    ours, _ = subword_pair
    ours.save(tmp_path / "ft.w2v")
    back = KeyedVectors.load(tmp_path / "ft.w2v")
    assert isinstance(back, FastTextKeyedVectors) and (back.min_n, back.max_n) == (3, 5)
    assert isinstance(back.vectors_ngrams, np.memmap)  # mapped, like the word vectors
    np.testing.assert_array_equal(back["whalle"], ours["whalle"])
    assert formats.load_vectors(tmp_path / "ft.w2v", limit=3).index_to_key == ours.index_to_key[:3]
    # Tools that read only words get the words' vectors.
    ours.save_word2vec_format(tmp_path / "ft.vec")
    words = KeyedVectors.load_word2vec_format(tmp_path / "ft.vec")
    assert type(words) is KeyedVectors and words.index_to_key == ours.index_to_key
    np.testing.assert_allclose(words.vectors, ours.vectors, atol=1e-6)


def test_a_table_of_the_wrong_width_is_refused(subword_pair):
    ours, _ = subword_pair
    with pytest.raises(W2VError, match="vectors_ngrams has shape"):
        FastTextKeyedVectors(ours.index_to_key, ours.vectors, np.zeros((5, 4)), 3, 5)


# --- the rest of gensim's surface: adding, attributes, centrality, embeddings ------------------


def test_centrality_relative_similarity_and_the_nearest_of_a_list_match_gensim(kv, gkv, words):
    group = words[10:30] + ["notaword"]
    ours, theirs = kv.rank_by_centrality(group), gkv.rank_by_centrality(group)
    assert [w for _, w in ours] == [w for _, w in theirs]
    np.testing.assert_allclose([d for d, _ in ours], [d for d, _ in theirs], rtol=1e-5)
    for a, b in [(words[0], words[5]), (words[40], words[41])]:
        assert kv.relative_cosine_similarity(a, b) == pytest.approx(
            gkv.relative_cosine_similarity(a, b), rel=1e-5)
        assert kv.most_similar_to_given(a, words[100:150]) == gkv.most_similar_to_given(
            a, words[100:150])


def test_adding_vectors_and_attributes_matches_gensim(words, vectors):
    ours, theirs = KeyedVectors(words[:50], vectors[:50].copy()), _gensim(words[:50],
                                                                           vectors[:50])
    extra = np.random.default_rng(1).normal(size=(4, D)).astype(np.float32)
    new = ["alpha", words[3], "beta", "gamma"]
    for kv in (ours, theirs):
        kv.add_vectors(new, extra, replace=False)
        kv.add_vector("delta", extra[0])
        kv.set_vecattr("alpha", "count", 7)
        kv.set_vecattr("beta", "tag", 3)
    assert ours.index_to_key == theirs.index_to_key
    assert np.array_equal(ours.vectors, theirs.vectors)
    assert ours.get_vecattr("alpha", "count") == theirs.get_vecattr("alpha", "count") == 7
    assert ours.get_vecattr("beta", "tag") == theirs.get_vecattr("beta", "tag") == 3
    assert ours.get_vecattr("gamma", "tag") == theirs.get_vecattr("gamma", "tag") == 0
    ours.add_vectors([words[3]], extra[3:], replace=True)
    theirs.add_vectors([words[3]], extra[3:], replace=True)
    assert np.array_equal(ours[words[3]], extra[3]) and np.array_equal(theirs[words[3]], extra[3])
    assert_same_ranking(ours.most_similar(words[3], topn=5), theirs.most_similar(words[3], topn=5))
    with pytest.raises(W2VError, match="cannot join vectors of 40"):
        ours.add_vector("wide", np.zeros(D + 1))


def test_sorting_by_frequency_and_vectors_for_all_match_gensim(words, vectors):
    counts = np.random.default_rng(2).integers(1, 20, size=100)
    ours, theirs = KeyedVectors(words[:100], vectors[:100].copy(), counts), _gensim(
        words[:100], vectors[:100])
    for word, count in zip(words[:100], counts, strict=True):
        theirs.set_vecattr(word, "count", int(count))
    ours.sort_by_descending_frequency()
    theirs.sort_by_descending_frequency()
    assert ours.index_to_key == theirs.index_to_key
    assert np.array_equal(ours.vectors, theirs.vectors)
    picked = [words[5], "unknown", words[5], words[9]]
    mine, gensims = (kv.vectors_for_all(picked, allow_inference=False, copy_vecattrs=True)
                     for kv in (ours, theirs))
    assert mine.index_to_key == gensims.index_to_key == [words[5], words[9]]
    assert np.array_equal(mine.vectors, gensims.vectors)
    assert [mine.get_vecattr(w, "count") for w in mine.index_to_key] == [
        gensims.get_vecattr(w, "count") for w in gensims.index_to_key]
    with pytest.raises(KeyError):
        ours.vectors_for_all(picked)
    with pytest.raises(W2VError, match="no counts"):
        KeyedVectors(["a"], np.ones((1, 2))).sort_by_descending_frequency()


def test_intersect_word2vec_format_takes_the_shared_words_as_gensim(words, vectors, tmp_path):
    path = tmp_path / "other.txt"
    other = np.random.default_rng(3).normal(size=(30, D)).astype(np.float32)
    KeyedVectors(words[20:40] + [f"new{i}" for i in range(10)], other).save_word2vec_format(path)
    ours, theirs = KeyedVectors(words[:30], vectors[:30].copy()), _gensim(words[:30],
                                                                          vectors[:30])
    theirs.vectors_lockf = np.ones(30, dtype=np.float32)  # gensim's Word2Vec would have set it
    ours.intersect_word2vec_format(path, lockf=0.5)
    theirs.intersect_word2vec_format(str(path), lockf=0.5)
    assert ours.index_to_key == theirs.index_to_key == words[:30]
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    np.testing.assert_array_equal(ours.vectors_lockf, theirs.vectors_lockf)


def test_a_models_wv_refuses_intersecting_instead_of_ignoring_it(austen, tmp_path):
    from w2v import Word2Vec

    model = Word2Vec(austen[:300], vector_size=8, min_count=1, epochs=1)
    model.wv.save_word2vec_format(tmp_path / "v.txt")
    with pytest.raises(W2VError, match="model.intersect_word2vec_format"):
        model.wv.intersect_word2vec_format(tmp_path / "v.txt")


@pytest.mark.parametrize("freeze", [True, False])
def test_to_embedding_gives_the_rows_by_key_to_index(kv, words, freeze):
    import torch

    embedding = kv.to_embedding(freeze=freeze)
    assert isinstance(embedding, torch.nn.Embedding)
    assert embedding.weight.requires_grad is not freeze
    row = embedding(torch.tensor([kv.key_to_index[words[7]]]))[0]
    assert np.array_equal(row.detach().numpy(), kv[words[7]])
