"""The training loop's guards: a run whose loss grows stops with one line naming the fix."""

from types import SimpleNamespace

import pytest

from w2v import Word2Vec
from w2v.training.config import TrainConfig
from w2v.training.loop import EpochStats, TrainingDiverged, check_epoch_growth


def _plan(**overrides):
    fields = dict(config=TrainConfig(), world=1, update="kernel", chunk_words=65536,
                  epoch_words=1e6)
    return SimpleNamespace(**{**fields, **overrides})


def _epoch(epoch, loss, examples=50_000):
    return EpochStats(epoch, loss, examples, 1_000_000, 1.0)


def test_a_loss_rising_past_an_untrained_models_stops_the_run_in_its_first_epoch(novels):
    with pytest.raises(TrainingDiverged, match=r"rose to .* in epoch 1 .* above 4\.16 .*lower "
                                               r"alpha \(now 0\.5\)"):
        Word2Vec(corpus_file=novels / "melville_moby_dick.txt", vector_size=24, min_count=3,
                 epochs=3, workers=1, seed=3, tokenize=True, lowercase=True, alpha=0.5)


def test_an_epoch_whose_loss_grows_beyond_noise_stops_the_run():
    earlier = [_epoch(1, 3.2), _epoch(2, 2.9)]
    check_epoch_growth(_epoch(3, 3.0), earlier, _plan())  # within noise: goes on
    with pytest.raises(TrainingDiverged, match=r"grew from 2\.90 \(epoch 2\) to 16\.10 "
                                               r"\(epoch 3\).*4 ranks.*fewer ranks"):
        check_epoch_growth(_epoch(3, 16.1), earlier, _plan(world=4))


def test_epochs_too_small_to_measure_are_not_compared():
    check_epoch_growth(_epoch(2, 9.0), [_epoch(1, 0.0, examples=0)], _plan())
    check_epoch_growth(_epoch(2, 9.0, examples=500), [_epoch(1, 2.0)], _plan())
