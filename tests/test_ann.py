"""w2v.vectors.ann: an approximate index that finds what exact search finds, refuses other
vectors, and serves the explorer."""

import numpy as np
import pytest

from w2v.errors import W2VError
from w2v.vectors.ann import HnswIndexer
from w2v.vectors.keyedvectors import KeyedVectors


def _clustered(rows=3000, dim=32, seed=0) -> KeyedVectors:
    """Vectors in 60 clusters, as word vectors are: neighbours exist to be found."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(60, dim))
    vectors = centres[rng.integers(0, 60, rows)] + 0.3 * rng.normal(size=(rows, dim))
    return KeyedVectors([f"w{i}" for i in range(rows)], vectors.astype(np.float32))


@pytest.fixture(scope="module")
def kv():
    return _clustered()


@pytest.fixture(scope="module")
def indexer(kv):
    return HnswIndexer(kv)


def test_the_index_finds_what_exact_search_finds(kv, indexer):
    queries = [f"w{i}" for i in range(0, 3000, 30)]
    hits = 0
    for word in queries:
        exact = {w for w, _ in kv.most_similar(word, topn=10)}
        approximate = kv.most_similar(word, topn=10, indexer=indexer)
        assert len(approximate) == 10 and word not in {w for w, _ in approximate}
        for w, s in approximate:  # the similarities are the true cosines
            assert s == pytest.approx(kv.similarity(word, w), abs=1e-5)
        hits += len(exact & {w for w, _ in approximate})
    assert hits / (10 * len(queries)) > 0.95


def test_a_saved_index_loads_for_its_vectors_only(kv, indexer, tmp_path):
    path = tmp_path / "v.hnsw"
    indexer.save(path)
    again = HnswIndexer.load(path, kv)
    word = "w17"
    assert again.most_similar(kv[word], 10) == indexer.most_similar(kv[word], 10)
    for other in (_clustered(seed=1), _clustered(rows=2999)):
        with pytest.raises(W2VError, match="built for other vectors") as excinfo:
            HnswIndexer.load(path, other)
        assert "build it again" in str(excinfo.value)
    (tmp_path / "junk").write_bytes(b"not an index")
    with pytest.raises(W2VError, match="not a w2v index file"):
        HnswIndexer.load(tmp_path / "junk", kv)


def test_bad_graph_settings_are_refused(kv):
    with pytest.raises(W2VError, match="m=0"):
        HnswIndexer(kv, m=0)


def test_the_explorer_answers_from_the_index(kv, tmp_path):
    from w2v.apps import explorer

    path = tmp_path / "v.hnsw"
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        built = explorer.open_index(path, kv, f)
    assert path.exists() and "building an approximate index" in log.read_text()
    with open(log, "w") as f:
        loaded = explorer.open_index(path, kv, f)
    assert log.read_text() == ""
    page = explorer.Explorer(kv, "test", loaded)
    answer = page.similar("w5", 5)["neighbours"]
    assert [n["word"] for n in answer] == [w for w, _ in built.most_similar(kv["w5"], 6)
                                           if w != "w5"][:5]
