"""Atomic file output: write to a temporary name in the target's folder, flush, fsync, rename.

A crash, a kill or a full disk mid-write leaves the previous file (or none) in place, never half
of one.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from w2v.errors import W2VError


def check_writable(path) -> Path:
    """Raise W2VError unless a file can be created at `path`: checked up front, so a long run
    fails before its work rather than after. Returns the path's folder."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise W2VError(f"cannot write {path}: it is a folder; give a file name")
    if not folder.is_dir():
        raise W2VError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise W2VError(f"cannot write {path}: folder {folder} is not writable; choose another")
    return folder


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Yield a file object whose contents replace `path` only if the block finishes."""
    path = Path(path)
    folder = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    # mkstemp creates the file 0600; give it the mode a plain open() would (0666 less umask).
    umask = os.umask(0)
    os.umask(umask)
    # Windows has no fchmod before Python 3.13, and its files have no such mode to set.
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_folder(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable: a power cut after it must not bring the old file back
    while callers (checkpoint pruning) already act on the new one."""
    with contextlib.suppress(OSError):  # some file systems cannot open or sync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
