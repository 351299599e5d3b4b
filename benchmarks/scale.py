"""How the corpus pipeline scales: a synthetic Zipf corpus, vocabulary, tables, one epoch.

    python benchmarks/scale.py [--tokens 100000000,1000000000] [--words 10000000]
        [--train-tokens 20000000]

For each size: a corpus of `tokens` tokens drawn from a Zipf law (exponent 1) over `words`
distinct words, written to a temporary file (removed after, never committed), then timed:
the vocabulary pass (`corpus.encoding.scan` with the compiled scanner, the pass
`Word2Vec.build_vocab` makes: it counts and encodes the corpus in one scan, in threads) in a
process of its own, with its peak RSS (the pipeline's memory, torch's ~150 MB included: the
model's tables, 800 bytes a word at 100 dimensions, come on top), the disk the encoded corpus
takes, the noise alias table and Huffman tree of the resulting vocabulary, and the words/s of
training on a corpus of `train-tokens` tokens of the same law (CBOW defaults, all cores;
words/s counts raw corpus words). Prints a markdown table and the projection to 10B and 100B
tokens from the largest size's per-token costs.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import machine

BLOCK = 10_000_000  # tokens generated per block


def zipf_corpus(path: Path, tokens: int, words: int, seed: int = 0) -> None:
    """`tokens` words separated by spaces, word r drawn with probability ~ 1 / r."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, words + 1))
    cdf /= cdf[-1]
    names = np.array([f"w{r}" for r in range(words)], dtype=object)
    with open(path, "w") as f:
        for start in range(0, tokens, BLOCK):
            n = min(BLOCK, tokens - start)
            ranks = np.minimum(np.searchsorted(cdf, rng.random(n)), words - 1)
            f.write(" ".join(names[ranks].tolist()))
            f.write("\n")


def peak_rss_mb() -> float:
    """This process's peak: the scan runs in threads. (Children would include a compiler that
    builds a kernel before the clock starts.)"""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vocabulary_pass(path: str, out: str) -> None:
    """In a process of its own: scan the corpus, then time the tables of its vocabulary."""
    from w2v.corpus.encoding import scan
    from w2v.corpus.readers import Text8Corpus
    from w2v.corpus.tables import huffman_tree, noise_alias
    from w2v.training.kernels import corpus_scanner, table_builder

    # Built (or loaded) before the clocks start.
    scanner = corpus_scanner()
    alias, huffman = table_builder("alias_table"), table_builder("huffman")
    t0 = time.perf_counter()
    vocab, corpus = scan(Text8Corpus(path), min_count=5, scanner=scanner)
    vocab_s = time.perf_counter() - t0
    rss = peak_rss_mb()
    t0 = time.perf_counter()
    noise_alias(vocab.counts, build=alias)
    noise_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    huffman_tree(vocab.counts, huffman)
    huffman_s = time.perf_counter() - t0
    Path(out).write_text(json.dumps({
        "vocab_s": vocab_s, "vocab": len(vocab), "kept_ids": len(corpus), "peak_rss_mb": rss,
        "disk_bytes": os.stat(corpus.ids.path).st_blocks * 512, "noise_s": noise_s,
        "huffman_s": huffman_s}))


def measure(tokens: int, words: int, train_tokens: int, folder: Path) -> dict:
    from w2v import Word2Vec

    path = folder / f"zipf-{tokens}.txt"
    t0 = time.perf_counter()
    zipf_corpus(path, tokens, words)
    generated = time.perf_counter() - t0
    out = folder / "pass.json"
    subprocess.run([sys.executable, __file__, "--vocabulary-pass", str(path), str(out)],
                   check=True)
    figures = json.loads(out.read_text())
    path.unlink()
    train = Word2Vec(epochs=1)
    head = folder / "head.txt"
    zipf_corpus(head, train_tokens, words, seed=1)
    train.build_vocab(corpus_file=head)
    t0 = time.perf_counter()
    train.train()
    train_s = time.perf_counter() - t0
    head.unlink()
    return {"tokens": tokens, "generate_s": generated, **figures,
            "train_words_per_s": train.corpus.corpus_words / train_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", default="100000000,1000000000")
    parser.add_argument("--words", type=int, default=10_000_000)
    parser.add_argument("--train-tokens", type=int, default=20_000_000)
    parser.add_argument("--vocabulary-pass", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.vocabulary_pass:
        vocabulary_pass(*args.vocabulary_pass)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="w2v-scale-") as tmp:
        for tokens in map(int, args.tokens.split(",")):
            row = measure(tokens, args.words, args.train_tokens, Path(tmp))
            print(row, file=sys.stderr, flush=True)
            rows.append(row)
    print(f"\n{machine()}, Zipf corpora over {args.words:,} words\n")
    print("| tokens | distinct kept (min_count 5) | vocabulary pass s | tokens/s | peak RSS MB | "
          "disk bytes/token | alias table s | Huffman s | train words/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['tokens']:,} | {r['vocab']:,} | {r['vocab_s']:.1f} | "
              f"{r['tokens'] / r['vocab_s']:,.0f} | {r['peak_rss_mb']:,.0f} | "
              f"{r['disk_bytes'] / r['tokens']:.2f} | {r['noise_s']:.2f} | "
              f"{r['huffman_s']:.2f} | {r['train_words_per_s']:,.0f} |")
    last = rows[-1]
    per_token = last["vocab_s"] / last["tokens"]
    print()
    for total in (10**10, 10**11):
        print(f"- {total:,} tokens: vocabulary pass ~{per_token * total / 3600:.1f} h, one "
              f"epoch ~{total / last['train_words_per_s'] / 3600:.1f} h, encoded corpus "
              f"~{4 * total / 1e9:,.0f} GB on disk")


if __name__ == "__main__":
    main()
