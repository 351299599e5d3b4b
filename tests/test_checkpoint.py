"""Checkpoints: a run stopped at any point and resumed ends with the vectors of a run never
stopped (bit for bit with one worker), through the API and through the CLI killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from test_cli import SRC

import w2v.training.checkpoint
from w2v import KeyedVectors, Word2Vec
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError
from w2v.training.checkpoint import Checkpointer, Job, TrainingInterrupted, checkpoints, latest
from w2v.training.config import TrainConfig
from w2v.training.loop import Position, State, TrainingDiverged, make_plan, train
from w2v.training.model import CBOW

SETTINGS = dict(vector_size=24, min_count=3, epochs=3, workers=1, seed=7, tokenize=True,
                lowercase=True)


@pytest.fixture(scope="module")
def moby(novels):
    return novels / "melville_moby_dick.txt"


@pytest.fixture(scope="module")
def reference(moby):
    """The uninterrupted run every resumed one must equal."""
    return Word2Vec(corpus_file=moby, **SETTINGS)


class SignalAt:
    """A callback that sends this process `signum` when epoch `epoch` (1-based) begins."""

    def __init__(self, epoch: int, signum=signal.SIGINT):
        self.epoch, self.signum, self.seen = epoch, signum, 0

    def on_epoch_begin(self, model):
        self.seen += 1
        if self.seen == self.epoch:
            os.kill(os.getpid(), self.signum)


def test_signal_saves_then_resume_is_bit_identical(moby, reference, tmp_path):
    folder = tmp_path / "ck"
    model = Word2Vec(checkpoint_dir=str(folder), checkpoint_every=0, **SETTINGS)
    model.build_vocab(corpus_file=moby)
    with pytest.raises(TrainingInterrupted) as stop:
        model.train(callbacks=[SignalAt(2)])
    # Saved after the first chunk of epoch 2, not at the epoch end before it.
    assert stop.value.path.name == "checkpoint-0001-000001.w2v"
    assert stop.value.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored

    resumed = Word2Vec.resume(folder)
    assert np.array_equal(resumed.wv.vectors, reference.wv.vectors)
    assert np.array_equal(resumed.model.out_embed.weight.detach().numpy(),
                          reference.model.out_embed.weight.detach().numpy())
    assert resumed.epoch_losses == reference.epoch_losses
    assert [h.epoch for h in resumed.history] == [1, 2, 3]


def test_a_subword_model_resumes_bit_identical(moby, tmp_path):
    """The checkpoint holds the n-gram rows too: fastText's input matrix comes back whole."""
    settings = {**SETTINGS, "subwords": True, "bucket": 5000}
    reference = Word2Vec(corpus_file=moby, **settings)
    folder = tmp_path / "ck"
    _stop_in_epoch_2(moby, folder, settings)
    resumed = Word2Vec.resume(folder)
    assert np.array_equal(resumed.model.in_embed.weight.detach().numpy(),
                          reference.model.in_embed.weight.detach().numpy())
    np.testing.assert_array_equal(resumed.wv["whalle"], reference.wv["whalle"])
    assert resumed.epoch_losses == reference.epoch_losses


def _stop_in_epoch_2(corpus, folder, settings) -> None:
    """Train with checkpoints until a SIGINT early in epoch 2 stops the run."""
    model = Word2Vec(checkpoint_dir=str(folder), checkpoint_every=0, **settings)
    model.build_vocab(corpus_file=corpus)
    with pytest.raises(TrainingInterrupted):
        model.train(callbacks=[SignalAt(2)])


def test_a_mid_epoch_resume_times_only_the_words_it_trains(moby, tmp_path, monkeypatch):
    import w2v.training.loop

    folder = tmp_path / "ck"
    model = Word2Vec(checkpoint_dir=str(folder), checkpoint_every=0, **SETTINGS)
    model.build_vocab(corpus_file=moby)
    with pytest.raises(TrainingInterrupted):
        model.train(callbacks=[SignalAt(2)])
    trained = model.trace[-1].words  # an epoch and a chunk
    assert model.vocab.corpus_words < trained < 2 * model.vocab.corpus_words
    baselines = []

    class Recorded(w2v.training.loop.Progress):
        def __init__(self, *args, start_words=0.0, **kwargs):
            baselines.append(start_words)
            super().__init__(*args, start_words=start_words, **kwargs)

    monkeypatch.setattr(w2v.training.loop, "Progress", Recorded)
    Word2Vec.resume(folder)
    assert baselines == [trained]  # words/s and the ETA count from where it resumed


AUTOGRAD = {**SETTINGS, "epochs": 2, "update": "autograd", "alpha": 0.002, "batch_size": 512}


def test_resume_restores_the_optimizer_state(moby, tmp_path):
    settings = {**AUTOGRAD, "optimizer": "adam"}
    whole = Word2Vec(corpus_file=moby, **settings)
    folder = tmp_path / "ck"
    _stop_in_epoch_2(moby, folder, settings)
    resumed = Word2Vec.resume(folder)
    assert np.array_equal(resumed.wv.vectors, whole.wv.vectors)


def test_only_the_newest_checkpoints_are_kept(moby, tmp_path):
    folder = tmp_path / "ck"
    Word2Vec(corpus_file=moby, checkpoint_dir=str(folder), checkpoint_every=1e-9, **SETTINGS)
    names = [p.name for p in checkpoints(folder)]
    assert len(names) == 2 and names[-1] == "checkpoint-0003-000000.w2v"
    # A checkpoint is a model file too.
    assert KeyedVectors.load(folder / names[-1]).vector_size == SETTINGS["vector_size"]


def test_checkpointer_saves_on_epoch_end_and_by_time(tmp_path, monkeypatch):
    saved = []
    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(w2v.training.checkpoint, "write_checkpoint",
                        lambda path, job, state, optimizer: saved.append(path.name))
    job = Job(TrainConfig(), Vocab(["a"], [1]), CBOW(1, 2), {"first_epoch": 0}, None, 1, 1)
    with Checkpointer(tmp_path, every_minutes=1, job=job) as c:
        c.save_if_due(State(Position(0, 1)), None)
        clock[0] = 61.0
        c.save_if_due(State(Position(0, 2)), None)
        c.save_if_due(State(Position(0, 3)), None)
        c.save_if_due(State(Position(1, 0)), None, epoch_end=True)
    assert saved == ["checkpoint-0000-000002.w2v", "checkpoint-0001-000000.w2v"]


def test_resume_refuses_a_missing_run_or_a_changed_corpus(moby, novels, tmp_path):
    with pytest.raises(W2VError, match="no such folder"):
        latest(tmp_path / "nope")
    with pytest.raises(W2VError, match="no checkpoint"):
        Word2Vec.resume(tmp_path)
    folder = tmp_path / "ck"
    Word2Vec(corpus_file=moby, checkpoint_dir=str(folder), **{**SETTINGS, "epochs": 1})
    other = novels / "carroll_alice_in_wonderland.txt"
    with pytest.raises(W2VError, match="the corpus the run was started on"):
        Word2Vec.resume(folder, corpus_file=other)


class Poison:
    """A fault injected after epoch 1: one word's vector becomes NaN."""

    def on_epoch_end(self, model):
        with torch.no_grad():
            model.model.in_embed.weight[1] = float("nan")


def test_divergence_stops_training_and_keeps_the_last_good_checkpoint(moby, tmp_path):
    folder = tmp_path / "ck"
    model = Word2Vec(checkpoint_dir=str(folder), checkpoint_every=1e-9, **SETTINGS)
    model.build_vocab(corpus_file=moby)
    with pytest.raises(TrainingDiverged, match="lower alpha") as stop:
        model.train(callbacks=[Poison()])
    assert "is kept" in str(stop.value)
    good = KeyedVectors.load(latest(folder))
    assert np.isfinite(good.vectors).all()


def test_a_learning_rate_far_too_high_is_named(moby):
    with pytest.raises(TrainingDiverged, match="batch_size=4096"):
        Word2Vec(corpus_file=moby, **{**SETTINGS, "update": "batched", "batch_size": 4096,
                                      "alpha": 1e30, "epochs": 1})


# --- the command line, killed for real ------------------------------------------------------

def _w2v(*argv) -> list[str]:
    return [sys.executable, "-m", "w2v", "train", *map(str, argv)]


ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
CLI_FLAGS = ("--vector-size", 24, "--min-count", 3, "--epochs", 3, "--workers", 1, "--seed", 7,
             "--tokenize", "--lowercase", "--quiet")


def _progress(folder) -> tuple[int, int]:
    found = checkpoints(folder) if folder.exists() else []
    if not found:
        return (-1, -1)
    epoch, chunk = found[-1].stem.split("-")[1:]
    return int(epoch), int(chunk)


@pytest.fixture(scope="module")
def cli_reference(moby, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref.bin"
    done = subprocess.run(_w2v(moby, "-o", out, *CLI_FLAGS), env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@pytest.mark.parametrize("kill_after", [(0, 2), (1, 5), (2, 0)])
def test_sigkill_then_resume_gives_the_same_file(moby, cli_reference, tmp_path, kill_after):
    folder, out = tmp_path / "ck", tmp_path / "out.bin"
    job = subprocess.Popen(_w2v(moby, "-o", out, *CLI_FLAGS, "--checkpoint-dir", folder,
                                "--checkpoint-every", 1e-9), env=ENV,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _progress(folder) < kill_after and job.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode in (-signal.SIGKILL, 0)  # 0: it finished before the kill landed
    if job.returncode == 0:
        pytest.skip("the run finished before it could be killed")
    assert not out.exists()
    done = subprocess.run(_w2v("--resume", folder, "--quiet"), env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == cli_reference


def test_sigterm_saves_and_says_how_to_resume(moby, cli_reference, tmp_path):
    folder, out = tmp_path / "ck", tmp_path / "out.bin"
    job = subprocess.Popen(_w2v(moby, "-o", out, *CLI_FLAGS, "--checkpoint-dir", folder,
                                "--checkpoint-every", 0), env=ENV, stderr=subprocess.PIPE,
                           text=True)
    deadline = time.monotonic() + 120
    while _progress(folder) < (1, 0):
        assert time.monotonic() < deadline and job.poll() is None
        time.sleep(0.005)
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=60)
    assert job.returncode == 128 + signal.SIGTERM
    assert f"continue with: w2v train --resume {folder}" in err
    assert "Traceback" not in err
    done = subprocess.run(_w2v("--resume", folder, "--quiet"), env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == cli_reference


def test_resume_without_a_run_is_one_line(tmp_path):
    done = subprocess.run(_w2v("--resume", tmp_path), env=ENV, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("w2v: error: cannot resume") and done.stderr.count("\n") == 1


def test_a_parallel_run_resumed_ends_at_the_same_quality(moby, tmp_path):
    """With two lock-free threads a run is not repeatable bit for bit, stopped or not; resumed,
    it ends where an uninterrupted parallel run does."""
    settings = {**SETTINGS, "workers": 2}
    whole = Word2Vec(corpus_file=moby, **settings)
    folder = tmp_path / "ck"
    _stop_in_epoch_2(moby, folder, settings)
    resumed = Word2Vec.resume(folder)
    assert resumed.epoch_losses[-1] == pytest.approx(whole.epoch_losses[-1], rel=0.01)
    pairs = [("whale", "ship"), ("captain", "ahab"), ("sea", "ocean")]
    for a, b in pairs:
        assert resumed.wv.similarity(a, b) == pytest.approx(whole.wv.similarity(a, b), abs=0.15)


def test_a_checkpoint_dir_that_cannot_work_is_refused_before_training(moby, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    model = Word2Vec(checkpoint_dir=str(blocker), **SETTINGS)
    model.build_vocab(corpus_file=moby)
    with pytest.raises(W2VError, match="is a file; give a folder"):
        model.train()
    assert model.history == []


def test_resume_refuses_settings_it_would_ignore(tmp_path):
    done = subprocess.run(_w2v("--resume", tmp_path, "--epochs", 9, "--alpha", 0.1), env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "drop --alpha --epochs" in done.stderr and done.stderr.count("\n") == 1


def test_a_used_folder_is_refused_and_later_train_calls_number_on(moby, tmp_path):
    folder = tmp_path / "ck"
    model = Word2Vec(corpus_file=moby, checkpoint_dir=str(folder), **{**SETTINGS, "epochs": 2})
    model.train(epochs=1)  # a later call: its epoch is the model's third
    assert checkpoints(folder)[-1].name == "checkpoint-0003-000000.w2v"
    with pytest.raises(W2VError, match="holds another run's checkpoints"):
        Word2Vec(corpus_file=moby, checkpoint_dir=str(folder), **SETTINGS)


def test_resume_saves_where_it_resumed_from_and_restores_sparse_tables(moby, tmp_path,
                                                                       monkeypatch):
    settings = {**AUTOGRAD, "optimizer": "sparseadam"}
    whole = Word2Vec(corpus_file=moby, **settings)
    folder = tmp_path / "ck"
    _stop_in_epoch_2(moby, folder, settings)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    resumed = Word2Vec.resume(folder)
    assert np.array_equal(resumed.wv.vectors, whole.wv.vectors)
    assert checkpoints(folder)[-1].name == "checkpoint-0002-000000.w2v"
    assert list(elsewhere.iterdir()) == []


def test_resume_refuses_chunks_counted_another_way(moby, tmp_path):
    """A position counts chunks of a size that depends on the corpus, the update method and the
    number of ranks; resumed under another size it would point at other words."""
    folder = tmp_path / "ck"
    _stop_in_epoch_2(moby, folder, SETTINGS)
    model = Word2Vec.load(latest(folder))
    model.build_vocab(corpus_file=moby)
    elsewhere = Position(epoch=1, chunk=1, chunk_words=999)
    plan = make_plan(model.model, model.corpus, model.vocab, model.config)
    with pytest.raises(W2VError, match="counted its corpus in chunks of 999 words"):
        train(model.model, model.corpus, plan, State(elsewhere))
