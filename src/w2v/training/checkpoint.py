"""Checkpoints: when to save the training state, what to call the files, which one to resume.

A checkpoint is a model file (`Word2Vec.save`'s native safetensors format, no pickle) with the
training position, the epoch history and any optimizer state added, named after the epoch and
chunk it follows: `checkpoint-EEEE-CCCCCC.w2v`. Files are written to a temporary name and renamed,
so every file matching that name is complete, and the newest is where a resume continues. The
`KEEP` newest are kept, older ones removed.
"""

import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import torch

from w2v.atomic import check_writable
from w2v.errors import W2VError
from w2v.training.loop import Position

KEEP = 2
NAME = re.compile(r"checkpoint-(\d{4,})-(\d{6,})\.w2v")
OPTIMIZER_PREFIX = "optimizer."
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; the state was saved to `path` before stopping."""

    def __init__(self, signum: int, path: Path):
        super().__init__(f"{signal.Signals(signum).name}: training state saved to {path}")
        self.signum, self.path = signum, path


def checkpoint_name(position: Position, first_epoch: int = 0) -> str:
    """Named by the model's epoch count (a later train() call's epochs follow the earlier
    ones') and the chunk, so the newest is always the last in order."""
    return f"checkpoint-{first_epoch + position.epoch:04d}-{position.chunk:06d}.w2v"


def checkpoints(folder) -> list[Path]:
    """The complete checkpoints in `folder`, oldest first (by epoch, then chunk)."""
    found = []
    for path in Path(folder).glob("checkpoint-*.w2v"):
        match = NAME.fullmatch(path.name)
        if match:
            found.append(((int(match[1]), int(match[2])), path))
    return [path for _, path in sorted(found)]


def latest(folder) -> Path:
    """The newest complete checkpoint in `folder`; W2VError if there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise W2VError(f"cannot resume from {folder}: no such folder; give the --checkpoint-dir "
                       "of the run to continue")
    found = checkpoints(folder)
    if not found:
        raise W2VError(f"cannot resume from {folder}: it holds no checkpoint-*.w2v file; the run "
                       "stopped before its first checkpoint, start it again")
    return found[-1]


def prune(folder, keep: int = KEEP) -> None:
    for path in checkpoints(folder)[:-keep]:
        path.unlink(missing_ok=True)


class Checkpointer:
    """Saves through `save(path, position, optimizer)` at each epoch end, every `every_minutes`
    (0: never by time) and when SIGINT or SIGTERM arrives, which then stops training by raising
    TrainingInterrupted. Use it as a context manager: it holds the signal handlers meanwhile."""

    def __init__(self, folder, every_minutes: float, save, first_epoch: int = 0):
        self.folder = Path(folder)
        self.first_epoch = first_epoch
        self.every = every_minutes * 60.0
        self.save = save
        self.last = time.monotonic()
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> "Checkpointer":
        if self.folder.exists() and not self.folder.is_dir():
            raise W2VError(f"checkpoint_dir {self.folder} is a file; give a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        check_writable(self.folder / checkpoint_name(Position()))  # now, not an epoch from now
        for stale in self.folder.glob(".checkpoint-*.tmp"):  # a write cut short by a kill
            stale.unlink(missing_ok=True)
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def _on_signal(self, signum, frame) -> None:
        # Save at the next chunk boundary (within a second); a second signal acts at once.
        self.signum = signum
        self._restore()

    def __call__(self, position: Position, optimizer, epoch_end: bool,
                 stop: bool | None = None) -> None:
        """Save if due; stop after saving if a signal came. In a torchrun job `stop` is what
        all ranks agreed on at the last exchange, so that they all stop at the same round."""
        if stop is None:
            stop = self.signum is not None
        due = (epoch_end or stop
               or (self.every > 0 and time.monotonic() - self.last >= self.every))
        if not due:
            return
        path = self.folder / checkpoint_name(position, self.first_epoch)
        self.save(path, position, optimizer)
        prune(self.folder)
        self.last = time.monotonic()
        if stop:
            raise TrainingInterrupted(self.signum or signal.SIGTERM, path)


def optimizer_arrays(optimizer) -> tuple[dict[str, np.ndarray], dict]:
    """A torch optimizer's state as float32 arrays (`optimizer.<param>.<key>`) plus what is not
    a tensor (hyperparameters, shapes) as JSON-ready values."""
    if optimizer is None:
        return {}, {}
    state = optimizer.state_dict()
    arrays, shapes, scalars = {}, {}, {}
    for param, values in state["state"].items():
        for key, value in values.items():
            name = f"{OPTIMIZER_PREFIX}{param}.{key}"
            if not isinstance(value, torch.Tensor):  # e.g. SparseAdam's step: a Python int
                scalars[name] = value
                continue
            tensor = value.detach().cpu()
            shapes[name] = [list(tensor.shape), str(tensor.dtype).removeprefix("torch.")]
            # One row: the native format's extra tables are 2-D float32.
            arrays[name] = tensor.reshape(1, tensor.numel()).float().numpy()
    return arrays, {"param_groups": state["param_groups"], "tensors": shapes,
                    "scalars": scalars}


def optimizer_state(arrays: dict[str, np.ndarray], meta: dict) -> dict | None:
    """The inverse of `optimizer_arrays`: a state dict for `optimizer.load_state_dict`."""
    if not meta:
        return None
    state: dict = {}
    for name, (shape, dtype) in meta["tensors"].items():
        param, key = name[len(OPTIMIZER_PREFIX):].split(".", 1)
        tensor = torch.from_numpy(arrays[name]).to(getattr(torch, dtype)).reshape(shape)
        state.setdefault(int(param), {})[key] = tensor
    for name, value in meta.get("scalars", {}).items():
        param, key = name[len(OPTIMIZER_PREFIX):].split(".", 1)
        state.setdefault(int(param), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}
