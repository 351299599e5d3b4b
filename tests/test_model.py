import pytest
import torch
import torch.nn.functional as F

from w2v.model import CBOW, negative_sampling_loss, row_damping, sgd_step
from w2v.train import make_optimizer


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
    from w2v.config import TrainConfig

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


def test_damping_scales_back_only_rows_whose_summed_step_overshoots():
    rows = torch.tensor([0, 0, 0, 0, 1, 2])
    curvature = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.3, 0.9])
    assert row_damping(rows, curvature, 4).tolist() == [2.0, 1.0, 1.0, 1.0]


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
        scores[damp] = float(model.out_embed.weight[1] @ model.in_embed.weight[0])
    # 1,000 summed steps from score 0 push it to 2.5, six times the minimum at 0.405: worse
    # than not moving at all. The damped step is the Newton step, 0.4: next to the minimum.
    assert scores[False] == pytest.approx(2.5, rel=1e-4)
    assert word1_loss(scores[False], 1000) > word1_loss(0.0, 1000)
    assert scores[True] == pytest.approx(0.4, rel=1e-4)
    assert word1_loss(scores[True], 1000) < word1_loss(0.0, 1000)


def test_damping_leaves_a_small_batch_as_word2vec_c_updates_it():
    model_plain, batch = _conflicting_batch(10)
    model_damped, _ = _conflicting_batch(10)
    sgd_step(model_plain, *batch, alpha=0.025, damp=False)
    sgd_step(model_damped, *batch, alpha=0.025, damp=True)
    assert torch.equal(model_plain.out_embed.weight, model_damped.out_embed.weight)
    assert torch.equal(model_plain.in_embed.weight, model_damped.in_embed.weight)
