"""Loading a GoogleNews-sized vectors file: w2v against gensim, same files, same run.

A synthetic binary word2vec file (default 3,000,000 random words x 300 float32, the size of
GoogleNews-vectors-negative300.bin: 3.6 GB), its gzip copy, w2v's native file and gensim's own
.kv are written once to --folder; then each load runs in a fresh process of its own, so that its
peak resident memory (ru_maxrss) is its own; the fastest of --repeats counts, each after the
file was read once into the page cache. "peak / array" divides the peak's growth over the
resident memory just before loading (imports done) by the bytes of the array returned: 1.0 is
the array alone. Linux only (/proc/self/statm).

Run: PYTHONPATH=src .venv/bin/python benchmarks/big_file.py [--words 3000000] [--dim 300]
"""

import argparse
import gzip
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROWS_PER_WRITE = 20_000


def write_binary(path: Path, words: int, dim: int, seed: int) -> None:
    """The C tool's binary layout, written a block of rows at a time (never the whole array)."""
    from load_query import random_vocabulary  # imports gensim: not in the measured processes

    names, _ = random_vocabulary(words, 1, seed)
    rng = np.random.default_rng(seed + 1)
    with open(path, "wb") as f:
        f.write(f"{words} {dim}\n".encode())
        for lo in range(0, words, ROWS_PER_WRITE):
            block = rng.standard_normal((min(ROWS_PER_WRITE, words - lo), dim), dtype=np.float32)
            data, step = block.tobytes(), 4 * dim
            f.write(b"".join(name.encode() + b" " + data[i * step : (i + 1) * step] + b"\n"
                             for i, name in enumerate(names[lo : lo + len(block)])))


def compress(path: Path, target: Path) -> None:
    """gzip at level 1 (the system's gzip when there is one: several times Python's speed)."""
    if shutil.which("gzip"):
        with open(target, "wb") as out:
            subprocess.run(["gzip", "-1", "-c", str(path)], stdout=out, check=True)
        return
    with open(path, "rb") as src, gzip.open(target, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 22)


def child(library: str, kind: str, path: str) -> None:
    """Load one file in this process and print what it cost as one JSON line."""
    if library == "gensim":
        from gensim.models import KeyedVectors
    else:
        from w2v.vectors.keyedvectors import KeyedVectors
    before = _resident_bytes()
    start = time.perf_counter()
    if kind == "native":
        kv = KeyedVectors.load(path, mmap="r") if library == "gensim" else KeyedVectors.load(path)
    else:
        kv = KeyedVectors.load_word2vec_format(path, binary=True)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    row = kv.get_index(kv.index_to_key[-1])  # what a first query costs after the load
    lookup = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    vectors = np.asarray(kv.vectors)
    print(json.dumps({
        "seconds": seconds, "lookup": lookup, "row": row, "before": before, "peak": peak,
        "array": vectors.nbytes,
        # Same answer from both: the last word and a checksum of a few rows.
        "last": kv.index_to_key[-1], "sum": float(vectors[:: max(1, len(vectors) // 97)].sum()),
    }))


def _resident_bytes() -> int:
    """The process's resident memory now (not its high-water mark, which imports can set)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(library: str, kind: str, path: Path, repeats: int) -> dict:
    """The fastest of `repeats` loads, each in a fresh process, each after the file was read
    once untimed: the files together outgrow the page cache, and a load that reads some of its
    file from disk would time the disk."""
    runs = []
    for _ in range(repeats):
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        out = subprocess.run([sys.executable, __file__, "--child", library, kind, str(path)],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return min(runs, key=lambda run: run["seconds"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=3_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="loads per file and library")
    parser.add_argument("--folder", type=Path, default=Path.home() / ".cache" / "w2v" / "big",
                        help="where the synthetic files are written (and kept for the next run)")
    parser.add_argument("--files", default="binary,gz,native",
                        help="which loads to measure: binary, gz (its gzip copy), native")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = args.files.split(",")
    unknown = sorted(set(files) - {"binary", "gz", "native"})
    if unknown:
        parser.error(f"--files {args.files}: {', '.join(unknown)} is not one of binary, gz, "
                     "native; pass a comma-separated list of those")
    if args.child:
        child(*args.child)
        return 0

    args.folder.mkdir(parents=True, exist_ok=True)
    stem = args.folder / f"synthetic_{args.words}x{args.dim}_seed{args.seed}"
    binary, packed, native, pickled = (stem.with_suffix(s)
                                       for s in (".bin", ".bin.gz", ".w2v", ".kv"))
    if not binary.exists():
        write_binary(binary, args.words, args.dim, args.seed)
    if "gz" in files and not packed.exists():
        compress(binary, packed)
    if not native.exists():
        subprocess.run([sys.executable, "-c", "import sys; from w2v.vectors.keyedvectors import "
                        "KeyedVectors as K; K.load_word2vec_format(sys.argv[1], binary=True)"
                        ".save(sys.argv[2])", str(binary), str(native)], check=True)
    if not pickled.exists():  # gensim's own format: a pickle beside .npy arrays it maps
        subprocess.run([sys.executable, "-c", "import sys; from gensim.models import "
                        "KeyedVectors as K; K.load_word2vec_format(sys.argv[1], binary=True)"
                        ".save(sys.argv[2])", str(binary), str(pickled)], check=True)

    # A virtual machine maps its memory on first touch, several times slower than a reuse:
    # a throwaway process touches what the loads will need, so that neither library pays it.
    subprocess.run([sys.executable, "-c", "import numpy, sys; numpy.ones(int(sys.argv[1]), "
                    "numpy.uint8)", str(3 * binary.stat().st_size)], check=True)
    rows = []
    for name, path in (("binary", binary), ("binary .gz", packed)):
        if name.split()[-1].strip(".") not in files:
            continue
        ours = measure("w2v", "binary", path, args.repeats)
        theirs = measure("gensim", "binary", path, args.repeats)
        if (ours["last"], ours["sum"]) != (theirs["last"], theirs["sum"]):
            raise SystemExit(f"w2v and gensim read {path} differently: {ours} vs {theirs}")
        rows += [(name, "gensim 4.4", theirs, None), (name, "w2v", ours, theirs)]
    if "native" in files:
        theirs = measure("gensim", "native", pickled, args.repeats)
        rows += [("gensim .kv (mmap='r')", "gensim 4.4", theirs, None),
                 ("native .w2v (mmap)", "w2v", measure("w2v", "native", native, args.repeats),
                  theirs)]

    size = binary.stat().st_size / 1e9
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    gz = f", gzip {packed.stat().st_size / 1e9:.2f} GB" if packed.exists() else ""
    print(f"{args.words} words x {args.dim} float32: binary file {size:.2f} GB{gz}\n")
    print("| file | library | load s | speed vs gensim | first lookup ms | peak RSS GB "
          "| peak / array |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, library, got, peer in rows:
        speed = f"x{peer['seconds'] / got['seconds']:.2f}" if peer else ""
        added = (got["peak"] - got["before"]) / got["array"]
        print(f"| {name} | {library} | {got['seconds']:.2f} | {speed} | "
              f"{1000 * got['lookup']:.3f} | {got['peak'] / 1e9:.2f} | {added:.2f} |")
    print(f"\ncommand: `PYTHONPATH=src {command}` (targets: w2v at least x2 gensim's speed, "
          "peak / array at most 1.2, native under a second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
