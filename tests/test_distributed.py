"""Data-parallel training over torch.distributed (gloo, on the CPU): two ranks on a real novel."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from test_cli import SRC

from w2v import KeyedVectors, Word2Vec
from w2v.training.distributed import RankLost, TableSync, local_threads

SETTINGS = dict(vector_size=24, min_count=3, epochs=2, workers=1, seed=3, tokenize=True,
                lowercase=True, sync_words=8192)

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
json.dump({"losses": model.epoch_losses, "bytes": model.exchanged_bytes}, open(out + ".json", "w"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_ranks(corpus, folder, settings, world=2):
    port = _free_port()
    ranks = []
    for rank in range(world):
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


def test_two_ranks_finish_agree_and_learn(moby, tmp_path):
    ranks = _start_ranks(moby, tmp_path, SETTINGS)
    for job in ranks:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err
    v0, v1 = (np.load(tmp_path / f"rank{r}.npy") for r in (0, 1))
    assert np.array_equal(v0, v1)  # the ranks end with identical tables
    stats = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert stats[0]["losses"] == stats[1]["losses"]  # the loss is the whole corpus's
    assert stats[0]["bytes"] > 0
    # It learned as one process does at the same epochs: the loss falls to about the same.
    alone = Word2Vec(corpus_file=moby, **SETTINGS)
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


def test_exchange_sums_every_ranks_changes(monkeypatch):
    """Two simulated ranks: each changes rows; after the exchange both hold base + both deltas,
    and only changed rows were sent."""
    import torch.distributed as dist

    base = torch.zeros(5, 2)
    mine, theirs = base.clone(), base.clone()
    mine[1] += 1.0
    theirs[1] += 2.0
    theirs[3] += 5.0
    others = {"mask": None}

    def all_reduce(tensor, op=None):
        if tensor.dtype == torch.int32:  # the changed-rows mask
            tensor += torch.stack([(theirs != base).any(1)]).to(torch.int32)
            others["mask"] = tensor.clone()
        elif tensor.dtype == torch.float64:  # loss, examples, stop
            tensor += torch.tensor([1.0, 10.0, 0.0], dtype=torch.float64)
        else:  # deltas of the rows changed anywhere
            rows = others["mask"][0].bool().nonzero().squeeze(1)
            tensor += theirs[rows] - base[rows]

    monkeypatch.setattr(dist, "all_reduce", all_reduce)
    sync = TableSync([mine], timeout_seconds=1.0)
    sync.base = [base.clone()]
    totals = sync.exchange(loss=2.0, examples=5, stop=False)
    assert (totals.loss, totals.examples, totals.stop) == (3.0, 15, False)
    assert mine.tolist() == [[0, 0], [3, 3], [0, 0], [5, 5], [0, 0]]
    assert sync.base[0].tolist() == mine.tolist()
    assert sync.rows_sent == 2


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
