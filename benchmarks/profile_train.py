"""Where training time goes: cProfile of one w2v epoch on the text8-like corpus, and torch's
profiler over steps of the batched tensor update (the GPU path, on the CPU here).

    python benchmarks/profile_train.py [--top 12]
"""

import argparse
import cProfile
import io
import pstats
import time

import torch
from common import machine, text8like

from w2v import Word2Vec


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    path = text8like()
    print(f"{machine()}; command: python benchmarks/profile_train.py --top {args.top}\n")

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    model = Word2Vec(corpus_file=path, epochs=1)
    profiler.disable()
    print(f"## one epoch, update=auto (the compiled kernel): {time.perf_counter() - t0:.1f}s\n")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print("```\n" + out.getvalue().split("\n\n", 2)[-1].strip() + "\n```\n")

    from w2v.corpus.tables import keep_probability
    from w2v.training.batches import AliasTable, cbow_batches
    from w2v.training.model import sgd_step

    keep = torch.from_numpy(keep_probability(model.vocab.counts, 1e-3))
    noise = AliasTable.of(model.vocab.counts)
    batches = cbow_batches(model.corpus, keep, noise, 5, 5, 1024, torch.Generator().manual_seed(1))
    steps = [next(batches) for _ in range(200)]
    with torch.profiler.profile() as prof:
        for b in steps:
            sgd_step(model.model, b.context, b.mask, b.target, b.negatives, 0.025)
    print("## update=batched: 200 steps of 1,024 examples, torch.profiler\n")
    print("```\n" + prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8) + "```")


if __name__ == "__main__":
    main()
