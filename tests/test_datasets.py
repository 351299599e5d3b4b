"""w2v.apps.datasets: lookup order, checksummed downloads from a loopback server, clear failures."""

import hashlib
import http.server
import io
import os
import re
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from w2v.apps import datasets
from w2v.apps.cli import main
from w2v.apps.datasets import DATASETS, Dataset
from w2v.errors import W2VError

PAYLOAD = b"king\tqueen\t8.5\nman\twoman\t8.3\n"
# Where this w2v was imported from, so the subprocess gets the same one.
SRC = str(Path(datasets.__file__).parents[1])


class _Files(http.server.BaseHTTPRequestHandler):
    """Serves `files` (name -> bytes), honouring `Range: bytes=N-` unless `ignore_range`.

    Records each request's path and Range header. Each number in `cuts` ends one response after
    that many bytes of its body, the connection closed mid-transfer; `status` answers every
    request with that HTTP error instead.
    """

    files: dict[str, bytes] = {}
    requests: list[str] = []
    ranges: list[str | None] = []
    cuts: list[int] = []
    ignore_range = False
    status: int | None = None

    def do_GET(self):
        self.requests.append(self.path)
        self.ranges.append(self.headers.get("Range"))
        body = self.files.get(self.path.lstrip("/"))
        if self.status is not None or body is None:
            self.send_error(self.status or 404)
            return
        start = self._range_start()
        if start >= len(body):
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        data = body[start:]
        if self.cuts:
            data = data[: self.cuts.pop(0)]
            self.close_connection = True
        self.wfile.write(data)

    def _range_start(self) -> int:
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        return int(match.group(1)) if match and not self.ignore_range else 0

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    """A loopback HTTP server on a free port; W2V_DATA_URL points at it."""
    fresh = {"files": {}, "requests": [], "ranges": [], "cuts": []}
    handler = type("Handler", (_Files,), fresh)
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


def _register(monkeypatch, payload=PAYLOAD, filename="pairs.tsv", member=None, size=None):
    digest = hashlib.sha256(payload).hexdigest()
    dataset = Dataset(filename, "http://unused.invalid", "sha256", digest,
                      len(payload) if size is None else size, member=member)
    monkeypatch.setitem(DATASETS, "tiny", dataset)
    return dataset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Big enough to take many reads, so a transfer can stop halfway.
BIG = bytes(range(256)) * 1000


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
        "import sys; from w2v.apps import datasets; "
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


def test_interrupted_download_keeps_its_part_and_the_next_try_resumes(server, home, monkeypatch):
    _register(monkeypatch, BIG, "big.bin")
    server.files["data/big.bin"] = BIG
    server.cuts.append(len(BIG) // 2)

    with pytest.raises(W2VError, match="stopped after 128,000 of 256,000 bytes") as err:
        datasets.fetch("tiny")

    assert "run `w2v download tiny` again to resume" in str(err.value)
    assert os.listdir(home) == ["big.bin.part"]
    assert (home / "big.bin.part").read_bytes() == BIG[: len(BIG) // 2]

    path = datasets.fetch("tiny")

    assert path.read_bytes() == BIG
    assert os.listdir(home) == ["big.bin"]
    assert server.ranges == [None, "bytes=128000-"]


def test_server_that_ignores_range_restarts_the_part_cleanly(server, home, monkeypatch):
    _register(monkeypatch, BIG, "big.bin")
    home.mkdir()
    (home / "big.bin.part").write_bytes(b"stale bytes from another version")
    server.files["data/big.bin"] = BIG
    server.ignore_range = True

    assert datasets.fetch("tiny").read_bytes() == BIG
    assert server.ranges == ["bytes=32-"]
    assert os.listdir(home) == ["big.bin"]


def test_part_longer_than_the_served_file_is_dropped_and_fetched_again(server, home, monkeypatch):
    # The registered size is larger than the file: the server cannot serve the part's range.
    _register(monkeypatch, PAYLOAD, size=len(PAYLOAD) + 100)
    home.mkdir()
    (home / "pairs.tsv.part").write_bytes(PAYLOAD + b"extra")
    server.files["data/pairs.tsv"] = PAYLOAD

    assert datasets.fetch("tiny").read_bytes() == PAYLOAD
    assert server.ranges == [f"bytes={len(PAYLOAD) + 5}-", None]


def test_bad_checksum_after_a_resume_removes_the_part(server, home, monkeypatch):
    dataset = _register(monkeypatch, BIG, "big.bin")
    home.mkdir()
    (home / "big.bin.part").write_bytes(b"x" * 1000)  # a wrong head: the whole is wrong
    server.files["data/big.bin"] = BIG

    with pytest.raises(W2VError, match="nothing was saved") as err:
        datasets.fetch("tiny")

    assert dataset.digest in str(err.value)
    assert os.listdir(home) == []


@pytest.mark.parametrize("status", [500, 404])
def test_http_error_keeps_a_part_for_later_and_saves_nothing_new(server, home, monkeypatch,
                                                                  status):
    _register(monkeypatch, BIG, "big.bin")
    home.mkdir()
    (home / "big.bin.part").write_bytes(BIG[:1000])
    server.status = status

    with pytest.raises(W2VError, match=f"HTTP {status}"):
        datasets.fetch("tiny")

    assert os.listdir(home) == ["big.bin.part"]
    assert (home / "big.bin.part").read_bytes() == BIG[:1000]


def test_offline_is_one_line_with_the_host_the_url_and_where_to_put_the_file(home, monkeypatch):
    dataset = _register(monkeypatch)
    port = _free_port()
    monkeypatch.setenv("W2V_DATA_URL", f"http://127.0.0.1:{port}")

    with pytest.raises(W2VError) as err:
        datasets.fetch("tiny")

    message = str(err.value)
    assert f"cannot reach 127.0.0.1:{port}" in message
    assert dataset.url in message
    assert f"put it at {home / 'pairs.tsv'}" in message
    assert "\n" not in message
    assert os.listdir(home) == []


def _zip(member: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member, data)
    return buffer.getvalue()


def test_archive_is_unpacked_and_find_returns_the_member(server, home, monkeypatch):
    text = b"anarchism originated as a term of abuse " * 100
    archive = _zip("corpus", text)
    _register(monkeypatch, archive, "corpus.zip", member="corpus")
    server.files["data/corpus.zip"] = archive

    path = datasets.find("tiny")

    assert path == home / "corpus"
    assert path.read_bytes() == text
    assert sorted(os.listdir(home)) == ["corpus", "corpus.zip"]
    # With the member gone, the checked archive in the cache is unpacked again, offline.
    path.unlink()
    assert datasets.find("tiny", download=False).read_bytes() == text
    assert len(server.requests) == 1


def test_damaged_archive_in_the_cache_says_to_delete_it(home, monkeypatch):
    _register(monkeypatch, b"not a zip", "corpus.zip", member="corpus")
    home.mkdir()
    (home / "corpus.zip").write_bytes(b"not a zip")

    with pytest.raises(W2VError, match="cannot unpack corpus from .*corpus.zip.*delete it"):
        datasets.find("tiny", download=False)
    assert os.listdir(home) == ["corpus.zip"]


def test_text8_is_registered_as_the_published_zip_unpacked_to_text8(monkeypatch):
    monkeypatch.delenv("W2V_DATA_URL", raising=False)
    text8 = DATASETS["text8"]
    assert text8.url == "http://mattmahoney.net/dc/text8.zip"
    assert (text8.algorithm, len(text8.digest), text8.size) == ("sha256", 64, 31_344_016)
    assert text8.local_name == "text8"


def test_progress_shows_bytes_percent_and_rate(server, home, monkeypatch):
    _register(monkeypatch, BIG, "big.bin")
    server.files["data/big.bin"] = BIG
    stream = io.StringIO()

    datasets.fetch("tiny", progress=stream)

    last = stream.getvalue().splitlines()[-1]
    assert re.fullmatch(r"big\.bin: 250\.0 KiB of 250\.0 KiB \(100%\) at [\d.]+ \S+/s", last)


def test_force_downloads_again_and_otherwise_the_cache_is_used(server, home, monkeypatch):
    _register(monkeypatch)
    server.files["data/pairs.tsv"] = PAYLOAD

    datasets.fetch("tiny")
    datasets.fetch("tiny")
    assert len(server.requests) == 1
    datasets.fetch("tiny", force=True)
    assert len(server.requests) == 2


def test_cli_download_prints_the_path_with_progress_on_stderr(server, home, monkeypatch, capsys):
    _register(monkeypatch, BIG, "big.bin")
    server.files["data/big.bin"] = BIG

    assert main(["download", "tiny"]) == 0

    out, err = capsys.readouterr()
    assert out == f"{home / 'big.bin'}\n"
    assert "(100%)" in err


def test_cli_download_lists_the_names_and_refuses_unknown_ones(home, capsys):
    assert main(["download"]) == 0
    listing = capsys.readouterr().out
    assert [line.split()[0] for line in listing.splitlines()] == list(DATASETS)
    assert "text8" in listing and "not downloaded" in listing

    assert main(["download", "text9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown dataset 'text9'; choose one of questions-words" in err


def test_cli_download_offline_exits_2_with_one_line(home, monkeypatch, capsys):
    _register(monkeypatch)
    monkeypatch.setenv("W2V_DATA_URL", f"http://127.0.0.1:{_free_port()}")

    assert main(["download", "tiny"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("w2v: error: cannot download tiny from http://127.0.0.1:")
    assert err.count("\n") == 1
