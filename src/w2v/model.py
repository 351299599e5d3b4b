"""The CBOW model with negative sampling: two embedding tables, its loss, and word2vec.c's update.

Two tables, as word2vec.c keeps them: `in_embed` (the word vectors users get, syn0) starts uniform
in +-0.5/dim, `out_embed` (syn1neg) starts at zero. A forward pass returns logits, never
probabilities: the loss applies the sigmoid inside `binary_cross_entropy_with_logits`.

Context gradient: word2vec.c gives every context word the full error of the averaged (or summed)
context vector (gensim too, for the average), not 1/C of it as the true gradient of a mean
would. `ContextMean` does the same under autograd, so the autograd path and the in-place
`sgd_step` give the same vectors.
"""

import torch
import torch.nn.functional as F
from torch import nn


def init_input_vectors(num_words: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """word2vec.c's syn0 initialisation: uniform in [-0.5/dim, 0.5/dim)."""
    return (torch.rand(num_words, dim, generator=generator) - 0.5) / dim


def context_vector(vectors: torch.Tensor, mask: torch.Tensor, mean: bool) -> torch.Tensor:
    """Masked sum of context vectors (B, C, D) -> (B, D), divided by the count when `mean`."""
    summed = (vectors * mask[..., None]).sum(1)  # (B, D)
    if mean:
        summed = summed / mask.sum(1, keepdim=True).clamp(min=1)
    return summed


class ContextMean(torch.autograd.Function):
    """Masked mean (or sum) of context vectors whose backward hands each context word the full
    gradient of the result, as word2vec.c's CBOW update does."""

    @staticmethod
    def forward(ctx, vectors, mask, mean: bool):
        ctx.save_for_backward(mask)
        return context_vector(vectors, mask, mean)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad[:, None, :] * mask[..., None], None, None


def negative_sampling_logits(hidden: torch.Tensor, out_vectors: torch.Tensor) -> torch.Tensor:
    """Scores of the target (column 0) and the noise words: hidden (B, D), out (B, 1+K, D)."""
    return torch.bmm(out_vectors, hidden[:, :, None]).squeeze(2)  # (B, 1+K)


def negative_sampling_loss(logits: torch.Tensor) -> torch.Tensor:
    """Per-example loss (B,): -log s(target score) - sum log s(-noise score), s the sigmoid.

    Binary cross-entropy with logits, label 1 for column 0 and 0 for the rest, summed per example
    (not averaged: a mean over a batch would shrink word2vec's per-example learning rate).
    """
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").sum(1)


class CBOW(nn.Module):
    """Continuous bag of words: predict the target from the mean (or sum) of its context.

    Skip-gram uses the same tables: it is this model with one context word per example. With
    `hs`, a third table `hs_embed` (syn1, zero at the start) holds the inner nodes of the Huffman
    tree for hierarchical softmax.
    """

    def __init__(self, num_words: int, dim: int, cbow_mean: bool = True,
                 generator: torch.Generator | None = None, sparse: bool = False,
                 hs: bool = False):
        super().__init__()
        self.cbow_mean = bool(cbow_mean)
        self.in_embed = nn.Embedding(num_words, dim, sparse=sparse)  # syn0: the word vectors
        self.out_embed = nn.Embedding(num_words, dim, sparse=sparse)  # syn1neg
        self.hs_embed = nn.Embedding(num_words, dim) if hs else None  # syn1
        with torch.no_grad():
            gen = generator or torch.Generator().manual_seed(1)
            self.in_embed.weight.copy_(init_input_vectors(num_words, dim, gen))
            self.out_embed.weight.zero_()
            if self.hs_embed is not None:
                self.hs_embed.weight.zero_()

    def hidden(self, context: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The context vector h (B, D): the masked mean (or sum) of the context words' vectors."""
        ctx = self.in_embed(context)  # (B, 2W, D)
        return ContextMean.apply(ctx, mask, self.cbow_mean)  # (B, D)

    def forward(self, context, mask, target, negatives) -> torch.Tensor:
        """Logits (B, 1+K): column 0 scores the target, the rest the noise words."""
        h = self.hidden(context, mask)  # (B, D)
        words = torch.cat([target[:, None], negatives], 1)  # (B, 1+K)
        return negative_sampling_logits(h, self.out_embed(words))  # (B, 1+K)


def row_damping(rows: torch.Tensor, curvature: torch.Tensor, num_rows: int) -> torch.Tensor:
    """Per-row divisor max(1, summed curvature) for a batch's summed updates (num_rows,).

    One example's step on a row is alpha * g * x; along it, the loss curves by about
    alpha * s(1 - s) * |x|^2 (s the sigmoid of the score: the Gauss-Newton term of the logistic
    loss). Sequential SGD feels each step before the next; a batch sums all of a row's steps from
    the same stale vector, and where their summed curvature passes 1 the sum overshoots the
    minimum along that direction (a frequent word, target in some examples and noise in many
    more, hit hundreds of times in a large batch: the divergence). Dividing by the summed
    curvature gives the Newton step instead. Rows below 1, nearly all rows of a small batch, keep
    word2vec.c's update.
    """
    total = torch.zeros(num_rows, dtype=curvature.dtype, device=curvature.device)
    total.index_add_(0, rows, curvature)
    return total.clamp_(min=1.0)


@torch.no_grad()
def sgd_step(model: CBOW, context, mask, target, negatives, alpha: float,
             damp: bool = True) -> torch.Tensor:
    """word2vec.c's CBOW negative-sampling update for a batch, applied in place; returns the
    per-example loss (B,) measured before the update.

    For each example: g = alpha * (label - sigmoid(score)) per output word; each output vector
    moves by g * h; each context vector moves by sum(g * out) (the full error, see ContextMean).
    Updates of a word that occurs several times in the batch add up; with `damp`, a row whose
    summed update would overshoot is scaled back (`row_damping`), which keeps large batches
    from diverging.
    """
    syn0, syn1 = model.in_embed.weight, model.out_embed.weight
    vocab, dim = syn0.shape
    h = context_vector(syn0[context], mask, model.cbow_mean)  # (B, D)
    words = torch.cat([target[:, None], negatives], 1)  # (B, 1+K)
    out = syn1[words]  # (B, 1+K, D)
    logits = negative_sampling_logits(h, out)  # (B, 1+K)
    loss = negative_sampling_loss(logits)  # (B,)
    s = torch.sigmoid(logits)
    g = -s  # label - sigmoid(score), label 0 ...
    g[:, 0] += 1.0  # ... and 1 for the target
    g.mul_(alpha)
    neu1e = torch.bmm(g[:, None, :], out).squeeze(1)  # (B, D)
    out_step = (g[:, :, None] * h[:, None, :]).reshape(-1, dim)  # (B*(1+K), D)
    in_step = (neu1e[:, None, :] * mask[:, :, None]).reshape(-1, dim)  # (B*2W, D)
    out_rows, in_rows = words.reshape(-1), context.reshape(-1)
    if damp:
        curv = alpha * s * (1 - s)  # (B, 1+K)
        out_curv = curv * (h * h).sum(1, keepdim=True)  # (B, 1+K)
        # A context word moves h by 1/C of its step under a mean: the curvature it sees.
        in_curv = (curv * (out * out).sum(2)).sum(1)  # (B,)
        if model.cbow_mean:
            in_curv = in_curv / mask.sum(1).clamp(min=1)
        out_step /= row_damping(out_rows, out_curv.reshape(-1), vocab)[out_rows, None]
        in_div = row_damping(in_rows, (in_curv[:, None] * mask).reshape(-1), vocab)
        in_step /= in_div[in_rows, None]
    syn1.index_add_(0, out_rows, out_step)
    syn0.index_add_(0, in_rows, in_step)
    return loss
