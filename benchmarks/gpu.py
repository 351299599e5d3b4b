"""The batched update on a GPU: words/s and accuracy against batch size, beside the CPU kernel.

    python benchmarks/gpu.py [--device cuda] [--batch-sizes 1024,16384,65536] [--epochs 5]

On the text8-like corpus with CBOW defaults: first the compiled CPU kernel (the quality
reference, on all cores), then `update="batched"` on `--device` once per batch size. Each run is
timed from inside (vocabulary, then training; the first GPU run also warms the device up before
its clock starts) and scored (analogy questions-words 30k, WordSim-353, SimLex-999). Words/s
counts raw corpus words, and kept words (after subsampling) beside them. Prints a markdown table.
Without the device it says so and stops; `--device cpu --epochs 1` runs the same path on a CPU.
"""

import argparse
import os
import sys
import time

from common import machine, scores, text8like


def run(epochs: int, **options) -> dict:
    from w2v import Word2Vec

    model = Word2Vec(epochs=epochs, **options)
    t0 = time.perf_counter()
    model.build_vocab(corpus_file=text8like())
    t1 = time.perf_counter()
    model.train()
    if options.get("device", "cpu").startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    t2 = time.perf_counter()
    return {"vocab_s": t1 - t0, "train_s": t2 - t1,
            "raw": model.vocab.corpus_words * epochs,
            "kept": sum(h.examples for h in model.history), **scores(model.wv)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-sizes", default="1024,16384,65536")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--skip-kernel", action="store_true", help="no CPU reference run")
    args = parser.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"no CUDA device here (torch {torch.__version__}): nothing to measure")
    name = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
            else machine())
    rows = {}
    if not args.skip_kernel:
        rows["kernel, CPU"] = run(args.epochs, update="kernel", device="cpu")
        print(f"kernel: {rows['kernel, CPU']}", file=sys.stderr, flush=True)
    if args.device.startswith("cuda"):  # CUDA context, allocator and kernels, off the clock
        run(1, update="batched", device=args.device, max_final_vocab=1000)
    for size in (int(b) for b in args.batch_sizes.split(",")):
        label = f"batched {size:,}, {args.device}"
        rows[label] = run(args.epochs, update="batched", device=args.device, batch_size=size)
        print(f"{label}: {rows[label]}", file=sys.stderr, flush=True)

    print(f"\ntext8-like corpus, CBOW defaults, {args.epochs} epochs; device: {name}; "
          f"CPU: {machine()}")
    print(f"command: python benchmarks/{' '.join([os.path.basename(__file__), *sys.argv[1:]])}\n")
    print("| run | train s | raw words/s | kept words/s | analogy % | WS-353 rho | SimLex rho |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in rows.items():
        print(f"| {label} | {r['train_s']:.1f} | {r['raw'] / r['train_s']:,.0f} | "
              f"{r['kept'] / r['train_s']:,.0f} | {100 * r['analogy']:.2f} | "
              f"{r['wordsim353']:.3f} | {r['simlex999']:.3f} |")


if __name__ == "__main__":
    main()
