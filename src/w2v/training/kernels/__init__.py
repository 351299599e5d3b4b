"""Compiled training kernels, built on first use by torch's C++ extension mechanism, and cached.

The first use compiles `w2v_cpu.cpp` (about a minute and 1.5 GB of memory on 2 cores; it needs a
C++ compiler and ninja); later uses load the cached binary in well under a second. Each build
has a folder of its own under $TORCH_EXTENSIONS_DIR (default ~/.cache/torch_extensions)/w2v,
named by a key of everything that makes two binaries differ: the source, the compiler flags,
the environment it is built against (its prefix, Python and torch: two venvs, or a venv and a
fresh clone's, never share a folder, so they never rebuild each other's kernel when used in
turn) and the CPU (-march=native code may not run on another CPU, as when a home folder is
shared across machines). Where the kernel cannot be built, `cpu_kernel()` returns None and
training falls back to the batched tensor path.

`scanner.cpp`, the compiled corpus scanner (`corpus_scanner()`), is built the same way, on its
own (it includes only pybind11: about ten seconds); without it corpus files are read in Python.
"""

import functools
import hashlib
import os
import platform
import sys
import time
import warnings
from pathlib import Path

SOURCE = Path(__file__).parent / "w2v_cpu.cpp"
FLAGS = ("-O3", "-march=native")
# The /proc/cpuinfo fields that say what -march=native compiles for (x86 and ARM spellings).
_CPU_FIELDS = ("vendor_id", "model name", "flags", "CPU implementer", "CPU part", "Features")


def cpu_signature() -> str:
    """The CPU that -march=native targets: its vendor, model and instruction-set flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            first = f.read().split("\n\n", 1)[0]  # one processor's block: all cores alike
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    found = {k.strip(): v.strip() for k, v in fields.items() if k.strip() in _CPU_FIELDS}
    return "\n".join(f"{k}: {found[k]}" for k in sorted(found)) or platform.machine()


def environment_signature() -> str:
    """The environment a binary links against: its prefix, Python, and torch's version and
    place."""
    import torch

    return "\n".join([sys.prefix, sys.version, torch.__version__, str(Path(torch.__file__))])


def build_key(source: bytes, flags, environment: str, cpu: str) -> str:
    """A short hash that changes with anything that makes the compiled binary differ."""
    digest = hashlib.sha256()
    for part in (source, "\0".join(flags).encode(), environment.encode(), cpu.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache" / "torch_extensions"
    return Path(base) / "w2v"


# A build takes about a minute on 2 cores; a lock this much older was left by a build that was
# killed (Ctrl-C during the first use), and torch would wait on it forever without a word.
STALE_LOCK_SECONDS = 15 * 60


def clear_stale_lock(folder: Path, now: float | None = None) -> bool:
    """Remove `folder`'s build lock if no build can still hold it; True if one was removed."""
    lock = folder / "lock"
    try:
        age = (time.time() if now is None else now) - lock.stat().st_mtime
    except FileNotFoundError:
        return False
    if age < STALE_LOCK_SECONDS:
        return False  # another process may be building right now: wait for it, as torch does
    lock.unlink(missing_ok=True)
    warnings.warn(f"removed {lock}, left {age / 60:.0f} minutes ago by a build that was "
                  "stopped; the kernel is built afresh", stacklevel=3)
    return True


def build(name: str, source: Path, flags=FLAGS, python_module: bool = True,
          cpu: str | None = None):
    """Compile `source` (or load its cached build) in the folder its key names; returns the
    module (or, with python_module False, the path of the shared library)."""
    from torch.utils.cpp_extension import load

    key = build_key(source.read_bytes(), flags, environment_signature(),
                    cpu_signature() if cpu is None else cpu)
    folder = cache_root() / f"{name}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    clear_stale_lock(folder)
    return load(name=f"{name}_{key}", sources=[str(source)], extra_cflags=list(flags),
                build_directory=str(folder), is_python_module=python_module,
                verbose=bool(os.environ.get("W2V_VERBOSE_BUILD")))


@functools.cache
def cpu_kernel():
    """The compiled training module, or None (with a warning saying why) if it cannot be built."""
    try:
        return build("w2v_cpu", SOURCE)
    except Exception as error:  # a missing compiler surfaces as several exception types
        warnings.warn(
            f"could not build w2v's CPU kernel ({type(error).__name__}: {error}); training "
            "uses the slower batched tensor path. Install a C++ compiler and ninja to fix it.",
            stacklevel=2,
        )
        return None


def table_builder(name: str):
    """The compiled kernel's builder `name` ("huffman", "alias_table") as a function of a numpy
    array returning numpy arrays, as `corpus.tables` takes it (`build=`); None without the
    kernel, where the tables' own Python loops build them."""
    import torch

    kernel = cpu_kernel()
    if kernel is None:
        return None
    build = getattr(kernel, name)
    return lambda array: tuple(t.numpy() for t in build(torch.from_numpy(array)))


def noise_slots(prob, alias):
    """The alias table (`corpus.tables.noise_alias`: (V,) float32 probabilities and int32 ids)
    as the CPU kernel reads it: a (V, 2) int32 tensor, slot i's probability (its float32 bits)
    beside its alias, so that a noise draw is one load from memory rather than two."""
    import torch

    prob = torch.as_tensor(prob, dtype=torch.float32).contiguous()
    return torch.stack((prob.view(torch.int32), torch.as_tensor(alias, dtype=torch.int32)),
                       dim=1).contiguous()


SCANNER_SOURCE = Path(__file__).parent / "scanner.cpp"


@functools.cache
def corpus_scanner():
    """The compiled corpus scanner's `Scanner` class, as `corpus.encoding` takes it
    (`scanner=`), or None (with a warning saying why) if it cannot be built: corpus files are
    then read by the Python readers."""
    try:
        return build("w2v_scan", SCANNER_SOURCE).Scanner
    except Exception as error:  # a missing compiler surfaces as several exception types
        warnings.warn(
            f"could not build w2v's corpus scanner ({type(error).__name__}: {error}); corpus "
            "files are read in Python, several times slower. Install a C++ compiler and ninja "
            "to fix it.",
            stacklevel=2,
        )
        return None
