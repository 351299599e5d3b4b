"""w2v.vectors.evaluate: gensim 4.4's analogy and word-pair figures, scipy's statistics,
clear errors."""

import types
from pathlib import Path

import gensim
import numpy as np
import pytest
import scipy.special
import scipy.stats
from gensim.models import KeyedVectors as GensimKV

from w2v.errors import W2VError
from w2v.vectors import evaluate
from w2v.vectors.keyedvectors import KeyedVectors

DATA = Path(gensim.__file__).parent / "test" / "test_data"
QUESTIONS = DATA / "questions-words.txt"
PAIR_FILES = [DATA / "wordsim353.tsv", DATA / "simlex999.txt"]
DIM = 32


def _both(words, vectors):
    """Our KeyedVectors and gensim's over the same words and vectors."""
    reference = GensimKV(vectors.shape[1])
    reference.add_vectors(list(words), vectors.copy())
    return KeyedVectors(words, vectors.copy()), reference


def _pairs(path):
    for line in path.read_text(encoding="utf8").splitlines():
        if not line.startswith("#"):
            a, b, score = line.split("\t")
            yield a, b, float(score)


@pytest.fixture(scope="module")
def analogy_models():
    """Vectors where b - a + c often lands on d, so the answers are a mix of right and wrong.

    The second word of each pair is its first word moved by its section's offset (plus noise);
    a word seen again keeps its first vector, which breaks some analogies. Case variants near
    their originals exercise gensim's case folding, fillers crowd the search, and 3% of the words
    are dropped so that some questions are out of vocabulary.
    """
    rng = np.random.default_rng(0)
    vec: dict[str, np.ndarray] = {}
    offset = None
    for line in QUESTIONS.read_text(encoding="utf8").splitlines():
        if line.startswith(": "):
            offset = rng.normal(size=DIM)
            continue
        a, b, c, d = line.split()
        for x, y in ((a, b), (c, d)):
            vec.setdefault(x, rng.normal(size=DIM))
            vec.setdefault(y, vec[x] + offset + 0.5 * rng.normal(size=DIM))
    for word in list(vec)[::7]:
        variant = word.lower() if word != word.lower() else word.upper()
        vec[variant] = vec[word] + 0.3 * rng.normal(size=DIM)
    for i in range(1000):
        vec[f"filler{i}"] = rng.normal(size=DIM)
    words = [word for word in rng.permutation(list(vec)) if rng.random() > 0.03]
    return _both(words, np.array([vec[w] for w in words], dtype=np.float32))


def assert_same_analogies(ours, theirs):
    assert ours[0] == pytest.approx(theirs[0], abs=1e-6)
    assert ours[1] == theirs[1]  # same sections, same questions right and wrong, same order


@pytest.mark.parametrize("options", [
    {},
    {"restrict_vocab": 1500},
    {"case_insensitive": False},
    {"dummy4unknown": True},
], ids=["default", "restrict_vocab", "case_sensitive", "dummy4unknown"])
def test_analogies_match_gensim(analogy_models, options):
    ours, reference = analogy_models
    theirs = reference.evaluate_word_analogies(QUESTIONS, **options)
    mine = evaluate.evaluate_word_analogies(ours, QUESTIONS, **options)
    assert_same_analogies(mine, theirs)
    total = theirs[1][-1]
    assert total["section"] == "Total accuracy"
    assert len(total["correct"]) > 300 and len(total["incorrect"]) > 300  # a real test


def test_analogy_method_3cosmul_matches_gensim_cosmul(analogy_models, tmp_path):
    ours, reference = analogy_models
    # gensim's evaluation with most_similar_cosmul in place of most_similar: the same loop, the
    # same choice among the 5 best answers. (Its cosmul normalises the vectors in place.)
    cosmul = GensimKV(DIM)
    cosmul.add_vectors(reference.index_to_key, reference.vectors.copy())
    cosmul.most_similar = types.MethodType(
        lambda self, positive, negative, topn, restrict_vocab: GensimKV.most_similar_cosmul(
            self, positive, negative, topn), cosmul)
    with pytest.warns(DeprecationWarning):
        theirs = cosmul.evaluate_word_analogies(QUESTIONS)
    assert_same_analogies(evaluate.evaluate_word_analogies(ours, QUESTIONS, method="3cosmul"),
                          theirs)


def test_keyedvectors_method_delegates(analogy_models):
    ours, reference = analogy_models
    assert_same_analogies(ours.evaluate_word_analogies(QUESTIONS, restrict_vocab=800),
                          reference.evaluate_word_analogies(QUESTIONS, restrict_vocab=800))


def test_exact_ties_break_as_in_gensim(tmp_path):
    """Twin words with identical vectors tie exactly; gensim's partial sort decides, so must we."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)]
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors[20:40] = vectors[0:20]  # w20..w39 are twins of w0..w19
    questions = [" ".join(f"w{i}" for i in rng.integers(0, 40, size=4)) for _ in range(300)]
    path = tmp_path / "ties.txt"
    path.write_text(": twins\n" + "\n".join(questions) + "\n", encoding="utf8")
    ours, reference = _both(words, vectors)
    for limit in (300000, 25, 4):
        assert_same_analogies(
            evaluate.evaluate_word_analogies(ours, path, restrict_vocab=limit),
            reference.evaluate_word_analogies(path, restrict_vocab=limit))


def test_analogies_report_empty_and_unanswerable_sections(tmp_path, analogy_models):
    ours, reference = analogy_models
    path = tmp_path / "q.txt"
    path.write_text(": empty\n: unknown\nzzz yyy xxx www\n\n: fine\nAthens Greece Baghdad Iraq\n")
    assert_same_analogies(evaluate.evaluate_word_analogies(ours, path),
                          reference.evaluate_word_analogies(path))
    score, sections = evaluate.evaluate_word_analogies(ours, path, restrict_vocab=1)
    assert score == 0.0 and [s["section"] for s in sections] == [
        "empty", "unknown", "fine", "Total accuracy"]


@pytest.fixture(scope="module")
def pair_models():
    """Vectors whose cosines follow the human scores loosely, over most words of both sets."""
    rng = np.random.default_rng(1)
    vec: dict[str, np.ndarray] = {}
    for path in PAIR_FILES:
        for a, b, score in _pairs(path):
            vec.setdefault(a, rng.normal(size=DIM))
            closeness = score / 10.0
            vec.setdefault(b, closeness * vec[a] + (1 - closeness) * rng.normal(size=DIM))
    for word in list(vec)[::9]:
        vec[word.upper()] = rng.normal(size=DIM)  # upper-case twins, later in the vocabulary
    words = [word for word in vec if rng.random() > 0.08]
    return _both(words, np.array([vec[w] for w in words], dtype=np.float32))


@pytest.mark.parametrize("path", PAIR_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("options", [
    {},
    {"dummy4unknown": True},
    {"case_insensitive": False},
    {"restrict_vocab": 700},
], ids=["default", "dummy4unknown", "case_sensitive", "restrict_vocab"])
def test_word_pairs_match_gensim(pair_models, path, options):
    ours, reference = pair_models
    (r, p_r), (rho, p_rho), oov = evaluate.evaluate_word_pairs(ours, path, **options)
    pearson, spearman, their_oov = reference.evaluate_word_pairs(path, **options)
    assert r == pytest.approx(pearson[0], abs=1e-6)
    assert p_r == pytest.approx(pearson[1], rel=1e-6, abs=1e-300)
    assert rho == pytest.approx(spearman[0], abs=1e-6)
    assert p_rho == pytest.approx(spearman[1], rel=1e-6, abs=1e-300)
    assert oov == pytest.approx(their_oov, abs=1e-9)
    assert 0 < oov < 100


def test_word_pairs_through_keyedvectors(pair_models):
    ours, reference = pair_models
    mine = ours.evaluate_word_pairs(PAIR_FILES[0], "\t", "utf8", 900)
    theirs = reference.evaluate_word_pairs(PAIR_FILES[0], "\t", "utf8", 900)
    assert mine[0][0] == pytest.approx(theirs[0][0], abs=1e-6)


@pytest.mark.parametrize("n", [3, 4, 10, 57, 353, 999])
@pytest.mark.parametrize("strength", [0.0, 0.3, 0.95])
def test_correlations_and_p_values_match_scipy(n, strength):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = strength * x + (1 - strength) * rng.normal(size=n)
    y_tied = np.round(y, 1)  # many ties: Spearman must average their ranks
    for ours, theirs in [(evaluate.pearsonr(x, y), scipy.stats.pearsonr(x, y)),
                         (evaluate.spearmanr(x, y_tied), scipy.stats.spearmanr(x, y_tied)),
                         (evaluate.pearsonr(x, -y), scipy.stats.pearsonr(x, -y))]:
        assert ours[0] == pytest.approx(theirs[0], abs=1e-12)
        assert ours[1] == pytest.approx(theirs[1], rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("x, y", [
    ([1, 2, 3], [2, 4, 6]),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
    ([1, 2], [5, 3]),
    ([1, 1, 2, 2, 3], [0, 0, 0, 1, 1]),
])
def test_perfect_and_tiny_samples_match_scipy(x, y):
    for ours, theirs in [(evaluate.pearsonr(x, y), scipy.stats.pearsonr(x, y)),
                         (evaluate.spearmanr(x, y), scipy.stats.spearmanr(x, y))]:
        np.testing.assert_allclose(ours, (theirs[0], theirs[1]), rtol=1e-9, atol=1e-300)


def test_statistics_edge_cases():
    r, p = evaluate.pearsonr([1, 1, 1], [1, 2, 3])
    assert np.isnan(r) and np.isnan(p)
    np.testing.assert_array_equal(evaluate.rankdata(np.array([3.0, 1.0, 3.0, 2.0])),
                                  [3.5, 1.0, 3.5, 2.0])
    for a, b in [(0.5, 0.5), (1.5, 0.5), (498.5, 0.5), (3.0, 7.0), (200.0, 300.0)]:
        for x in (1e-8, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-9):
            assert evaluate.betainc(a, b, x) == pytest.approx(
                scipy.special.betainc(a, b, x), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("content, message", [
    (b"Athens Greece Baghdad Iraq\n", "line 1: question before any ': section' header"),
    (b": s\nAthens Greece Baghdad\n", "line 2: expected 4 words, found 3"),
    (b": s\n\nAthens Greece Baghdad Iraq Rome\n", "line 3: expected 4 words, found 5"),
    (b": s\nAthens Greece\xff Baghdad Iraq\n", "line 2: not valid utf8"),
    (b"", "no analogy questions"),
    (b": only a header\n", "no analogy questions"),
])
def test_bad_analogy_file_names_path_and_line(analogy_models, tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(W2VError, match=message) as caught:
        evaluate.evaluate_word_analogies(analogy_models[0], path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("content, message", [
    (b"# comment\ncat\tdog\n", "line 2: expected 3 fields, found 2"),
    (b"cat\tdog\t5\ncat dog 5\n", "line 2: expected 3 fields, found 1"),
    (b"cat\tdog\tvery\n", "line 1: score 'very' is not a number"),
    (b"cat\tdog\t5\n\xe9\tdog\t1\n", "line 2: not valid utf8"),
    (b"zzzz\tyyyy\t5\nxxxx\twwww\t1\n", "no usable word pairs"),
])
def test_bad_pairs_file_names_path_and_line(analogy_models, tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    with pytest.raises(W2VError, match=message) as caught:
        evaluate.evaluate_word_pairs(analogy_models[0], path)
    assert str(path) in str(caught.value)


def test_missing_file_and_bad_options(analogy_models, tmp_path):
    kv = analogy_models[0]
    for run in (evaluate.evaluate_word_analogies, evaluate.evaluate_word_pairs):
        with pytest.raises(W2VError, match="cannot read .*nothing-here"):
            run(kv, tmp_path / "nothing-here.txt")
        with pytest.raises(W2VError, match="cannot read"):
            run(kv, tmp_path)
        with pytest.raises(W2VError, match="restrict_vocab must be a positive number"):
            run(kv, QUESTIONS, restrict_vocab=0)
    with pytest.raises(W2VError, match="unknown analogy method '3cosavg'"):
        evaluate.evaluate_word_analogies(kv, QUESTIONS, method="3cosavg")
