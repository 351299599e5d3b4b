"""Where the compiled kernel's time goes, per mode (`row_traffic.py` gives the memory limit).

    python benchmarks/kernel_profile.py [--words 2000000]

profile: each mode (CBOW or skip-gram, negative sampling or hierarchical softmax) trains one
epoch on the last --words words of the text8-like corpus with one worker, under Linux perf's
cpu-clock sampling (no hardware counters are needed, so it runs in a VM), with the kernel built
with -g; each sample's source line is charged to the kernel function it falls in (the innermost
one, after inlining). A stall on memory shows as time on the instruction that waits for the
load: the dot products and row updates carry it.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from common import MODES, machine, text8like_tail

from w2v.training import kernels

# The kernel's functions, by what they do.
CATEGORY = {
    "dot": "dot products",
    "load8": "8-float loads and stores (of the dots and row updates)",
    "store8": "8-float loads and stores (of the dots and row updates)",
    "update_columns": "output rows' updates (2 axpys in one pass)",
    "update_outputs": "output rows' updates (2 axpys in one pass)",
    "axpy": "input rows: the bag sum and its update",
    "sum_columns": "input rows: the bag sum and its update",
    "sum_rows": "input rows: the bag sum and its update",
    "bag_of": "input rows: the bag sum and its update",
    "update_rows": "input rows: the bag sum and its update",
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
        report = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                                 "--sort", "dso,sym"], check=True, capture_output=True,
                                text=True).stdout
        # Each kernel symbol's samples by source line (perf annotate -l): source lines for the
        # kernel's library only, where perf report's own srcline sort resolves every library's
        # and takes many minutes.
        owners = functions_by_line(kernels.SOURCE)
        shares: dict[str, float] = defaultdict(float)
        kernel = 0.0
        for share, symbol in re.findall(r"^\s*([\d.]+)%\s+w2v_cpu\S*\s+\[\.\]\s+(.+?)\s*$",
                                        report, re.M):
            kernel += float(share)
            lines = subprocess.run(["perf", "annotate", "-i", str(data), "--stdio", "-l",
                                    "-s", symbol], capture_output=True, text=True).stdout
            for part, file, number in re.findall(r"^\s+([\d.]+) (\S+?):(\d+)$", lines, re.M):
                owner = owners[int(number) - 1] if file == "w2v_cpu.cpp" else ""
                category = CATEGORY.get(owner, "other (inlined C++ library code, checks)")
                shares[category] += float(share) * float(part) / 100
    total = sum(shares.values()) or 1.0
    return {name: 100 * share / total for name, share in shares.items()}, kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2_000_000)
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


if __name__ == "__main__":
    main()
