"""What a `TrainConfig` becomes on this machine: the device, the update method that "auto" picks,
the torch optimizer of the autograd path, and the seeds of every random draw."""

import os
import warnings

import torch

from w2v.errors import W2VError
from w2v.training.config import OPTIMIZER_ALPHA, TrainConfig
from w2v.training.kernels import cpu_kernel
from w2v.training.model import CBOW


def resolve_device(name: str) -> torch.device:
    """The torch device `name` ("auto": a CUDA GPU when one is visible) names, or a W2VError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise W2VError(f"device={name!r} but this torch sees no CUDA GPU; use device='cpu'")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise W2VError(f"device={name!r} but only {torch.cuda.device_count()} GPU(s) are visible")
    return device


def resolve_update(update: str, device: torch.device, hs: bool = False,
                   subwords: bool = False) -> str:
    """The update actually used: "auto" picks the kernel on CPU when it builds."""
    chosen = _resolve_update(update, device)
    if hs and chosen != "kernel":
        raise W2VError(f"hs=1 (hierarchical softmax) trains with the compiled CPU kernel only, "
                       f"not update={chosen!r}: use device='cpu' and update='auto' or 'kernel', "
                       "or negative sampling (hs=0)")
    if subwords and chosen not in ("kernel", "fused"):
        raise W2VError(f"subwords=True (fastText's model) trains with the compiled CPU kernel "
                       f"or the fused GPU kernel, not update={chosen!r}: use update='auto'")
    return chosen


def _resolve_update(update: str, device: torch.device) -> str:
    if update == "kernel" and device.type != "cpu":
        raise W2VError(f"update='kernel' runs on the CPU only; use update='fused' or 'batched' "
                       f"on {device}")
    if update == "fused" and device.type != "cuda" and not os.environ.get("TRITON_INTERPRET"):
        raise W2VError(f"update='fused' runs on a CUDA GPU, not {device} (or on the CPU under "
                       "TRITON_INTERPRET=1, slowly, for tests): use update='auto'")
    if update in ("auto", "fused") and device.type == "cuda":
        why = fused_unavailable()
        if why is None:
            return "fused"
        if update == "fused":
            raise W2VError(f"update='fused' needs triton, which {why}; install triton (PyTorch's "
                           "CUDA builds carry it) or use update='batched'")
        warnings.warn(f"the fused GPU kernel is unavailable (triton {why}); training uses the "
                      "slower batched tensor path", stacklevel=4)
        return "batched"
    if update == "fused":
        return "fused"
    if update in ("auto", "kernel") and device.type == "cpu":
        if cpu_kernel() is not None:
            return "kernel"
        if update == "kernel":
            raise W2VError("update='kernel' needs the compiled CPU kernel, which did not build; "
                           "install a C++ compiler and ninja, or use update='batched'")
    return "batched" if update in ("auto", "kernel") else update


def fused_unavailable() -> str | None:
    """Why the fused Triton kernel cannot be loaded here, or None when it can."""
    try:
        import w2v.training.kernels.fused  # noqa: F401
    except Exception as error:  # a missing or broken triton surfaces as several types
        return f"could not be imported ({type(error).__name__}: {error})"
    return None


def uses_sparse_gradients(config: TrainConfig) -> bool:
    """Whether the tables give sparse gradients: for the autograd optimizers that take them."""
    return config.update == "autograd" and config.optimizer in ("sgd", "sparseadam", "adagrad")


def make_optimizer(config: TrainConfig, model: CBOW) -> torch.optim.Optimizer:
    default = OPTIMIZER_ALPHA.get(config.optimizer)
    if default is not None and config.alpha < default / 3:
        warnings.warn(f"alpha={config.alpha:g} is below a third of {config.optimizer}'s default "
                      f"{default:g}: at such rates every word vector still pointed one way "
                      f"after training (BENCHMARKS.md); leave alpha unset or raise it",
                      stacklevel=2)
    params = model.parameters()
    return {
        "sgd": lambda: torch.optim.SGD(params, lr=config.alpha),
        "adam": lambda: torch.optim.Adam(params, lr=config.alpha),
        "sparseadam": lambda: torch.optim.SparseAdam(list(params), lr=config.alpha),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=config.alpha),
        "adagrad": lambda: torch.optim.Adagrad(params, lr=config.alpha),
    }[config.optimizer]()


def epoch_seed(seed: int, epoch: int, part: int = 0) -> int:
    """A 63-bit seed for each (seed, epoch, part), so draws never repeat across epochs and a
    chunk's draws depend only on (seed, epoch, chunk): training can resume at any chunk."""
    return ((seed * 1_000_003 + epoch) * 1_000_003 + part + 1) % (2**63 - 1)
