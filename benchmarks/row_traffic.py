"""The bytes each kept word makes training move, per mode, against this machine's bandwidth.

    python benchmarks/row_traffic.py --throughput KEPT,KEPT,KEPT,KEPT

A kept word (one left after subsampling, on the text8-like corpus at the defaults) reads and
writes back: its context words' input rows (word2vec.c's shrinking window reaches 1..5 words each
side, so 6 context words on average, fewer at sentence ends) and, per prediction, the output
rows: the target and 5 noise words, or the word's tree nodes (the mean path over kept words).
CBOW makes one prediction from all context rows; skip-gram one per context word, each with that
word's input row. A row is 100 float32 read and written: 800 bytes. --throughput takes the kept
words/s of cbow-ns, sg-ns, cbow-hs, sg-hs from `throughput.py --modes ...`; the GB/s they imply
is set against `memory.py`'s STREAM triad (17.3 GB/s, 2026-12-02): the bandwidth training
would need if no row stayed in cache.
"""

import argparse

import numpy as np
from common import MODES, machine, text8like

from w2v import Word2Vec
from w2v.corpus.tables import huffman_tree, keep_probability

TRIAD = 17.3e9
CONTEXTS, NEGATIVE, ROW_BYTES = 6, 5, 2 * 4 * 100


def rows_per_kept_word(mode: str, mean_path: float) -> float:
    outputs = NEGATIVE + 1 if mode.endswith("ns") else mean_path
    return CONTEXTS * (1 + outputs) if mode.startswith("sg") else CONTEXTS + outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput", required=True, help="kept words/s, one per mode")
    args = parser.parse_args()
    speeds = [float(x) for x in args.throughput.split(",")]
    model = Word2Vec(min_count=5)
    model.build_vocab(corpus_file=text8like())
    counts = np.asarray(model.vocab.counts, dtype=np.float64)
    depth = np.diff(np.asarray(huffman_tree(model.vocab.counts)[2]))
    kept = counts * np.minimum(1.0, keep_probability(counts, model.config.sample))
    mean_path = float(kept @ depth / kept.sum())
    print(f"{machine()}; command: python benchmarks/row_traffic.py --throughput "
          f"{args.throughput}\n\n{len(counts):,} words, mean tree path of a kept word "
          f"{mean_path:.1f} nodes\n")
    print("| mode | rows per kept word | bytes per kept word | kept words/s | GB/s | of triad |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, speed in zip(MODES, speeds, strict=True):
        moved = rows_per_kept_word(mode, mean_path) * ROW_BYTES
        print(f"| {mode} | {moved / ROW_BYTES:.1f} | {moved:,.0f} | {speed:,.0f} "
              f"| {moved * speed / 1e9:.1f} | {100 * moved * speed / TRIAD:.0f}% |")


if __name__ == "__main__":
    main()
