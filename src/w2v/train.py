"""The training loop, top to bottom: schedule, batches, step, loss accounting, progress.

Two ways to step, chosen by `TrainConfig.update`:
- "manual" (default): word2vec.c's SGD update written out and applied in place (`sgd_step`), with
  no autograd bookkeeping;
- "autograd": the model's forward, `negative_sampling_loss(...).sum()`, `backward()` and a torch
  optimizer. With optimizer="sgd" it gives the same vectors as "manual".
The learning rate decays linearly from `alpha` to `min_alpha` by corpus words processed, as in
word2vec.c, whatever the optimizer.
"""

import time
from dataclasses import dataclass

import torch

from w2v.batches import cbow_batches
from w2v.config import TrainConfig
from w2v.model import CBOW, negative_sampling_loss, sgd_step
from w2v.progress import Progress
from w2v.vocab import EncodedCorpus, Vocab, keep_probability, noise_table


@dataclass
class EpochStats:
    epoch: int
    loss: float  # exact mean per-example loss over the epoch, measured as it trained
    examples: int
    words: int  # raw in-vocabulary corpus words, before subsampling
    seconds: float

    @property
    def words_per_second(self) -> float:
        return self.words / max(self.seconds, 1e-9)


def linear_decay(start: float, end: float, progress: float) -> float:
    """word2vec.c's schedule: alpha falls linearly with the share of words processed."""
    return start - (start - end) * min(max(progress, 0.0), 1.0)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator per epoch, so an epoch's draws depend only on (seed, epoch)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch + 1)


def make_optimizer(config: TrainConfig, model: CBOW) -> torch.optim.Optimizer:
    params = model.parameters()
    return {
        "sgd": lambda: torch.optim.SGD(params, lr=config.alpha),
        "adam": lambda: torch.optim.Adam(params, lr=config.alpha),
        "sparseadam": lambda: torch.optim.SparseAdam(list(params), lr=config.alpha),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=config.alpha),
        "adagrad": lambda: torch.optim.Adagrad(params, lr=config.alpha),
    }[config.optimizer]()


def uses_sparse_gradients(optimizer: str) -> bool:
    """Optimizers that accept the sparse gradients of nn.Embedding(sparse=True)."""
    return optimizer in ("sgd", "sparseadam", "adagrad")


def train_cbow(
    model: CBOW,
    corpus: EncodedCorpus,
    vocab: Vocab,
    config: TrainConfig,
    start_alpha: float | None = None,
    end_alpha: float | None = None,
    progress_stream=None,
) -> list[EpochStats]:
    """Train `model` in place for config.epochs passes over `corpus`; returns per-epoch stats."""
    device = next(model.parameters()).device
    start_alpha = config.alpha if start_alpha is None else start_alpha
    end_alpha = config.min_alpha if end_alpha is None else end_alpha
    keep_prob = torch.from_numpy(keep_probability(vocab.counts, config.sample))
    table = torch.from_numpy(noise_table(vocab.counts, config.ns_exponent)).long()
    optimizer = make_optimizer(config, model) if config.update == "autograd" else None

    total_words = float(len(corpus.ids)) * config.epochs
    progress = Progress(total_words, stream=progress_stream)
    done_words = 0.0
    history = []
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        generator = epoch_generator(config.seed, epoch)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        examples = 0
        alpha = start_alpha
        batches = cbow_batches(corpus, keep_prob, table, config.window, config.negative,
                               config.batch_size, generator)
        for batch in batches:
            alpha = linear_decay(start_alpha, end_alpha, done_words / total_words)
            done_words += batch.words
            if len(batch) == 0:
                continue
            b = batch.to(device)
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
            progress.update(done_words, epoch + 1, config.epochs,
                            float(loss_sum) / max(examples, 1), alpha)
        seconds = time.perf_counter() - t0
        history.append(EpochStats(epoch + 1, float(loss_sum) / max(examples, 1), examples,
                                  len(corpus.ids), seconds))
    progress.close()
    return history
