"""The autograd path's optimizers: which learning rates train, and how well, against the kernel.

    python benchmarks/optimizers.py sweep [--epochs 3] [--optimizers adam,...] [--rates ...]
    python benchmarks/optimizers.py compare [--epochs 1] [--optimizers adam,...] [--no-kernel]
                                            [--alpha RATE]

sweep: CBOW (`--update autograd`, batches of 1,024 examples) on the four Gutenberg novels joined,
each optimizer at each rate: the final loss per example, the mean cosine between the 1,000 most
frequent words' vectors (near 1: every vector has collapsed onto one direction, whatever the
loss says) and WordSim-353 over the pairs in the vocabulary.
compare: each optimizer at its default rate (`w2v.training.config.default_alpha`), or at
`--alpha` when a candidate default is being measured, on the text8-like corpus, beside the
compiled kernel: analogy accuracy (questions-words, 30k most frequent words), WordSim-353,
SimLex-999, and raw corpus words/s (every token read, before subsampling) of the whole run.
"""

import argparse
import time

import torch
from common import REPO, machine, scores, text8like

from w2v import Word2Vec
from w2v.apps import datasets
from w2v.atomic import atomic_write
from w2v.training.config import OPTIMIZERS, default_alpha
from w2v.training.model import mean_pair_cosine

NOVELS = sorted((REPO.parent / "shared" / "data" / "gutenberg").glob("*.txt"))


def novels():
    """The four novels as one corpus file, made once in the cache."""
    target = datasets.cache_dir() / "gutenberg_novels.txt"
    if not target.exists():
        with atomic_write(target) as f:
            for path in NOVELS:
                f.write(path.read_bytes())
    return target


def mean_cosine(kv, top: int = 1000) -> float:
    """The mean cosine between distinct pairs of the `top` most frequent words' vectors."""
    return mean_pair_cosine(torch.from_numpy(kv.vectors[:top]))


def train(path, epochs, **options):
    start = time.perf_counter()
    model = Word2Vec(corpus_file=str(path), epochs=epochs, seed=1, **options)
    seconds = time.perf_counter() - start
    loss = model.history[-1].loss
    return model, seconds, loss


def sweep(args) -> None:
    path = novels()
    print(f"novels joined ({path.stat().st_size / 1e6:.1f} MB), CBOW, {args.epochs} epochs, "
          f"update autograd, {machine()}\n")
    print("| optimizer | rate | loss/example | mean cosine (top 1,000) | WS-353 |")
    print("|---|---:|---:|---:|---:|")
    for name in args.optimizers.split(","):
        for rate in (float(r) for r in args.rates.split(",")):
            try:
                model, _, loss = train(path, args.epochs, update="autograd", optimizer=name,
                                       alpha=rate)
            except Exception as e:  # a rate that diverges is a result, not a crash
                print(f"| {name} | {rate:g} | stopped: {str(e)[:60]} | | |", flush=True)
                continue
            _, spearman, _ = model.wv.evaluate_word_pairs(str(datasets.find("wordsim353")))
            print(f"| {name} | {rate:g} | {loss:.3f} | {mean_cosine(model.wv):.3f} "
                  f"| {spearman[0]:.3f} |", flush=True)


def compare(args) -> None:
    path = text8like()
    print(f"text8-like, CBOW, {args.epochs} epoch(s), seed 1, {machine()}\n")
    print("| update | optimizer | rate | analogy % | WS-353 | SimLex | s | raw words/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    runs = [("kernel", "sgd")] + [("autograd", name) for name in OPTIMIZERS]
    runs = [(update, name) for update, name in runs
            if (args.kernel if update == "kernel" else name in args.optimizers.split(","))]
    for update, name in runs:
        rate = args.alpha or default_alpha(0, name, update)
        try:
            model, seconds, _ = train(path, args.epochs, update=update, optimizer=name,
                                      alpha=rate)
        except Exception as e:  # a default that diverges is a result, not a crash
            print(f"| {update} | {name} | {rate:g} | stopped: {str(e)[:70]} | | | | |",
                  flush=True)
            continue
        s = scores(model.wv)
        words = model.vocab.corpus_words * args.epochs
        print(f"| {update} | {name} | {rate:g} | {100 * s['analogy']:.2f} "
              f"| {s['wordsim353']:.3f} | {s['simlex999']:.3f} | {seconds:.0f} "
              f"| {words / seconds:,.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("--epochs", type=int, default=3)
    s.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    s.add_argument("--rates", default="0.001,0.003,0.01,0.03,0.1,0.3")
    c = sub.add_parser("compare")
    c.add_argument("--epochs", type=int, default=1)
    c.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    c.add_argument("--kernel", action=argparse.BooleanOptionalAction, default=True)
    c.add_argument("--alpha", type=float, help="every run's starting rate, not its default")
    args = ap.parse_args()
    sweep(args) if args.what == "sweep" else compare(args)


if __name__ == "__main__":
    main()
