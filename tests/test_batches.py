import numpy as np
import torch

from w2v.corpus.encoding import EncodedCorpus, encode
from w2v.corpus.vocab import Vocab
from w2v.training.batches import (
    AliasTable,
    CBOWDataset,
    cbow_batches,
    cbow_examples,
    collate_cbow,
    draw_negatives,
    window_offsets,
)


def _examples(n=5000, vocab=50, window=5, negative=5, keep=1.0, sentences=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(vocab, (n,), generator=g)
    sentence = torch.sort(torch.randint(sentences, (n,), generator=g)).values
    keep_prob = torch.full((vocab,), keep, dtype=torch.float64)
    noise = AliasTable.of(np.ones(vocab))
    out = cbow_examples(ids, sentence, keep_prob, noise, window, negative, g)
    return ids, sentence, out


def test_window_offsets_exclude_the_target():
    assert window_offsets(3).tolist() == [-3, -2, -1, 1, 2, 3]


def test_contexts_are_the_true_neighbours_within_the_shrunk_window():
    # With keep=1 every token is a target; recompute each context from the raw sequence.
    ids, sentence, (context, mask, target, negatives) = _examples()
    assert torch.equal(target, ids)  # every target has a neighbour in a 7-sentence corpus
    offsets = window_offsets(5)
    reach = []
    for i in range(0, len(ids), 97):
        used = offsets[mask[i].bool()]
        assert len(used) >= 1
        r = int(used.abs().max())
        reach.append(r)
        expected = [int(ids[i + o]) for o in offsets.tolist()
                    if abs(o) <= r and 0 <= i + o < len(ids) and sentence[i + o] == sentence[i]]
        assert context[i][mask[i].bool()].tolist() == expected
    # The shrunk window takes each size 1..window (roughly uniformly).
    assert set(reach) == {1, 2, 3, 4, 5}


def test_no_target_among_its_negatives():
    _, _, (context, mask, target, negatives) = _examples(vocab=3)
    assert negatives.shape == (len(target), 5)
    assert not (negatives == target[:, None]).any()


def test_draw_negatives_follows_the_noise_distribution():
    g = torch.Generator().manual_seed(3)
    noise = AliasTable.of(np.array([6.0, 3.0, 1.0]), ns_exponent=1.0)
    target = torch.full((20000,), 7)
    neg = draw_negatives(noise, target, 5, g)
    share = torch.bincount(neg.flatten(), minlength=3).double() / neg.numel()
    assert torch.allclose(share, torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64), atol=0.01)


def test_subsampling_keeps_words_at_their_keep_probability():
    g = torch.Generator().manual_seed(5)
    n = 200_000
    ids = torch.randint(2, (n,), generator=g)
    keep_prob = torch.tensor([0.2, 0.9], dtype=torch.float64)
    _, mask, target, _ = cbow_examples(ids, torch.zeros(n, dtype=torch.long), keep_prob,
                                       AliasTable.of(np.ones(2)), 2, 1, g)
    for word, p in [(0, 0.2), (1, 0.9)]:
        rate = (target == word).sum().item() / (ids == word).sum().item()
        assert abs(rate - p) < 0.01


def test_batches_cover_the_epoch_and_account_every_word():
    corpus = EncodedCorpus(np.arange(1000, dtype=np.int32) % 10,
                           np.array([0, 400, 1000]), 1000)
    batches = list(cbow_batches(corpus, torch.ones(10, dtype=torch.float64),
                                AliasTable.of(np.ones(10)), 3, 2, 64,
                                torch.Generator().manual_seed(0), chunk_tokens=300))
    assert all(len(b) <= 64 for b in batches)
    assert sum(len(b) for b in batches) == 1000
    assert abs(sum(b.words for b in batches) - 1000) < 1e-6
    # Contexts stop at sentence ends only, never at the edges of the slices examples are built
    # in: every token with a neighbour on each side sees both (offsets -1 and +1 always count).
    mask = torch.cat([b.mask for b in batches])  # (1000, 6): offsets -3..-1, 1..3
    inner = [i for i in range(1000) if i not in (0, 399, 400, 999)]
    assert bool((mask[inner][:, [2, 3]] == 1).all())


def test_dataset_yields_seed_style_examples_and_collates():
    sentences = [["a", "b", "c", "d", "a", "b"], ["c", "a"]] * 30
    vocab = Vocab.build(sentences, min_count=1)
    dataset = CBOWDataset(encode(sentences, vocab), vocab, window=2, negative=3,
                          sample=0, seed=1)
    examples = list(dataset)
    assert len(examples) == sum(len(s) for s in sentences)
    context, target, negatives = examples[0]
    assert context.ndim == 1 and 1 <= len(context) <= 4
    assert target.ndim == 0 and negatives.shape == (3,)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, collate_fn=collate_cbow)
    ctx, mask, tgt, neg = next(iter(loader))
    assert ctx.shape == mask.shape and ctx.shape[0] == 16 and neg.shape == (16, 3)
    counts = mask.sum(1)
    assert bool(((counts >= 1) & (counts <= 4)).all())
