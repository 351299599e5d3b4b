"""Phrases against gensim's on the text8-like corpus: the same phrases, and the speed of
counting and applying them; then vectors trained on the phrased corpus.

    python benchmarks/phrases.py [--threshold 10] [--min-count 5] [--scoring default]
                                 [--train 1]

w2v: `Phrases(open_corpus(...), scanner=corpus_scanner())` (the corpus file through the compiled
scanner, counted by ids and numpy) and `apply_corpus` writing the phrased corpus. gensim:
`Phrases(Text8Corpus(...))`, then `frozen[corpus]` written the same way (its faster,
frozen form). Both cut the corpus into sentences of 10,000 words. Prints the phrase counts,
how many agree, each side's seconds and raw words/s; with --train 1 it trains CBOW (w2v's
defaults, 5 epochs) on w2v's phrased corpus and prints the nearest words of a few city phrases.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import machine, text8like


def run_w2v(path, out, **options):
    from w2v.corpus.phrases import Phrases
    from w2v.corpus.readers import open_corpus
    from w2v.training.kernels import corpus_scanner

    scanner = corpus_scanner()
    t0 = time.perf_counter()
    reader = open_corpus(path, max_sentence_length=10000, lowercase=False, tokenize_text=False)
    phrases = Phrases(reader, scanner=scanner, **options)
    frozen = phrases.freeze()
    t1 = time.perf_counter()
    frozen.apply_corpus(reader, out, scanner)
    t2 = time.perf_counter()
    return frozen.phrasegrams, t1 - t0, t2 - t1, phrases.corpus_word_count


def run_gensim(path, out, **options):
    from gensim.models.phrases import Phrases
    from gensim.models.word2vec import Text8Corpus

    t0 = time.perf_counter()
    corpus = Text8Corpus(str(path))
    phrases = Phrases(corpus, **options)
    frozen = phrases.freeze()
    t1 = time.perf_counter()
    with open(out, "w", encoding="utf-8") as f:
        for sentence in frozen[corpus]:
            f.write(" ".join(sentence) + "\n")
    t2 = time.perf_counter()
    return frozen.phrasegrams, t1 - t0, t2 - t1, phrases.corpus_word_count


def neighbours(path, probes):
    from w2v import Word2Vec

    model = Word2Vec(corpus_file=path, seed=1)
    rows = []
    for probe in probes:
        if probe in model.wv.key_to_index:
            near = [w for w, _ in model.wv.most_similar(probe, topn=10)]
            rows.append(f"| {probe} | {', '.join(near)} |")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threshold", type=float, default=10.0)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--scoring", default="default")
    parser.add_argument("--train", type=int, default=1)
    args = parser.parse_args()
    path = text8like()
    options = dict(threshold=args.threshold, min_count=args.min_count, scoring=args.scoring)
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_w2v(path, os.path.join(tmp, "w2v.txt"), **options)
        theirs = run_gensim(path, os.path.join(tmp, "gensim.txt"), **options)
        same_text = (Path(tmp, "w2v.txt").read_bytes() == Path(tmp, "gensim.txt").read_bytes())
        common = ours[0].keys() & theirs[0].keys()
        worst = max((abs(ours[0][p] - theirs[0][p]) / abs(theirs[0][p]) for p in common),
                    default=0.0)
        print(f"\n{machine()}, text8-like, {options}\n")
        print("| run | phrases | count s | apply s | count + apply s | raw words/s |")
        print("|---|---|---|---|---|---|")
        for name, (found, count_s, apply_s, words) in (("w2v", ours), ("gensim", theirs)):
            print(f"| {name} | {len(found):,} | {count_s:.1f} | {apply_s:.1f} | "
                  f"{count_s + apply_s:.1f} | {2 * words / (count_s + apply_s):,.0f} |")
        print(f"\nphrases in both: {len(common):,}; only w2v's: {len(ours[0].keys() - common)}; "
              f"only gensim's: {len(theirs[0].keys() - common)}; largest relative score "
              f"difference {worst:.2e}; phrased corpora identical: {same_text}")
        print(f"speed: x{(theirs[1] + theirs[2]) / (ours[1] + ours[2]):.1f} gensim's "
              "(words/s counts each pass over the corpus: the count and the apply)")
        if args.train:
            print("\n| phrase | nearest 10 (CBOW, 5 epochs, on w2v's phrased corpus) |")
            print("|---|---|")
            probes = ["new_york", "los_angeles", "san_francisco", "united_states", "prime_minister"]
            print("\n".join(neighbours(os.path.join(tmp, "w2v.txt"), probes)))


if __name__ == "__main__":
    main()
