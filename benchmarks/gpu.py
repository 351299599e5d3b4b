"""The fused Triton kernel on a GPU: equality with the reference, words/s, accuracy; the batched
path beside it. Needs nothing but the repository and a folder of data (no network, no gensim).

    python benchmarks/gpu.py --data DIR [--out gpu.json] [--segments 16,64,256] [--epochs 5]

DIR holds what the run reads, copied there beforehand (e.g. into a git-ignored `data/` of the
repository): the text8-like corpus as `enwiki2015_text8like.txt`, or its `.txt.xz` (23 MB, which
is decompressed there once), and the evaluation files `w2v download` fetches
(questions-words.txt, wordsim353.tsv, simlex999.txt); it becomes $W2V_HOME, where w2v looks for
both. In order, each timed from inside (training only, after a
warm-up launch off the clock):
1. versions and device name;
2. the one-program equality check of `tests/test_fused.py` on a tiny corpus, on the GPU;
3. words/s of CBOW and skip-gram, one epoch each, at each segment length (kept words per
   program: fewer programs as it grows);
4. five epochs of CBOW at the fastest segment length, scored (analogy questions-words 30k,
   WordSim-353, SimLex-999);
5. one epoch of the batched path at batch 16,384 and 65,536;
6. one epoch of fastText's subword CBOW through the fused kernel (2M buckets).
Words/s counts raw corpus words. Writes the results as JSON to --out and prints a table.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def corpus() -> Path:
    """The corpus in $W2V_HOME, decompressed from its .xz on first use."""
    import lzma
    import shutil

    from w2v.apps.datasets import cache_dir
    from w2v.atomic import atomic_write

    text = cache_dir() / "enwiki2015_text8like.txt"
    packed = text.with_name(text.name + ".xz")
    if not text.exists() and packed.exists():
        with lzma.open(packed) as src, atomic_write(text) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return text


def check_data(folder: Path) -> None:
    """Stop in one line, before any GPU work, if the data folder lacks a file the run reads."""
    wanted = [("enwiki2015_text8like.txt", "enwiki2015_text8like.txt.xz"),
              ("questions-words.txt",), ("wordsim353.tsv",), ("simlex999.txt",)]
    missing = [names[-1] for names in wanted if not any((folder / n).is_file() for n in names)]
    if missing:
        raise SystemExit(f"--data {folder} lacks {', '.join(missing)}: copy them there first "
                         "(BENCHMARKS.md, 'The fused GPU kernel')")


def run(epochs: int, **options) -> dict:
    import torch

    from w2v import Word2Vec

    model = Word2Vec(epochs=epochs, device="cuda", **options)
    model.build_vocab(corpus_file=corpus())
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    model.train()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    return {"train_s": seconds, "raw_words_per_s": model.vocab.corpus_words * epochs / seconds,
            "loss": model.epoch_losses, "model": model}


def equality() -> bool:
    """tests/test_fused.py's one-program check, on the GPU (its numpy reference needs no
    pytest)."""
    import numpy as np
    import torch

    sys.path.insert(0, str(HERE.parent / "tests"))
    from fused_reference import reference, tiny

    from w2v.training.kernels import fused

    ids, sentence, keep, noise, syn0, syn1 = tiny()
    options = dict(window=3, negative=4, sg=False, cbow_mean=True, shrink_windows=True,
                   alpha_start=0.05, alpha_end=0.01, words_done=40.0, total_words=400.0,
                   seed=12345678901)
    ref0, ref1 = syn0.copy(), syn1.copy()
    _, ref_examples = reference(ref0, ref1, ids, sentence, keep, noise, **options)
    t0, t1 = torch.from_numpy(syn0).cuda(), torch.from_numpy(syn1).cuda()
    _, examples = fused.train_chunk(t0, t1, *(torch.from_numpy(a).cuda() for a in
                                              (ids, sentence, keep, noise)), True,
                                    segment=len(ids), **options)
    return (int(examples) == ref_examples and np.allclose(t0.cpu().numpy(), ref0, atol=1e-5)
            and np.allclose(t1.cpu().numpy(), ref1, atol=1e-5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", default="gpu.json")
    parser.add_argument("--segments", default="16,64,256")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    check_data(args.data)
    os.environ["W2V_HOME"] = str(args.data.resolve())

    import torch
    import triton

    from w2v.training.kernels import fused

    if not torch.cuda.is_available():
        raise SystemExit(f"no CUDA device here (torch {torch.__version__}): nothing to measure")
    result: dict = {"torch": torch.__version__, "triton": triton.__version__,
                    "python": platform.python_version(), "device": torch.cuda.get_device_name(),
                    "equal_to_reference": equality(), "runs": {}}
    print(f"{result['device']}: equal to the reference: {result['equal_to_reference']}",
          file=sys.stderr, flush=True)
    run(1, update="fused", max_final_vocab=1000)  # compiles the kernels, off the clock
    speeds = {}
    for segment in (int(s) for s in args.segments.split(",")):
        fused.SEGMENT_WORDS = segment
        for sg in (0, 1):
            label = f"fused {'skip-gram' if sg else 'CBOW'}, segment {segment}"
            r = run(1, update="fused", sg=sg)
            r.pop("model")
            result["runs"][label] = r
            speeds[(segment, sg)] = r["raw_words_per_s"]
            print(f"{label}: {r}", file=sys.stderr, flush=True)
    best = max((s for s, sg in speeds if sg == 0), key=lambda s: speeds[(s, 0)])
    fused.SEGMENT_WORDS = best
    sys.path.insert(0, str(HERE))
    from common import scores

    r = run(args.epochs, update="fused")
    r.update(scores(r.pop("model").wv))
    result["runs"][f"fused CBOW, segment {best}, {args.epochs} epochs"] = r
    for size in (16384, 65536):
        r = run(1, update="batched", batch_size=size)
        r.pop("model")
        result["runs"][f"batched {size:,}"] = r
    # fastText's model (issue 16): a word is a bag of rows, the CPU kernel's 2-thread figures
    # are in BENCHMARKS.md ("Subword vectors against gensim's FastText").
    r = run(1, update="fused", subwords=True)
    r.pop("model")
    result["runs"][f"fused FastText CBOW, segment {best}, 1 epoch"] = r
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"\n{result['device']}, torch {result['torch']}, triton {result['triton']}; "
          f"equal to the reference: {result['equal_to_reference']}")
    print(f"command: python benchmarks/{' '.join([Path(__file__).name, *sys.argv[1:]])}\n")
    print("| run | train s | raw words/s | analogy % | WS-353 | SimLex |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in result["runs"].items():
        quality = (f"{100 * r['analogy']:.2f} | {r['wordsim353']:.3f} | {r['simlex999']:.3f}"
                   if "analogy" in r else " | | ")
        print(f"| {label} | {r['train_s']:.1f} | {r['raw_words_per_s']:,.0f} | {quality} |")


if __name__ == "__main__":
    main()
