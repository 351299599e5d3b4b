"""Data-parallel training over torch.distributed: several processes (ranks), one corpus.

Started by `torchrun` (or anything that sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT), a
`Word2Vec` joins the group itself: gloo on CPUs, NCCL on GPUs. Rank 0 builds the vocabulary and
sends it to the others, so every rank has the same ids; every rank starts from the same seeded
tables. The corpus is cut into chunks of `sync_words` words, dealt round-robin: in round r, rank
k trains chunk r * world + k with its own threads, and then every rank joins one exchange.

The exchange sums changes, it does not average tables: each rank keeps a copy of the tables as
they were after the last exchange; rows that changed on any rank are sent (a mask of V int32
first, then the changed rows' deltas, summed with all_reduce) and each rank sets row = base +
sum of all ranks' deltas. One rank's update therefore lands in full on every rank, as if all
ranks wrote to one shared table with a delay of one round (word2vec.c's lock-free threads,
stretched across processes), where averaging would divide every update by the number of ranks.
Bytes sent per exchange and table: 4 V (mask) + 4 D R (R changed rows), each all_reduce
moving about 2 (world - 1) / world times that per rank on a ring.
"""

import datetime
import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError


def world_from_env() -> int:
    """The group size torchrun announced (1 when not started by it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError as e:
        raise W2VError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number; start the "
                       "job with torchrun") from e


def join(device: torch.device, timeout_seconds: float) -> bool:
    """Join the process group torchrun describes, once; False when running alone."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if world_from_env() <= 1:
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_seconds))
    except (RuntimeError, ValueError) as e:
        raise W2VError(f"cannot join the torch.distributed group ({backend}): {e}; start the "
                       "job with torchrun, which sets RANK, WORLD_SIZE, MASTER_ADDR, "
                       "MASTER_PORT") from e
    return True


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def local_threads(workers: int) -> int:
    """CPU threads per rank: `workers`, or the cores this process may use (the affinity that
    taskset or a cluster scheduler sets, not every core of the machine) shared among the
    machine's ranks."""
    if workers:
        return workers
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    usable = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
              else os.cpu_count() or 1)
    return max(1, usable // max(local, 1))


def share_vocab(vocab: Vocab | None, timeout_seconds: float) -> Vocab:
    """Rank 0's vocabulary on every rank: rank 0 passes its own, the others None."""
    if rank() == 0 and vocab is None:
        raise ValueError("rank 0 must give the vocabulary it shares")
    box: list = [(vocab.words, vocab.counts, vocab.corpus_words) if vocab is not None else None]
    _collective(lambda: dist.broadcast_object_list(box, src=0), "sharing the vocabulary",
                timeout_seconds)
    if vocab is not None:
        return vocab
    words, counts, corpus_words = box[0]
    return Vocab(words, counts, corpus_words)


def _collective(call, what: str, timeout_seconds: float):
    try:
        return call()
    except (RuntimeError, dist.DistBackendError) as e:
        raise RankLost(f"rank {rank()}: lost the other ranks while {what} (a rank died, or hung "
                       f"for more than dist_timeout={timeout_seconds:g} s): {_first_line(e)}; "
                       "the job stops; continue it with --resume from its checkpoints") from e


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


class RankLost(W2VError):
    """A collective failed or timed out: another rank died or hung."""


@dataclass
class RoundTotals:
    loss: float  # summed over ranks
    examples: int
    stop: bool  # any rank asked to stop (a signal): every rank stops at the same round


class TableSync:
    """Keeps the ranks' tables in agreement by summing each rank's changes since the last
    exchange (see the module docstring); counts the bytes it sends."""

    def __init__(self, tables: list[torch.Tensor], timeout_seconds: float):
        self.tables = tables
        self.rank, self.world = rank(), world()
        self.base = [t.detach().clone() for t in tables]
        self.timeout = timeout_seconds
        self.bytes_sent = 0
        self.rows_sent = 0
        self.seconds = 0.0  # spent in exchanges, waiting for slower ranks included

    @torch.no_grad()
    def exchange(self, loss: float, examples: int, stop: bool) -> RoundTotals:
        t0 = time.perf_counter()
        changed = torch.stack([(t != b).any(1) for t, b in zip(self.tables, self.base,
                                                                 strict=True)])  # (T, V)
        mask = changed.to(torch.int32)
        totals = torch.tensor([loss, float(examples), float(stop)], dtype=torch.float64,
                              device=mask.device)
        self._reduce(mask, "exchanging changed rows")
        self._reduce(totals, "exchanging changed rows")
        self.bytes_sent += mask.numel() * mask.element_size() + totals.numel() * 8
        for table, base, rows in zip(self.tables, self.base, mask.bool(), strict=True):
            index = rows.nonzero().squeeze(1)  # (R,)
            if len(index) == 0:
                continue
            delta = table[index] - base[index]  # (R, D)
            self._reduce(delta, "exchanging changed rows")
            self.bytes_sent += delta.numel() * delta.element_size()
            self.rows_sent += len(index)
            fresh = base[index] + delta
            table[index] = fresh
            base[index] = fresh
        self.seconds += time.perf_counter() - t0
        return RoundTotals(float(totals[0]), int(totals[1]), bool(totals[2]))

    def _reduce(self, tensor: torch.Tensor, what: str) -> None:
        _collective(lambda: dist.all_reduce(tensor, op=dist.ReduceOp.SUM), what, self.timeout)


def leave() -> None:
    """Leave the group (after training, or when a rank was lost)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
