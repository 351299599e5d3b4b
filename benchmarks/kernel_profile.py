"""Where the compiled kernel's time goes, per mode, and how far each mode is from memory's limit.

    python benchmarks/kernel_profile.py [--words 2000000] [--throughput KEPT,KEPT,KEPT,KEPT]

profile: each mode (CBOW or skip-gram, negative sampling or hierarchical softmax) trains one
epoch on the last --words words of the text8-like corpus with one worker, under Linux perf's
cpu-clock sampling (no hardware counters are needed, so it runs in a VM), with the kernel built
with -g; each sample's source line is charged to the kernel function it falls in (the innermost
one, after inlining). A stall on memory shows as time on the instruction that waits for the
load: the dot products and row updates carry it.
limit: the rows each kept word (a word left after subsampling) must read and write, from the
vocabulary, the tree and the window (word2vec.c's shrinking window reaches 1..window words each
side, so 2 * (window + 1) / 2 context words on average, fewer at sentence ends), at 4 bytes per
float; then against this machine's memory (`memory.py`: STREAM triad, and random rows gathered
and scattered back) at the kept words/s given by --throughput (from `throughput.py --modes`, in
the order cbow-ns, sg-ns, cbow-hs, sg-hs).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import machine, text8like_tail

from w2v.training import kernels

MODES = {
    "cbow-ns": {"sg": 0, "hs": 0, "negative": 5},
    "sg-ns": {"sg": 1, "hs": 0, "negative": 5},
    "cbow-hs": {"sg": 0, "hs": 1, "negative": 0},
    "sg-hs": {"sg": 1, "hs": 1, "negative": 0},
}
# The kernel's functions, by what they do.
CATEGORY = {
    "dot": "dot products",
    "update_output": "output rows' updates (2 axpys in one pass)",
    "axpy": "input rows: the bag sum and its update",
    "add_bag": "input rows: the bag sum and its update",
    "update_bag": "input rows: the bag sum and its update",
    "exp_neg": "sigmoid and loss",
    "learn": "sigmoid and loss",
    "predict": "sigmoid and loss",
    "next": "random draws (noise words, windows, subsampling)",
    "uniform": "random draws (noise words, windows, subsampling)",
    "uniform24": "random draws (noise words, windows, subsampling)",
    "below": "random draws (noise words, windows, subsampling)",
    "noise_word": "random draws (noise words, windows, subsampling)",
    "draw_noise": "random draws (noise words, windows, subsampling)",
    "train_sentence": "window loop",
    "train": "sentence loop and subsampling",
}
HEAD = re.compile(r"^\s*(?:inline\s+|static\s+)?(?:const\s+)?[\w:<>]+[*&]?\s+[*&]?(\w+)\(")


def functions_by_line(source: Path) -> list[str]:
    """For each line of the C++ source, the function it belongs to (the last head above it)."""
    owner, names = "", []
    for line in source.read_text().splitlines():
        match = HEAD.match(line)
        if match and not line.lstrip().startswith(("return", "else")):
            owner = match.group(1)
        names.append(owner)
    return names


def worker(mode: str, corpus: str) -> None:
    """Trains one epoch with the -g build of the kernel in place of the usual one."""
    from w2v import Word2Vec
    from w2v.training import loop, runtime

    debug = kernels.build("w2v_cpu", kernels.SOURCE, flags=(*kernels.FLAGS, "-g"))
    loop.cpu_kernel = runtime.cpu_kernel = lambda: debug
    model = Word2Vec(corpus_file=corpus, epochs=1, workers=1, seed=1, **MODES[mode])
    print(model.history[-1].words_per_second)


def profile(mode: str, corpus: Path) -> tuple[dict, float]:
    """Shares of the kernel's samples by category, and the kernel's share of all samples."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-o", str(data),
                        sys.executable, __file__, "--worker", mode, "--corpus", str(corpus)],
                       check=True, capture_output=True)
        def report(*options):
            return subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                                   *options], check=True, capture_output=True, text=True).stdout
        # Source lines only for the kernel's library: resolving libtorch's takes many minutes.
        dsos = re.findall(r"^\s*([\d.]+)%\s+(\S+)", report("--sort", "dso"), re.M)
        library = next(name for _, name in dsos if name.startswith("w2v_cpu"))
        kernel = next(float(share) for share, name in dsos if name == library)
        lines = report("--sort", "srcline", "--dsos", library)
    owners = functions_by_line(kernels.SOURCE)
    shares: dict[str, float] = defaultdict(float)
    for line in lines.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(\S+):(\d+)", line)
        if match:
            share, file, number = float(match.group(1)), match.group(2), int(match.group(3))
            owner = owners[number - 1] if file == "w2v_cpu.cpp" else ""
            shares[CATEGORY.get(owner, "other (C++ library code inlined, checks)")] += share
    total = sum(shares.values())
    return {name: 100 * share / total for name, share in shares.items()}, kernel


def rows_per_kept_word(mode: str, counts: np.ndarray, depth: np.ndarray, keep: np.ndarray,
                       window: int = 5) -> float:
    """Rows one kept word reads and writes: its context words' input rows, and per prediction
    the output rows (the target and noise words, or the word's tree nodes)."""
    options = MODES[mode]
    kept = counts * keep / (counts * keep).sum()  # the kept words' distribution
    contexts = window + 1  # 2 * E[reach], reach uniform in 1..window
    outputs = options["negative"] + 1 if options["negative"] else float(kept @ depth)
    if options["sg"]:  # each context word predicts the word: one input row and the outputs
        return contexts * (1 + outputs)
    return contexts + outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--throughput", help="kept words/s of cbow-ns,sg-ns,cbow-hs,sg-hs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.corpus)
    if not shutil.which("perf"):
        raise SystemExit("perf is not installed: install linux-tools (perf) to profile")
    corpus = text8like_tail(args.words)
    print(f"{machine()}; command: python benchmarks/kernel_profile.py "
          f"{' '.join(sys.argv[1:])}\n")
    print(f"Share of the kernel's samples (last {args.words:,} words of the text8-like corpus, "
          "1 epoch, 1 worker, -g build):\n")
    results = {mode: profile(mode, corpus) for mode in MODES}
    categories = sorted({c for shares, _ in results.values() for c in shares},
                        key=lambda c: -sum(r[0].get(c, 0) for r in results.values()))
    print("| | " + " | ".join(MODES) + " |")
    print("|---|" + "---:|" * len(MODES))
    for c in categories:
        print(f"| {c} | " + " | ".join(f"{results[m][0].get(c, 0):.1f}%" for m in MODES) + " |")
    print("| (kernel's share of the process) | "
          + " | ".join(f"{results[m][1]:.0f}%" for m in MODES) + " |")
    if args.throughput:
        limit(args, [float(x) for x in args.throughput.split(",")])


def limit(args, kept_per_second: list[float], dim: int = 100) -> None:
    """Bytes per kept word and the fraction of memory's limits reached (text8-like, defaults)."""
    from common import text8like

    from w2v import Word2Vec
    from w2v.corpus.tables import huffman_tree, keep_probability

    model = Word2Vec(min_count=5)
    model.build_vocab(corpus_file=text8like())
    counts = np.asarray(model.vocab.counts, dtype=np.float64)
    _, _, path = huffman_tree(model.vocab.counts)
    depth = np.diff(np.asarray(path))
    keep = np.minimum(1.0, keep_probability(model.vocab.counts, 1e-3))
    # memory.py, 2026-12-02: triad 17.3 GB/s; random 400-byte rows: gather 9.42 M/s, scatter-add
    # 4.75 M/s, so a row read and written back costs 1/9.42 + 1/4.75 microseconds.
    triad, random_rows = 17.3e9, 1 / (1 / 9.42e6 + 1 / 4.75e6)
    print("\nLimit (text8-like, defaults, 2 workers; a row is read and written back, "
          f"{2 * 4 * dim} bytes):\n")
    print("| mode | rows per kept word | bytes per kept word | kept words/s | GB/s moved "
          "| of triad | rows/s | of random rows |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode, speed in zip(MODES, kept_per_second, strict=True):
        rows = rows_per_kept_word(mode, counts, depth, keep)
        moved = rows * 2 * 4 * dim
        print(f"| {mode} | {rows:.1f} | {moved:,.0f} | {speed:,.0f} | {moved * speed / 1e9:.1f} "
              f"| {100 * moved * speed / triad:.0f}% | {rows * speed / 1e6:.1f}M "
              f"| {100 * rows * speed / random_rows:.0f}% |")


if __name__ == "__main__":
    main()
