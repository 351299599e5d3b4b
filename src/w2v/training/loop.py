"""The training loop, top to bottom: schedule, batches, step, loss accounting, progress.

Three ways to step, chosen by `TrainConfig.update`:
- "kernel" (the default on CPU): word2vec.c's loop compiled (`csrc/w2v_cpu.cpp`), one example
  at a time, threads updating the shared tables without locks as word2vec.c does;
- "batched" (the default on GPU): the same update for a batch of examples at once with tensor
  operations, applied in place without autograd bookkeeping (`sgd_step`);
- "autograd": the model's forward, `negative_sampling_loss(...).sum()`, `backward()` and a torch
  optimizer. With optimizer="sgd" it gives the same vectors as "batched" with
  batch_damping=False.
The learning rate decays linearly from `alpha` to `min_alpha` by corpus words processed, as in
word2vec.c, whatever the optimizer.
"""

import itertools
import math
import time
from dataclasses import dataclass

import torch

from w2v.corpus.encoding import EncodedCorpus
from w2v.corpus.vocab import Vocab, huffman_tree, keep_probability, noise_table
from w2v.errors import W2VError
from w2v.training.batches import CHUNK_TOKENS, chunk_batches, skipgram_pairs
from w2v.training.config import TrainConfig
from w2v.training.distributed import TableSync, local_threads
from w2v.training.kernels import cpu_kernel
from w2v.training.model import CBOW, negative_sampling_loss, sgd_step
from w2v.training.progress import Progress


@dataclass
class EpochStats:
    epoch: int
    loss: float  # exact mean per-example loss over the epoch, measured as it trained
    examples: int
    words: int  # raw in-vocabulary corpus words, before subsampling
    seconds: float
    loss_sum: float = 0.0  # the epoch's summed loss: loss * examples, without rounding

    @property
    def words_per_second(self) -> float:
        return self.words / max(self.seconds, 1e-9)


@dataclass
class Position:
    """Where a train() call stands, all it takes to resume it exactly: `epoch` epochs done, then
    `chunk` corpus chunks of the next one, whose loss so far sums to `loss_sum` over `examples`
    and which has run for `seconds`. Random draws are seeded by (seed, epoch, chunk), so no
    generator state needs keeping."""

    epoch: int = 0
    chunk: int = 0
    loss_sum: float = 0.0
    examples: int = 0
    seconds: float = 0.0
    chunk_words: int = 0  # the chunk size the rounds were counted in (0: not yet known)


@dataclass
class TracePoint:
    """One corpus chunk: words done by its end, its mean loss per example, the learning rate at
    its end, and its speed in raw corpus words per second."""

    words: float
    loss: float
    alpha: float
    words_per_second: float


class TrainingDiverged(W2VError):
    """The loss or the weights became NaN or infinite."""


MAX_CHUNK_WORDS = 1 << 20
MIN_CHUNK_WORDS = 1 << 14


def chunk_words(corpus_words: int, largest: int = MAX_CHUNK_WORDS) -> int:
    """Words per chunk: about 1/16 of an epoch, so progress, the learning rate and checkpoints
    refresh often even on a small corpus, within [16K, `largest`] words so a chunk's fixed cost
    (starting threads, a GPU sync) stays negligible."""
    return max(MIN_CHUNK_WORDS, min(largest, corpus_words // 16))


def check_finite(loss: float, epoch: int, words: float, config: TrainConfig, update: str):
    """Stop at the first non-finite loss, naming the likely cause."""
    if math.isfinite(loss):
        return
    cause = (f"the learning rate is too high for batch_size={config.batch_size} "
             "(summed updates of frequent words overshoot): lower batch_size or alpha"
             if update != "kernel" else "the learning rate is too high: lower alpha")
    raise TrainingDiverged(f"training diverged: the loss became {loss} in epoch {epoch} after "
                           f"{words:,.0f} words with alpha={config.alpha}; {cause}")


def linear_decay(start: float, end: float, progress: float) -> float:
    """word2vec.c's schedule: alpha falls linearly with the share of words processed."""
    return start - (start - end) * min(max(progress, 0.0), 1.0)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise W2VError(f"device={name!r} but this torch sees no CUDA GPU; use device='cpu'")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise W2VError(f"device={name!r} but only {torch.cuda.device_count()} GPU(s) are visible")
    return device


def epoch_seed(seed: int, epoch: int, part: int = 0) -> int:
    """A 63-bit seed for each (seed, epoch, part), so draws never repeat across epochs."""
    return ((seed * 1_000_003 + epoch) * 1_000_003 + part + 1) % (2**63 - 1)


def epoch_generator(seed: int, epoch: int, device="cpu", part: int = 0) -> torch.Generator:
    """A generator per (epoch, chunk), so a chunk's draws depend only on (seed, epoch, chunk)
    and training can resume at any chunk."""
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch, part))


def make_optimizer(config: TrainConfig, model: CBOW) -> torch.optim.Optimizer:
    params = model.parameters()
    return {
        "sgd": lambda: torch.optim.SGD(params, lr=config.alpha),
        "adam": lambda: torch.optim.Adam(params, lr=config.alpha),
        "sparseadam": lambda: torch.optim.SparseAdam(list(params), lr=config.alpha),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=config.alpha),
        "adagrad": lambda: torch.optim.Adagrad(params, lr=config.alpha),
    }[config.optimizer]()


def resolve_update(update: str, device: torch.device, hs: bool = False) -> str:
    """The update actually used: "auto" picks the kernel on CPU when it builds."""
    chosen = _resolve_update(update, device)
    if hs and chosen != "kernel":
        raise W2VError(f"hs=1 (hierarchical softmax) trains with the compiled CPU kernel only, "
                       f"not update={chosen!r}: use device='cpu' and update='auto' or 'kernel', "
                       "or negative sampling (hs=0)")
    return chosen


def _resolve_update(update: str, device: torch.device) -> str:
    if update == "kernel" and device.type != "cpu":
        raise W2VError(f"update='kernel' runs on the CPU only; use update='batched' on {device}")
    if update in ("auto", "kernel") and device.type == "cpu":
        if cpu_kernel() is not None:
            return "kernel"
        if update == "kernel":
            raise W2VError("update='kernel' needs the compiled CPU kernel, which did not build; "
                           "install a C++ compiler and ninja, or use update='batched'")
    return "batched" if update in ("auto", "kernel") else update


def uses_sparse_gradients(optimizer: str) -> bool:
    """Optimizers that accept the sparse gradients of nn.Embedding(sparse=True)."""
    return optimizer in ("sgd", "sparseadam", "adagrad")


def train_model(
    model: CBOW,
    corpus: EncodedCorpus,
    vocab: Vocab,
    config: TrainConfig,
    start_alpha: float | None = None,
    end_alpha: float | None = None,
    progress_stream=None,
    first_epoch: int = 0,
    epoch_hook=None,
    start: Position | None = None,
    chunk_hook=None,
    optimizer_state: dict | None = None,
    trace: list | None = None,
    sync: TableSync | None = None,
) -> list[EpochStats]:
    """Train `model` in place for config.epochs passes over `corpus`; returns per-epoch stats.

    `first_epoch` numbers the epochs of a later `train()` call after the earlier ones, so their
    random draws differ. `epoch_hook(event, stats)`, if given, is called with ("begin", None)
    before each epoch and ("end", that epoch's EpochStats) after it (Word2Vec's callbacks).
    `chunk_hook(position, optimizer, epoch_end, stop)` is called after every chunk (checkpoints
    hang there); `start` and `optimizer_state` resume a call from a saved position. A `trace`
    list gets a TracePoint per chunk (for loss curves). With `sync` (a torch.distributed run)
    this rank trains its share of the chunks and exchanges changed rows after each round.
    Raises TrainingDiverged at the first chunk whose loss is not finite."""
    device = next(model.parameters()).device
    update = resolve_update(config.update, device, bool(config.hs))
    schedule = (config.alpha if start_alpha is None else start_alpha,
                config.min_alpha if end_alpha is None else end_alpha)
    keep_prob = torch.from_numpy(keep_probability(vocab.counts, config.sample))
    table = torch.from_numpy(noise_table(vocab.counts, config.ns_exponent))
    empty = torch.empty(0)
    tree = ([torch.from_numpy(a) for a in huffman_tree(vocab.counts)] if config.hs
            else [empty.to(torch.int8), empty.to(torch.int32), empty.to(torch.int64)])
    run_epoch = _kernel_epoch if update == "kernel" else _batched_epoch
    if update != "kernel" and (config.workers or sync is not None):
        torch.set_num_threads(local_threads(config.workers))
    optimizer = make_optimizer(config, model) if update == "autograd" else None
    if optimizer is not None and optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)

    start = start or Position()
    epoch_words = float(len(corpus))
    total_words = epoch_words * config.epochs
    size = (config.sync_words if sync is not None
            else chunk_words(len(corpus), MAX_CHUNK_WORDS if update == "kernel" else CHUNK_TOKENS))
    world = sync.world if sync is not None else 1
    progress = Progress(total_words, stream=progress_stream,
                        start_words=start.epoch * epoch_words + _words_before(
                            corpus, size, start.chunk * world))
    if start.chunk and start.chunk_words != size:
        raise W2VError(f"the run being resumed counted its corpus in chunks of "
                       f"{start.chunk_words:,} words, this one would use {size:,} (a different "
                       f"update method than {update!r}, or another number of ranks): resume "
                       "on a machine that runs the same update")
    history = []
    for epoch in range(start.epoch, config.epochs):
        position = start if epoch == start.epoch else Position(epoch)
        position.chunk_words = size
        if epoch_hook is not None and position.chunk == 0:
            epoch_hook("begin", None)

        def finish(index: int, loss: float, examples: int, seconds: float, done: float,
                   words: float, position=position):
            """After each chunk: agree with the other ranks, check, account, trace, hook."""
            stop = None  # alone, the checkpointer decides from its own signal
            if sync is not None:
                wants_stop = getattr(chunk_hook, "signum", None) is not None
                totals = sync.exchange(loss, examples, wants_stop)
                loss, examples, stop = totals.loss, totals.examples, totals.stop
            check_finite(loss, position.epoch + 1, done, config, update)
            position.chunk = index + 1
            position.loss_sum += loss
            position.examples += examples
            position.seconds += seconds
            alpha = linear_decay(*schedule, done / total_words)
            if trace is not None:
                trace.append(TracePoint(done, loss / max(examples, 1), alpha,
                                        words / max(seconds, 1e-9)))
            progress.update(done, position.epoch + 1, config.epochs,
                            position.loss_sum / max(position.examples, 1), alpha)
            if chunk_hook is not None:
                chunk_hook(position, optimizer, False, stop)

        chunks = _pending_chunks(corpus, size, position, epoch * epoch_words,
                                 *((sync.rank, sync.world) if sync is not None else (0, 1)))
        run_epoch(model, config, keep_prob, table, schedule, optimizer, total_words, progress,
                  first_epoch + epoch, tree, position, chunks, finish,
                  *((sync.rank, sync.world) if sync is not None else (0, 1)))
        loss = position.loss_sum / max(position.examples, 1)
        history.append(EpochStats(first_epoch + epoch + 1, loss, position.examples, len(corpus),
                                  position.seconds, position.loss_sum))
        if epoch_hook is not None:
            epoch_hook("end", history[-1])
        if chunk_hook is not None:  # ranks stop only where they agreed to: at an exchange
            chunk_hook(Position(epoch + 1), optimizer, True, False if sync is not None else None)
    progress.close()
    return history


def _words_before(corpus: EncodedCorpus, size: int, chunks: int) -> float:
    """Words in an epoch's first `chunks` chunks: where a mid-epoch resume starts timing."""
    return float(sum(len(ids) for ids, _ in itertools.islice(corpus.chunks(size), chunks)))


def _pending_chunks(corpus: EncodedCorpus, size: int, position: Position, done: float,
                    rank: int = 0, world: int = 1):
    """The rest of an epoch from round `position.chunk` on, as (round, ids, starts, words done
    before this chunk). Alone, a round is one chunk; with `world` ranks, round r deals chunk
    r * world + rank to this rank, and ids is None where the corpus ran out first (the rank
    still joins the exchange). Skipped rounds count towards `done`, so the schedule resumes
    where it was."""
    chunks = corpus.chunks(size)
    for index in itertools.count():
        group = list(itertools.islice(chunks, world))
        if not group:
            return
        if index >= position.chunk:
            ids, starts = group[rank] if rank < len(group) else (None, None)
            yield index, ids, starts, done + sum(float(len(c)) for c, _ in group[:rank])
        done += sum(float(len(c)) for c, _ in group)


def _kernel_epoch(model, config, keep_prob, table, schedule, optimizer, total, progress,
                  seed_epoch, tree, position, chunks, finish, rank, world):
    """One epoch through the compiled kernel, a chunk of whole sentences per call."""
    kernel = cpu_kernel()
    syn0, syn1neg = model.in_embed.weight.data, model.out_embed.weight.data
    syn1 = model.hs_embed.weight.data if config.hs else torch.empty(0)
    keep32, table32 = keep_prob.float(), table.int()
    threads = local_threads(config.workers)
    for call, ids, starts, done in chunks:
        t0 = time.perf_counter()
        loss, n, words = 0.0, 0, 0.0
        if ids is not None:
            loss, n = kernel.train(syn0, syn1neg, syn1, torch.from_numpy(ids),
                                   torch.from_numpy(starts), 0, len(starts) - 1, keep32,
                                   table32, *tree, config.window, config.negative,
                                   bool(config.hs), bool(config.sg), bool(config.cbow_mean),
                                   config.shrink_windows, schedule[0], schedule[1], done, total,
                                   epoch_seed(config.seed, seed_epoch, call * world + rank),
                                   threads)
            words = float(len(ids))
        finish(call, loss, n, time.perf_counter() - t0, done + words, words)


def _batched_epoch(model, config, keep_prob, table, schedule, optimizer, total, progress,
                   seed_epoch, tree, position, chunks, finish, rank, world):
    """One epoch of tensor-built batches, stepped by `sgd_step` or by autograd + optimizer."""
    device = next(model.parameters()).device
    table = table.to(device, torch.int64)
    keep_prob = keep_prob.to(device)
    for call, ids, starts, done in chunks:
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        examples, words = 0, 0.0
        if ids is not None:
            generator = epoch_generator(config.seed, seed_epoch, device, call * world + rank)
            for batch in chunk_batches(ids, starts, keep_prob, table, config.window,
                                       config.negative, config.batch_size, generator,
                                       shrink=config.shrink_windows):
                alpha = linear_decay(*schedule, (done + words) / total)
                words += batch.words
                if len(batch) == 0:
                    continue
                b = batch
                if config.sg:
                    b = skipgram_pairs(b, table, config.negative, generator)
                loss_sum += _step(model, b, alpha, optimizer, config.batch_damping).sum()
                examples += len(b)
                if progress.due():
                    progress.update(done + words, position.epoch + 1, config.epochs,
                                    (position.loss_sum + float(loss_sum))
                                    / max(position.examples + examples, 1), alpha)
        finish(call, float(loss_sum), examples, time.perf_counter() - t0, done + words, words)


def _step(model: CBOW, b, alpha: float, optimizer, damp: bool) -> torch.Tensor:
    """One update on batch `b`; returns its per-example loss (B,) before the update."""
    if optimizer is None:
        return sgd_step(model, b.context, b.mask, b.target, b.negatives, alpha, damp)
    for group in optimizer.param_groups:
        group["lr"] = alpha
    optimizer.zero_grad(set_to_none=True)
    loss = negative_sampling_loss(model(b.context, b.mask, b.target, b.negatives))
    loss.sum().backward()
    optimizer.step()
    return loss.detach()
