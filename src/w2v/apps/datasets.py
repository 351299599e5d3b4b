"""Standard evaluation sets and corpora: find them on disk, or download them once, checksummed.

`find(name)` looks, in order, at a path the user gives, the cache folder (`$W2V_HOME`, default
`~/.cache/w2v`), gensim's bundled test data (located without importing gensim, which is slow and
pulls in scipy), and last downloads the file from its public address into the cache.
`fetch(name)` (what `w2v download` runs) downloads into the cache whatever is there.

A download goes to `<file>.part` in the cache folder and is renamed to its final name only after
its checksum matches, so the cache never holds a wrong file under a real name. An interrupted
download keeps its part file and the next try asks the server for the rest (an HTTP Range
request); a server that ignores the range sends the whole file, which then replaces the part. An
archive (text8.zip) is unpacked next to itself once it is checked. Files found in the cache or in
gensim's folder are trusted as they are.

`$W2V_DATA_URL` names a mirror that serves every file under its own name (and lets tests point at
a local server).
"""

import hashlib
import http.client
import importlib.util
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from w2v.atomic import atomic_write
from w2v.errors import W2VError

log = logging.getLogger(__name__)

_GENSIM_RAW = "https://raw.githubusercontent.com/piskvorky/gensim/develop/gensim/test/test_data"
_CHUNK = 1 << 16
_TIMEOUT_S = 60


@dataclass(frozen=True)
class Dataset:
    """A file w2v knows how to find: its name on disk, public address and checksum.

    `member` names the file to unpack from a zip archive; it is then what `find` returns.
    """

    filename: str
    base_url: str
    algorithm: str
    digest: str
    size: int
    in_gensim: bool = False
    member: str | None = None

    @property
    def url(self) -> str:
        """Where to download it from: `$W2V_DATA_URL` when set, else the public address."""
        base = os.environ.get("W2V_DATA_URL") or self.base_url
        return f"{base.rstrip('/')}/{self.filename}"

    @property
    def local_name(self) -> str:
        """The name of the file `find` returns: the archive's member, else the download."""
        return self.member or self.filename


DATASETS: dict[str, Dataset] = {
    # sha256 of gensim 4.4.0's copies, which are the original files of each benchmark.
    "questions-words": Dataset(
        "questions-words.txt",
        _GENSIM_RAW,
        "sha256",
        "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
        size=603955,
        in_gensim=True,
    ),
    "wordsim353": Dataset(
        "wordsim353.tsv",
        _GENSIM_RAW,
        "sha256",
        "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
        size=7186,
        in_gensim=True,
    ),
    "simlex999": Dataset(
        "simlex999.txt",
        _GENSIM_RAW,
        "sha256",
        "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d",
        size=18126,
        in_gensim=True,
    ),
    # The zip as published (Matt Mahoney's cleaned first 10^8 bytes of English Wikipedia, one
    # line). Its size is the one TensorFlow's word2vec tutorial checks, and two unrelated public
    # projects pin this SHA-256 (and 6e890197...dca7 for the unpacked text8); no copy was
    # reachable from here to hash, so if a genuine download fails the check, fix it here.
    "text8": Dataset(
        "text8.zip",
        "http://mattmahoney.net/dc",
        "sha256",
        "a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
        size=31_344_016,
        member="text8",
    ),
}


def cache_dir() -> Path:
    """The folder downloads go to: `$W2V_HOME`, else `~/.cache/w2v`."""
    home = os.environ.get("W2V_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "w2v"


def gensim_data_dir() -> Path | None:
    """gensim's `test/test_data` folder if gensim is installed, found without importing it."""
    try:
        spec = importlib.util.find_spec("gensim")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"


def find(name: str, path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Return the path of dataset `name` ("questions-words", "wordsim353", "simlex999", "text8").

    A given `path` wins and must exist. Otherwise the cache folder, then gensim's test data, and
    last (when `download` is true) a checksummed download into the cache. For "text8" the file is
    the unpacked `text8` (from a `text8.zip` in the cache, or downloaded).
    """
    dataset = _lookup(name)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise W2VError(f"{name}: no file at {path}; check the path")
        return path
    cached = cache_dir() / dataset.local_name
    if cached.is_file():
        return cached
    if dataset.in_gensim:
        folder = gensim_data_dir()
        if folder is not None and (folder / dataset.filename).is_file():
            return folder / dataset.filename
    if dataset.member and (cache_dir() / dataset.filename).is_file():
        return _unpack(name, dataset.member, cache_dir() / dataset.filename)
    if not download:
        raise W2VError(
            f"{name}: not found in {cache_dir()} or gensim's test data, and downloading is off; "
            f"{_by_hand(dataset)}"
        )
    return fetch(name)


def fetch(name: str, force: bool = False, progress: TextIO | None = None) -> Path:
    """Download dataset `name` into the cache folder, check it, unpack it; return its path.

    A file already in the cache is returned as it is unless `force`, which also drops the part
    file of an interrupted try. Otherwise an interrupted try is resumed. `progress` (a stream such
    as `sys.stderr`) gets a progress bar. Raises W2VError on any failure, naming the URL and where
    to put the file by hand.
    """
    dataset = _lookup(name)
    folder = _make_cache_dir()
    target = folder / dataset.local_name
    download = folder / dataset.filename
    part = folder / f"{dataset.filename}.part"
    if force:
        part.unlink(missing_ok=True)
    elif target.is_file():
        return target
    if force or not download.is_file():
        log.info("downloading %s from %s", name, dataset.url)
        _transfer(name, dataset, part, progress)
        _check(name, dataset, part)
        os.replace(part, download)
    if dataset.member:
        return _unpack(name, dataset.member, download)
    return download


def _lookup(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise W2VError(f"unknown dataset {name!r}; choose one of {known}") from None


def _by_hand(dataset: Dataset) -> str:
    return (
        f"download {dataset.url} by hand and pass its path, "
        f"or put it at {cache_dir() / dataset.filename}"
    )


def _make_cache_dir() -> Path:
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise W2VError(
            f"cannot create cache folder {folder}: {e.strerror}; set W2V_HOME to a writable folder"
        ) from None
    return folder


def _transfer(name: str, dataset: Dataset, part: Path, progress: TextIO | None) -> None:
    """Bring `part` up to the whole file: the missing tail if the server honours Range."""
    url = dataset.url
    offset = part.stat().st_size if part.is_file() else 0
    if offset >= dataset.size:
        return  # complete already; a longer file fails the checksum and is removed then
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=_TIMEOUT_S
        ) as response:
            if response.status != 206:
                offset = 0  # the server sends the whole file: start the part afresh
            elif (start := _range_start(response)) != offset:
                part.unlink()
                raise W2VError(f"cannot resume {name} from {url}: the server sent bytes from "
                               f"{start}, not {offset}; run it again to start over")
            total = offset + int(response.headers.get("Content-Length") or dataset.size - offset)
            meter = _Meter(progress, dataset.filename, total, offset)
            try:
                with open(part, "ab" if offset else "wb") as out:
                    _copy(response, out, meter)
            finally:
                meter.close()
            done = meter.done
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # the server cannot serve the range: the part is stale
            part.unlink()
            return _transfer(name, dataset, part, progress)
        raise W2VError(
            f"cannot download {name}: HTTP {e.code} {e.reason} from {url}; {_by_hand(dataset)}"
        ) from None
    except urllib.error.URLError as e:
        reason = getattr(e.reason, "strerror", None) or e.reason
        raise W2VError(
            f"cannot download {name} from {url}: cannot reach {_host(url)} ({reason}); "
            f"{_by_hand(dataset)}"
        ) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as e:
        raise _interrupted(name, dataset, part, f"{type(e).__name__} {e}".strip()) from None
    if done < total:
        raise _interrupted(name, dataset, part, "the connection closed early")


def _range_start(response) -> int:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else -1


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _interrupted(name: str, dataset: Dataset, part: Path, why: str) -> W2VError:
    kept = part.stat().st_size if part.is_file() else 0
    return W2VError(
        f"download of {name} from {dataset.url} stopped after {kept:,} of {dataset.size:,} bytes "
        f"({why}); the bytes so far are kept in {part}: run `w2v download {name}` again to resume"
    )


def _copy(response, out: BinaryIO, meter: "_Meter") -> None:
    while chunk := response.read(_CHUNK):
        out.write(chunk)
        meter.update(len(chunk))


def _check(name: str, dataset: Dataset, part: Path) -> None:
    """Raise W2VError, removing `part`, unless its checksum is the dataset's."""
    hasher = hashlib.new(dataset.algorithm)
    with open(part, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    if hasher.hexdigest() == dataset.digest:
        return
    size = part.stat().st_size
    part.unlink()
    raise W2VError(
        f"{name}: {dataset.algorithm} of {dataset.url} ({size} bytes) is {hasher.hexdigest()}, "
        f"expected {dataset.digest} ({dataset.size} bytes); nothing was saved; "
        f"{_by_hand(dataset)} after checking it"
    )


def _unpack(name: str, member: str, archive: Path) -> Path:
    """Extract `member` (dataset `name`'s file) from the zip `archive` into the same folder."""
    target = archive.with_name(member)
    try:
        with (
            zipfile.ZipFile(archive) as z,
            z.open(member) as src,
            atomic_write(target) as out,
        ):
            shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as e:
        raise W2VError(
            f"{name}: cannot unpack {member} from {archive}: {e}; delete it and run "
            f"`w2v download {name}` again"
        ) from None
    return target


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


class _Meter:
    """A download's bytes, percentage and rate: redrawn in place on a terminal, else a line
    every 10 seconds and one at the end; `stream=None` is silent."""

    def __init__(self, stream: TextIO | None, label: str, total: int, start: int):
        self.stream, self.label, self.total = stream, label, max(total, 1)
        self.start = self.done = start  # bytes already in the part file: not timed
        self.tty = stream is not None and hasattr(stream, "isatty") and stream.isatty()
        self.every = 0.1 if self.tty else 10.0
        self.began = self.last = time.perf_counter()

    def update(self, received: int) -> None:
        self.done += received
        if self.stream is not None and time.perf_counter() - self.last >= self.every:
            self._show(self.stream)

    def close(self) -> None:
        if self.stream is not None:
            self._show(self.stream)
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()

    def _show(self, stream: TextIO) -> None:
        self.last = time.perf_counter()
        rate = (self.done - self.start) / max(self.last - self.began, 1e-9)
        line = (f"{self.label}: {_size(self.done)} of {_size(self.total)} "
                f"({100 * self.done / self.total:3.0f}%) at {_size(rate)}/s")
        stream.write(f"\r{line:<72}" if self.tty else f"{line}\n")
        stream.flush()
