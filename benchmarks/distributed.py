"""One process against torchrun jobs of several ranks: accuracy, speed and bytes exchanged.

    python benchmarks/distributed.py [--ranks 2,4,8] [--rules saturating,mean,sum]
        [--epochs 5] [--sync-words 0] [--sync-dtypes bfloat16,float32] [--rare-every 4,1]
        [--overlap 0,1] [--corpus text8like|last2M] [--seed 1] [--rounds 0]

With CBOW defaults: first one process with 2 threads, then for each number of ranks, rule and
sync interval a `torchrun --standalone --nproc_per_node=RANKS` job of one thread per rank (the
same cores in all), each timed from inside (vocabulary, training) and scored (analogy
questions-words 30k, WordSim-353, SimLex-999). `--rules` names how the ranks' changes to a row
are combined (`distributed.combine_changes`): `saturating` (the library's rule; `saturatingK`
with kappa = K), `mean` over the ranks that touched the row, `sum` (the rule before issue 15),
`sqrt` (the sum over the square root of the ranks that touched it). `--rounds N` sets the
least rounds an epoch (the library's is 64); `--sync-dtypes`, the types the changes are summed
in (`sync_dtype`); `--rare-every`, how often rare words' rows are exchanged
(`sync_rare_every`); `--overlap 1`, the summed changes sent while the next round trains
(`sync_overlap`). `last2M` is the last 2M words of the text8-like
corpus. Words/s counts raw corpus words. Bytes are those one rank sent into all_reduce (masks,
touched rows, totals), per exchange and in all. Prints a markdown table; with --json, each
job's figures.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, scores, text8like, text8like_tail

RULES = {
    "sum": lambda summed, ranks, reached, exposure: summed,
    "mean": lambda summed, ranks, reached, exposure: summed / ranks.unsqueeze(1).to(summed.dtype),
    "sqrt": lambda summed, ranks, reached, exposure: (
        summed / ranks.unsqueeze(1).to(summed.dtype).sqrt()),
}


def corpus_path(name: str) -> Path:
    return text8like() if name == "text8like" else text8like_tail(int(name[4:-1]) * 10**6)


def rank_main(out: str, args) -> None:
    """One rank (or the single process): train, then rank 0 scores and writes the figures."""
    from w2v import Word2Vec
    from w2v.training import distributed

    if args.rules in RULES:
        distributed.combine_changes = RULES[args.rules]
    elif args.rules.startswith("saturating"):
        distributed.SATURATION = float(args.rules[len("saturating"):] or distributed.SATURATION)
    if args.rounds:
        distributed.ROUNDS_PER_EPOCH = args.rounds
    model = Word2Vec(epochs=args.epochs, workers=args.workers, sync_words=int(args.sync_words),
                     sync_dtype=args.sync_dtypes, sync_rare_every=int(args.rare_every),
                     sync_overlap=bool(int(args.overlap)), seed=args.seed)
    t0 = time.perf_counter()
    model.build_vocab(corpus_file=corpus_path(args.corpus))
    t1 = time.perf_counter()
    model.train()
    t2 = time.perf_counter()
    if distributed.rank() != 0:
        return
    figures = {"vocab_s": t1 - t0, "train_s": t2 - t1,
               "words": model.corpus.corpus_words * args.epochs, "bytes": model.exchanged_bytes,
               "exchange_s": model.exchange_seconds, "exchanges": len(model.trace),
               "losses": model.epoch_losses, "vocab": len(model.vocab), **scores(model.wv)}
    Path(out).write_text(json.dumps(figures))


def run(ranks: int, rule: str, sync_words: int, dtype: str, every: int, overlap: int, args,
        out: Path) -> dict:
    worker = [__file__, "--worker", str(out), "--epochs", str(args.epochs), "--rules", rule,
              "--sync-words", str(sync_words), "--corpus", args.corpus, "--seed", str(args.seed),
              "--rounds", str(args.rounds), "--sync-dtypes", dtype, "--rare-every", str(every),
              "--overlap", str(overlap)]
    if ranks == 1:
        cmd = [sys.executable, *worker, "--workers", "2"]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={ranks}", *worker, "--workers", "1"]
    done = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if "error" in line.lower()]
        return {"failed": (lines or done.stderr.splitlines() or ["?"])[-1][:300]}
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", default="2")
    parser.add_argument("--rules", default="saturating")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sync-words", default="0", help="0: the library's choice")
    parser.add_argument("--sync-dtypes", default="bfloat16", help="the library's default")
    parser.add_argument("--rare-every", default="4", help="the library's default")
    parser.add_argument("--overlap", default="0", help="the library's default")
    parser.add_argument("--corpus", default="text8like")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=0,
                        help="rounds per epoch at least (0: the library's ROUNDS_PER_EPOCH)")
    parser.add_argument("--json", help="also write every job's figures to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        rank_main(args.worker, args)
        return
    corpus_path(args.corpus)  # decompress and cut once, outside the timings
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(1, "-", 0, "float32", 1, 0)] + [
            (int(r), rule, int(s), d, int(e), int(o)) for r in args.ranks.split(",")
            for rule in args.rules.split(",") for s in args.sync_words.split(",")
            for d in args.sync_dtypes.split(",") for e in args.rare_every.split(",")
            for o in args.overlap.split(",")]
        for ranks, rule, sync, dtype, every, overlap in jobs:
            r = run(ranks, rule, sync, dtype, every, overlap, args,
                    Path(tmp) / f"{ranks}-{rule}-{sync}-{dtype}-{every}-{overlap}.json")
            print(f"{ranks} rank(s), {rule}, sync {sync}, {dtype}, rare every {every}, "
                  f"overlap {overlap}: {r}", file=sys.stderr, flush=True)
            rows.append({"ranks": ranks, "rule": rule, "sync_words": sync, "dtype": dtype,
                         "every": every, "overlap": overlap, **r})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    rounds = f", at least {args.rounds} rounds an epoch" if args.rounds else ""
    print(f"\n{machine()}, {args.corpus}, CBOW defaults, {args.epochs} epochs, seed "
          f"{args.seed}{rounds}\n")
    print("| job | rule | sync_words | changes in | rare rows every | overlap | analogy % | "
          "WS-353 | "
          "SimLex | epoch losses | train s | words/s | MB per exchange | exchanges | "
          "s in exchanges |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        job = ("1 process, 2 threads" if r["ranks"] == 1
               else f"torchrun {r['ranks']} ranks x 1 thread")
        if "failed" in r:
            print(f"| {job} | {r['rule']} | {r['sync_words']} | {r['dtype']} | {r['every']} | "
                  f"{r['overlap']} | stopped: {r['failed']} |")
            continue
        per = r["bytes"] / max(r["exchanges"], 1) / 1e6 if r["ranks"] > 1 else 0.0
        losses = ", ".join(f"{x:.2f}" for x in r["losses"])
        print(f"| {job} | {r['rule']} | {r['sync_words'] or '-'} | {r['dtype']} | "
              f"{r['every']} | {r['overlap']} | {100 * r['analogy']:.2f} | "
              f"{r['wordsim353']:.3f} | {r['simlex999']:.3f} | {losses} | {r['train_s']:.0f} | "
              f"{r['words'] / r['train_s']:,.0f} | {per:.1f} | {r['exchanges']} | "
              f"{r['exchange_s']:.1f} |")


if __name__ == "__main__":
    main()
