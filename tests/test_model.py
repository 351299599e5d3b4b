import copy
import ctypes
import mmap

import pytest
import torch
import torch.nn.functional as F

from w2v.training.model import (
    CBOW,
    empty_table,
    huge_page_bytes,
    mean_pair_cosine,
    negative_sampling_loss,
    sgd_step,
)
from w2v.training.runtime import make_optimizer


def _batch(seed=0, B=6, C=4, K=3, V=20):
    g = torch.Generator().manual_seed(seed)
    context = torch.randint(V, (B, C), generator=g)
    mask = (torch.rand(B, C, generator=g) < 0.7).float()
    mask[:, 0] = 1.0
    target = torch.randint(V, (B,), generator=g)
    negatives = torch.randint(V, (B, K), generator=g)
    return context, mask, target, negatives


def _model(cbow_mean=True, V=20, D=8, seed=0):
    model = CBOW(V, D, cbow_mean, torch.Generator().manual_seed(seed))
    with torch.no_grad():  # non-zero outputs, so every gradient term is exercised
        model.out_embed.weight.normal_(0, 0.3, generator=torch.Generator().manual_seed(seed + 1))
    return model


def test_initialisation_is_word2vecs():
    model = CBOW(1000, 50, generator=torch.Generator().manual_seed(0))
    w = model.in_embed.weight
    assert w.abs().max() <= 0.5 / 50 and w.std() > 0.25 / 50
    assert torch.count_nonzero(model.out_embed.weight) == 0
    assert model.in_embed.weight.data_ptr() != model.out_embed.weight.data_ptr()


@pytest.mark.parametrize("rows", [3, 100_000])
def test_empty_table_is_an_ordinary_writable_table(rows):
    table = empty_table(rows, 30)
    assert table.shape == (rows, 30) and table.dtype == torch.float32 and table.is_contiguous()
    table.fill_(0.5)
    table[rows - 1] += 1.0
    assert table.sum().item() == pytest.approx(0.5 * rows * 30 + 30)


def _thp_mode():
    try:
        return open("/sys/kernel/mm/transparent_hugepage/enabled").read().split("[")[1][0]
    except (OSError, IndexError):
        return ""


@pytest.mark.skipif(_thp_mode() not in ("m", "a"), reason="needs Linux with transparent huge pages")
def test_a_big_table_asks_for_huge_pages_and_a_plain_one_does_not():
    # Whether Linux grants the pages depends on the machine (fragmentation, a container's
    # limits), so the test asserts the request, which the kernel records on the mapping.
    big = empty_table(4096, 1024).zero_()  # 16 MB
    # The control is a mapping of its own: heap memory may keep a freed table's request.
    buffer = mmap.mmap(-1, 16 << 20)
    plain = torch.frombuffer(buffer, dtype=torch.float32).zero_()
    assert huge_page_bytes(big)[0] >= 14 << 20  # all but the partial 2 MB pages at the ends
    assert huge_page_bytes(plain)[0] == 0


def test_a_small_table_does_not_ask(monkeypatch):
    # Not from smaps: a small table can land in heap memory that a freed big table's request
    # still marks (glibc serves 16 MB from the heap once it has freed a mapping that size).
    def refuse(*_):
        raise AssertionError("a small table called madvise")

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    assert empty_table(100, 30).shape == (100, 30)


def test_mean_pair_cosine_is_the_mean_over_distinct_pairs():
    rows = torch.randn(30, 8, generator=torch.Generator().manual_seed(0))
    unit = F.normalize(rows, dim=1)
    cosines = unit @ unit.T
    expected = (cosines.sum() - cosines.diagonal().sum()) / (30 * 29)
    assert mean_pair_cosine(rows) == pytest.approx(float(expected), abs=1e-6)
    assert mean_pair_cosine(torch.ones(5, 3) + 1e-4 * rows[:5, :3]) > 0.999


def test_model_tables_are_zeroed_where_word2vec_zeroes_them():
    model = CBOW(50_000, 64, generator=torch.Generator().manual_seed(0), hs=True)
    assert torch.count_nonzero(model.out_embed.weight) == 0
    assert torch.count_nonzero(model.hs_embed.weight) == 0
    assert torch.isfinite(model.in_embed.weight).all()


def test_forward_returns_logits_not_probabilities():
    model = _model()
    logits = model(*_batch())
    assert logits.shape == (6, 4)
    assert (logits.abs() > 0).any() and ((logits < 0) | (logits > 1)).any()


def test_loss_is_bce_with_logits_summed_per_example():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    s = torch.sigmoid
    expected = -torch.log(s(torch.tensor(2.0))) - torch.log(1 - s(torch.tensor(-1.0))) \
        - torch.log(1 - s(torch.tensor(0.5)))
    assert torch.allclose(negative_sampling_loss(logits), expected[None])


def _hand_gradients(model, context, mask, target, negatives):
    """word2vec's gradients of the summed loss, written out per example."""
    syn0, syn1 = model.in_embed.weight.detach(), model.out_embed.weight.detach()
    g0, g1 = torch.zeros_like(syn0), torch.zeros_like(syn1)
    for b in range(len(target)):
        words = [int(w) for w, m in zip(context[b], mask[b], strict=True) if m]
        h = syn0[words].sum(0)
        if model.cbow_mean:
            h = h / len(words)
        err = torch.zeros_like(h)
        for label, w in [(1.0, int(target[b]))] + [(0.0, int(n)) for n in negatives[b]]:
            g = torch.sigmoid(syn1[w] @ h) - label  # d loss / d score
            err += g * syn1[w]
            g1[w] += g * h
        for w in words:  # every context word gets the full error (word2vec.c)
            g0[w] += err
    return g0, g1


def test_autograd_gradients_match_the_hand_derived_formulas():
    for cbow_mean in (True, False):
        model = _model(cbow_mean)
        batch = _batch()
        negative_sampling_loss(model(*batch)).sum().backward()
        g0, g1 = _hand_gradients(model, *batch)
        assert torch.allclose(model.in_embed.weight.grad, g0, atol=1e-6)
        assert torch.allclose(model.out_embed.weight.grad, g1, atol=1e-6)


def test_manual_step_equals_autograd_sgd_step():
    from w2v.training.config import TrainConfig

    for cbow_mean in (True, False):
        manual, auto = _model(cbow_mean), _model(cbow_mean)
        batch = _batch(seed=3)
        loss_manual = sgd_step(manual, *batch, alpha=0.05, damp=False)
        opt = make_optimizer(TrainConfig(update="autograd", alpha=0.05), auto)
        loss_auto = negative_sampling_loss(auto(*batch))
        loss_auto.sum().backward()
        opt.step()
        assert torch.allclose(loss_manual, loss_auto.detach(), atol=1e-6)
        for a, b in [(manual.in_embed, auto.in_embed), (manual.out_embed, auto.out_embed)]:
            assert torch.allclose(a.weight, b.weight, atol=1e-7)


def test_a_step_lowers_the_loss_on_its_batch():
    model = _model()
    batch = _batch(seed=4)
    before = sgd_step(model, *batch, alpha=0.1).sum()
    after = negative_sampling_loss(model(*batch)).sum()
    assert after < before


def _conflicting_batch(n: int):
    """n examples with one context word (vector h, |h| = 1): word 1 is the target in 60% of them
    and a noise word in the rest, so its best score against h is logit(0.6) = 0.41."""
    model = CBOW(4, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.in_embed.weight[0] = torch.tensor([1.0, 0.0])
    context, mask = torch.zeros(n, 1, dtype=torch.long), torch.ones(n, 1)
    positive = torch.arange(n) < 0.6 * n
    target = torch.where(positive, 1, 2)
    negatives = torch.where(positive, 3, 1)[:, None]
    return model, (context, mask, target, negatives)


def test_a_damped_step_lands_near_the_minimum_a_plain_one_overshoots():
    def word1_loss(score: float, n: int) -> float:  # its 60% positive, 40% noise terms
        s = torch.tensor(score)
        return float(0.6 * n * F.softplus(-s) + 0.4 * n * F.softplus(s))

    scores = {}
    for damp in (False, True):
        model, batch = _conflicting_batch(1000)
        sgd_step(model, *batch, alpha=0.025, damp=damp)
        scores[damp] = float(model.out_embed.weight[1].detach() @ model.in_embed.weight[0].detach())
    # 1,000 summed steps from score 0 push it to 2.5, six times the minimum at 0.405: worse
    # than not moving at all. The damped step is the Newton step, 0.4: next to the minimum.
    assert scores[False] == pytest.approx(2.5, rel=1e-4)
    assert word1_loss(scores[False], 1000) > word1_loss(0.0, 1000)
    assert scores[True] == pytest.approx(0.4, rel=1e-4)
    assert word1_loss(scores[True], 1000) < word1_loss(0.0, 1000)


def test_damping_shares_the_step_when_both_tables_move():
    # Word 1's output vector starts orthogonal to h (score 0) but not at zero, so the context
    # row moves the score too: each table's Newton step alone would reach the minimum, together
    # they would land twice as far (0.8). The damped steps share the way and stop at 0.4.
    scores = {}
    for damp in (False, True):
        model, batch = _conflicting_batch(1000)
        with torch.no_grad():
            model.out_embed.weight[1] = torch.tensor([0.0, 1.0])
        sgd_step(model, *batch, alpha=0.025, damp=damp)
        out, ctx = model.out_embed.weight[1].detach(), model.in_embed.weight[0].detach()
        scores[damp] = float(out @ ctx)
        if damp:  # half of the way each: out along h, the context row along out
            assert out[0] == pytest.approx(0.2, rel=1e-4)
            assert ctx[1] == pytest.approx(0.2, rel=1e-4)
    assert scores[False] == pytest.approx(5.0, rel=1e-4)  # 2.5 from each table
    assert scores[True] == pytest.approx(0.4, rel=1e-3)


@pytest.mark.parametrize("width, n, repeated", [(10, 60, False), (4, 40, True)])
def test_damping_counts_every_row_that_moves_a_score(width, n, repeated):
    # Summed contexts of `width` words (one word `width` times when repeated), each row needing
    # no damping alone: together with the output row they would carry word 1's score to 1.5-3.
    model = CBOW(20, width + 1, cbow_mean=False, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.out_embed.weight.zero_()
        model.out_embed.weight[1, width] = 1.0  # orthogonal to h: score 0
        for i in range(width):
            model.in_embed.weight[10 + i] = torch.eye(width + 1)[i]
    words = [10] * width if repeated else [10 + i for i in range(width)]
    context, mask = torch.tensor(words).repeat(n, 1), torch.ones(n, width)
    positive = torch.arange(n) < 0.6 * n
    batch = (context, mask, torch.where(positive, 1, 2), torch.where(positive, 3, 1)[:, None])
    scores = {}
    for damp in (False, True):
        trained = copy.deepcopy(model)
        sgd_step(trained, *batch, alpha=0.025, damp=damp)
        h = trained.in_embed.weight[context[0]].sum(0).detach()
        scores[damp] = float(trained.out_embed.weight[1].detach() @ h)
    assert scores[False] > 1.4  # past 0.81, where the loss is back to not moving at all
    assert scores[True] == pytest.approx(0.4, abs=0.01)


def test_damping_handles_an_empty_batch():
    model = _model()
    context, mask, target, negatives = _batch()
    loss = sgd_step(model, context[:0], mask[:0], target[:0], negatives[:0], alpha=0.025)
    assert loss.shape == (0,)


def test_damping_follows_a_rows_own_direction_not_its_largest_curvature():
    # Word 1 is the target of n examples whose contexts point n different ways (one-hot h):
    # along any one of them the curvature is that of a single example, so word2vec.c's summed
    # update stands, where dividing by the summed curvature, n * alpha * 1/4 * |h|^2 = 3.6,
    # would shrink it 3.6-fold.
    n = 64
    model = CBOW(n + 2, n, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.in_embed.weight[:n] = 3 * torch.eye(n)
    context, mask = torch.arange(n)[:, None], torch.ones(n, 1)
    target, negatives = torch.full((n,), n), torch.full((n, 1), n + 1)
    damped = copy.deepcopy(model)
    sgd_step(model, context, mask, target, negatives, alpha=0.025, damp=False)
    sgd_step(damped, context, mask, target, negatives, alpha=0.025, damp=True)
    assert torch.equal(model.out_embed.weight, damped.out_embed.weight)


def test_damping_leaves_a_small_batch_as_word2vec_c_updates_it():
    model_plain, batch = _conflicting_batch(10)
    model_damped, _ = _conflicting_batch(10)
    sgd_step(model_plain, *batch, alpha=0.025, damp=False)
    sgd_step(model_damped, *batch, alpha=0.025, damp=True)
    assert torch.equal(model_plain.out_embed.weight, model_damped.out_embed.weight)
    assert torch.equal(model_plain.in_embed.weight, model_damped.in_embed.weight)
