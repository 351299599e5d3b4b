"""The training loop: one function per update method, each read top to bottom from the first
chunk to the last, and the small pieces they share.

- `train_kernel` ("kernel", the default on CPU): word2vec.c's loop compiled
  (`kernels/w2v_cpu.cpp`), one call per chunk of whole sentences; inside it the learning rate
  falls word by word and `workers` threads update the shared tables without locks;
- `train_fused` ("fused", the default on a CUDA GPU): the same loop as a Triton kernel
  (`kernels/fused.py`), one training launch per chunk, thousands of programs walking it;
- `train_batched` ("batched", the GPU fallback, and "autograd"): batches of examples built
  with tensor operations a chunk at a time, stepped by word2vec.c's update in place
  (`model.sgd_step`) or by `backward()` and a torch optimizer.

For every chunk, in this order: the learning rate, the examples, the step, the loss, the
accounting (in a torchrun job, the exchange of changed rows first), progress, a checkpoint if one
is due. Everything fixed for a train() call travels as one `Plan`; what changes as it runs (its
`Position`, the epoch history, the per-chunk trace) as one `State`, which is all a checkpoint
keeps. Each loop yields an epoch's `EpochStats` when the epoch ends, so that `Word2Vec` fires
gensim's callbacks between epochs without the loop knowing of them. The learning rate decays
linearly from `alpha` to `min_alpha` by corpus words processed, as in word2vec.c.

One idea at over 400 lines: the loop. Its three versions sit side by side so that a reader can
compare them step for step, with the dataclasses and small functions all three share.
"""

import itertools
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from w2v.corpus.encoding import EncodedCorpus
from w2v.corpus.tables import huffman_tree, keep_probability, noise_alias, noise_distribution
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError
from w2v.training.batches import CHUNK_TOKENS, AliasTable, chunk_batches, skipgram_pairs
from w2v.training.config import TrainConfig, default_alpha
from w2v.training.distributed import TableSync, expected_updates, local_threads, sync_interval
from w2v.training.kernels import cpu_kernel, noise_slots, table_builder
from w2v.training.model import (
    CBOW,
    mean_pair_cosine,
    negative_sampling_loss,
    sgd_step,
    untrained_loss,
)
from w2v.training.progress import Progress
from w2v.training.runtime import epoch_seed, resolve_update
from w2v.vectors.ngrams import bags

MAX_CHUNK_WORDS = 1 << 20
MIN_CHUNK_WORDS = 1 << 14
# A healthy run's loss falls, chunk to chunk within the noise of the text, epoch to epoch
# steadily. These are far beyond that noise and far below what a diverging run shows (four ranks
# on 1.7M words went 3.2, 16.1, 132.6 by epoch): a chunk above both CHUNK_GROWTH times the
# call's lowest chunk and the untrained model's loss, or an epoch above EPOCH_GROWTH times the
# call's lowest epoch, stops the run.
CHUNK_GROWTH = 1.5
EPOCH_GROWTH = 1.25
COLLAPSED_COSINE = 0.98  # trained vectors: 0.04-0.83 in benchmarks/optimizers.py's runs
COLLAPSE_WORDS, COLLAPSE_MIN_WORDS = 1000, 100
GROWTH_EXAMPLES = 10_000  # fewer examples in an epoch: its mean loss is too noisy to compare


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


@dataclass
class Sampling:
    """The tables drawn from the counts (`w2v.corpus.tables`), in the dtypes and on the device
    the update reads them; named as the compiled kernel's arguments but noise_prob and
    noise_alias, which it reads side by side as `noise`."""

    keep_prob: torch.Tensor  # (V,) chance of keeping an occurrence of each word (subsampling)
    noise_prob: torch.Tensor  # (V,) the alias table of the unigram**ns_exponent noise of
    noise_alias: torch.Tensor  # (V,) negative sampling (`tables.noise_alias`)
    code: torch.Tensor  # Huffman code bits of every word, concatenated (hs only)
    point: torch.Tensor  # the inner nodes on every word's path, concatenated (hs only)
    path: torch.Tensor  # (V + 1,): word w's bits and nodes are [path[w], path[w + 1])
    # With subwords, word w's input rows are bag_rows[bag_start[w]:bag_start[w + 1]] (its own
    # and its n-grams' buckets: `vectors.ngrams.bags`); both empty without.
    bag_rows: torch.Tensor
    bag_start: torch.Tensor
    noise: torch.Tensor  # (V, 2) the kernel's copy of the alias table (`kernels.noise_slots`)

    def kernel_tables(self) -> dict[str, torch.Tensor]:
        """The tables as the compiled kernel's arguments."""
        return {k: v for k, v in vars(self).items() if k not in ("noise_prob", "noise_alias")}


@dataclass
class Plan:
    """One train() call, fixed before its first chunk."""

    config: TrainConfig  # with the call's number of epochs
    update: str  # "kernel", "batched" or "autograd"
    sampling: Sampling
    alpha_start: float
    alpha_end: float
    epoch_words: float  # in-vocabulary corpus words per epoch: the schedule counts these
    chunk_words: int  # words per chunk (per rank and round in a torchrun job)
    untrained_loss: float  # the loss per example before any training (model.untrained_loss)
    keep: np.ndarray  # (V,) float64 keep probabilities, ...
    noise_share: np.ndarray  # (V,) each word's share of the noise draws, and ...
    bags: tuple[np.ndarray, np.ndarray]  # ... Sampling's bags (empty without), on the host
    first_epoch: int = 0  # epochs of earlier train() calls, so that their draws differ
    rank: int = 0
    world: int = 1

    @property
    def total_words(self) -> float:
        return self.epoch_words * self.config.epochs

    def alpha(self, done: float) -> float:
        """The learning rate after `done` words of this call."""
        return linear_decay(self.alpha_start, self.alpha_end, done / self.total_words)

    def seed(self, epoch: int, chunk: int) -> int:
        """The seed of this rank's draws in round `chunk` of `epoch`."""
        return epoch_seed(self.config.seed, self.first_epoch + epoch,
                          chunk * self.world + self.rank)


@dataclass
class State:
    """What changes as a train() call runs: its position, the model's epoch history (appended
    to as epochs end), the per-chunk trace and the lowest chunk loss seen, which the growth
    check compares against (not kept by checkpoints: a resumed run starts it afresh)."""

    position: Position = field(default_factory=Position)
    history: list[EpochStats] = field(default_factory=list)
    trace: list[TracePoint] = field(default_factory=list)
    lowest: float = math.inf


@dataclass
class Chunk:
    """This rank's share of one round: its ids (None where the corpus ran out first: the rank
    still joins the exchange), their sentence starts, and the call's words done before it."""

    index: int
    ids: np.ndarray | None
    starts: np.ndarray
    done: float


def linear_decay(start: float, end: float, progress: float) -> float:
    """word2vec.c's schedule: alpha falls linearly with the share of words processed."""
    return start - (start - end) * min(max(progress, 0.0), 1.0)


def chunk_words(corpus_words: int, largest: int = MAX_CHUNK_WORDS) -> int:
    """Words per chunk: about 1/16 of an epoch, so progress, the learning rate and checkpoints
    refresh often even on a small corpus, within [16K, `largest`] words so a chunk's fixed cost
    (starting threads, a GPU sync) stays negligible."""
    return max(MIN_CHUNK_WORDS, min(largest, corpus_words // 16))


def make_plan(model: CBOW, corpus: EncodedCorpus, vocab: Vocab, config: TrainConfig,
              first_epoch: int = 0, start_alpha: float | None = None,
              end_alpha: float | None = None, sync: TableSync | None = None) -> Plan:
    """The Plan of training `model` on `corpus` with `config` (its epochs are the call's)."""
    device = next(model.parameters()).device
    update = resolve_update(config.update, device, bool(config.hs), config.subwords)
    if model.lockf is not None and update == "autograd":
        raise W2VError("rows locked by init_vectors or intersect_word2vec_format train with "
                       "update 'kernel', 'fused' or 'batched', not through autograd's "
                       "optimizers yet; pass one of those")
    kernel, walkers = update == "kernel", update in ("kernel", "fused")
    tree = (huffman_tree(vocab.counts, table_builder("huffman")) if config.hs
            else (np.empty(0, np.int8), np.empty(0, np.int32), np.empty(0, np.int64)))
    keep = torch.from_numpy(keep_probability(vocab.counts, config.sample))
    prob, alias = map(torch.from_numpy, noise_alias(vocab.counts, config.ns_exponent,
                                                    table_builder("alias_table")))
    # The kernels that walk the corpus read float32 probabilities and int32 ids; the batched
    # path indexes with int64.
    bag = (bags(vocab.words, config.min_n, config.max_n, config.bucket) if config.subwords
           else (np.empty(0, np.int32), np.empty(0, np.int64)))
    code, point, path = map(torch.from_numpy, tree)
    bag_rows, bag_start = (torch.from_numpy(b).to(device) for b in bag)
    sampling = Sampling(keep.float().to(device) if walkers else keep.to(device),
                        prob.to(device), alias.to(device, torch.int32 if walkers else torch.int64),
                        code, point, path, bag_rows, bag_start,
                        noise_slots(prob, alias) if kernel
                        else torch.empty(0, 2, dtype=torch.int32))
    if not kernel and (config.workers or sync is not None):
        torch.set_num_threads(local_threads(config.workers))
    size = (sync_interval(config.sync_words, len(corpus), sync.world, len(vocab))
            if sync is not None
            else chunk_words(len(corpus), MAX_CHUNK_WORDS if walkers else CHUNK_TOKENS))
    counts = vocab.counts.astype(np.float64)
    if sync is not None and config.sync_rare_every > 1:
        # A row is hot when a round of every rank's chunks is expected to hold it at least once:
        # a word, or with subwords an n-gram, by the counts of the words whose bags hold it.
        per_round = (size * sync.world) / max(len(corpus), 1)
        inputs = (np.bincount(bag[0], weights=np.repeat(counts, np.diff(bag[1])),
                              minlength=len(vocab) + config.bucket)
                  if config.subwords else counts)
        sync.tier([inputs * per_round >= 1, counts * per_round >= 1], config.sync_rare_every)
    code_length = (float(np.diff(tree[2]) @ counts / counts.sum()) if config.hs else 0.0)
    return Plan(config, update, sampling,
                config.alpha if start_alpha is None else start_alpha,
                config.min_alpha if end_alpha is None else end_alpha,
                float(len(corpus)), size, untrained_loss(config.negative, code_length),
                keep.numpy(), noise_distribution(vocab.counts, config.ns_exponent), bag,
                first_epoch, *((sync.rank, sync.world) if sync is not None else (0, 1)))


def train(model: CBOW, corpus: EncodedCorpus, plan: Plan, state: State, progress_stream=None,
          checkpoints=None, sync: TableSync | None = None,
          optimizer: torch.optim.Optimizer | None = None) -> Iterator[EpochStats]:
    """Train `model` in place from `state.position` to the plan's last epoch with its update's
    loop; yields each epoch's stats as it ends. `checkpoints` (a `checkpoint.Checkpointer`)
    saves when due; with `sync` this rank trains its share of the chunks and exchanges changed
    rows after each round. Raises TrainingDiverged at the first chunk whose loss is not
    finite."""
    start = state.position
    if start.chunk and start.chunk_words != plan.chunk_words:
        raise W2VError(f"the run being resumed counted its corpus in chunks of "
                       f"{start.chunk_words:,} words, this one would use {plan.chunk_words:,} "
                       f"(a different update method than {plan.update!r}, or another number of "
                       "ranks): resume on a machine that runs the same update")
    start.chunk_words = plan.chunk_words
    done_before = start.epoch * plan.epoch_words + _words_before(
        corpus, plan.chunk_words, start.chunk * plan.world)
    progress = Progress(plan.total_words, stream=progress_stream, start_words=done_before)
    if plan.update == "kernel":
        return train_kernel(model, corpus, plan, state, progress, checkpoints, sync)
    if plan.update == "fused":
        return train_fused(model, corpus, plan, state, progress, checkpoints, sync)
    return train_batched(model, corpus, plan, state, progress, checkpoints, sync, optimizer)


def train_kernel(model: CBOW, corpus: EncodedCorpus, plan: Plan, state: State,
                 progress: Progress, checkpoints=None,
                 sync: TableSync | None = None) -> Iterator[EpochStats]:
    """The compiled kernel's loop: one call per chunk, which draws the chunk's examples, steps
    them at the learning rate of each word's place in the schedule, and returns their loss."""
    kernel, c = cpu_kernel(), plan.config
    syn0, syn1neg = model.in_embed.weight.data, model.out_embed.weight.data
    syn1 = model.hs_embed.weight.data if model.hs_embed is not None else torch.empty(0)
    threads = local_threads(c.workers)
    # In a job the kernel marks the output rows its noise words touch: only those are sent.
    touched = torch.zeros(len(syn1neg) if sync is not None else 0, dtype=torch.uint8)
    for epoch in range(state.position.epoch, c.epochs):
        for chunk in pending_chunks(corpus, plan, state.position):
            t0 = time.perf_counter()
            loss, examples, words = 0.0, 0, 0.0
            touched.zero_()
            if chunk.ids is not None:
                loss, examples = kernel.train(
                    syn0=syn0, syn1neg=syn1neg, syn1=syn1, ids=torch.from_numpy(chunk.ids),
                    starts=torch.from_numpy(chunk.starts), **plan.sampling.kernel_tables(),
                    window=c.window, negative=c.negative, hs=bool(c.hs), sg=bool(c.sg),
                    cbow_mean=bool(c.cbow_mean), shrink_windows=c.shrink_windows,
                    alpha_start=plan.alpha_start, alpha_end=plan.alpha_end,
                    words_done=chunk.done, total_words=plan.total_words,
                    seed=plan.seed(epoch, chunk.index), workers=threads, touched=touched,
                    private_nodes=c.private_nodes,
                    lockf=model.lockf if model.lockf is not None else torch.empty(0))
                words = float(len(chunk.ids))
            stop = account(plan, state, chunk, loss, examples, words,
                           time.perf_counter() - t0, sync, checkpoints, touched)
            show(progress, plan, state, epoch, chunk.done + words)
            if checkpoints is not None:
                checkpoints.save_if_due(state, None, stop=stop)
        yield end_epoch(model, plan, state, len(corpus), checkpoints, sync, None)
    progress.close()


def train_fused(model: CBOW, corpus: EncodedCorpus, plan: Plan, state: State,
                progress: Progress, checkpoints=None,
                sync: TableSync | None = None) -> Iterator[EpochStats]:
    """The fused GPU kernel's loop (`kernels/fused.py`): one launch per chunk, in which
    thousands of programs walk the chunk word by word. A chunk's ids travel from pinned memory
    while the one before it trains; its loss is read once, after it: the chunk's only wait."""
    from w2v.training.kernels import fused

    c, s = plan.config, plan.sampling
    syn0, syn1neg = model.in_embed.weight.data, model.out_embed.weight.data
    # In a job the kernel marks the output rows it changes, as the CPU kernel does.
    touched = torch.zeros(len(syn1neg) if sync is not None else 0, dtype=torch.uint8,
                          device=syn0.device)
    for epoch in range(state.position.epoch, c.epochs):
        chunks = pending_chunks(corpus, plan, state.position)
        for chunk, ids, sentence in staged(chunks, syn0.device):
            t0 = time.perf_counter()
            loss, examples, words = 0.0, 0, 0.0
            touched.zero_()
            if ids is not None:
                loss_sum, count = fused.train_chunk(
                    syn0, syn1neg, ids, sentence, s.keep_prob, s.noise_prob, s.noise_alias,
                    window=c.window, negative=c.negative, sg=bool(c.sg),
                    cbow_mean=bool(c.cbow_mean), shrink_windows=c.shrink_windows,
                    alpha_start=plan.alpha_start, alpha_end=plan.alpha_end,
                    words_done=chunk.done, total_words=plan.total_words,
                    seed=plan.seed(epoch, chunk.index),
                    touched=touched if sync is not None else None,
                    bag_rows=s.bag_rows if c.subwords else None,
                    bag_start=s.bag_start if c.subwords else None,
                    lockf=model.lockf)
                loss, examples = float(loss_sum), int(count)
                words = float(len(ids))
            stop = account(plan, state, chunk, loss, examples, words,
                           time.perf_counter() - t0, sync, checkpoints,
                           touched if sync is not None else None)
            show(progress, plan, state, epoch, chunk.done + words)
            if checkpoints is not None:
                checkpoints.save_if_due(state, None, stop=stop)
        yield end_epoch(model, plan, state, len(corpus), checkpoints, sync, None)
    progress.close()


def staged(chunks: Iterator[Chunk], device: torch.device):
    """Each chunk with its ids and sentence numbers (N,) int32 on `device` (None for a rank's
    empty share). On a GPU the next chunk's copy is issued from pinned memory on a stream of
    its own before the current chunk is handed over, so it travels while the current one
    trains; the training stream waits for each copy's event, not for the whole copy stream."""
    copy = torch.cuda.Stream(device) if device.type == "cuda" else None

    def stage(chunk: Chunk):
        if chunk.ids is None:
            return chunk, None, None, None
        sentence = np.repeat(np.arange(len(chunk.starts) - 1, dtype=np.int32),
                             np.diff(chunk.starts))
        host = [torch.from_numpy(chunk.ids), torch.from_numpy(sentence)]
        if copy is None:
            return chunk, host[0], host[1], None
        with torch.cuda.stream(copy):
            ids, sent = (t.pin_memory().to(device, non_blocking=True) for t in host)
            arrived = torch.cuda.Event()
            arrived.record(copy)
        return chunk, ids, sent, arrived

    def hand_over(item):
        chunk, ids, sent, arrived = item
        if arrived is not None:
            current = torch.cuda.current_stream(device)
            current.wait_event(arrived)
            ids.record_stream(current)
            sent.record_stream(current)
        return chunk, ids, sent

    ahead = None
    for chunk in chunks:
        item = stage(chunk)
        if ahead is not None:
            yield hand_over(ahead)
        ahead = item
    if ahead is not None:
        yield hand_over(ahead)


def train_batched(model: CBOW, corpus: EncodedCorpus, plan: Plan, state: State,
                  progress: Progress, checkpoints=None, sync: TableSync | None = None,
                  optimizer: torch.optim.Optimizer | None = None) -> Iterator[EpochStats]:
    """The tensor loop: each chunk's examples built at once on the tables' device, then stepped
    a batch at a time by `sgd_step`, or by autograd and `optimizer`."""
    c, device = plan.config, plan.sampling.noise_prob.device
    keep = plan.sampling.keep_prob
    noise = AliasTable(plan.sampling.noise_prob, plan.sampling.noise_alias)
    # In a torchrun job, the output rows this rank's batches reach: the exchange sends those.
    # An optimizer with momentum (Adam) also moves rows the batches did not reach: there the
    # exchange compares the tables.
    marks = sync is not None and optimizer is None
    touched = torch.zeros(len(model.out_embed.weight) if marks else 0, dtype=torch.uint8,
                          device=device)
    for epoch in range(state.position.epoch, c.epochs):
        for chunk in pending_chunks(corpus, plan, state.position):
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            examples, words = 0, 0.0
            touched.zero_()
            if chunk.ids is not None:
                generator = torch.Generator(device=device).manual_seed(
                    plan.seed(epoch, chunk.index))
                for batch in chunk_batches(chunk.ids, chunk.starts, keep, noise, c.window,
                                           c.negative, c.batch_size, generator,
                                           shrink=c.shrink_windows):
                    alpha = plan.alpha(chunk.done + words)
                    words += batch.words
                    if len(batch) == 0:
                        continue
                    if c.sg:
                        batch = skipgram_pairs(batch, noise, c.negative, generator)
                    if marks:
                        touched[batch.target] = 1
                        touched[batch.negatives.reshape(-1)] = 1
                    loss_sum += step(model, batch, alpha, optimizer, c.batch_damping).sum()
                    examples += len(batch)
                    if progress.due():  # only then read the loss back: a GPU sync
                        progress.update(chunk.done + words, epoch + 1, c.epochs,
                                        (state.position.loss_sum + float(loss_sum))
                                        / max(state.position.examples + examples, 1), alpha)
            stop = account(plan, state, chunk, float(loss_sum), examples, words,
                           time.perf_counter() - t0, sync, checkpoints,
                           touched if marks else None)
            show(progress, plan, state, epoch, chunk.done + words)
            if checkpoints is not None:
                checkpoints.save_if_due(state, optimizer, stop=stop)
        yield end_epoch(model, plan, state, len(corpus), checkpoints, sync, optimizer)
    progress.close()


def show(progress: Progress, plan: Plan, state: State, epoch: int, done: float) -> None:
    """The progress line after a chunk: the epoch's mean loss so far, the learning rate now."""
    progress.update(done, epoch + 1, plan.config.epochs,
                    state.position.loss_sum / max(state.position.examples, 1), plan.alpha(done))


def step(model: CBOW, batch, alpha: float, optimizer, damp: bool) -> torch.Tensor:
    """One update on `batch`; returns its per-example loss (B,) before the update."""
    if optimizer is None:
        return sgd_step(model, batch.context, batch.mask, batch.target, batch.negatives, alpha,
                        damp)
    for group in optimizer.param_groups:
        group["lr"] = alpha
    optimizer.zero_grad(set_to_none=True)
    loss = negative_sampling_loss(model(batch.context, batch.mask, batch.target,
                                        batch.negatives))  # (B,)
    loss.sum().backward()
    optimizer.step()
    return loss.detach()


def pending_chunks(corpus: EncodedCorpus, plan: Plan, position: Position) -> Iterator[Chunk]:
    """The rest of an epoch from round `position.chunk` on. Alone, a round is one chunk; with
    `world` ranks, round r deals chunk r * world + rank to this rank, which reads only its
    own. Skipped rounds count towards the words done, so the schedule resumes where it was."""
    spans = corpus.spans(plan.chunk_words)
    done = position.epoch * plan.epoch_words
    for index in itertools.count():
        group = list(itertools.islice(spans, plan.world))
        if not group:
            return
        words = [float(corpus.span_words(span)) for span in group]
        if index >= position.chunk:
            ids, starts = (corpus.read(group[plan.rank]) if plan.rank < len(group)
                           else (None, np.zeros(1, np.int64)))
            yield Chunk(index, ids, starts, done + sum(words[:plan.rank]))
        done += sum(words)


def account(plan: Plan, state: State, chunk: Chunk, loss: float, examples: int, words: float,
            seconds: float, sync: TableSync | None, checkpoints=None,
            touched: torch.Tensor | None = None) -> bool | None:
    """After a chunk: agree with the other ranks (their loss and whether any was signalled to
    stop), stop if the loss is not finite, and move the position and the trace on. Returns the
    agreed stop in a torchrun job; None alone, where the checkpointer's own signal decides.
    `touched`: the output rows a kernel or the batches marked (the other tables' touched rows
    follow from the chunk's words); None (the batched path under an optimizer with momentum):
    the exchange compares the tables to find them."""
    stop = None
    if sync is not None:
        signalled = checkpoints is not None and checkpoints.signum is not None
        exposure = (None if chunk.ids is None else expected_updates(
            chunk.ids, plan.keep, plan.noise_share, plan.config.window, plan.config.negative,
            bool(plan.config.sg), plan.alpha_start,
            (plan.sampling.point.numpy(), plan.sampling.path.numpy()) if plan.config.hs else None,
            (*plan.bags, len(plan.keep) + plan.config.bucket) if plan.config.subwords else None))
        rows = None
        if touched is not None:
            rows = ([torch.from_numpy(x > 0).to(touched.device) for x in exposure]
                    if exposure is not None
                    else [torch.zeros(len(t), dtype=torch.bool, device=touched.device)
                          for t in sync.tables])
            rows[1] = touched.bool()
        totals = sync.exchange(loss, examples, signalled, exposure, rows,
                               save=checkpoints is not None and checkpoints.due())
        loss, examples, stop = totals.loss, totals.examples, totals.stop
    position = state.position
    check_finite(loss, position.epoch + 1, chunk.done + words, plan)
    if examples:
        check_chunk_growth(loss / examples, state.lowest, position.epoch + 1,
                           chunk.done + words, plan)
        state.lowest = min(state.lowest, loss / examples)
    position.chunk = chunk.index + 1
    position.loss_sum += loss
    position.examples += examples
    position.seconds += seconds
    state.trace.append(TracePoint(chunk.done + words, loss / max(examples, 1),
                                  plan.alpha(chunk.done + words), words / max(seconds, 1e-9)))
    return stop


def end_epoch(model: CBOW, plan: Plan, state: State, words: int, checkpoints,
              sync: TableSync | None, optimizer) -> EpochStats:
    """Close the epoch: its stats into the history, the position at the next epoch's start,
    and the epoch's checkpoint."""
    if sync is not None:
        sync.flush()
    p = state.position
    stats = EpochStats(plan.first_epoch + p.epoch + 1, p.loss_sum / max(p.examples, 1),
                       p.examples, words, p.seconds, p.loss_sum)
    check_epoch_growth(stats, [h for h in state.history if h.epoch > plan.first_epoch], plan)
    if p.epoch + 1 == plan.config.epochs:
        warn_if_collapsed(model, plan)
    state.history.append(stats)
    state.position = Position(p.epoch + 1, chunk_words=plan.chunk_words)
    if checkpoints is not None:  # ranks stop only where they agreed to: at an exchange
        checkpoints.save_if_due(state, optimizer, epoch_end=True,
                                stop=False if sync is not None else None)
    return stats


def check_finite(loss: float, epoch: int, words: float, plan: Plan) -> None:
    """Stop at the first non-finite loss, naming the likely cause."""
    if math.isfinite(loss):
        return
    raise TrainingDiverged(f"training diverged: the loss became {loss} in epoch {epoch} after "
                           f"{words:,.0f} words; {divergence_fix(plan)}")


def check_chunk_growth(loss: float, lowest: float, epoch: int, words: float,
                       plan: Plan) -> None:
    """Stop at a chunk whose loss per example rose past both CHUNK_GROWTH times the lowest of
    the call so far and the untrained model's: the update is making the model worse."""
    if loss <= max(CHUNK_GROWTH * lowest, plan.untrained_loss):
        return
    raise TrainingDiverged(f"training diverged: the loss per example rose to {loss:.2f} in "
                           f"epoch {epoch} after {words:,.0f} words, from {lowest:.2f} "
                           f"earlier, above {plan.untrained_loss:.2f} (an untrained model's); "
                           f"{divergence_fix(plan)}")


def check_epoch_growth(stats: EpochStats, earlier: list[EpochStats], plan: Plan) -> None:
    """Stop when an epoch's loss rose past EPOCH_GROWTH times the lowest earlier epoch's in
    this call (epochs of at least GROWTH_EXAMPLES examples)."""
    earlier = [h for h in earlier if h.examples >= GROWTH_EXAMPLES]
    if not earlier or stats.examples < GROWTH_EXAMPLES:
        return
    best = min(earlier, key=lambda h: h.loss)
    if stats.loss <= EPOCH_GROWTH * best.loss:
        return
    raise TrainingDiverged(f"training diverged: the loss per example grew from {best.loss:.2f} "
                           f"(epoch {best.epoch}) to {stats.loss:.2f} (epoch {stats.epoch}); "
                           f"{divergence_fix(plan)}")


def warn_if_collapsed(model: CBOW, plan: Plan) -> None:
    """Warn when training ends with the most frequent words' vectors all pointing one way.

    Training first moves every vector along one shared direction and only then pulls them
    apart; a run too short or too slow for its corpus stops in between, with a falling loss but
    useless vectors (Adam at 0.001, or one epoch of the four novels: mean cosine 0.99 and more,
    where trained vectors score under COLLAPSED_COSINE; benchmarks/optimizers.py)."""
    words = min(len(plan.sampling.keep_prob), COLLAPSE_WORDS)
    if words < COLLAPSE_MIN_WORDS:
        return  # too few words for the mean to say anything
    cosine = mean_pair_cosine(model.in_embed.weight[:words])
    if cosine <= COLLAPSED_COSINE:
        return
    c = plan.config
    warnings.warn(f"the {words:,} most frequent words' vectors all point one way (mean cosine "
                  f"{cosine:.3f}) after {c.epochs} epoch(s): they are barely trained; raise "
                  f"epochs or alpha (now {c.alpha:g}, {c.optimizer}'s default "
                  f"{default_alpha(c.sg, c.optimizer, c.update):g}), or train on more text",
                  stacklevel=2)


def divergence_fix(plan: Plan) -> str:
    """The likely cause of a diverging run and its fix, by how it trains."""
    c = plan.config
    if plan.world > 1:
        return (f"the {plan.world} ranks' combined changes overshoot, {plan.chunk_words:,} "
                f"words each between exchanges on a corpus of {plan.epoch_words:,.0f}: use "
                f"fewer ranks or a smaller --sync-words, or lower alpha (now {c.alpha})")
    if plan.update in ("batched", "autograd"):
        return (f"the learning rate is too high for batch_size={c.batch_size} (summed updates "
                f"of frequent words overshoot): lower batch_size or alpha (now {c.alpha})")
    return f"the learning rate is too high: lower alpha (now {c.alpha})"


def check_tables(model: CBOW, position: Position, alpha: float) -> None:
    """Refuse tables that hold NaN or infinite values (before they are checkpointed)."""
    for table in model.parameters():
        if not torch.isfinite(table).all():
            raise TrainingDiverged(f"training diverged: the weights hold NaN or infinite values "
                                   f"in epoch {position.epoch + 1}; lower alpha (now {alpha})")


def _words_before(corpus: EncodedCorpus, size: int, chunks: int) -> float:
    """Words in an epoch's first `chunks` chunks: where a mid-epoch resume starts timing."""
    return float(sum(map(corpus.span_words, itertools.islice(corpus.spans(size), chunks))))
