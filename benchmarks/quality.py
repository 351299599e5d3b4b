"""Quality against gensim: same corpus, same settings, same run, several seeds.

    python benchmarks/quality.py [--epochs 5] [--seeds 1,2,3] [--update auto] [--batch-sizes 1024]
                                 [--sg 0|1] [--hs 0|1] [--negative 5] [--alpha A]
                                 [--corpus text8like|second-half] [--w2v NAME=VALUE,...]

Trains CBOW with the same settings in both libraries (100 dims, window 5, negative 5, sample 1e-3,
min_count 5, alpha w2v's default: word2vec.c's 0.05 for CBOW, 0.025 for skip-gram, given to gensim
too, whose own default is 0.025) on the text8-like corpus with gensim (workers = cores) and with
w2v, once per seed, then prints a markdown table: analogy accuracy (questions-words,
restrict_vocab=30000), WordSim-353 and SimLex-999 Spearman, wall time (vocabulary + training) and
raw corpus words/s (every token read, before subsampling, for both), each as the mean over the
seeds, plus the per-seed analogy figures. Seeds matter: one run's analogy accuracy moves by about
half a point. `--corpus second-half` trains on the corpus's last 8.4M words alone (a second
corpus from the same source); `--w2v private_nodes=0,...` gives w2v options of its own, each
setting's rows side by side (`--w2v private_nodes=0 --w2v private_nodes=512`).
"""

import argparse
import os
import statistics
import sys
import time

from common import machine, scores, text8like, text8like_tail

from w2v.training.config import default_alpha

SECOND_HALF_WORDS = 8_400_000


def _number(text: str) -> int | float | str:
    """A --w2v value: an int ("512"), else a float ("1e-3", "0.05"), else the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def run_w2v(path, seed, **options):
    from w2v import Word2Vec

    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=path, seed=seed, **options)
    seconds = time.perf_counter() - t0
    return model.wv, seconds, model.vocab.corpus_words * model.config.epochs


def run_gensim(path, seed, epochs, **model):
    from gensim.models import Word2Vec as GensimWord2Vec
    from gensim.models.word2vec import Text8Corpus

    from w2v import KeyedVectors

    t0 = time.perf_counter()
    model = GensimWord2Vec(Text8Corpus(str(path)), epochs=epochs, seed=seed,
                           workers=os.cpu_count(), **model)
    seconds = time.perf_counter() - t0
    wv = KeyedVectors(list(model.wv.index_to_key), model.wv.vectors)
    return wv, seconds, model.corpus_total_words * epochs


def summarise(name, runs):
    """One table row from [(scores, seconds, words), ...] over seeds."""
    mean = {k: statistics.mean(s[k] for s, _, _ in runs) for k in runs[0][0]}
    seconds = statistics.mean(t for _, t, _ in runs)
    words = runs[0][2]
    per_seed = ", ".join(f"{100 * s['analogy']:.2f}" for s, _, _ in runs)
    return (f"| {name} | {100 * mean['analogy']:.2f} ({per_seed}) | {mean['wordsim353']:.3f} | "
            f"{mean['simlex999']:.3f} | {seconds:.0f} | {words / seconds:,.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--update", default="auto", help="w2v's update: auto, kernel, batched")
    parser.add_argument("--batch-sizes", default="1024",
                        help="comma-separated batch sizes (batched/autograd updates only)")
    parser.add_argument("--skip-gensim", action="store_true")
    parser.add_argument("--sg", type=int, default=0, help="1: skip-gram (both libraries)")
    parser.add_argument("--hs", type=int, default=0, help="1: hierarchical softmax (both)")
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--alpha", type=float, help="starting learning rate, both libraries "
                        "(default: w2v's, 0.05 for CBOW and 0.025 for skip-gram)")
    parser.add_argument("--corpus", choices=("text8like", "second-half"), default="text8like")
    parser.add_argument("--w2v", action="append", default=None, metavar="NAME=VALUE,...",
                        help="w2v-only options of one row (repeat for more rows)")
    args = parser.parse_args()
    alpha = args.alpha if args.alpha is not None else default_alpha(args.sg)
    model = {"sg": args.sg, "hs": args.hs, "negative": args.negative, "alpha": alpha}
    path = text8like() if args.corpus == "text8like" else text8like_tail(SECOND_HALF_WORDS)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    if not args.skip_gensim:
        runs = []
        for seed in seeds:
            wv, seconds, words = run_gensim(path, seed, args.epochs, **model)
            runs.append((scores(wv), seconds, words))
            print(f"gensim seed {seed}: {runs[-1]}", file=sys.stderr, flush=True)
        rows.append(summarise(f"gensim 4.4 (workers={os.cpu_count()})", runs))
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.update in ("auto", "kernel"):
        batch_sizes = batch_sizes[:1]  # the kernel has no batches
    for bs in batch_sizes:
        for extra in args.w2v or [""]:
            own = dict(option.split("=", 1) for option in extra.split(",") if option)
            own = {name: _number(value) for name, value in own.items()}
            runs = []
            for seed in seeds:
                wv, seconds, words = run_w2v(path, seed, epochs=args.epochs, update=args.update,
                                             batch_size=bs, **model, **own)
                runs.append((scores(wv), seconds, words))
                print(f"w2v seed {seed} batch {bs} {extra}: {runs[-1]}", file=sys.stderr,
                      flush=True)
            label = f"w2v update={args.update}" + (
                f", batch {bs}" if args.update not in ("auto", "kernel") else "") + (
                f", {extra}" if extra else "")
            rows.append(summarise(label, runs))
    kind = ("skip-gram" if args.sg else "CBOW") + (", hierarchical softmax" if args.hs else "") + (
        f", negative {args.negative}" if args.negative else "")
    corpus = "text8-like corpus" if args.corpus == "text8like" else (
        f"last {SECOND_HALF_WORDS:,} words of the text8-like corpus")
    print(f"\n{corpus}, {kind}, 100 dims, alpha {alpha}, {args.epochs} epochs, "
          f"seeds {args.seeds}, "
          f"{machine()}")
    print(f"command: python benchmarks/{' '.join([os.path.basename(__file__), *sys.argv[1:]])}\n")
    print("| run | analogy % mean (per seed) | WS-353 rho | SimLex rho | wall s | words/s |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
