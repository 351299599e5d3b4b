"""Approximate nearest neighbours for `most_similar(..., indexer=...)`, gensim's indexer hook.

Exact search reads every vector for every query: 3.6 GB on GoogleNews' 3M x 300. An HNSW graph
(Malkov and Yashunin, "Efficient and robust approximate nearest neighbor search using
Hierarchical Navigable Small World graphs", 2018) visits a few thousand of them instead, and
misses a true neighbour now and then: recall and speed are in BENCHMARKS.md. The graph is
faiss's (`faiss-cpu`, an optional extra: `pip install "w2v[ann]"`), chosen over hnswlib by
measurement and because it is maintained; exact search stays the default.

An index file is faiss's serialized graph after a JSON line naming the vectors it was built for
(their shape and a fingerprint of their words and rows), so that it is never used with others.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from w2v.atomic import atomic_write
from w2v.errors import W2VError
from w2v.vectors.checks import read_error, write_error

_MAGIC = b"w2v-hnsw-index\n"
_FINGERPRINT_ROWS = 64  # rows hashed besides every word: a changed table changes them


def _faiss():
    try:
        import faiss
    except ImportError as err:
        raise W2VError("approximate search needs faiss: pip install 'w2v[ann]' (faiss-cpu), "
                       "or leave out the index for exact search") from err
    return faiss


def fingerprint(kv) -> dict:
    """What identifies a set of vectors: its shape, and a hash of its words and some rows."""
    digest = hashlib.sha256("\n".join(kv.index_to_key).encode("utf-8", "surrogatepass"))
    picked = np.linspace(0, len(kv) - 1, num=min(len(kv), _FINGERPRINT_ROWS)).astype(np.int64)
    digest.update(np.ascontiguousarray(kv.vectors[picked], dtype=np.float32).tobytes())
    return {"words": len(kv), "dim": kv.vector_size, "sha256": digest.hexdigest()}


class HnswIndexer:
    """An HNSW graph over `kv`'s unit vectors (inner product = cosine), used as
    `kv.most_similar(word, indexer=HnswIndexer(kv))`.

    `m` links per node and `ef_construction` candidates while building trade build time and
    memory for recall; `ef_search` candidates per query trades speed for recall (settable
    later: `indexer.ef_search = 256`).
    """

    def __init__(self, kv, m: int = 32, ef_construction: int = 80, ef_search: int = 128,
                 _index=None):
        faiss = _faiss()
        for name, value in (("m", m), ("ef_construction", ef_construction),
                            ("ef_search", ef_search)):
            if not isinstance(value, int) or value < 1:
                raise W2VError(f"{name}={value!r}: give a positive whole number")
        self.kv = kv
        if _index is None:
            _index = faiss.IndexHNSWFlat(kv.vector_size, m, faiss.METRIC_INNER_PRODUCT)
            _index.hnsw.efConstruction = ef_construction
            _index.add(np.ascontiguousarray(kv.get_normed_vectors(), dtype=np.float32))
        self.index = _index
        self.ef_search = ef_search

    @property
    def ef_search(self) -> int:
        return int(self.index.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self.index.hnsw.efSearch = int(value)

    def most_similar(self, vector, num_neighbors: int) -> list[tuple[str, float]]:
        """The `num_neighbors` words the graph finds nearest to `vector`, with their cosines."""
        query = np.asarray(vector, dtype=np.float32)
        query = (query / max(float(np.linalg.norm(query)), 1e-30))[None, :]
        sims, rows = self.index.search(query, num_neighbors)
        return [(self.kv.index_to_key[r], float(s))
                for s, r in zip(sims[0], rows[0], strict=True) if r >= 0]

    def save(self, path) -> None:
        """Write the graph and the fingerprint of the vectors it indexes (temporary name,
        then renamed)."""
        header = json.dumps({"vectors": fingerprint(self.kv)}).encode() + b"\n"
        graph = _faiss().serialize_index(self.index)
        try:
            with atomic_write(path, "wb") as f:
                f.write(_MAGIC + header)
                f.write(graph.tobytes())
        except OSError as err:
            raise write_error(path, err) from err

    @classmethod
    def load(cls, path, kv, ef_search: int = 128) -> HnswIndexer:
        """Read an index saved by `save`; it must have been built for exactly `kv`."""
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise read_error(path, err) from err
        end = data.find(b"\n", len(_MAGIC))
        try:
            if not data.startswith(_MAGIC) or end < 0:
                raise ValueError
            built_for = json.loads(data[len(_MAGIC):end])["vectors"]
        except (ValueError, KeyError, TypeError) as err:
            raise W2VError(f"{path} is not a w2v index file; build one with "
                           "HnswIndexer(kv).save(path) or w2v serve --index PATH") from err
        these = fingerprint(kv)
        if built_for != these:
            raise W2VError(f"{path} was built for other vectors ({built_for.get('words')} words "
                           f"x {built_for.get('dim')}; these are {these['words']} x "
                           f"{these['dim']}, or the same shape with other words or values); "
                           "delete it and build it again for these vectors")
        faiss = _faiss()
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8, offset=end + 1))
        return cls(kv, ef_search=ef_search, _index=index)
