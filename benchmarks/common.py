"""Shared by the benchmark scripts: where the corpus and evaluation sets are, and scoring."""

import lzma
import os
import platform
import shutil
from pathlib import Path

from w2v.apps import datasets
from w2v.atomic import atomic_write

REPO = Path(__file__).resolve().parents[1]
CORPUS_XZ = REPO.parent / "shared" / "data" / "wiki" / "enwiki2015_text8like.txt.xz"


# The four training modes the benchmarks compare, as Word2Vec's (and gensim's) options.
MODES = {
    "cbow-ns": {"sg": 0, "hs": 0, "negative": 5},
    "sg-ns": {"sg": 1, "hs": 0, "negative": 5},
    "cbow-hs": {"sg": 0, "hs": 1, "negative": 0},
    "sg-hs": {"sg": 1, "hs": 1, "negative": 0},
}


def text8like() -> Path:
    """The 16.9M-word text8-like Wikipedia corpus, decompressed once into w2v's cache folder."""
    target = datasets.cache_dir() / "enwiki2015_text8like.txt"
    if not target.exists():
        if not CORPUS_XZ.exists():
            raise SystemExit(f"benchmark corpus {CORPUS_XZ} is missing (see ../shared/README.md)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with lzma.open(CORPUS_XZ) as src, atomic_write(target) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return target


def text8like_tail(words: int) -> Path:
    """The last `words` words of the text8-like corpus as a corpus of its own (a small
    corpus from the same source), cut once into w2v's cache folder."""
    target = datasets.cache_dir() / f"enwiki2015_text8like_last{words}.txt"
    if not target.exists():
        text = text8like().read_bytes().split()[-words:]
        with atomic_write(target) as dst:
            dst.write(b" ".join(text))
    return target


def scores(kv) -> dict:
    """Analogy accuracy (questions-words, 30k most frequent words) and word-pair Spearman."""
    analogy, _ = kv.evaluate_word_analogies(str(datasets.find("questions-words")),
                                            restrict_vocab=30000)
    result = {"analogy": analogy}
    for name in ("wordsim353", "simlex999"):
        _, spearman, _ = kv.evaluate_word_pairs(str(datasets.find(name)))
        result[name] = spearman[0]
    return result


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
