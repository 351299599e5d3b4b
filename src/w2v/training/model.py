"""The CBOW model with negative sampling: two embedding tables, its loss, and word2vec.c's update.

Two tables, as word2vec.c keeps them: `in_embed` (the word vectors users get, syn0) starts uniform
in +-0.5/dim, `out_embed` (syn1neg) starts at zero. A forward pass returns logits, never
probabilities: the loss applies the sigmoid inside `binary_cross_entropy_with_logits`.

Context gradient: word2vec.c gives every context word the full error of the averaged (or summed)
context vector (gensim too, for the average), not 1/C of it as the true gradient of a mean
would. `ContextMean` does the same under autograd, so the autograd path and the in-place
`sgd_step` give the same vectors.
"""

import ctypes
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

_HUGE_PAGE = 2 << 20
_MADV_HUGEPAGE = 14  # <sys/mman.h> on Linux


def empty_table(rows: int, dim: int) -> torch.Tensor:
    """An uninitialised (rows, dim) float32 table that Linux backs with 2 MB pages where it can.

    Training reads and writes rows at random. With 4 KB pages a table bigger than the TLB's
    reach (a few MB) costs a page walk on nearly every row: a 2M x 100 n-gram table spans
    195,000 pages, and FastText's epoch ran 8-20% faster with its tables in 2 MB pages
    (benchmarks/memory.py, BENCHMARKS.md). Linux's default (transparent_hugepage=madvise) gives
    them only to memory that asks, before it is first written; elsewhere, or if refused, the
    table is plain.
    """
    table = torch.empty(rows, dim)
    if sys.platform != "linux" or table.numel() * 4 < 2 * _HUGE_PAGE:
        return table
    start = table.data_ptr()
    lo = -(-start // _HUGE_PAGE) * _HUGE_PAGE  # the whole 2 MB pages inside the table
    hi = (start + table.numel() * 4) // _HUGE_PAGE * _HUGE_PAGE
    libc = ctypes.CDLL(None)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.madvise(lo, hi - lo, _MADV_HUGEPAGE)  # a refusal leaves ordinary pages: no error
    return table


def huge_page_bytes(table: torch.Tensor) -> tuple[int, int]:
    """(bytes asked, bytes granted): the sizes of the memory mappings holding `table` that asked
    for 2 MB pages (VmFlags "hg") and of the part Linux backs with them (AnonHugePages), from
    /proc/self/smaps; (0, 0) where that file is not there. Linux may refuse what was asked
    (fragmented memory, a container's limits), so only the first is the request's own doing."""
    start, end = table.data_ptr(), table.data_ptr() + table.numel() * table.element_size()
    smaps = Path("/proc/self/smaps")
    asked = granted = size = 0
    inside = False
    for line in (smaps.read_text().splitlines() if smaps.exists() else []):
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):  # a mapping's "lo-hi perms ..." line
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside, size = lo < end and hi > start, hi - lo
        elif inside and head == "AnonHugePages:":
            granted += int(line.split()[1]) * 1024
        elif inside and head == "VmFlags:" and "hg" in line.split()[1:]:
            asked += size
    return asked, granted


def init_input_vectors(num_words: int, dim: int, generator: torch.Generator,
                       width: float = 1.0) -> torch.Tensor:
    """word2vec.c's syn0 initialisation: uniform in [-0.5/dim, 0.5/dim) (times `width`)."""
    return (torch.rand(num_words, dim, generator=generator) - 0.5) * (width / dim)


# fastText starts its input rows, words' and n-grams' alike, uniform in +-1/dim (Matrix::uniform):
# twice word2vec.c's width, since a word's vector is then a mean of many rows.
SUBWORD_INIT_WIDTH = 2.0


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


def untrained_loss(negative: int, mean_code_length: float) -> float:
    """The mean loss per example of a model that knows nothing: with the output tables at zero
    (their start) every sigmoid is 1/2, so each of the target's and the noise words' terms
    (negative sampling), and each node on the target's Huffman path (hierarchical softmax),
    costs ln 2. Training only ever starts below it."""
    return math.log(2.0) * ((negative + 1 if negative else 0) + mean_code_length)


def mean_pair_cosine(rows: torch.Tensor) -> float:
    """The mean cosine over the distinct pairs of `rows` (N, D), from |sum of unit rows|^2 =
    N + sum over ordered pairs of their cosines: O(N D), not O(N^2 D). Near 1 when every
    vector points one way; trained word vectors' most frequent words score under 0.5."""
    unit = F.normalize(rows.detach().double(), dim=1)  # (N, D)
    n = len(unit)
    return float((unit.sum(0).square().sum() - n) / (n * (n - 1)))


class CBOW(nn.Module):
    """Continuous bag of words: predict the target from the mean (or sum) of its context.

    Skip-gram uses the same tables: it is this model with one context word per example. With
    `hs`, a third table `hs_embed` (syn1, zero at the start) holds the inner nodes of the Huffman
    tree for hierarchical softmax.
    """

    def __init__(self, num_words: int, dim: int, cbow_mean: bool = True,
                 generator: torch.Generator | None = None, sparse: bool = False,
                 hs: bool = False, buckets: int = 0):
        super().__init__()
        self.cbow_mean = bool(cbow_mean)
        self.num_words = num_words
        self.buckets = buckets  # n-gram rows after the words' in in_embed (subwords), or 0
        gen = generator or torch.Generator().manual_seed(1)
        width = SUBWORD_INIT_WIDTH if buckets else 1.0
        # syn0: the word vectors, then with subwords the n-grams' (fastText's input matrix),
        # made in place: 2M buckets x 300 floats are 2.4 GB, which nn.Embedding's own random
        # start and a temporary would each allocate again.
        syn0 = empty_table(num_words + buckets, dim)
        with torch.no_grad():
            syn0[:num_words] = init_input_vectors(num_words, dim, gen, width)
            syn0[num_words:].uniform_(-0.5 * width / dim, 0.5 * width / dim, generator=gen)
        self.in_embed = nn.Embedding(num_words + buckets, dim, sparse=sparse, _weight=syn0)
        self.out_embed = nn.Embedding(num_words, dim, sparse=sparse,  # syn1neg
                                      _weight=empty_table(num_words, dim).zero_())
        self.hs_embed = (nn.Embedding(num_words, dim, _weight=empty_table(num_words, dim).zero_())
                         if hs else None)  # syn1
        # (rows of in_embed,) float32 lock factors, gensim's vectors_lockf: each input row's
        # updates are scaled by its factor (0 keeps a pretrained row as it is); None: all 1.
        # A buffer, so that .to(device) moves it with the tables and no step copies it.
        self.lockf: torch.Tensor | None
        self.register_buffer("lockf", None)

    def hidden(self, context: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The context vector h (B, D): the masked mean (or sum) of the context words' vectors."""
        ctx = self.in_embed(context)  # (B, 2W, D)
        return ContextMean.apply(ctx, mask, self.cbow_mean)  # (B, D)

    def forward(self, context, mask, target, negatives) -> torch.Tensor:
        """Logits (B, 1+K): column 0 scores the target, the rest the noise words."""
        h = self.hidden(context, mask)  # (B, D)
        words = torch.cat([target[:, None], negatives], 1)  # (B, 1+K)
        return negative_sampling_logits(h, self.out_embed(words))  # (B, 1+K)


@torch.no_grad()
def grow_tables(model: CBOW, rows: int, generator: torch.Generator) -> None:
    """Append `rows` words to the input and output tables, started as word2vec.c starts them
    (input uniform in +-0.5/dim, output zero): gensim's build_vocab(update=True)."""
    if rows == 0:
        return
    dim, words = model.in_embed.weight.shape[1], model.num_words
    width = SUBWORD_INIT_WIDTH if model.buckets else 1.0
    fresh = {model.in_embed: init_input_vectors(rows, dim, generator, width),
             model.out_embed: torch.zeros(rows, dim)}
    for table, added in fresh.items():
        w = table.weight.detach()
        # New words' rows go after the old words', before any n-gram buckets.
        table.weight = nn.Parameter(torch.cat([w[:words], added.to(w.device, w.dtype),
                                               w[words:]]))
        table.num_embeddings = len(table.weight)
    if model.lockf is not None:  # new words train freely
        lockf = model.lockf
        model.lockf = torch.cat([lockf[:words], torch.ones(rows, device=lockf.device),
                                 lockf[words:]])
    model.num_words += rows


@torch.no_grad()
def output_word_probabilities(model: CBOW, context: list[int]) -> torch.Tensor:
    """gensim's predict_output_word: P(w | context) (V,) as a softmax over the whole vocabulary
    of the output vectors (syn1neg) scored against the context's mean (or sum) vector."""
    syn0, syn1neg = model.in_embed.weight, model.out_embed.weight
    hidden = syn0[torch.tensor(context, device=syn0.device)].sum(0)  # (D,)
    if model.cbow_mean:
        hidden = hidden / len(context)
    return torch.softmax((syn1neg @ hidden).double(), 0)


def _row_sums(inverse: torch.Tensor, rows: int, values: torch.Tensor) -> torch.Tensor:
    """Sums of `values` (N, ...) per row, `inverse` (N,) naming each value's row in 0..rows-1."""
    return values.new_zeros((rows, *values.shape[1:])).index_add_(0, inverse, values)


def _newton_ratio(inverse, rows, curved, slope, alpha):
    """Per row (rows,): lambda = alpha * Q / S, and Q.

    Per slot, `curved` is c * a^2 (a: how far the slot's score would move under the row's whole
    summed step D; c = s(1 - s), the logistic loss's curvature) and `slope` is the slot's share
    of the loss's fall along D (for an output row they sum to |D|^2). Along D the batch loss is
    -t S / alpha + t^2 Q / 2 to second order, so the Newton step is t = 1 / lambda: past
    lambda = 1 the summed step overshoots. Where S <= 0 (possible for a context row whose
    examples weigh it differently under a mean) moving along D does not lower the loss to first
    order: lambda is 1e6, so the row stays put.
    """
    q = _row_sums(inverse, rows, curved.reshape(-1))
    total = _row_sums(inverse, rows, slope.reshape(-1))
    tiny = torch.finfo(total.dtype).tiny
    lam = torch.where(total > 0, alpha * q / total.clamp(min=tiny), torch.where(q > 0, 1e6, 0.0))
    return lam, q


def damped_steps(h, out, neu1e, g, curvature, out_rows, out_step, in_rows, in_step, weight,
                 alpha):
    """A batch's summed steps, one per distinct row and scaled back where they would overshoot:
    (output rows, their steps), (context rows, their steps), from the slots' `out_rows` and
    `out_step` (B*(1+K), D) and `in_rows` and `in_step` (B*C, D).

    word2vec.c applies its updates one after another, each seeing the last; a batch sums all of
    a row's updates from the same stale vectors. A frequent word is hit hundreds of times in a
    large batch (target in some examples, noise word in many more) and its sum overshoots: the
    divergence. Along a row's summed step the loss's curvature gives the Newton step, 1/lambda of
    it (`_newton_ratio`); along the step, not in every direction, because a frequent word's
    updates point many ways and only some of them are steep. But a score moves with all of its
    example's rows at once, its output row and up to C context rows, and each of them taking
    its own Newton step would land it several times as far. So the others' moves are counted:
    with o the move of the row's scores by the other rows (each at its Newton step, or its
    whole step where that does not overshoot), and every row scaled by one common factor, the
    divisor is lambda * (1 + max(1, lambda) * sum(c a o) / sum(c a^2)). Rows whose divisor stays
    below 1, nearly all rows of a small batch, keep word2vec.c's update. The product of two rows'
    moves (both tables at once) is left out: it is second order in the step.
    """
    batch, slots, dim = out.shape
    width = weight.shape[1]
    uo, io = torch.unique(out_rows, return_inverse=True)
    ui, ii = torch.unique(in_rows, return_inverse=True)
    sum_in, sum_out = _row_sums(ii, len(ui), in_step), _row_sums(io, len(uo), out_step)
    step_in = sum_in[ii].view(batch, width, dim)  # (B, C, D)
    step_out = sum_out[io].view(batch, slots, dim)  # (B, 1+K, D)
    move_out = (step_out * h[:, None, :]).sum(2)  # (B, 1+K)
    move_in = weight[:, :, None] * torch.bmm(step_in, out.transpose(1, 2))  # (B, C, 1+K)
    c_in = curvature[:, None, :]  # (B, 1, 1+K)
    lam_out, q_out = _newton_ratio(io, len(uo), curvature * move_out**2, g * move_out, alpha)
    lam_in, q_in = _newton_ratio(ii, len(ui), (c_in * move_in**2).sum(2),
                                 weight * (step_in * neu1e[:, None, :]).sum(2), alpha)
    first_out, first_in = lam_out.clamp(min=1.0), lam_in.clamp(min=1.0)
    own_out = move_out / first_out[io].view(batch, slots)  # (B, 1+K)
    own_in = move_in / first_in[ii].view(batch, width, 1)  # (B, C, 1+K)
    total = own_out + own_in.sum(1)  # (B, 1+K): every score's move after the first pass
    cross_out = _row_sums(io, len(uo), (curvature * move_out * (total - own_out)).reshape(-1))
    cross_in = _row_sums(ii, len(ui),
                         (c_in * move_in * (total[:, None] - own_in)).sum(2).reshape(-1))
    tiny = torch.finfo(q_out.dtype).tiny
    div_out = lam_out * (1 + (first_out * cross_out / q_out.clamp(min=tiny)).clamp(min=0))
    div_in = lam_in * (1 + (first_in * cross_in / q_in.clamp(min=tiny)).clamp(min=0))
    return ((uo, sum_out / div_out.clamp(min=1.0)[:, None]),
            (ui, sum_in / div_in.clamp(min=1.0)[:, None]))


@torch.no_grad()
def sgd_step(model: CBOW, context, mask, target, negatives, alpha: float,
             damp: bool = True) -> torch.Tensor:
    """word2vec.c's CBOW negative-sampling update for a batch, applied in place; returns the
    per-example loss (B,) measured before the update.

    For each example: g = alpha * (label - sigmoid(score)) per output word; each output vector
    moves by g * h; each context vector moves by sum(g * out) (the full error, see ContextMean).
    Updates of a word that occurs several times in the batch add up; with `damp`, a row whose
    summed update would overshoot is scaled back (`damped_steps`), which keeps large batches
    from diverging.
    """
    syn0, syn1 = model.in_embed.weight, model.out_embed.weight
    dim = syn0.shape[1]
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
    if damp:  # one summed step per distinct row, already added up
        weight = mask / mask.sum(1, keepdim=True).clamp(min=1) if model.cbow_mean else mask
        (out_rows, out_step), (in_rows, in_step) = damped_steps(
            h, out, neu1e, g, s * (1 - s), out_rows, out_step, in_rows, in_step, weight, alpha)
    if model.lockf is not None:
        in_step = in_step * model.lockf[in_rows, None]
    syn1.index_add_(0, out_rows, out_step)
    syn0.index_add_(0, in_rows, in_step)
    return loss
