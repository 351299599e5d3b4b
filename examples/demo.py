"""`make demo`: train word vectors with the defaults on real English text, then query them.

Corpus, first found: $W2V_DEMO_CORPUS; the text8-like Wikipedia corpus beside the repository
(../shared/data/wiki); text8 in w2v's cache or downloaded there with its checksum (online);
offline, the news corpus that gensim's package ships (small, so its analogies score low).
"""

import os
import sys
import time
import zipfile
from importlib.util import find_spec
from pathlib import Path

from w2v import W2VError, Word2Vec
from w2v.apps import datasets
from w2v.atomic import atomic_write

REPO = Path(__file__).resolve().parents[1]
SHARED_XZ = REPO.parent / "shared" / "data" / "wiki" / "enwiki2015_text8like.txt.xz"
PROBES = ["king", "france", "computer", "three", "music", "good"]


def _text8() -> Path:
    target = datasets.cache_dir() / "text8"
    if not target.exists():
        archive = datasets.find("text8")
        with zipfile.ZipFile(archive) as z, z.open("text8") as src, atomic_write(target) as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    return target


def pick_corpus() -> tuple[Path, str]:
    if os.environ.get("W2V_DEMO_CORPUS"):
        return Path(os.environ["W2V_DEMO_CORPUS"]), "$W2V_DEMO_CORPUS"
    if SHARED_XZ.exists():
        return SHARED_XZ, "text8-like English Wikipedia, 16.9M words (../shared/data/wiki)"
    try:
        return _text8(), "text8, 17M words of English Wikipedia (w2v cache)"
    except W2VError as offline:
        print(f"text8 unavailable ({offline}); using gensim's bundled corpus", file=sys.stderr)
    bundled = Path(find_spec("gensim").origin).parent / "test" / "test_data" / "lee_background.cor"
    return bundled, "Lee news corpus, 60k words, from gensim's package (too small for analogies)"


def main() -> int:
    corpus, name = pick_corpus()
    print(f"corpus: {name}\n  {corpus}", flush=True)
    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=corpus, progress=sys.stderr)
    seconds = time.perf_counter() - t0
    out = REPO / "out" / "demo-vectors.bin"
    out.parent.mkdir(exist_ok=True)
    model.wv.save_word2vec_format(out, binary=True)
    words = model.vocab.corpus_words * model.config.epochs
    print(f"trained CBOW, {len(model.vocab):,} words x {model.config.vector_size} dims, "
          f"{model.config.epochs} epochs in {seconds:.0f}s ({words / seconds:,.0f} words/s)\n")
    for probe in [p for p in PROBES if p in model.wv]:
        neighbours = ", ".join(w for w, _ in model.wv.most_similar(probe, topn=6))
        print(f"  {probe:>9} -> {neighbours}")
    score, _ = model.wv.evaluate_word_analogies(str(datasets.find("questions-words")),
                                                restrict_vocab=30000)
    print(f"\nanalogy accuracy (questions-words, 30k words): {100 * score:.1f}%")
    print(f"vectors: {out}\n  try: .venv/bin/w2v similar {out} king")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
