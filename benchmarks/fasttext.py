"""Subword vectors against gensim's FastText: same corpus, same settings, same run.

    python benchmarks/fasttext.py [--epochs 5] [--seeds 1] [--alpha 0.05] [--sg 0]
                                  [--runs w2v,gensim,gensim-file] [--bucket 2000000]

fastText's model (min_n 3, max_n 6, 100 dims, window 5, negative 5, sample 1e-3, min_count 5)
on the text8-like corpus, trained by w2v's `FastText` (corpus_file, workers = cores) and by
gensim's `FastText` in its iterable mode (`gensim`, Text8Corpus) and its corpus_file mode
(`gensim-file`), each at the same `--alpha` (default: w2v's, word2vec.c's 0.05 for CBOW and
0.025 for skip-gram; gensim's own default is 0.025 for both). Prints a markdown table: analogy
accuracy (questions-words, 30k most frequent words, in-vocabulary questions only, as gensim
scores them), WordSim-353 and SimLex-999 Spearman over the pairs whose words are in the
vocabulary, the share of pairs with a word outside it (OOV %), and the Spearman over every pair
with out-of-vocabulary words given their n-gram vectors (fastText's paper reports both);
wall time of vocabulary + training and raw corpus words/s (every token read, before
subsampling). The Rare Words set is not used: it is not in gensim's test data and its public
address is out of this machine's reach.
"""

import argparse
import os
import statistics
import time

from common import machine, scores, text8like

from w2v.apps import datasets
from w2v.training.config import default_alpha
from w2v.vectors.evaluate import spearmanr
from w2v.vectors.keyedvectors import FastTextKeyedVectors

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, min_n=3,
                max_n=6)


def run_w2v(path, seed, epochs, **options):
    from w2v import FastText

    t0 = time.perf_counter()
    model = FastText(corpus_file=path, seed=seed, epochs=epochs, **options)
    seconds = time.perf_counter() - t0
    return model.wv, seconds, model.vocab.corpus_words * epochs


def run_gensim(path, seed, epochs, file_mode=False, **options):
    from gensim.models import FastText as GensimFastText
    from gensim.models.word2vec import Text8Corpus

    corpus = {"corpus_file": str(path)} if file_mode else {"sentences": Text8Corpus(str(path))}
    t0 = time.perf_counter()
    model = GensimFastText(**corpus, epochs=epochs, seed=seed, workers=os.cpu_count(),
                           **options)
    seconds = time.perf_counter() - t0
    wv = model.wv
    # The same hashing and bucket numbers: gensim's tables answer through our class alike.
    ours = FastTextKeyedVectors(list(wv.index_to_key), wv.vectors, wv.vectors_ngrams,
                                wv.min_n, wv.max_n)
    return ours, seconds, model.corpus_total_words * epochs


def word_pairs(name: str) -> list[tuple[str, str, float]]:
    pairs = []
    for line in datasets.find(name).read_text(encoding="utf8").splitlines():
        if line.strip() and not line.startswith("#"):
            a, b, score = line.split("\t")
            pairs.append((a.lower(), b.lower(), float(score)))
    return pairs


def subword_scores(kv: FastTextKeyedVectors) -> dict:
    """Per word-pair set: the share of pairs with a word outside the vocabulary, and the
    Spearman over every pair, out-of-vocabulary words given their n-gram vectors."""
    result = {}
    for name in ("wordsim353", "simlex999"):
        pairs = word_pairs(name)
        oov = sum(a not in kv.key_to_index or b not in kv.key_to_index for a, b, _ in pairs)
        result[f"{name}_oov"] = oov / len(pairs)
        result[f"{name}_all"] = spearmanr([s for _, _, s in pairs],
                                          [kv.similarity(a, b) for a, b, _ in pairs])[0]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--alpha", type=float, default=None)
    parser.add_argument("--sg", type=int, default=0)
    parser.add_argument("--bucket", type=int, default=2_000_000)
    parser.add_argument("--runs", default="w2v,gensim,gensim-file")
    args = parser.parse_args()
    path = text8like()
    alpha = default_alpha(args.sg) if args.alpha is None else args.alpha
    options = dict(SETTINGS, sg=args.sg, alpha=alpha, bucket=args.bucket)
    runners = {"w2v": lambda seed: run_w2v(path, seed, args.epochs, **options),
               "gensim": lambda seed: run_gensim(path, seed, args.epochs, **options),
               "gensim-file": lambda seed: run_gensim(path, seed, args.epochs, True, **options)}
    names = args.runs.split(",")
    done: dict[str, list] = {name: [] for name in names}
    # Seed by seed, each library in turn: this machine's speed drifts by a third within an hour,
    # so one library's runs all before the other's would compare two machines.
    for seed in map(int, args.seeds.split(",")):
        for name in names:
            kv, seconds, words = runners[name](seed)
            figures = {**scores(kv), **subword_scores(kv)}
            print(f"{name} seed {seed}: {seconds:.0f} s, {figures}", flush=True)
            done[name].append((figures, seconds, words))
    rows = []
    for name, runs in done.items():
        mean = {k: statistics.mean(f[k] for f, _, _ in runs) for k in runs[0][0]}
        seconds = statistics.mean(t for _, t, _ in runs)
        rows.append((name, mean, seconds, runs[0][2] / seconds))
    print(f"\n{machine()}, text8-like, FastText {'skip-gram' if args.sg else 'CBOW'}, alpha "
          f"{alpha}, bucket {args.bucket:,}, {args.epochs} epochs, seeds {args.seeds}\n")
    print("| run | analogy % | WS-353 | WS-353 OOV % | WS-353 all pairs | SimLex | SimLex OOV % | "
          "SimLex all pairs | s | raw words/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m, seconds, speed in rows:
        print(f"| {name} | {100 * m['analogy']:.2f} | {m['wordsim353']:.3f} | "
              f"{100 * m['wordsim353_oov']:.1f} | {m['wordsim353_all']:.3f} | "
              f"{m['simlex999']:.3f} | {100 * m['simlex999_oov']:.1f} | "
              f"{m['simlex999_all']:.3f} | {seconds:.0f} | {speed:,.0f} |")


if __name__ == "__main__":
    main()
