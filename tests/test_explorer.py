"""`w2v serve`: the explorer's JSON endpoints, its answer to every kind of bad request, a burst
of 100 concurrent clients, the command line, and the page itself as a real headless browser
renders it.

The vectors are built so the answers are known: king - man + woman is queen, the fruit and the
vehicles sit apart from the people, and one word is markup, which the page must show as text.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import w2v
from w2v.apps import explorer as serve
from w2v.apps.cli import main
from w2v.vectors import formats
from w2v.vectors.keyedvectors import KeyedVectors

# Features: royal, male, female, person, young, fruit, vehicle.
VECTORS = {
    "king": [1, 1, 0, 1, 0, 0, 0],
    "queen": [1, 0, 1, 1, 0, 0, 0],
    "man": [0, 1, 0, 1, 0, 0, 0],
    "woman": [0, 0, 1, 1, 0, 0, 0],
    "prince": [0.8, 1, 0, 0.9, 1, 0.1, 0],
    "princess": [0.8, 0, 1, 0.9, 1, 0, 0.1],
    "<b>royal</b>": [1, 0.5, 0.5, 0.6, 0, 0, 0.1],
    "boy": [0, 1, 0, 0.8, 1, 0.1, 0],
    "girl": [0, 0, 1, 0.8, 1, 0.1, 0],
    "apple": [0, 0, 0, 0, 0, 1, 0.1],
    "banana": [0, 0, 0, 0.1, 0, 1, 0.2],
    "cherry": [0.1, 0, 0, 0, 0, 1, 0],
    "car": [0, 0, 0, 0, 0, 0.1, 1],
    "truck": [0.1, 0, 0, 0, 0, 0.2, 1],
    "bus": [0, 0, 0, 0.2, 0.1, 0, 1],
}
SRC = str(Path(w2v.__file__).parents[1])
PICTURES = Path("/tmp/w2v_pictures")  # where the screenshots are left for people to look at


@pytest.fixture(scope="module")
def vectors_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "tiny.txt"
    kv = KeyedVectors(list(VECTORS), np.array(list(VECTORS.values()), dtype=np.float32))
    formats.save_vectors(kv, path, "text")
    return path


@pytest.fixture(scope="module")
def kv(vectors_path) -> KeyedVectors:
    return formats.load_vectors(vectors_path)


@contextmanager
def running(kv, log=None):
    """An explorer server on a free loopback port, serving from a thread; yields it."""
    server = serve.make_server(kv, "127.0.0.1", 0, source="tiny.txt", log=log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def url(kv) -> str:
    with running(kv) as server:
        yield server.url


def fetch(url: str, method: str = "GET"):
    """(status, headers, body bytes) of a request, 4xx and 5xx included."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def get_json(url: str):
    status, headers, body = fetch(url)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return status, json.loads(body)


def pairs(items: list[dict]) -> list[tuple[str, float]]:
    return [(item["word"], item["similarity"]) for item in items]


# -- endpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["king", "apple", "<b>royal</b>"])
def test_similar_answers_as_most_similar_does(url, kv, word):
    status, body = get_json(url + "similar?" + urllib.parse.urlencode({"word": word, "topn": 4}))
    assert status == 200
    assert body["word"] == word
    assert pairs(body["neighbours"]) == kv.most_similar(word, topn=4)


def test_similar_gives_ten_neighbours_by_default(url, kv):
    _, body = get_json(url + "similar?word=queen")
    assert pairs(body["neighbours"]) == kv.most_similar("queen", topn=10)


def test_analogy_answers_b_minus_a_plus_c(url, kv):
    status, body = get_json(url + "analogy?a=man&b=king&c=woman&topn=3")
    assert status == 200
    assert body["answers"][0]["word"] == "queen"
    expected = kv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert pairs(body["answers"]) == expected


def test_map_places_the_word_and_its_neighbours(url, kv):
    topn = len(VECTORS) - 1
    status, body = get_json(url + f"map?word=apple&topn={topn}")
    assert status == 200
    points = body["points"]
    assert [p["word"] for p in points] == ["apple"] + [w for w, _ in kv.most_similar("apple",
                                                                                     topn=topn)]
    assert points[0]["similarity"] == 1.0
    xy = {p["word"]: np.array([p["x"], p["y"]]) for p in points}
    assert max(abs(v).max() for v in xy.values()) == pytest.approx(1.0)

    def apart(a, b):
        return np.linalg.norm(xy[a] - xy[b])

    # The map keeps the neighbourhoods apart: fruit with fruit, vehicles with vehicles.
    assert apart("apple", "banana") < apart("apple", "queen")
    assert apart("car", "truck") < apart("car", "banana")
    first, second = body["explained"]
    assert 1 >= first >= second >= 0 and first + second <= 1 + 1e-9


def test_pca_2d_keeps_distances_of_points_that_lie_in_a_plane():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(12, 2))
    basis, _ = np.linalg.qr(rng.normal(size=(5, 2)))  # two orthonormal directions in 5-D
    coords, explained = serve.pca_2d(flat @ basis.T + 3.0)

    def distances(points):
        return np.linalg.norm(points[:, None] - points[None], axis=-1)

    ratio = distances(coords)[np.triu_indices(12, 1)] / distances(flat)[np.triu_indices(12, 1)]
    assert ratio == pytest.approx(np.full_like(ratio, ratio[0]))
    assert explained.sum() == pytest.approx(1.0)
    again, _ = serve.pca_2d(-(flat @ basis.T))  # the same cloud reflected draws the same
    assert again == pytest.approx(coords, abs=1e-9)


@pytest.mark.parametrize("points", [np.ones((1, 4)), np.ones((3, 4)), np.arange(3.0)[:, None]])
def test_pca_2d_of_degenerate_clouds_is_finite(points):
    coords, explained = serve.pca_2d(points)
    assert coords.shape == (len(points), 2)
    assert np.isfinite(coords).all() and np.isfinite(explained).all()


def test_info_describes_the_vectors(url):
    status, body = get_json(url + "info")
    assert status == 200
    assert (body["source"], body["words"], body["dimensions"]) == ("tiny.txt", len(VECTORS), 7)
    assert body["examples"] and set(body["examples"]) <= set(VECTORS)


def test_page_is_one_self_contained_file(url):
    status, headers, body = fetch(url + "?word=king")
    page = body.decode()
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    # Works offline: the only URL in it is SVG's namespace, a name that is never fetched.
    assert page.count("http") == page.count("http://www.w3.org/2000/svg") == 1
    assert " src=" not in page
    for endpoint in ("/similar", "/analogy", "/map", "/info"):
        assert f'"{endpoint}"' in page


def test_head_sends_headers_without_a_body(url):
    status, headers, body = fetch(url, method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000


# -- bad requests ------------------------------------------------------------------------------

TOO_MANY_FIELDS = "&".join(f"x{i}=1" for i in range(50))


@pytest.mark.parametrize("path, status, message", [
    ("similar?word=unicorn", 404, "'unicorn' is not in the vocabulary of tiny.txt"),
    ("map?word=unicorn", 404, "'unicorn' is not in the vocabulary"),
    ("analogy?a=man&b=unicorn&c=dragon", 404, "'unicorn', 'dragon' are not in the vocabulary"),
    ("similar?word=%FF%FE", 404, "is not in the vocabulary"),
    ("similar", 400, "missing parameter 'word'"),
    ("analogy?a=man&b=king", 400, "missing parameter 'c'"),
    ("similar?word=", 400, "parameter 'word' is empty"),
    ("similar?word=" + "x" * 101, 400, "'word' is 101 characters long; a word here has at most"),
    ("similar?word=king&topn=0", 400, "topn must be a whole number from 1 to 100, got '0'"),
    ("similar?word=king&topn=101", 400, "topn must be a whole number from 1 to 100"),
    ("map?word=king&topn=-3", 400, "topn must be a whole number"),
    ("map?word=king&topn=2.5", 400, "topn must be a whole number"),
    ("similar?word=king&topn=ten", 400, "topn must be a whole number"),
    ("similar?word=king&topn=" + "9" * 5000, 400, "topn must be a whole number"),
    ("similar?word=king&word=queen", 400, "parameter 'word' is given twice"),
    ("similar?word=king&colour=red", 400, "unknown parameter 'colour'; this endpoint takes word"),
    ("map?" + TOO_MANY_FIELDS, 400, "too many query parameters"),
    ("favicon.ico", 404, "no endpoint '/favicon.ico'"),
    ("similar/", 404, "no endpoint '/similar/'"),
])
def test_bad_requests_get_a_json_reason(url, path, status, message):
    got_status, body = get_json(url + path)
    assert got_status == status
    assert message in body["error"]
    assert len(body["error"]) < 300  # a huge input is not echoed back whole


def test_an_unknown_word_in_the_wrong_case_suggests_the_right_one(url):
    status, body = get_json(url + "similar?word=King")
    assert status == 404
    assert body["suggestions"] == ["king"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_refused(url, method):
    status, headers, body = fetch(url + "similar?word=king", method=method)
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert "use GET" in json.loads(body)["error"]


def raw_request(url: str, data: bytes) -> bytes:
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /a b HTTP/1.0\r\n\r\n", b"400"),
    (b"GET / HTTP/1.0\r\n" + b"X: y\r\n" * 200 + b"\r\n", b"431"),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
    (b"BREW /pot HTTP/1.1\r\n\r\n", b"501"),
])
def test_malformed_requests_get_json_and_the_server_carries_on(url, request_bytes, status):
    head, _, body = raw_request(url, request_bytes).partition(b"\r\n\r\n")
    assert head.split()[1] == status
    assert json.loads(body)["error"]
    assert get_json(url + "similar?word=king")[0] == 200


def test_a_failure_inside_is_a_500_without_a_traceback(kv, monkeypatch):
    def broken(*args):
        raise RuntimeError("secret internals")

    log = LogLines()
    with running(kv, log=log) as server:
        monkeypatch.setattr(server.explorer, "similar", broken)
        status, body = get_json(server.url + "similar?word=king")
        assert get_json(server.url + "map?word=king")[0] == 200
    assert status == 500
    assert "secret" not in body["error"] and "Traceback" not in body["error"]
    assert "RuntimeError: secret internals" in log.text()  # the operator still sees it


class LogLines:
    """A thread-safe text stream for a server's log."""

    def __init__(self):
        self.parts, self.lock = [], threading.Lock()

    def write(self, text: str) -> None:
        with self.lock:
            self.parts.append(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self.parts)


# -- load --------------------------------------------------------------------------------------


def test_a_hundred_concurrent_requests_are_all_answered(url, kv):
    explorer = serve.Explorer(kv, "tiny.txt")
    words = list(VECTORS)
    cases = []
    for i in range(100):
        word = words[i % len(words)]
        kind = i % 4
        if kind == 0:
            cases.append((f"similar?word={word}&topn=5", 200, explorer.similar(word, 5)))
        elif kind == 1:
            cases.append(("analogy?a=man&b=king&c=woman&topn=2", 200,
                          explorer.analogy("man", "king", "woman", 2)))
        elif kind == 2:
            cases.append((f"map?word={word}&topn=6", 200, explorer.map(word, 6)))
        else:
            cases.append((f"similar?word=nope{i}", 404, None))
    for i, (path, status, expected) in enumerate(cases):
        cases[i] = (url + urllib.parse.quote(path, safe="?=&"), status, expected)
    start = threading.Barrier(len(cases))

    def ask(case):
        start.wait()  # all at once, not one after another
        return get_json(case[0])

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        answers = list(pool.map(ask, cases))
    for (_, status, expected), (got_status, body) in zip(cases, answers, strict=True):
        assert got_status == status
        if expected is not None:
            assert body == json.loads(json.dumps(expected))  # floats survive JSON exactly
        else:
            assert "is not in the vocabulary" in body["error"]
    assert get_json(url + "similar?word=king")[0] == 200


# -- command line ------------------------------------------------------------------------------


def start_cli(vectors_path, *options):
    env = {**os.environ, "PYTHONPATH": SRC}
    process = subprocess.Popen(
        [sys.executable, "-m", "w2v", "serve", str(vectors_path), "--port", "0", *options],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    first = process.stderr.readline()
    if "http://" not in first:
        process.kill()
        pytest.fail(f"w2v serve did not start: {first}{process.stderr.read()}")
    return process, first


@pytest.mark.parametrize("host, warns", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_cli_serves_until_ctrl_c(vectors_path, host, warns):
    process, first = start_cli(vectors_path, "--host", host)
    try:
        assert f"{len(VECTORS)} words x 7 dimensions" in first
        port = first.split("http://")[1].split("/")[0].rsplit(":", 1)[1]
        status, body = get_json(f"http://127.0.0.1:{port}/similar?word=king&topn=1")
        assert (status, body["neighbours"][0]["word"]) == (200, "<b>royal</b>")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        # read(), not communicate(): that reads the pipe itself, missing what readline buffered.
        rest = process.stderr.read()
        process.stderr.close()
    assert process.returncode == 130
    assert "Traceback" not in rest
    assert ("not a loopback address" in rest) == warns


def test_cli_reports_a_port_in_use(vectors_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(vectors_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"w2v: error: cannot listen on 127.0.0.1 port {port}: ")
    assert "0 picks a free one" in err and err.count("\n") == 1


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_cli_rejects_a_bad_port(vectors_path, capsys, port):
    assert main(["serve", str(vectors_path), "--port", port]) == 2
    assert "expected a port from 0 to 65535" in capsys.readouterr().err


# -- the page in a real browser ----------------------------------------------------------------


def chromium() -> str:
    found = os.environ.get("W2V_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.skip("no chromium for the browser test: install it (Debian/Ubuntu: "
                    "apt-get install chromium) or point W2V_CHROMIUM at a Chrome binary")
    return found


def browse(tmp_path: Path, page_url: str, *action: str) -> subprocess.CompletedProcess:
    """Run headless chromium on `page_url`, giving its scripts 5 s of virtual time to finish."""
    profile = tmp_path / f"profile{time.monotonic_ns()}"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--window-size=1200,900",
               "--virtual-time-budget=5000", *action, page_url]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(command, capture_output=True, text=True, timeout=90, env=env,
                          check=True)


def element(dom: str, element_id: str) -> str:
    """The markup from the start tag with this id to the end of the page's structure after it."""
    start = dom.index(f'id="{element_id}"')
    return dom[start : start + 20000]


def test_the_page_renders_neighbours_map_and_analogy(url, kv, tmp_path):
    query = url + "?" + urllib.parse.urlencode(
        {"word": "king", "a": "man", "b": "king", "c": "woman"})
    dom = browse(tmp_path, query, "--dump-dom").stdout
    neighbours = element(dom, "neighbours").split("</ol>")[0]
    expected = [w for w, _ in kv.most_similar("king", topn=10)]
    shown = [w.replace("&lt;", "<").replace("&gt;", ">")
             for w in _button_texts(neighbours)]
    assert shown == expected
    # A word that looks like markup is shown as text, never run as markup.
    assert "&lt;b&gt;royal&lt;/b&gt;" in neighbours and "<b>royal</b>" not in dom
    svg = element(dom, "map").split("</svg>")[0]
    assert svg.count("<circle") == len(expected) + 1
    assert "is to <b>queen</b>" in element(dom, "answer")

    picture = tmp_path / "explorer.png"
    browse(tmp_path, query, f"--screenshot={picture}")
    pixels = png_pixels(picture.read_bytes())
    assert pixels.shape[:2] == (900, 1200)
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 200  # text, bars and map, not a blank page
    accent = np.all(pixels[..., :3] == (79, 70, 229), axis=-1)  # the page's indigo
    assert accent.sum() > 1000
    PICTURES.mkdir(exist_ok=True)
    shutil.copy(picture, PICTURES / "explorer.png")


def test_the_page_shows_an_unknown_word_with_a_suggestion(url, tmp_path):
    dom = browse(tmp_path, url + "?word=King", "--dump-dom").stdout
    error = element(dom, "similar-error")
    assert "'King' is not in the vocabulary" in error
    assert _button_texts(error.split("</div>")[0]) == ["king"]
    picture = tmp_path / "unknown.png"
    browse(tmp_path, url + "?word=King", f"--screenshot={picture}")
    PICTURES.mkdir(exist_ok=True)
    shutil.copy(picture, PICTURES / "explorer_unknown_word.png")


def _button_texts(markup: str) -> list[str]:
    return [part.split(">", 1)[1].split("</button>")[0]
            for part in markup.split("<button")[1:]]


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chrome writes) to (h, w, channels),
    checking every chunk's CRC on the way."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, header, idat = 8, None, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    assert raw.size == height * (stride + 1)
    rows = raw.reshape(height, stride + 1)
    image = np.zeros((height + 1, stride), np.int64)  # row 0: the zeros above the first row
    for y in range(height):
        image[y + 1] = _unfilter(rows[y, 0], rows[y, 1:].astype(np.int64), image[y], channels)
    return image[1:].reshape(height, width, channels).astype(np.uint8)


def _unfilter(kind: int, line: np.ndarray, up: np.ndarray, channels: int) -> np.ndarray:
    if kind == 0:
        return line
    if kind == 1:  # Sub: a running sum along each channel
        return (line.reshape(-1, channels).cumsum(axis=0) % 256).ravel()
    if kind == 2:
        return (line + up) % 256
    out, above = line.tolist(), up.tolist()  # Average and Paeth depend on the byte just decoded
    for i in range(len(out)):
        left = out[i - channels] if i >= channels else 0
        corner = above[i - channels] if i >= channels else 0
        if kind == 3:
            out[i] = (out[i] + (left + above[i]) // 2) % 256
            continue
        guess = left + above[i] - corner
        da, db, dc = abs(guess - left), abs(guess - above[i]), abs(guess - corner)
        best = left if da <= db and da <= dc else above[i] if db <= dc else corner
        out[i] = (out[i] + best) % 256
    return np.array(out)
