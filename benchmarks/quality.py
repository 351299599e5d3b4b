"""Quality against gensim: same corpus, same settings, same run.

    python benchmarks/quality.py [--epochs 5] [--batch-sizes 1024]

Trains CBOW with gensim's defaults (100 dims, window 5, negative 5, sample 1e-3, min_count 5) on
the text8-like corpus with w2v and with gensim (workers = cores), then prints one markdown table:
analogy accuracy (questions-words, restrict_vocab=30000), WordSim-353 and SimLex-999 Spearman,
wall time (vocabulary + training) and words/s. words/s counts raw corpus tokens for
both, so the figures compare like with like.
"""

import argparse
import os
import sys
import time

from common import machine, scores, text8like


def run_w2v(path, epochs, batch_size, **options):
    from w2v import Word2Vec

    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=path, epochs=epochs, batch_size=batch_size, **options)
    seconds = time.perf_counter() - t0
    words = model.vocab.corpus_words * epochs
    return model.wv, seconds, words


def run_gensim(path, epochs, **options):
    from gensim.models import Word2Vec as GensimWord2Vec
    from gensim.models.word2vec import Text8Corpus

    from w2v import KeyedVectors

    t0 = time.perf_counter()
    model = GensimWord2Vec(Text8Corpus(str(path)), epochs=epochs, workers=os.cpu_count(),
                           **options)
    seconds = time.perf_counter() - t0
    wv = KeyedVectors(list(model.wv.index_to_key), model.wv.vectors)
    return wv, seconds, model.corpus_total_words * epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-sizes", default="1024",
                        help="comma-separated w2v batch sizes to try")
    parser.add_argument("--skip-gensim", action="store_true")
    args = parser.parse_args()
    path = text8like()
    rows = []
    if not args.skip_gensim:
        rows.append((f"gensim 4.4 (workers={os.cpu_count()})", *run_gensim(path, args.epochs)))
    for bs in map(int, args.batch_sizes.split(",")):
        rows.append((f"w2v (batch {bs})", *run_w2v(path, args.epochs, bs)))
    print(f"\ntext8-like corpus, CBOW, 100 dims, {args.epochs} epochs, {machine()}")
    print(f"command: python benchmarks/{' '.join([os.path.basename(__file__), *sys.argv[1:]])}\n")
    print("| run | analogy % | WS-353 rho | SimLex rho | wall s | words/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, wv, seconds, words in rows:
        s = scores(wv)
        print(f"| {name} | {100 * s['analogy']:.2f} | {s['wordsim353']:.3f} | "
              f"{s['simlex999']:.3f} | {seconds:.0f} | {words / seconds:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
