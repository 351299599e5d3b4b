"""Throughput against gensim: the whole run, corpus file to vectors, on the same machine, same run.

    python benchmarks/throughput.py [--epochs 5] [--runs NAME,...] [--modes MODE,...] [--memory]
                                    [--repeats N]

Modes: cbow-ns (the default), sg-ns, cbow-hs, sg-hs: CBOW or skip-gram, with negative sampling
(5 noise words) or hierarchical softmax (and no negative sampling). Runs, each in its own process
so that its peak RSS is its own (each library at its defaults but the mode, which differ only in
CBOW's learning rate: w2v starts at word2vec.c's 0.05, gensim at 0.025):
  w2v-text8      w2v on the text8-like corpus as it is (one 100 MB line)
  w2v-lines      w2v on the same words cut into lines of 1,000
  gensim-file    gensim corpus_file= on the lines (its corpus_file reader cannot cut text8's single
                 line: it would train on almost nothing and score 0%)
  gensim-iter    gensim on an iterable of sentences (its Text8Corpus), workers = cores
  gensim-file-alpha0.05
                 gensim-file at w2v's (word2vec.c's) CBOW learning rate: quality at the same rate
For each: vocabulary time, training time, training words/s counted two ways (raw: every corpus
word, before subsampling; kept: words left after subsampling, which is what gensim's log reports),
peak RSS and analogy accuracy (questions-words, restrict_vocab=30000), then each ratio against
gensim's faster mode. --repeats N runs every run of a mode N times, the runs taking turns, and
keeps each one's fastest training: this VM's speed drifts by a third over minutes, and taking
turns exposes both libraries to the same drift. --memory adds w2v on the corpus repeated four
times (1 epoch against 1 epoch) to show that memory does not grow with the corpus.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import MODES, machine, scores, text8like

from w2v.apps import datasets
from w2v.atomic import atomic_write

RUNS = ("w2v-text8", "w2v-lines", "gensim-file", "gensim-iter", "gensim-file-alpha0.05")


def lines_of(path: Path, words_per_line: int = 1000) -> Path:
    """The corpus cut into lines of `words_per_line` words, made once in the cache."""
    target = datasets.cache_dir() / f"{path.stem}.lines{words_per_line}.txt"
    if not target.exists():
        from w2v.corpus.readers import Text8Corpus

        with atomic_write(target, "w") as f:
            for line in Text8Corpus(path, max_sentence_length=words_per_line):
                f.write(" ".join(line) + "\n")
    return target


def repeated(path: Path, times: int = 4) -> Path:
    target = datasets.cache_dir() / f"{path.stem}.x{times}.txt"
    if not target.exists():
        data = path.read_bytes()
        with atomic_write(target) as f:
            for _ in range(times):
                f.write(data)
    return target


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, unlike ru_maxrss, starts afresh at exec, so
    the launcher's own memory does not leak into a worker's figure."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_w2v(corpus: Path, epochs: int, min_count: int = 5, mode: str = "cbow-ns") -> dict:
    from w2v import Word2Vec
    from w2v.corpus.tables import keep_probability

    model = Word2Vec(epochs=epochs, min_count=min_count, **MODES[mode])
    t0 = time.perf_counter()
    model.build_vocab(corpus_file=corpus)
    t1 = time.perf_counter()
    model.train()
    t2 = time.perf_counter()
    # CBOW's examples are the kept words; skip-gram's are (word, context) pairs, so its kept
    # words are the number subsampling keeps on average, which is what gensim counts.
    counts = np.asarray(model.vocab.counts, dtype=np.float64)
    kept = (counts * np.minimum(1.0, keep_probability(counts, model.config.sample))).sum()
    return {
        "vocab_s": t1 - t0,
        "train_s": t2 - t1,
        "raw": model.vocab.corpus_words * epochs,
        "kept": sum(h.examples for h in model.history) if not MODES[mode]["sg"] else kept * epochs,
        "wv": model.wv,
    }


def run_gensim(corpus: Path, epochs: int, corpus_file: bool, alpha: float | None = None,
               mode: str = "cbow-ns") -> dict:
    from gensim.models import Word2Vec as GensimWord2Vec
    from gensim.models.word2vec import Text8Corpus

    from w2v import KeyedVectors

    rate = {} if alpha is None else {"alpha": alpha}  # None: gensim's own default
    model = GensimWord2Vec(workers=os.cpu_count(), epochs=epochs, **rate, **MODES[mode])
    source = (
        {"corpus_file": str(corpus)}
        if corpus_file
        else {"corpus_iterable": Text8Corpus(str(corpus))}
    )
    t0 = time.perf_counter()
    model.build_vocab(**source)
    t1 = time.perf_counter()
    kept, raw = model.train(
        **source,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=epochs,
    )
    t2 = time.perf_counter()
    wv = KeyedVectors(list(model.wv.index_to_key), model.wv.vectors)
    return {"vocab_s": t1 - t0, "train_s": t2 - t1, "raw": raw, "kept": kept, "wv": wv}


def worker(name: str, corpus: Path, epochs: int, min_count: int, mode: str) -> None:
    if name.startswith("w2v"):
        result = run_w2v(corpus, epochs, min_count, mode)
    else:
        rate = name.partition("-alpha")[2]
        result = run_gensim(corpus, epochs, corpus_file=name.startswith("gensim-file"),
                            alpha=float(rate) if rate else None, mode=mode)
    wv = result.pop("wv")
    result["rss_mb"] = peak_rss_mb()  # before evaluation, which is not part of training
    result["vocab"] = len(wv)
    result.update(scores(wv))
    print(json.dumps(result))


def launch(name: str, corpus: Path, epochs: int, min_count: int = 5, mode: str = "cbow-ns") -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--corpus", str(corpus),
           "--epochs", str(epochs), "--min-count", str(min_count), "--modes", mode]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def report(mode: str, results: dict, rounds: list[dict]) -> None:
    """One mode's table, and each w2v run's ratios against gensim's faster mode."""
    print(f"\n### {mode}\n")
    if len(rounds) > 1:
        print("training s per round: " + "; ".join(
            f"{name} " + ", ".join(f"{r[name]['train_s']:.1f}" for r in rounds)
            for name in results) + " (the fastest of each counts)\n")
    print("| run | vocab s | train s | raw words/s | kept words/s | peak RSS MB | analogy % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['vocab_s']:.1f} | {r['train_s']:.1f} | "
            f"{r['raw'] / r['train_s']:,.0f} | {r['kept'] / r['train_s']:,.0f} | "
            f"{r['rss_mb']:.0f} | {100 * r['analogy']:.2f} |"
        )
    gensim = [r for n, r in results.items() if n in ("gensim-file", "gensim-iter")]
    if gensim:

        def speed(r):
            return r["raw"] / r["train_s"]

        best = max(gensim, key=speed)
        print(
            "\nratios against gensim's faster mode (training words/s; vocabulary time; "
            "analogy points):"
        )
        for name, r in results.items():
            if name.startswith("w2v"):
                print(
                    f"- {name}: words/s x{speed(r) / speed(best):.2f}, "
                    f"vocab time x{r['vocab_s'] / best['vocab_s']:.2f}, "
                    f"analogy {100 * (r['analogy'] - best['analogy']):+.2f} points"
                )
    same_rate = results.get("gensim-file-alpha0.05")
    if same_rate:
        for name, r in results.items():
            if name.startswith("w2v"):
                print(f"- {name}: analogy {100 * (r['analogy'] - same_rate['analogy']):+.2f} "
                      "points against gensim-file at the same learning rate (0.05)")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--modes", default="cbow-ns")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--min-count", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: runs per mode; pass 1 or more")
    if args.worker:
        return worker(args.worker, Path(args.corpus), args.epochs, args.min_count, args.modes)

    text8 = text8like()
    corpora = {
        "w2v-text8": text8,
        "w2v-lines": lines_of(text8),
        "gensim-file": lines_of(text8),
        "gensim-iter": text8,
        "gensim-file-alpha0.05": lines_of(text8),
    }
    print(f"text8-like corpus, each library's defaults but the mode, {args.epochs} epochs, "
          f"{machine()}")
    print(f"command: python benchmarks/{' '.join([Path(__file__).name, *sys.argv[1:]])}")
    names = list(filter(None, args.runs.split(",")))
    for mode in args.modes.split(","):
        rounds = [{name: launch(name, corpora[name], args.epochs, mode=mode) for name in names}
                  for _ in range(args.repeats)]
        report(mode, {name: min((r[name] for r in rounds), key=lambda r: r["train_s"])
                      for name in names}, rounds)
    if args.memory:
        # Four copies of the corpus see every word four times as often: min_count x4 keeps the
        # vocabulary (and so the tables) the same, so any growth is the corpus handling's.
        small = launch("w2v-text8", text8, 1)
        large = launch("w2v-text8", repeated(text8), 1, min_count=20)
        growth = 100 * (large["rss_mb"] / small["rss_mb"] - 1)
        print(f"\nmemory, 1 epoch: corpus x1 (min_count 5, {small['vocab']:,} words) peak RSS "
              f"{small['rss_mb']:.0f} MB; corpus x4 (min_count 20, {large['vocab']:,} words) "
              f"{large['rss_mb']:.0f} MB: growth {growth:.1f}%")


if __name__ == "__main__":
    main()
