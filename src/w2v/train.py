"""The training loop, top to bottom: schedule, batches, step, loss accounting, progress.

Three ways to step, chosen by `TrainConfig.update`:
- "kernel" (the default on CPU): word2vec.c's loop compiled (`csrc/w2v_cpu.cpp`), one example
  at a time, threads updating the shared tables without locks as word2vec.c does;
- "batched" (the default on GPU): the same update for a batch of examples at once with tensor
  operations, applied in place without autograd bookkeeping (`sgd_step`);
- "autograd": the model's forward, `negative_sampling_loss(...).sum()`, `backward()` and a torch
  optimizer. With optimizer="sgd" it gives the same vectors as "batched".
The learning rate decays linearly from `alpha` to `min_alpha` by corpus words processed, as in
word2vec.c, whatever the optimizer.
"""

import os
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from w2v.batches import cbow_batches, skipgram_pairs
from w2v.config import TrainConfig
from w2v.encoding import EncodedCorpus
from w2v.errors import W2VError
from w2v.kernels import cpu_kernel
from w2v.model import CBOW, negative_sampling_loss, sgd_step
from w2v.progress import Progress
from w2v.vocab import Vocab, huffman_tree, keep_probability, noise_table


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


def epoch_generator(seed: int, epoch: int, device="cpu") -> torch.Generator:
    """A generator per epoch, so an epoch's draws depend only on (seed, epoch)."""
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch))


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
) -> list[EpochStats]:
    """Train `model` in place for config.epochs passes over `corpus`; returns per-epoch stats.

    `first_epoch` numbers the epochs of a later `train()` call after the earlier ones, so their
    random draws differ. `epoch_hook(event, stats)`, if given, is called with ("begin", None)
    before each epoch and ("end", that epoch's EpochStats) after it (Word2Vec's callbacks)."""
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
    if update != "kernel" and config.workers:
        torch.set_num_threads(config.workers)
    optimizer = make_optimizer(config, model) if update == "autograd" else None

    total_words = float(len(corpus)) * config.epochs
    progress = Progress(total_words, stream=progress_stream)
    history = []
    for epoch in range(config.epochs):
        if epoch_hook is not None:
            epoch_hook("begin", None)
        t0 = time.perf_counter()
        loss_sum, examples = run_epoch(
            model, corpus, config, keep_prob, table, schedule, optimizer,
            words=(epoch * float(len(corpus)), total_words), epoch=epoch, progress=progress,
            seed_epoch=first_epoch + epoch, tree=tree,
        )
        seconds = time.perf_counter() - t0
        loss = loss_sum / max(examples, 1)
        if not np.isfinite(loss):
            warnings.warn(f"epoch {epoch + 1}: the loss is {loss}; lower alpha "
                          f"(now {config.alpha})", stacklevel=2)
        history.append(EpochStats(first_epoch + epoch + 1, loss, examples, len(corpus), seconds,
                                  loss_sum))
        if epoch_hook is not None:
            epoch_hook("end", history[-1])
    progress.close()
    return history


KERNEL_CHUNK_WORDS = 1 << 20  # words per kernel call: progress and learning rate refresh this often


def _kernel_epoch(model, corpus, config, keep_prob, table, schedule, optimizer, words, epoch,
                  progress, seed_epoch, tree):
    """One epoch through the compiled kernel, a chunk of whole sentences per call."""
    kernel = cpu_kernel()
    syn0, syn1neg = model.in_embed.weight.data, model.out_embed.weight.data
    syn1 = model.hs_embed.weight.data if config.hs else torch.empty(0)
    keep32, table32 = keep_prob.float(), table.int()
    done, total = words
    loss_sum, examples = 0.0, 0
    for call, (ids, starts) in enumerate(corpus.chunks(KERNEL_CHUNK_WORDS)):
        seed = epoch_seed(config.seed, seed_epoch, call)
        loss, n = kernel.train(syn0, syn1neg, syn1, torch.from_numpy(ids),
                               torch.from_numpy(starts), 0, len(starts) - 1, keep32, table32,
                               *tree, config.window, config.negative, bool(config.hs),
                               bool(config.sg), bool(config.cbow_mean), config.shrink_windows,
                               schedule[0], schedule[1], done, total, seed,
                               config.workers or os.cpu_count() or 1)
        loss_sum, examples = loss_sum + loss, examples + n
        done += float(len(ids))
        alpha = linear_decay(*schedule, done / total)
        progress.update(done, epoch + 1, config.epochs, loss_sum / max(examples, 1), alpha)
    return loss_sum, examples


def _batched_epoch(model, corpus, config, keep_prob, table, schedule, optimizer, words, epoch,
                   progress, seed_epoch, tree):
    """One epoch of tensor-built batches, stepped by `sgd_step` or by autograd + optimizer."""
    device = next(model.parameters()).device
    done, total = words
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    examples = 0
    table = table.to(device, torch.int64)
    generator = epoch_generator(config.seed, seed_epoch, device)
    batches = cbow_batches(corpus, keep_prob.to(device), table, config.window, config.negative,
                           config.batch_size, generator, shrink=config.shrink_windows)
    for batch in batches:
        alpha = linear_decay(*schedule, done / total)
        done += batch.words
        if len(batch) == 0:
            continue
        b = batch.to(device)
        if config.sg:
            b = skipgram_pairs(b, table, config.negative, generator)
        if optimizer is None:
            loss = sgd_step(model, b.context, b.mask, b.target, b.negatives, alpha)
        else:
            for group in optimizer.param_groups:
                group["lr"] = alpha
            optimizer.zero_grad(set_to_none=True)
            loss = negative_sampling_loss(model(b.context, b.mask, b.target, b.negatives))
            loss.sum().backward()
            optimizer.step()
            loss = loss.detach()
        loss_sum += loss.sum()
        examples += len(b)
        if progress.due():
            progress.update(done, epoch + 1, config.epochs, float(loss_sum) / max(examples, 1),
                            alpha)
    return float(loss_sum), examples
