"""Persistence: model files, checkpoints, and when to write them.

A model file is a native vectors file (safetensors, never pickle: `w2v.vectors.native`) whose
"vectors" are syn0, with the other tables ("syn1neg", and "syn1" with hs) and the settings
added: `write_model` and `read_model`, which `Word2Vec.save` and `Word2Vec.load` call. A
checkpoint is a model file with where its training stands added (the train() call, its
`Position`, the epoch history, the corpus it read, any optimizer state), named after the epoch
and chunk it follows: `checkpoint-EEEE-CCCCCC.w2v`. Files are written to a temporary name and
renamed, so every file matching that name is complete, and the newest is where a resume
continues. The `KEEP` newest are kept, older ones removed. `Checkpointer` decides when: at each
epoch end, every few minutes, and when SIGINT or SIGTERM arrives.
"""

import dataclasses
import json
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from w2v.atomic import check_writable
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError
from w2v.training.config import TrainConfig
from w2v.training.loop import Position, State, check_tables
from w2v.training.model import CBOW
from w2v.vectors.keyedvectors import FastTextKeyedVectors
from w2v.vectors.native import NGRAMS, read_native_model, write_native

KEEP = 2
NAME = re.compile(r"checkpoint-(\d{4,})-(\d{6,})\.w2v")
OPTIMIZER_PREFIX = "optimizer."
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
MODEL_KIND = "model"  # a model file's metadata "kind": not plain vectors
TRAINING_KEY = "training"  # a checkpoint's metadata entry: where training stands (JSON)
VOCAB_ROWS = "vectors_vocab"  # with subwords: the words' own input rows (gensim's name)
LOCKF = "vectors_lockf"  # (1, rows of syn0): the lock factors of pretrained rows, when set


@dataclass
class SavedModel:
    """A model file's contents: settings, vocabulary, tables as numpy arrays ("syn0",
    "syn1neg", "syn1" with hs, a checkpoint's "optimizer.*") and, for a checkpoint, where its
    training stood (`training`, else None)."""

    config: TrainConfig
    vocab: Vocab
    tables: dict[str, np.ndarray]
    training: dict | None = None


def write_model(path, config: TrainConfig, vocab: Vocab, model: CBOW,
                tensors: dict[str, np.ndarray] | None = None,
                metadata: dict[str, str] | None = None) -> None:
    """Write the model (a checkpoint adds `tensors` and `metadata`); it reads as vectors too."""
    def numpy(table) -> np.ndarray:
        return table.weight.detach().cpu().numpy()

    extra = {"syn1neg": numpy(model.out_embed)}
    if model.hs_embed is not None:
        extra["syn1"] = numpy(model.hs_embed)
    if model.lockf is not None:  # one row: the native format's extra tables are 2-D
        extra[LOCKF] = model.lockf.cpu().numpy()[None, :]
    syn0, subwords = numpy(model.in_embed), {}
    if model.buckets:  # the file's vectors are the words' as users get them: bag means
        kv = FastTextKeyedVectors.from_input_table(vocab.words, syn0, config.min_n, config.max_n)
        extra |= {VOCAB_ROWS: syn0[:len(vocab)], NGRAMS: kv.vectors_ngrams}
        syn0, subwords = kv.vectors, kv.metadata()
    write_native(path, vocab.words, syn0, vocab.counts,
                 extra={**extra, **(tensors or {})},
                 metadata={"kind": MODEL_KIND, "config": json.dumps(config.to_dict()),
                           "corpus_words": str(vocab.corpus_words), **subwords,
                           **(metadata or {})})


def read_model(path) -> SavedModel:
    """Read a file written by `write_model`, through one open; W2VError for plain vectors."""
    words, syn0, counts, tables, metadata = read_native_model(path)
    if metadata.get("kind") != MODEL_KIND:
        raise W2VError(f"{path} holds vectors, not a w2v model: load it with "
                       "KeyedVectors.load, or save a model with Word2Vec.save")
    config = TrainConfig.from_dict(json.loads(metadata["config"]))
    training = json.loads(metadata[TRAINING_KEY]) if TRAINING_KEY in metadata else None
    if config.subwords:  # fastText's input matrix again: the words' rows, then the buckets'
        syn0 = np.concatenate([tables.pop(VOCAB_ROWS), tables.pop(NGRAMS)])
    return SavedModel(config, Vocab(words, counts, int(metadata["corpus_words"])),
                      {"syn0": syn0, **tables}, training)


@dataclass
class Job:
    """What every checkpoint of one train() call holds besides its `State`: the model, the
    call (`run`: first_epoch, epochs, start_alpha, end_alpha, and world in a torchrun job),
    and the corpus it reads, by which a resume checks that it reads the same one."""

    config: TrainConfig
    vocab: Vocab
    model: CBOW
    run: dict
    corpus_file: str | None
    corpus_ids: int
    corpus_sentences: int
    writer: bool = True  # False on the other ranks of a torchrun job: rank 0 alone writes


def write_checkpoint(path, job: Job, state: State, optimizer) -> None:
    """The model plus what resuming needs: the call, its position, the history so far, the
    optimizer state, and the corpus to re-read and check."""
    arrays, optimizer_meta = optimizer_arrays(optimizer)
    training = {
        "run": job.run, "position": dataclasses.asdict(state.position),
        "history": [dataclasses.asdict(h) for h in state.history],
        "optimizer": optimizer_meta, "corpus_file": job.corpus_file,
        "corpus_ids": job.corpus_ids, "corpus_sentences": job.corpus_sentences,
    }
    write_model(path, job.config, job.vocab, job.model, arrays,
                {TRAINING_KEY: json.dumps(training)})


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
    """Writes `job`'s checkpoints into `folder` at each epoch end, every `every_minutes` (0:
    never by time) and when SIGINT or SIGTERM arrives, which then stops training by raising
    TrainingInterrupted. Use it as a context manager: it holds the signal handlers meanwhile."""

    def __init__(self, folder, every_minutes: float, job: Job):
        self.folder = Path(folder)
        self.job = job
        self.first_epoch = job.run["first_epoch"]
        self.every = every_minutes * 60.0
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

    def due(self) -> bool:
        """Whether `checkpoint_every` minutes have passed since the last save."""
        return self.every > 0 and time.monotonic() - self.last >= self.every

    def save_if_due(self, state: State, optimizer, epoch_end: bool = False,
                    stop: bool | None = None) -> None:
        """Save if due; stop after saving if a signal came. In a torchrun job `stop` is what
        all ranks agreed on at the last exchange, so that they all stop at the same round."""
        if stop is None:
            stop = self.signum is not None
        if not (epoch_end or stop or self.due()):
            return
        check_tables(self.job.model, state.position, self.job.config.alpha)  # every rank
        path = self.folder / checkpoint_name(state.position, self.first_epoch)
        if self.job.writer:  # the tables agree after every exchange: one copy is enough
            write_checkpoint(path, self.job, state, optimizer)
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
