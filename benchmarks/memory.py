"""This machine's memory: streaming bandwidth, and random row access in 4 KB against 2 MB pages.

    python benchmarks/memory.py [--rows 2000000] [--dim 100] [--repeats 5]

Training is bound by memory: each example reads and writes a few hundred bytes of rows picked
at random from tables of hundreds of MB. Two figures bound it:
  stream   sequential bandwidth (STREAM's copy and triad, McCalpin 1995, in torch with every
           core): the most bytes per second any kernel can move;
  rows     random (dim,) float32 rows gathered (index_select) and scattered back (index_add_)
           on a (rows, dim) table, once in ordinary 4 KB pages and once in the 2 MB pages that
           `w2v.training.model.empty_table` asks Linux for: the cost of a page walk per row
           when many rows are in flight at once;
  training FastText (the default 2M n-gram buckets) for one epoch on the text8-like corpus,
           workers = cores, with its tables made in 4 KB pages and in 2 MB pages, alternating
           for --rounds rounds: the same cost where each row's sum waits on its loads.
Prints a Markdown table for BENCHMARKS.md; each figure is the best of --repeats.
"""

import argparse
import os
import time

import torch
from common import machine, text8like

from w2v.training import model


def best_seconds(fn, repeats: int) -> float:
    fn()  # first touch and warm caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def stream(repeats: int) -> dict:
    n = 50_000_000  # 200 MB per array: far beyond any cache
    a, b, c = torch.ones(n), torch.ones(n), torch.ones(n)
    copy = best_seconds(lambda: a.copy_(b), repeats)
    triad = best_seconds(lambda: torch.add(b, c, alpha=3.0, out=a), repeats)
    return {"copy GB/s": 2 * 4 * n / copy / 1e9, "triad GB/s": 3 * 4 * n / triad / 1e9}


def rows(table: torch.Tensor, repeats: int, gen: torch.Generator) -> dict:
    count = 1_000_000
    idx = torch.randint(table.shape[0], (count,), generator=gen)
    got = torch.empty(count, table.shape[1])
    gather = best_seconds(lambda: torch.index_select(table, 0, idx, out=got), repeats)
    scatter = best_seconds(lambda: table.index_add_(0, idx, got), repeats)
    return {"gather Mrows/s": count / gather / 1e6, "scatter-add Mrows/s": count / scatter / 1e6,
            "huge pages MB": model.huge_page_bytes(table)[1] / 2**20}


def train_seconds(path, tables) -> float:
    """Wall seconds of a one-epoch FastText run whose tables come from `tables(rows, dim)`."""
    from w2v import FastText

    model.empty_table, chosen = tables, model.empty_table
    try:
        start = time.perf_counter()
        FastText(corpus_file=str(path), epochs=1, workers=os.cpu_count(), seed=1)
        return time.perf_counter() - start
    finally:
        model.empty_table = chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="training rounds (0: none)")
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(1)
    print(f"{machine()}, torch threads {torch.get_num_threads()}\n")
    for name, value in stream(args.repeats).items():
        print(f"- stream {name}: {value:.1f}")
    mb = args.rows * args.dim * 4 / 2**20
    print(f"\n| {args.rows:,} x {args.dim} table ({mb:,.0f} MB) | gather Mrows/s "
          "| scatter-add Mrows/s | in huge pages |")
    print("|---|---|---|---|")
    plain = torch.zeros(args.rows, args.dim)
    huge = model.empty_table(args.rows, args.dim).zero_()
    for name, table in (("4 KB pages (torch.zeros)", plain), ("2 MB pages (empty_table)", huge)):
        r = rows(table, args.repeats, gen)
        print(f"| {name} | {r['gather Mrows/s']:.2f} | {r['scatter-add Mrows/s']:.2f} "
              f"| {r['huge pages MB']:,.0f} MB |")
    del plain, huge
    if args.rounds:
        path = text8like()
        print("\n| FastText, 1 epoch, text8-like | " + " | ".join(
            f"round {i + 1} s" for i in range(args.rounds)) + " |")
        print("|---|" + "---|" * args.rounds)
        runs: dict[str, list[float]] = {"4 KB pages": [], "2 MB pages": []}
        for _ in range(args.rounds):
            runs["4 KB pages"].append(train_seconds(path, lambda r, d: torch.empty(r, d)))
            runs["2 MB pages"].append(train_seconds(path, model.empty_table))
        for name, seconds in runs.items():
            print(f"| {name} | " + " | ".join(f"{s:.1f}" for s in seconds) + " |")


if __name__ == "__main__":
    main()
