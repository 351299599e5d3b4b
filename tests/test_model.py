import pytest
import torch

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
    assert row_damping(rows, curvature, 4).tolist() == pytest.approx([4.0, 1.0, 1.8, 1.0])


def _zipf_batch(generator, vocab=2000, size=16384, window=4, negative=5):
    """A large batch drawn as from real text: Zipf words, unigram^0.75 noise."""
    p = 1 / torch.arange(1, vocab + 1, dtype=torch.float64)
    q = p**0.75
    target = torch.multinomial(p, size, replacement=True, generator=generator)
    context = torch.multinomial(p, size * window, replacement=True, generator=generator)
    negatives = torch.multinomial(q, size * negative, replacement=True, generator=generator)
    return context.view(size, window), torch.ones(size, window), target, negatives.view(size, -1)


def test_damping_keeps_large_batches_from_diverging():
    """Batches of 16,384 Zipf-distributed examples at word2vec's alpha: the plain summed update
    blows up within a few steps (frequent rows hit thousands of times), the damped one learns."""
    for damp in (False, True):
        gen = torch.Generator().manual_seed(0)
        model = CBOW(2000, 32, generator=torch.Generator().manual_seed(1))
        losses = [float(sgd_step(model, *_zipf_batch(gen), alpha=0.025, damp=damp).mean())
                  for _ in range(12)]
        if damp:
            assert max(losses[1:]) < losses[0] and losses[-1] < 0.7 * losses[0], losses
        else:
            assert not losses[-1] < 100, losses  # NaN or huge


def test_damping_leaves_a_small_batch_as_word2vec_c_updates_it():
    gen = torch.Generator().manual_seed(2)
    small = tuple(t[:16] for t in _zipf_batch(gen))
    plain, damped = (CBOW(2000, 8, generator=torch.Generator().manual_seed(1)) for _ in range(2))
    for model, damp in ((plain, False), (damped, True)):
        for _ in range(3):
            sgd_step(model, *small, alpha=0.025, damp=damp)
    assert torch.equal(plain.in_embed.weight, damped.in_embed.weight)
    assert torch.equal(plain.out_embed.weight, damped.out_embed.weight)
