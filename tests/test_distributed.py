"""Data-parallel training over torch.distributed (gloo, on the CPU): two ranks on a real novel."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_cli import SRC

from w2v import KeyedVectors, Word2Vec
from w2v.corpus.encoding import EncodedCorpus
from w2v.errors import W2VError
from w2v.training.distributed import (
    RankLost,
    TableSync,
    combine_changes,
    local_threads,
    sync_interval,
)
from w2v.training.loop import Position, pending_chunks

SETTINGS = dict(vector_size=24, min_count=3, epochs=2, workers=1, seed=3, tokenize=True,
                lowercase=True, sync_words=0)

# One rank of a job, as torchrun would start it: the group comes from the environment.
RANK_SCRIPT = """
import json, signal, sys, numpy as np
from w2v import Word2Vec
# As `w2v train` does: a SIGTERM outside training (say, after a checkpointed stop) exits 143.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
from w2v.errors import W2VError
corpus, out, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

class Started:
    def on_epoch_begin(self, model):
        open(out + ".started", "w").close()

try:
    if "resume" in settings:
        model = Word2Vec.resume(settings["resume"])
    else:
        model = Word2Vec(corpus_file=corpus, callbacks=[Started()], **settings)
except W2VError as e:
    print(f"w2v: error: {e}", file=sys.stderr)
    sys.exit(2)
except KeyboardInterrupt as stop:  # a signal: the state was saved, as the CLI reports it
    print(f"w2v: {stop}", file=sys.stderr)
    sys.exit(143)
np.save(out, model.wv.vectors)
np.save(out + "-out", model.model.out_embed.weight.detach().numpy())
json.dump({"losses": model.epoch_losses, "bytes": model.exchanged_bytes}, open(out + ".json", "w"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_ranks(corpus, folder, settings, world=2, corpora=None):
    port = _free_port()
    ranks = []
    for rank in range(world):
        corpus = corpora[rank] if corpora else corpus
        env = {**os.environ, "PYTHONPATH": SRC, "RANK": str(rank), "WORLD_SIZE": str(world),
               "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(world),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        ranks.append(subprocess.Popen(
            [sys.executable, "-c", RANK_SCRIPT, str(corpus), str(folder / f"rank{rank}"),
             json.dumps(settings)], env=env, stderr=subprocess.PIPE, text=True))
    return ranks


@pytest.fixture(scope="module")
def moby(novels):
    return novels / "melville_moby_dick.txt"


# The defaults (bfloat16 changes, rare rows every 4th round), every row in float32 every round,
# the sums applied a round late, the batched path, which marks its own output rows, and
# subword vectors, whose n-gram rows are exchanged as the words' are.
@pytest.mark.parametrize("options", [{}, {"sync_dtype": "float32", "sync_rare_every": 1},
                                     {"sync_overlap": True},
                                     {"sync_overlap": True, "sync_rare_every": 1},
                                     {"update": "batched"}, {"subwords": True, "bucket": 20000}])
def test_two_ranks_finish_agree_and_learn(moby, tmp_path, options):
    settings = {**SETTINGS, **options}
    ranks = _start_ranks(moby, tmp_path, settings)
    for job in ranks:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err
    # The ranks end with identical tables: every row a rank changed was sent (the output rows
    # as the kernel or the batches marked them; rare rows held back at the epoch's end).
    for table in ("", "-out"):
        v0, v1 = (np.load(tmp_path / f"rank{r}{table}.npy") for r in (0, 1))
        assert np.array_equal(v0, v1)
    stats = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert stats[0]["losses"] == stats[1]["losses"]  # the loss is the whole corpus's
    assert stats[0]["bytes"] > 0
    # It learned as one process does at the same epochs: the loss falls to about the same.
    alone = Word2Vec(corpus_file=moby, **settings)
    assert stats[0]["losses"][-1] < stats[0]["losses"][0]
    assert stats[0]["losses"][-1] == pytest.approx(alone.epoch_losses[-1], rel=0.05)


def test_a_killed_rank_stops_the_job_with_a_clear_error(moby, tmp_path):
    settings = {**SETTINGS, "epochs": 30, "dist_timeout": 20.0}
    survivor, victim = _start_ranks(moby, tmp_path, settings)
    deadline = time.monotonic() + 120
    while not (tmp_path / "rank1.started").exists():
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.01)
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    _, err = survivor.communicate(timeout=90)
    victim.communicate()
    assert survivor.returncode == 2
    assert "lost the other ranks" in err and "--resume" in err
    assert "Traceback" not in err
    assert time.monotonic() - killed_at < settings["dist_timeout"] + 30


def test_torchrun_cli_writes_one_loadable_file(moby, tmp_path):
    out = tmp_path / "vec.bin"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "w2v", "train", str(moby), "-o", str(out), "--tokenize", "--lowercase",
         "--min-count", "3", "--vector-size", "24", "--epochs", "1", "--quiet"],
        env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    kv = KeyedVectors.load_word2vec_format(out, binary=True)
    assert kv.vector_size == 24 and "whale" in kv.key_to_index
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vec.bin"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_exchange_combines_every_ranks_changes(monkeypatch, dtype):
    """Two simulated ranks: each changes rows; after the exchange both hold base plus the
    combined change, and only changed rows were sent, in `dtype`."""
    import torch.distributed as dist

    base = torch.zeros(5, 2)
    mine, theirs = base.clone(), base.clone()
    mine[1] += 1.0
    theirs[1] += 2.0
    theirs[3] += 5.0
    # Row 1 saturated on both ranks (exposure 20: at its target), row 3 barely moved.
    exposure = np.array([0, 20, 0, 0, 0], dtype=np.float32)
    their_exposure = np.array([0, 20, 0, 1e-4, 0], dtype=np.float32)
    others = {"mask": None}
    sent = []

    def all_reduce(tensor, op=None):
        sent.append(tensor.dtype)
        if tensor.dtype == torch.uint8:  # the changed-rows mask: a byte a row
            tensor += (theirs != base).any(1).to(torch.uint8)  # the tables' masks, joined
            others["mask"] = tensor.clone()
            return
        if tensor.dtype == torch.float64:  # loss, examples, stop
            tensor += torch.tensor([1.0, 10.0, 0.0, 0.0], dtype=torch.float64)
            return
        rows = others["mask"].bool().nonzero().squeeze(1)
        x = torch.from_numpy(their_exposure)[rows]
        if len(sent) == 3:  # the changes of the rows changed anywhere
            tensor += (theirs[rows] - base[rows]).to(tensor.dtype)
        else:  # 1 - e^-x and x
            tensor += torch.stack([-torch.expm1(-x), x], 1)

    monkeypatch.setattr(dist, "all_reduce", all_reduce)
    sync = TableSync([mine], timeout_seconds=1.0, dtype=dtype)
    sync.base = [base.clone()]
    totals = sync.exchange(loss=2.0, examples=5, stop=False, exposure=[exposure])
    assert (totals.loss, totals.examples, totals.stop) == (3.0, 15, False)
    assert mine[1].tolist() == pytest.approx([1.5, 1.5])  # both at the target: their mean
    assert mine[3].tolist() == pytest.approx([5.0, 5.0], rel=1e-3)  # one rank's: in full
    assert mine[[0, 2, 4]].abs().sum() == 0
    assert sync.base[0].tolist() == mine.tolist()
    assert sync.rows_sent == 2
    assert sent == [torch.uint8, torch.float64, dtype, torch.float32]


def test_rare_rows_wait_for_every_kth_exchange_and_then_go_with_all_they_gathered(monkeypatch):
    """Tiered exchanges (one simulated rank): the hot row goes every round; the rare row's
    changes and exposure are held back and go, all together, every second round."""
    import torch.distributed as dist

    sent = []
    monkeypatch.setattr(dist, "all_reduce", lambda tensor, op=None: sent.append(tensor.clone()))
    table = torch.zeros(3, 2)
    sync = TableSync([table], timeout_seconds=1.0)
    sync.tier([np.array([True, False, False])], rare_every=2)
    exposure = np.array([1.0, 0.5, 0.0], dtype=np.float32)
    for round_ in (1, 2):
        sent.clear()
        table[0] += 1.0
        table[1] += 1.0
        sync.exchange(1.0, 1, False, [exposure], [torch.tensor([True, True, False])])
        mask, _, changes, moved = sent
        if round_ == 1:
            assert mask.tolist() == [1, 0, 0] and changes.tolist() == [[1.0, 1.0]]
            assert sync.base[0][1].tolist() == [0.0, 0.0]  # held back
        else:
            assert mask.tolist() == [1, 1, 0]
            assert changes.tolist() == [[1.0, 1.0], [2.0, 2.0]]  # two rounds' change
            assert moved[1, 1] == pytest.approx(1.0)  # and two rounds' exposure
            assert sync.base[0][1].tolist() == [2.0, 2.0]
    assert torch.equal(table, sync.base[0])
    table[1] += 1.0  # round 3 holds it back, but a checkpoint is due: it goes first
    sync.exchange(1.0, 1, False, [exposure], [torch.tensor([False, True, False])], save=True)
    assert torch.equal(table, sync.base[0])


def test_combined_changes_run_from_the_sum_of_fresh_rows_to_the_mean_of_saturated_ones():
    summed = torch.full((3, 1), 4.0)  # four ranks changed each row by 1
    ranks = torch.full((3,), 4)
    x = torch.tensor([1e-6, 0.5, 30.0])  # each rank's exposure
    reached, exposure = 4 * -torch.expm1(-x), 4 * x
    combined = combine_changes(summed, ranks, reached, exposure)[:, 0]
    assert combined[0] == pytest.approx(4.0, rel=1e-4)  # barely moved: the changes add up
    assert 1.0 < combined[1] < 4.0
    assert combined[2] == pytest.approx(1.0)  # each rank reached the target: no overshoot


def test_the_interval_shrinks_on_a_small_corpus_and_refuses_what_cannot_work():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sync_interval(0, 20_000_000, 4, 70_000) == 78_125  # 1/64 epoch a round
        assert sync_interval(0, 10**9, 4, 70_000) == 262_144  # the automatic largest
        assert sync_interval(8192, 20_000_000, 4, 70_000) == 8192  # given, short enough
    with pytest.warns(UserWarning, match="exchange every 7,812 words instead"):
        assert sync_interval(262_144, 2_000_000, 4, 20_000) == 7812
    with pytest.raises(W2VError, match="too small for a vocabulary of 1,000,000 words.*"
                                       "--sync-words 15,625 or more"):
        sync_interval(1000, 10**9, 4, 1_000_000)
    with pytest.raises(W2VError, match="corpus of 100,000 words is too small for 8 ranks.*"
                                       "fewer ranks"):
        sync_interval(262_144, 100_000, 8, 50_000)


def test_a_failed_collective_names_the_fix(monkeypatch):
    import torch.distributed as dist

    def broken(tensor, op=None):
        raise RuntimeError("Connection closed by peer [127.0.0.1]:1234")

    monkeypatch.setattr(dist, "all_reduce", broken)
    sync = TableSync([torch.zeros(3, 2)], timeout_seconds=7.0)
    with pytest.raises(RankLost, match="dist_timeout=7 s.*Connection closed by peer"):
        sync.exchange(0.0, 0, False)


def test_a_sigterm_to_one_rank_stops_the_job_which_resumes_with_its_ranks(moby, tmp_path):
    folder = tmp_path / "ck"
    settings = {**SETTINGS, "epochs": 6, "checkpoint_dir": str(folder), "checkpoint_every": 0}
    ranks = _start_ranks(moby, tmp_path, settings)
    deadline = time.monotonic() + 120
    while not list(folder.glob("checkpoint-0001-*.w2v")):  # the first epoch is done
        assert time.monotonic() < deadline and all(job.poll() is None for job in ranks)
        time.sleep(0.01)
    # One rank gets the signal; the stop travels with the next exchange, so both ranks stop at
    # the same round and rank 0 saves once.
    ranks[1].send_signal(signal.SIGTERM)
    errors = [job.communicate(timeout=60)[1] for job in ranks]
    assert [job.returncode for job in ranks] == [143, 143], errors
    ranks = _start_ranks(moby, tmp_path, {"resume": str(folder)})
    for job in ranks:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err
    v0, v1 = (np.load(tmp_path / f"rank{r}.npy") for r in (0, 1))
    assert np.array_equal(v0, v1)
    stats = json.loads((tmp_path / "rank0.json").read_text())
    assert len(stats["losses"]) == 6 and stats["losses"][-1] < stats["losses"][0]


def test_threads_follow_the_cpu_affinity_and_the_ranks_on_this_machine(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # a machine larger than the mask
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert local_threads(0) == 6
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert local_threads(0) == 1
    assert local_threads(3) == 3  # --workers always wins


def test_four_ranks_on_a_small_corpus_exchange_more_often_and_learn(moby, tmp_path):
    settings = {**SETTINGS, "sync_words": 0}
    ranks = _start_ranks(moby, tmp_path, settings, world=4)
    errors = [job.communicate(timeout=300)[1] for job in ranks]
    assert [job.returncode for job in ranks] == [0] * 4, errors
    vectors = [np.load(tmp_path / f"rank{r}.npy") for r in range(4)]
    assert all(np.array_equal(vectors[0], v) for v in vectors[1:])
    losses = json.loads((tmp_path / "rank0.json").read_text())["losses"]
    alone = Word2Vec(corpus_file=moby, **settings)
    assert losses[-1] < losses[0]
    assert losses[-1] == pytest.approx(alone.epoch_losses[-1], rel=0.05)


def test_four_ranks_whose_loss_grows_stop_with_one_line_and_write_nothing(moby, tmp_path):
    ranks = _start_ranks(moby, tmp_path, {**SETTINGS, "alpha": 2.0}, world=4)
    errors = [job.communicate(timeout=300)[1] for job in ranks]
    assert [job.returncode for job in ranks] == [2] * 4, errors
    for err in errors:
        assert "training diverged: the loss" in err
        assert "fewer ranks or a smaller --sync-words, or lower alpha" in err
        assert "Traceback" not in err
    assert not list(tmp_path.glob("*.npy"))


def test_each_rank_reads_only_its_own_chunks():
    reads = []

    class Ids(np.ndarray):  # records every slice read from the corpus
        def __getitem__(self, item):
            if isinstance(item, slice):
                reads.append((item.start, item.stop))
            return super().__getitem__(item)

    ids = np.arange(1000, dtype=np.int32).view(Ids)
    corpus = EncodedCorpus(ids, np.arange(0, 1001, 10), 1000)
    plan = SimpleNamespace(chunk_words=50, world=4, rank=1, epoch_words=1000.0)
    chunks = list(pending_chunks(corpus, plan, Position()))
    assert [c.index for c in chunks] == [0, 1, 2, 3, 4]  # every round, this rank's chunk
    assert reads == [(50 + 200 * r, 100 + 200 * r) for r in range(5)]
    assert [c.done for c in chunks] == [50 + 200 * r for r in range(5)]  # the job's words


def test_a_rank_with_another_corpus_stops_every_rank_with_one_line(moby, tmp_path):
    shorter = tmp_path / "shorter.txt"
    shorter.write_text(moby.read_text()[:-5000])
    ranks = _start_ranks(moby, tmp_path, SETTINGS, corpora=[moby, shorter])
    errors = [job.communicate(timeout=180)[1] for job in ranks]
    assert [job.returncode for job in ranks] == [2, 2], errors
    for err in errors:
        assert "rank 1's corpus differs from rank 0's" in err and "same corpus file" in err
        assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.npy"))


# Registered before joining, so that it runs after whatever join registered (atexit is last in,
# first out): it sees whether the group was still open when the interpreter began to finalize.
LEAVE_SCRIPT = """
import atexit, torch, torch.distributed as dist
from w2v.training import distributed
atexit.register(lambda: print("open at exit" if dist.is_initialized() else "left"))
assert distributed.join(torch.device("cpu"), 30.0)
"""


def test_a_rank_that_joined_leaves_the_group_before_the_interpreter_finalizes():
    # A gloo group still open at finalization aborts the process now and then (SIGABRT, "terminate
    # called without an active exception"), whatever exit status the run had set.
    port = _free_port()
    ranks = [subprocess.Popen(
        [sys.executable, "-c", LEAVE_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": SRC, "RANK": str(rank), "WORLD_SIZE": "2",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
        for rank in range(2)]
    for job in ranks:
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, err
        assert out.strip() == "left"
