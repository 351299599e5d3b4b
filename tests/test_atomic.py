"""Atomic outputs: a write that fails half way (a full disk) leaves the previous file intact,
no temporary file behind, and one clear error; bad destinations are refused before any work."""

import errno
import os

import numpy as np
import pytest

from w2v import KeyedVectors, Word2Vec
from w2v.atomic import atomic_write, check_writable
from w2v.errors import W2VError


def _full_disk_after(monkeypatch, budget: int):
    """Make every file object w2v writes fail with ENOSPC once `budget` bytes are written."""
    written = [0]
    real_fdopen = os.fdopen

    class Filling:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            written[0] += len(data)
            if written[0] > budget:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Filling(real_fdopen(*a, **k)))


def test_a_full_disk_keeps_the_previous_vectors(tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(2000)]
    old = KeyedVectors(words, np.ones((2000, 50), dtype=np.float32))
    new = KeyedVectors(words, np.zeros((2000, 50), dtype=np.float32))
    for name, binary in (("v.bin", True), ("v.txt", False), ("v.w2v", None)):
        path = tmp_path / name

        def save(kv, path=path, binary=binary):
            if binary is None:
                kv.save(path)
            else:
                kv.save_word2vec_format(path, binary=binary)

        save(old)
        before = path.read_bytes()
        with monkeypatch.context() as m:
            _full_disk_after(m, 10_000)
            with pytest.raises(W2VError, match="No space left on device"):
                save(new)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one(novels, tmp_path, monkeypatch):
    folder = tmp_path / "ck"
    corpus = novels / "carroll_alice_in_wonderland.txt"
    settings = dict(vector_size=16, min_count=2, tokenize=True, lowercase=True, workers=1,
                    checkpoint_dir=str(folder))
    model = Word2Vec(corpus_file=corpus, epochs=1, **settings)
    good = {p.name: p.read_bytes() for p in folder.glob("checkpoint-*")}
    _full_disk_after(monkeypatch, 1000)
    with pytest.raises(W2VError, match="No space left on device"):
        model.train()  # a second call: its checkpoints would follow the first's
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.glob("checkpoint-*")} == good
    assert not list(folder.glob(".checkpoint-*"))


def test_an_interrupted_write_leaves_nothing(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as f:
        f.write(b"half of the new")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_bad_destinations_are_refused_up_front(tmp_path):
    with pytest.raises(W2VError, match="is a folder"):
        check_writable(tmp_path)
    with pytest.raises(W2VError, match="does not exist"):
        check_writable(tmp_path / "missing" / "v.bin")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere
        pytest.skip("running as root: permissions do not bind")
    with pytest.raises(W2VError, match="not writable"):
        check_writable(locked / "v.bin")


def test_a_system_without_fchmod_still_writes(tmp_path, monkeypatch):
    # Windows before Python 3.13 has no os.fchmod: every save must work there too.
    monkeypatch.delattr(os, "fchmod")
    with atomic_write(tmp_path / "out.bin") as f:
        f.write(b"data")
    assert (tmp_path / "out.bin").read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["out.bin"]
