"""Standard evaluation sets and corpora: find them on disk, or download them once, checksummed.

`find(name)` looks, in order, at a path the user gives, the cache folder (`$W2V_HOME`, default
`~/.cache/w2v`), gensim's bundled test data (located without importing gensim, which is slow and
pulls in scipy), and last downloads the file from its public address into the cache. A download
lands under its final name only after its checksum matches, so the cache never holds a partial or
wrong file; files found in the cache or in gensim's folder are trusted as they are.

`$W2V_DATA_URL` names a mirror that serves every file under its own name (and lets tests point at
a local server).
"""

import hashlib
import http.client
import importlib.util
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from w2v.atomic import atomic_write
from w2v.errors import W2VError

log = logging.getLogger(__name__)

_GENSIM_RAW = "https://raw.githubusercontent.com/piskvorky/gensim/develop/gensim/test/test_data"
_CHUNK = 1 << 20
_TIMEOUT_S = 60


@dataclass(frozen=True)
class Dataset:
    """A file w2v knows how to find: its name on disk, public address and checksum."""

    filename: str
    base_url: str
    algorithm: str
    digest: str
    size: int
    in_gensim: bool = False

    @property
    def url(self) -> str:
        """Where to download it from: `$W2V_DATA_URL` when set, else the public address."""
        base = os.environ.get("W2V_DATA_URL") or self.base_url
        return f"{base.rstrip('/')}/{self.filename}"


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
    # The zip as published. Size and SHA-1 are as recorded publicly (TensorFlow's word2vec
    # tutorial checks the size; one public repository checks the SHA-1) but were NOT verified
    # here: no copy of text8 was reachable. If a genuine download fails the check, fix them.
    "text8": Dataset(
        "text8.zip",
        "http://mattmahoney.net/dc",
        "sha1",
        "3de703932151f5a2c68fc41c5ccf5c76e7d6c366",
        size=31_344_016,
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
    the published `text8.zip`.
    """
    dataset = _lookup(name)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise W2VError(f"{name}: no file at {path}; check the path")
        return path
    cached = cache_dir() / dataset.filename
    if cached.is_file():
        return cached
    if dataset.in_gensim:
        folder = gensim_data_dir()
        if folder is not None and (folder / dataset.filename).is_file():
            return folder / dataset.filename
    if not download:
        raise W2VError(
            f"{name}: not found in {cache_dir()} or gensim's test data, and downloading is off; "
            f"{_by_hand(dataset)}"
        )
    return _download(name, dataset, cached)


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


def _download(name: str, dataset: Dataset, target: Path) -> Path:
    url = dataset.url
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise W2VError(
            f"cannot create cache folder {target.parent}: {e.strerror}; "
            "set W2V_HOME to a writable folder"
        ) from None
    log.info("downloading %s from %s", name, url)
    hasher = hashlib.new(dataset.algorithm)
    try:
        with (
            urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response,
            atomic_write(target) as out,
        ):
            size = 0
            while chunk := response.read(_CHUNK):
                hasher.update(chunk)
                size += len(chunk)
                out.write(chunk)
            # Raised inside the block so that the bad file is discarded, never renamed in.
            if hasher.hexdigest() != dataset.digest:
                raise W2VError(
                    f"{name}: {dataset.algorithm} of {url} ({size} bytes) is "
                    f"{hasher.hexdigest()}, expected {dataset.digest} ({dataset.size} bytes); "
                    f"nothing was saved; {_by_hand(dataset)} after checking it"
                )
    except urllib.error.HTTPError as e:
        raise W2VError(
            f"cannot download {name}: HTTP {e.code} {e.reason} from {url}; {_by_hand(dataset)}"
        ) from None
    except urllib.error.URLError as e:
        raise W2VError(
            f"cannot download {name} from {url}: {e.reason}; {_by_hand(dataset)}"
        ) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as e:
        raise W2VError(
            f"cannot download {name} from {url}: {type(e).__name__} {e}; {_by_hand(dataset)}"
        ) from None
    return target
