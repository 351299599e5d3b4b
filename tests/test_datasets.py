"""w2v.datasets: lookup order, checksummed downloads from a loopback server, clear failures."""

import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from w2v import datasets
from w2v.datasets import DATASETS, Dataset
from w2v.errors import W2VError

PAYLOAD = b"king\tqueen\t8.5\nman\twoman\t8.3\n"
# Where this w2v was imported from, so the subprocess gets the same one.
SRC = str(Path(datasets.__file__).parents[1])


class _Files(http.server.BaseHTTPRequestHandler):
    """Serves `files` (name -> bytes) and counts the requests it answers."""

    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self):
        self.requests.append(self.path)
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    """A loopback HTTP server on a free port; W2V_DATA_URL points at it."""
    handler = type("Handler", (_Files,), {"files": {}, "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    monkeypatch.setenv("W2V_DATA_URL", f"http://127.0.0.1:{httpd.server_address[1]}/data")
    yield handler
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty cache folder (not yet created) as W2V_HOME."""
    path = tmp_path / "cache"
    monkeypatch.setenv("W2V_HOME", str(path))
    return path


def _register(monkeypatch, payload=PAYLOAD, filename="pairs.tsv"):
    digest = hashlib.sha256(payload).hexdigest()
    dataset = Dataset(filename, "http://unused.invalid", "sha256", digest, len(payload))
    monkeypatch.setitem(DATASETS, "tiny", dataset)
    return dataset


def test_registered_checksums_match_gensims_copies():
    folder = datasets.gensim_data_dir()
    for name, dataset in DATASETS.items():
        if not dataset.in_gensim:
            continue
        data = (folder / dataset.filename).read_bytes()
        assert hashlib.new(dataset.algorithm, data).hexdigest() == dataset.digest, name
        assert len(data) == dataset.size, name


def test_download_lands_in_cache_and_is_then_reused(server, home, monkeypatch):
    _register(monkeypatch)
    server.files["data/pairs.tsv"] = PAYLOAD

    path = datasets.find("tiny")

    assert path == home / "pairs.tsv"
    assert path.read_bytes() == PAYLOAD
    assert os.listdir(home) == ["pairs.tsv"]
    assert server.requests == ["/data/pairs.tsv"]
    assert datasets.find("tiny") == path
    assert len(server.requests) == 1


def test_bad_checksum_raises_and_leaves_nothing_in_cache(server, home, monkeypatch):
    dataset = _register(monkeypatch)
    server.files["data/pairs.tsv"] = b"tampered\n"

    with pytest.raises(W2VError) as err:
        datasets.find("tiny")

    message = str(err.value)
    assert dataset.digest in message
    assert hashlib.sha256(b"tampered\n").hexdigest() in message
    assert dataset.url in message
    assert os.listdir(home) == []


def test_http_404_says_what_failed_and_how_to_provide_the_file(server, home, monkeypatch):
    dataset = _register(monkeypatch)

    with pytest.raises(W2VError, match="HTTP 404") as err:
        datasets.find("tiny")

    message = str(err.value)
    assert dataset.url in message
    assert str(home / "pairs.tsv") in message
    assert "\n" not in message
    assert os.listdir(home) == []


def test_unreachable_server_raises_w2verror(home, monkeypatch):
    _register(monkeypatch)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("W2V_DATA_URL", f"http://127.0.0.1:{port}")

    with pytest.raises(W2VError, match="cannot download tiny from http://127.0.0.1"):
        datasets.find("tiny")


def test_no_download_when_switched_off(home, monkeypatch):
    _register(monkeypatch)
    with pytest.raises(W2VError, match="downloading is off"):
        datasets.find("tiny", download=False)


def test_user_path_wins_over_cache(home, tmp_path):
    home.mkdir()
    (home / "wordsim353.tsv").write_text("cached\n")
    mine = tmp_path / "mine.tsv"
    mine.write_text("mine\n")

    assert datasets.find("wordsim353", path=mine) == mine


def test_missing_user_path_raises_even_if_cached(home, tmp_path):
    home.mkdir()
    (home / "wordsim353.tsv").write_text("cached\n")
    with pytest.raises(W2VError, match="no file at"):
        datasets.find("wordsim353", path=tmp_path / "missing.tsv")


def test_cache_wins_over_gensims_copy(home):
    home.mkdir()
    (home / "simlex999.txt").write_text("cached\n")
    assert datasets.find("simlex999", download=False) == home / "simlex999.txt"


def test_gensims_copy_is_found_without_importing_gensim(home):
    code = (
        "import sys; from w2v import datasets; "
        "print(datasets.find('questions-words', download=False)); "
        "print('gensim' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")

    path = Path(out[0])
    assert path.parts[-4:] == ("gensim", "test", "test_data", "questions-words.txt")
    assert path.is_file()
    assert out[1] == "False"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(W2VError, match="unknown dataset 'wordsim'.*questions-words"):
        datasets.find("wordsim")
