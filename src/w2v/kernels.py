"""Compiled training kernels, built on first use by torch's C++ extension mechanism.

The build needs a C++ compiler and ninja; it is cached (under $TORCH_EXTENSIONS_DIR, by default
~/.cache/torch_extensions) so it happens once per machine and torch version. Where it cannot be
built, `cpu_kernel()` returns None and training falls back to the batched tensor path.
"""

import functools
import os
import warnings
from pathlib import Path

SOURCE = Path(__file__).parent / "csrc" / "w2v_cpu.cpp"


@functools.cache
def cpu_kernel():
    """The compiled training module, or None (with a warning saying why) if it cannot be built."""
    try:
        from torch.utils.cpp_extension import load

        return load(
            name="w2v_cpu",
            sources=[str(SOURCE)],
            extra_cflags=["-O3", "-march=native", "-fopenmp-simd"],
            verbose=bool(os.environ.get("W2V_VERBOSE_BUILD")),
        )
    except Exception as error:  # a missing compiler surfaces as several exception types
        warnings.warn(
            f"could not build w2v's CPU kernel ({type(error).__name__}: {error}); training "
            "uses the slower batched tensor path. Install a C++ compiler and ninja to fix it.",
            stacklevel=2,
        )
        return None
