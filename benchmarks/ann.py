"""Approximate neighbours: recall@10 against exact search and queries/s, faiss's HNSW (what
w2v.vectors.ann uses) beside hnswlib's, on the same vectors in the same run.

The table is synthetic (--words x --dim float32): points around 5,000 random centres with
noise as large as the centres, so that a word has neighbours the way trained word vectors do
(uniform random vectors have none, and every index scores near zero on them). Exact answers
come from KeyedVectors.most_similar; each library's graph is built with the same links per
node (m 32) and candidates while building (80), then queried at several ef_search values.

Run: PYTHONPATH=src .venv/bin/python benchmarks/ann.py [--words 1000000] [--dim 300]
"""

import argparse
import os
import shlex
import sys
import time

import numpy as np

from w2v.vectors.ann import HnswIndexer
from w2v.vectors.keyedvectors import KeyedVectors

M, EF_CONSTRUCTION, EF_SEARCH = 32, 80, (32, 64, 128, 256)


def clustered(words: int, dim: int, seed: int) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5000, dim)).astype(np.float32)
    vectors = np.empty((words, dim), dtype=np.float32)
    for lo in range(0, words, 100_000):
        n = min(100_000, words - lo)
        vectors[lo : lo + n] = centres[rng.integers(0, len(centres), n)]
        vectors[lo : lo + n] += rng.standard_normal((n, dim), dtype=np.float32)
    return KeyedVectors([f"w{i}" for i in range(words)], vectors)


def hnswlib_index(kv: KeyedVectors):
    import hnswlib

    index = hnswlib.Index(space="ip", dim=kv.vector_size)
    index.init_index(max_elements=len(kv), M=M, ef_construction=EF_CONSTRUCTION)
    index.add_items(np.ascontiguousarray(kv.get_normed_vectors()))
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--without-hnswlib", action="store_true",
                        help="faiss only (each graph of 1M x 300 takes minutes to build)")
    args = parser.parse_args(argv)

    kv = clustered(args.words, args.dim, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    queries = [kv.index_to_key[i] for i in rng.choice(len(kv), args.queries, replace=False)]
    start = time.perf_counter()
    exact = [{w for w, _ in kv.most_similar(q, topn=10)} for q in queries]
    exact_qps = len(queries) / (time.perf_counter() - start)
    rows = [("exact (KeyedVectors.most_similar)", "", 0.0, 1.0, exact_qps)]

    start = time.perf_counter()
    ours = HnswIndexer(kv, m=M, ef_construction=EF_CONSTRUCTION)
    ours_build = time.perf_counter() - start
    runs = [("faiss IndexHNSWFlat (w2v)", ours_build, lambda ef: setattr(ours, "ef_search", ef),
             lambda q: {w for w, _ in kv.most_similar(q, topn=10, indexer=ours)})]
    if not args.without_hnswlib:
        start = time.perf_counter()
        theirs = hnswlib_index(kv)
        runs.append(("hnswlib", time.perf_counter() - start, theirs.set_ef,
                     lambda q: {kv.index_to_key[i] for i in theirs.knn_query(
                         kv.get_vector(q, norm=True)[None, :], k=11)[0][0]} - {q}))
    for ef in EF_SEARCH:
        for name, build, set_ef, answer in runs:
            set_ef(ef)
            start = time.perf_counter()
            found = [answer(q) for q in queries]
            qps = len(queries) / (time.perf_counter() - start)
            recall = np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])
            rows.append((name, str(ef), build, recall, qps))

    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(f"{args.words} words x {args.dim} float32 (clustered), {args.queries} queries, "
          f"m {M}, ef_construction {EF_CONSTRUCTION}\n")
    print("| search | ef_search | build s | recall@10 | queries/s |")
    print("|---|---:|---:|---:|---:|")
    for name, ef, build, recall, qps in rows:
        print(f"| {name} | {ef} | {build:.1f} | {recall:.3f} | {qps:,.0f} |")
    print(f"\ncommand: `PYTHONPATH=src {command}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
