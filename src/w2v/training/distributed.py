"""Data-parallel training over torch.distributed: several processes (ranks), one corpus.

Started by `torchrun` (or anything that sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT), a
`Word2Vec` joins the group itself: gloo on CPUs, NCCL on GPUs. Rank 0 builds the vocabulary and
sends it to the others, so every rank has the same ids; every rank starts from the same seeded
tables. The corpus is cut into chunks of `sync_words` words, dealt round-robin: in round r, rank
k trains chunk r * world + k with its own threads, and then every rank joins one exchange.

The exchange combines changes, not tables: each rank keeps a copy of the tables as they were
after the last exchange; rows that any rank touched are sent (a mask of V bytes first, whose
sum counts the ranks that touched each row, then those rows' deltas with each rank's expected
updates to them, summed with all_reduce) and each rank sets row = base + `combine_changes`:
the summed change scaled to how far one process making all the ranks' updates in a row would
have moved it. A rare word's row, touched by one rank or barely moved, takes the changes in
full, as one shared table would; a frequent word's row, which every rank took to the same
target from the same stale base, takes about their mean, where the plain sum would step it
`world` times as far (the overshoot that made four ranks diverge; BENCHMARKS.md compares the
rules).
With `overlap` (`sync_overlap`), the masks and totals are still summed at once, but the rows'
changes travel (`async_op`) while the next round trains on this rank's own tables; they are
applied before the next exchange, to each row as base + combined change + what the round since
has changed in it, so that the tables lag the others' changes by two rounds instead of one.
Bytes sent per exchange and table: V (mask) + (b D + 8) R (R touched rows, b = 4 bytes a
number, 2 with sync_dtype bfloat16), each all_reduce moving about 2 (world - 1) / world times
that per rank on a ring.
"""

import atexit
import datetime
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np
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
    # Gloo's threads must stop while the interpreter is whole: a group still open at
    # finalization aborts the process (SIGABRT, "terminate called without an active
    # exception"), whatever exit status the run had chosen (pytorch#179291).
    atexit.register(leave)
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


ROUNDS_PER_EPOCH = 64  # at least: each rank's tables miss at most 1/64 of an epoch
MAX_SYNC_WORDS = 1 << 18  # the automatic interval's largest (BENCHMARKS.md: larger loses accuracy)


def sync_interval(sync_words: int, epoch_words: float, world: int, vocab_size: int) -> int:
    """Words each rank trains between exchanges: `sync_words` (0: MAX_SYNC_WORDS), shrunk
    where the corpus is so small that a round (`world` x that) would be more than
    1/ROUNDS_PER_EPOCH of an epoch, with a warning if `sync_words` was given: the
    staler the tables a rank trains on, the more its changes and the others' collide (4 ranks
    exchanging every 262,144 words on 2M words, two rounds an epoch, lost three quarters of
    one process's analogy score; BENCHMARKS.md). Refused where a round would train fewer words
    than 1/16 of the vocabulary's rows: an exchange passes over every row (the changed-row mask),
    which costs about what training that many words does."""
    floor = -(-vocab_size // (16 * world))
    if 0 < sync_words < floor:
        raise W2VError(f"sync_words={sync_words:,} is too small for a vocabulary of "
                       f"{vocab_size:,} words on {world} ranks: every exchange passes over every "
                       f"row, so rounds of {world} x {sync_words:,} words would spend more on "
                       f"exchanges than on training; give --sync-words {floor:,} or more")
    interval = min(sync_words or MAX_SYNC_WORDS, int(epoch_words // (ROUNDS_PER_EPOCH * world)))
    if interval < floor:
        raise W2VError(f"a corpus of {epoch_words:,.0f} words is too small for {world} ranks: "
                       f"a round of 1/{ROUNDS_PER_EPOCH} of an epoch would train fewer words "
                       f"than 1/16 of its {vocab_size:,}-word vocabulary, and longer rounds lose "
                       "accuracy; train it with fewer ranks, or in one process")
    if 0 < interval < sync_words and rank() == 0:
        warnings.warn(f"sync_words={sync_words:,} is more than 1/{ROUNDS_PER_EPOCH} of an "
                      f"epoch of {epoch_words:,.0f} words on {world} ranks: the ranks "
                      f"exchange every {interval:,} words instead", stacklevel=2)
    return interval


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


def check_same_corpus(words: int, sentences: int, checksum: int, timeout_seconds: float) -> None:
    """Refuse, on every rank alike, a job whose ranks encoded different corpora: each rank
    would train on chunks the others do not have, and the ids would not agree."""
    mine = (words, sentences, checksum)
    every: list = [None] * world()
    _collective(lambda: dist.all_gather_object(every, mine), "comparing the corpora",
                timeout_seconds)
    differ = [r for r, theirs in enumerate(every) if theirs != every[0]]
    if differ:
        w, n, _ = every[differ[0]]
        raise W2VError(f"rank {differ[0]}'s corpus differs from rank 0's ({w:,} words in {n:,} "
                       f"sentences against {every[0][0]:,} in {every[0][1]:,}, or the same "
                       "sizes with other words): give every rank the same corpus file")


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
    save: bool = False  # any rank's checkpoint is due: the rare rows held back go first


# kappa: one update moves a row a share kappa * alpha (the starting rate) of the way to its
# target. Measured (BENCHMARKS.md, 4 ranks): 0.05 best on text8-like and on 2M words; 0.03 and
# below let frequent rows overshoot (the job diverged), 0.3 and above undertrain shared rows.
SATURATION = 0.05


def expected_updates(ids: np.ndarray, keep: np.ndarray, noise: np.ndarray, window: int,
                     negative: int, sg: bool, alpha: float,
                     tree: tuple[np.ndarray, np.ndarray] | None = None,
                     bags: tuple[np.ndarray, np.ndarray, int] | None = None) -> list[np.ndarray]:
    """Each table's exposure x = c n per row (input, output, and Huffman nodes with `tree` =
    (point, path)) for a chunk `ids`: n the updates that training it makes to the row,
    expected from its words (kept at `keep`), their windows (2 b context words, b uniform in
    1..window: window + 1 on average) and the noise words (`noise`, each word's share of the
    draws), and c = SATURATION * alpha the share of the way to its target that one update
    moves a row, with alpha the call's starting rate (the decaying one would call rows fresh
    late in training, and the sum overshoot there: the loss rose in the last epoch). With
    `bags` (rows, starts: `vectors.ngrams.bags`, and the input table's rows), a word's use
    updates every row of its bag, and the input exposure covers the n-gram rows too."""
    kept = np.bincount(ids, minlength=len(keep)) * keep  # (V,) expected kept occurrences
    uses = kept * (window + 1)  # as a context word (CBOW) or a pair's context (skip-gram)
    targets = uses if sg else kept  # predictions of each word
    c = SATURATION * alpha
    inputs = uses
    if bags is not None:
        rows, starts, table_rows = bags
        inputs = np.bincount(rows, weights=np.repeat(uses, np.diff(starts)),
                             minlength=table_rows)
    exposure = [c * inputs, c * (targets + negative * targets.sum() * noise)]
    if tree is not None:
        point, path = tree
        nodes = np.bincount(point, weights=np.repeat(targets, np.diff(path)),
                            minlength=len(keep))
        exposure.append(c * nodes)
    return [x.astype(np.float32) for x in exposure]


def combine_changes(summed: torch.Tensor, ranks: torch.Tensor, reached: torch.Tensor,
                    exposure: torch.Tensor) -> torch.Tensor:
    """The change every rank applies to rows changed by `summed` (R, D) in all, by `ranks` (R,)
    ranks, from each rank's exposure x_r (see `expected_updates`), given summed over the ranks
    as `exposure` (R,) = sum x_r and `reached` (R,) = sum (1 - e^-x_r).

    A row that one update moves a share c of the way to its target, moved n_r times by rank r
    from the same base, has gone (1 - e^-x_r) of the way there on that rank; one process making
    all the ranks' updates in a row would have gone (1 - e^-sum x_r). The summed change is
    scaled to that: in full where the rows barely moved (rare words: the ranks' changes add up,
    as in one shared table), to their mean where every rank reached the target (frequent
    words, where the sum would overshoot `ranks` times)."""
    sequential = -torch.expm1(-exposure)
    scale = torch.where(reached > 0, sequential / reached.clamp_min(1e-30),
                        1.0 / ranks.to(summed.dtype))
    return summed * scale.unsqueeze(1)


@dataclass
class _Pending:
    """One table's sums still travelling after an overlapped exchange."""
    table: int
    index: torch.Tensor  # (R,) the rows sent
    ranks: torch.Tensor  # (R,) how many ranks touched each
    changes: torch.Tensor  # (R, D) this rank's changes, summed over the ranks once done
    moved: torch.Tensor  # (R, 2) the combining rule's exposures, likewise
    sent: torch.Tensor  # (R, D) the rows as they were when sent
    works: list


class TableSync:
    """Keeps the ranks' tables in agreement by combining each rank's changes since the last
    exchange (see the module docstring); counts the bytes it sends."""

    def __init__(self, tables: list[torch.Tensor], timeout_seconds: float,
                 dtype: torch.dtype = torch.float32, overlap: bool = False):
        self.tables = tables
        self.dtype = dtype  # of the row changes summed across ranks
        self.overlap = overlap  # the rows' sums travel while the next round trains
        self.pending: list[_Pending] = []
        self.rank, self.world = rank(), world()
        self.base = [t.detach().clone() for t in tables]
        self.timeout = timeout_seconds
        self.hot: list[torch.Tensor] = []  # per word table, the rows exchanged every round
        self.rare_every = 1
        self.rounds = 0
        self.held: list[torch.Tensor] = []  # per word table: rare rows touched, not yet sent
        self.held_exposure: list[np.ndarray] = []
        self.bytes_sent = 0
        self.rows_sent = 0
        self.seconds = 0.0  # spent in exchanges, waiting for slower ranks included

    def tier(self, hot: list[np.ndarray], rare_every: int) -> None:
        """Ji et al.'s tiered schedule (2016): the `hot` rows of the first tables (bool, one
        mask per table: the input vectors, with subwords their n-gram rows too, and the output
        vectors) are exchanged every round, the others every `rare_every` rounds, their changes
        and exposures gathered meanwhile, so that a rare row moves as far as if it had been
        sent each round. The tree's rows are nodes, not words: they are not tiered."""
        self.hot, self.rare_every = [torch.from_numpy(h) for h in hot], rare_every
        self.held = [torch.zeros(len(h), dtype=torch.bool) for h in hot]
        self.held_exposure = [np.zeros(len(h), dtype=np.float32) for h in hot]

    def flush(self) -> None:
        """Every rank at an epoch's end or before a checkpoint: the sums still travelling
        applied, and one exchange of the rare rows held back, so that the tables agree on every
        rank there (the checkpoint, the final vectors)."""
        self.settle()
        if self.rare_every <= 1:
            return
        self.rounds = self.rare_every - 1  # the next exchange is due
        overlap, self.overlap = self.overlap, False
        try:
            self.exchange(0.0, 0, False,
                          [np.zeros(len(t), dtype=np.float32) for t in self.tables],
                          [torch.zeros(len(t), dtype=torch.bool, device=t.device)
                           for t in self.tables])
        finally:
            self.overlap = overlap

    def settle(self) -> None:
        """Wait for the sums an overlapped exchange left travelling and apply them: each row
        becomes the agreed base + combined change, plus what this rank's latest round has
        changed in it since (tested: the ranks end with identical tables)."""
        t0 = time.perf_counter()
        for p in self.pending:
            for work in p.works:
                _collective(work.wait, "exchanging changed rows", self.timeout)
            table, base = self.tables[p.table], self.base[p.table]
            agreed = base[p.index] + combine_changes(p.changes.to(table.dtype), p.ranks,
                                                     p.moved[:, 0], p.moved[:, 1])
            # agreed + 0 where the row did not move since: exactly the same on every rank.
            table[p.index] = agreed + (table[p.index] - p.sent)
            base[p.index] = agreed
        self.pending = []
        self.seconds += time.perf_counter() - t0

    def _tiered(self, touched: list[torch.Tensor], exposure: list[np.ndarray] | None):
        """This round's rows and exposures under the schedule: rare rows held back but on
        every `rare_every`-th round, when everything held goes."""
        self.rounds += 1
        due = self.rounds % self.rare_every == 0
        touched = list(touched)
        # A rank that trained nothing this round may still hold rare rows' exposure.
        exposure = ([np.zeros(len(t), dtype=np.float32) for t in self.tables]
                    if exposure is None else list(exposure))
        for t, held in enumerate(self.held):
            hot_rows = self.hot[t].numpy()
            hot = self.hot[t].to(touched[t].device)
            held |= touched[t].cpu() & ~self.hot[t]
            self.held_exposure[t] += np.where(hot_rows, 0, exposure[t])
            if due:
                touched[t] = (touched[t] & hot) | held.to(touched[t].device)
                exposure[t] = np.where(hot_rows, exposure[t], self.held_exposure[t])
                held.zero_()
                self.held_exposure[t][:] = 0
            else:
                touched[t] = touched[t] & hot
        return touched, exposure

    @torch.no_grad()
    def exchange(self, loss: float, examples: int, stop: bool,
                 exposure: list[np.ndarray] | None = None,
                 touched: list[torch.Tensor] | None = None, save: bool = False) -> RoundTotals:
        """One exchange: the job's totals back, the tables combined. `exposure`: this rank's
        per table (`expected_updates`; None: it trained nothing); `touched`: per table, the rows
        it may have changed (bool (V,)), as the compiled kernel reports them; None: found by
        comparing every table with its base, two passes over all of it."""
        self.settle()
        t0 = time.perf_counter()
        if touched is None:
            touched = [(t != b).any(1) for t, b in zip(self.tables, self.base, strict=True)]
        if self.rare_every > 1:
            touched, exposure = self._tiered(touched, exposure)
        # One byte a row while the count of ranks fits in it: a quarter of int32's traffic.
        # One mask for all tables, whose lengths differ with subwords (the n-gram rows).
        mask = torch.cat(touched).to(torch.uint8 if self.world < 256 else torch.int32)
        totals = torch.tensor([loss, float(examples), float(stop), float(save)],
                              dtype=torch.float64,
                              device=mask.device)
        self._reduce(mask, "exchanging changed rows")
        self._reduce(totals, "exchanging changed rows")
        self.bytes_sent += mask.numel() * mask.element_size() + totals.numel() * 8
        masks = torch.split(mask, [len(t) for t in self.tables])
        for t, (table, base, ranks) in enumerate(zip(self.tables, self.base, masks, strict=True)):
            index = ranks.nonzero().squeeze(1)  # (R,)
            if len(index) == 0:
                continue
            x = (torch.from_numpy(exposure[t]).to(table.device)[index]
                 if exposure is not None and t < len(exposure)
                 else torch.zeros(len(index), device=table.device))  # (R,)
            changes = (table[index] - base[index]).to(self.dtype)  # (R, D)
            # The exposures set how far a row moves: they stay float32 whatever the changes' type.
            moved = torch.stack([-torch.expm1(-x), x], 1)  # (R, 2)
            self.bytes_sent += sum(p.numel() * p.element_size() for p in (changes, moved))
            self.rows_sent += len(index)
            if self.overlap:
                works = [_collective(lambda p=p: dist.all_reduce(p, async_op=True),
                                     "exchanging changed rows", self.timeout)
                         for p in (changes, moved)]
                self.pending.append(_Pending(t, index, ranks[index], changes, moved,
                                             table[index], works))
                continue
            for payload in (changes, moved):
                self._reduce(payload, "exchanging changed rows")
            fresh = base[index] + combine_changes(changes.to(table.dtype), ranks[index],
                                                  moved[:, 0], moved[:, 1])
            table[index] = fresh
            base[index] = fresh
        self.seconds += time.perf_counter() - t0
        agreed = RoundTotals(float(totals[0]), int(totals[1]), bool(totals[2]), bool(totals[3]))
        if agreed.stop or agreed.save:  # a checkpoint follows: every rank's rows in it
            self.flush()
        return agreed

    def _reduce(self, tensor: torch.Tensor, what: str) -> None:
        _collective(lambda: dist.all_reduce(tensor, op=dist.ReduceOp.SUM), what, self.timeout)


def leave() -> None:
    """Leave the group (after training, or when a rank was lost)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
