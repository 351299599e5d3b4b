"""Load a word2vec binary file and run most_similar queries: w2v against gensim, same run.

A deterministic random vocabulary (realistic random lowercase words, float32 vectors) is written
once to a temporary folder; each library then loads it (best of --repeats) and answers the same
--queries most_similar(word, topn=10) calls. Each query round starts from a freshly loaded
model, so the first call pays for the unit-norm computation in both libraries (gensim computes
norms lazily on first use). The combined row (load + queries) is immune to where a library
computes its norms.

Run: PYTHONPATH=src .venv/bin/python benchmarks/load_query.py
"""

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors as GensimKV

from w2v.vectors.formats import write_word2vec
from w2v.vectors.keyedvectors import KeyedVectors

LETTERS = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
# English letter frequencies (percent), in LETTERS' order, so words look like text tokens.
LETTER_WEIGHTS = np.array(
    [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0]
    + [1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
)


def random_vocabulary(size: int, dim: int, seed: int) -> tuple[list[str], np.ndarray]:
    """`size` distinct random words (2-14 letters) and standard-normal float32 vectors."""
    rng = np.random.default_rng(seed)
    p = LETTER_WEIGHTS / LETTER_WEIGHTS.sum()
    words: dict[str, None] = {}
    while len(words) < size:
        ends = np.cumsum(rng.integers(2, 15, size=size))
        text = LETTERS[rng.choice(len(LETTERS), ends[-1], p=p)].tobytes().decode()
        words.update(dict.fromkeys(text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)))
    vectors = rng.standard_normal((size, dim), dtype=np.float32)
    return list(words)[:size], vectors


def best_of(repeats: int, run) -> float:
    """Fastest wall time of `repeats` calls of run(), in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def query_seconds(load, queries: list[str], repeats: int) -> float:
    """Best time for all queries on a freshly loaded model (loading itself not timed)."""
    times = []
    for _ in range(repeats):
        kv = load()
        start = time.perf_counter()
        for word in queries:
            kv.most_similar(word, topn=10)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", type=int, default=70_000, help="words in the file")
    parser.add_argument("--dim", type=int, default=100, help="vector size")
    parser.add_argument("--queries", type=int, default=1_000, help="most_similar calls")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    words, vectors = random_vocabulary(args.vocab, args.dim, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    queries = [words[i] for i in rng.integers(0, len(words), size=args.queries)]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vectors.bin"
        write_word2vec(path, words, vectors, binary=True)

        def ours():
            return KeyedVectors.load_word2vec_format(path, binary=True)

        def theirs():
            return GensimKV.load_word2vec_format(str(path), binary=True)

        # Same answers first: a fast wrong result is no result.
        a, b = ours().most_similar(queries[0], topn=10), theirs().most_similar(queries[0], topn=10)
        if [w for w, _ in a] != [w for w, _ in b]:
            raise SystemExit(f"w2v and gensim disagree on {queries[0]!r}: {a} vs {b}")

        rows = [
            ("load binary", best_of(args.repeats, ours), best_of(args.repeats, theirs)),
            (
                f"{args.queries} x most_similar(topn=10)",
                query_seconds(ours, queries, args.repeats),
                query_seconds(theirs, queries, args.repeats),
            ),
        ]
    rows.append(("load + queries", rows[0][1] + rows[1][1], rows[0][2] + rows[1][2]))

    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(f"{args.vocab} x {args.dim} float32, binary word2vec file; best of {args.repeats}\n")
    print("| operation | w2v s | gensim s | w2v/gensim |")
    print("|---|---:|---:|---:|")
    for name, w2v_s, gensim_s in rows:
        print(f"| {name} | {w2v_s:.4f} | {gensim_s:.4f} | {w2v_s / gensim_s:.2f} |")
    print(f"\ncommand: `PYTHONPATH=src {command}` (goal: w2v/gensim <= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
