"""One process against a torchrun job of several ranks: accuracy, speed and bytes exchanged.

    python benchmarks/distributed.py [--ranks 2] [--epochs 5] [--sync-words 262144,1048576]

On the text8-like corpus with CBOW defaults: first one process with `--ranks` threads, then for
each sync interval a `torchrun --standalone --nproc_per_node=RANKS` job of one thread per rank
(the same cores in all), each timed from inside (vocabulary, training) and scored (analogy
questions-words 30k, WordSim-353, SimLex-999). Words/s counts raw corpus words. Bytes are those
one rank sent into all_reduce (mask + changed rows + totals), per exchange and in all.
Prints a markdown table.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, scores, text8like


def rank_main(out: str, epochs: int, workers: int, sync_words: int) -> None:
    """One rank (or the single process): train, then rank 0 scores and writes the figures."""
    from w2v import Word2Vec
    from w2v.training import distributed

    model = Word2Vec(epochs=epochs, workers=workers, sync_words=sync_words)
    t0 = time.perf_counter()
    model.build_vocab(corpus_file=text8like())
    t1 = time.perf_counter()
    model.train()
    t2 = time.perf_counter()
    if distributed.rank() != 0:
        return
    exchanges = sum(1 for _ in model.trace)  # one exchange per round
    figures = {"vocab_s": t1 - t0, "train_s": t2 - t1,
               "words": model.corpus.corpus_words * epochs, "bytes": model.exchanged_bytes,
               "exchange_s": model.exchange_seconds,
               "exchanges": exchanges, "vocab": len(model.vocab), **scores(model.wv)}
    Path(out).write_text(json.dumps(figures))


def run(ranks: int, epochs: int, sync_words: int, out: Path) -> dict:
    worker = [__file__, "--worker", str(out), "--epochs", str(epochs),
              "--sync-words", str(sync_words)]
    if ranks == 1:
        cmd = [sys.executable, *worker, "--workers", str(os.cpu_count())]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={ranks}", *worker, "--workers", "1"]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sync-words", default="262144,1048576")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        rank_main(args.worker, args.epochs, args.workers, int(args.sync_words.split(",")[0]))
        return
    text8like()  # decompress once, outside the timings
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(1, 1 << 18)] + [(args.ranks, int(s)) for s in args.sync_words.split(",")]
        for ranks, sync in jobs:
            r = run(ranks, args.epochs, sync, Path(tmp) / f"{ranks}-{sync}.json")
            print(f"{ranks} rank(s), sync {sync}: {r}", file=sys.stderr, flush=True)
            rows.append((ranks, sync, r))
    print(f"\n{machine()}, text8-like, CBOW defaults, {args.epochs} epochs\n")
    print("| job | sync_words | analogy % | WS-353 | SimLex | train s | words/s | "
          "MB sent per exchange | MB sent in all | s in exchanges |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for ranks, sync, r in rows:
        job = (f"1 process, {os.cpu_count()} threads" if ranks == 1
               else f"torchrun {ranks} ranks x 1 thread")
        per = r["bytes"] / max(r["exchanges"], 1) / 1e6 if ranks > 1 else 0.0
        print(f"| {job} | {sync if ranks > 1 else '-'} | {100 * r['analogy']:.2f} | "
              f"{r['wordsim353']:.3f} | {r['simlex999']:.3f} | {r['train_s']:.0f} | "
              f"{r['words'] / r['train_s']:,.0f} | {per:.1f} | {r['bytes'] / 1e6:,.0f} | "
              f"{r['exchange_s']:.1f} |")


if __name__ == "__main__":
    main()
