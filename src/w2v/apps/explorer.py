"""`w2v serve`: a small web page for exploring word vectors, and the JSON endpoints it calls.

The page (`explorer.html` beside this module: its CSS and JavaScript inline, no other assets, so
it works offline) shows a word's nearest neighbours with similarity bars, a 2-D map of its
neighbourhood (PCA of the unit vectors of the word and its neighbours) and answers analogies.
Its endpoints:

    GET /similar?word=W&topn=N          the N words nearest to W
    GET /analogy?a=A&b=B&c=C&topn=N     A is to B as C is to ?  (the words nearest to B - A + C)
    GET /map?word=W&topn=N              W and its N neighbours as points {word, x, y, similarity}
    GET /info                           the vectors' file name, size and a few example words

Requests come from a browser, so every parameter is checked where it arrives and every mistake is
answered as JSON {"error": "..."} with a 4xx status; an unexpected failure is a 500 with a short
message (the traceback goes to the server's log, never into the response). The server listens on
the loopback interface unless told otherwise, and answers each request in its own thread.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import socket
import sys
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from w2v.errors import W2VError
from w2v.vectors import formats

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_TOPN = 10
MAX_TOPN = 100
MAX_WORD_CHARS = 100
MAX_FIELDS = 10  # query parameters per request: every endpoint takes at most four
# Seconds a client may take to send its request, so a stalled connection cannot hold a thread.
REQUEST_TIMEOUT = 10.0
EXAMPLE_WORDS = 8


class RequestError(W2VError):
    """A request the explorer cannot answer: `status` is its HTTP code, the message its reason."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST,
                 suggestions: list[str] | None = None):
        super().__init__(message)
        self.status = int(status)
        self.suggestions = suggestions or []

    def payload(self) -> dict:
        """The JSON body of the error response."""
        body: dict = {"error": str(self)}
        if self.suggestions:
            body["suggestions"] = self.suggestions
        return body


def _quote(text: str, limit: int = 40) -> str:
    """repr of user input for an error message, cut so a huge value is not echoed back whole."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def pca_2d(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of `points` onto their first two principal components.

    Returns (n, 2) coordinates scaled together so the largest magnitude is 1 (both axes share one
    scale, so distances on the map stay proportional), and the share of the variance each axis
    explains. Each axis's sign is fixed so its largest coordinate is positive: SVD's signs are
    arbitrary, and the same query should always draw the same way round.
    """
    centred = np.asarray(points, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    coords = u[:, :2] * s[:2]
    # One point, or one dimension, leaves fewer than two components: the missing axis is flat.
    coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    largest = coords[np.abs(coords).argmax(axis=0), np.arange(2)]
    coords *= np.where(largest < 0, -1.0, 1.0)
    scale = np.abs(coords).max()
    if scale > 0:
        coords /= scale
    variance = s**2
    total = variance.sum()
    explained = np.zeros(2)
    if total > 0:
        explained[: min(2, len(s))] = variance[:2] / total
    return coords, explained


def _example_words(index_to_key: list[str], count: int = EXAMPLE_WORDS) -> list[str]:
    """A few plain words spread over the most frequent 5000, for the page to offer as examples."""
    plain = [w for w in index_to_key[:5000] if w.isalpha() and len(w) >= 3]
    step = max(1, len(plain) // count)
    return plain[step // 2 :: step][:count]


class Explorer:
    """The queries the page asks, answered from one KeyedVectors as JSON-ready dicts.

    Every method raises RequestError (404) for a word outside the vocabulary.
    """

    def __init__(self, kv, source: str, indexer=None):
        self.kv = kv
        self.source = source
        self.indexer = indexer  # neighbours from an approximate index (w2v.vectors.ann), or None
        # Computed once here: every query reads the norms, and many threads must not race to fill
        # them on the first request.
        kv.fill_norms()

    def info(self) -> dict:
        """The file, its size, and example words."""
        words, dims = self.kv.vectors.shape
        return {"source": self.source, "words": words, "dimensions": dims,
                "examples": _example_words(self.kv.index_to_key)}

    def similar(self, word: str, topn: int) -> dict:
        """The `topn` words nearest to `word` by cosine similarity."""
        self._check_known([word])
        pairs = self.kv.most_similar(positive=[word], topn=topn, indexer=self.indexer)
        return {"word": word, "neighbours": _neighbours(pairs)}

    def analogy(self, a: str, b: str, c: str, topn: int) -> dict:
        """Answers to 'a is to b as c is to ?': the words nearest to b - a + c (3CosAdd)."""
        self._check_known([a, b, c])
        pairs = self.kv.most_similar(positive=[b, c], negative=[a], topn=topn,
                                     indexer=self.indexer)
        return {"a": a, "b": b, "c": c, "answers": _neighbours(pairs)}

    def map(self, word: str, topn: int) -> dict:
        """`word` (first) and its `topn` neighbours placed in 2-D by PCA of their unit vectors."""
        self._check_known([word])
        pairs = [(word, 1.0), *self.kv.most_similar(positive=[word], topn=topn,
                                                    indexer=self.indexer)]
        # Only these rows are normalised: the whole normalised matrix can be gigabytes. A word
        # outside the vocabulary (subword vectors) has its vector built from its n-grams.
        unit = np.vstack([self.kv.get_vector(w, norm=True) for w, _ in pairs])
        coords, explained = pca_2d(unit)
        points = [{"word": w, "x": float(x), "y": float(y), "similarity": float(sim)}
                  for (w, sim), (x, y) in zip(pairs, coords, strict=True)]
        return {"word": word, "points": points, "explained": explained.tolist()}

    def _check_known(self, words: list[str]) -> None:
        missing = [w for w in dict.fromkeys(words) if w not in self.kv]  # subwords: any string
        if not missing:
            return
        names = ", ".join(_quote(w) for w in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise RequestError(
            f"{names} {verb} not in the vocabulary of {self.source} ({len(self.kv):,} words); "
            "check spelling and case",
            HTTPStatus.NOT_FOUND, self._suggestions(missing))

    def _suggestions(self, words: list[str]) -> list[str]:
        """Known words that differ from the unknown ones only in case: the commonest slip."""
        found = []
        for word in words:
            variants = (word.lower(), word.capitalize(), word.title(), word.upper())
            found += [v for v in dict.fromkeys(variants) if v in self.kv.key_to_index]
        return found


def _neighbours(pairs: list[tuple[str, float]]) -> list[dict]:
    return [{"word": word, "similarity": float(sim)} for word, sim in pairs]


# -- request parameters ------------------------------------------------------------------------


def _params(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query string as a dict, refusing parameters the endpoint does not take or repeats."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise RequestError(f"too many query parameters; give only {', '.join(allowed)}") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise RequestError(f"unknown parameter {_quote(name)}; this endpoint takes "
                               f"{', '.join(allowed)}")
        if name in params:
            raise RequestError(f"parameter {name!r} is given twice; give it once")
        params[name] = value
    return params


def _word(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise RequestError(f"missing parameter {name!r}; add {name}=WORD to the query")
    if not value:
        raise RequestError(f"parameter {name!r} is empty; give a word")
    if len(value) > MAX_WORD_CHARS:
        raise RequestError(f"parameter {name!r} is {len(value):,} characters long; a word here "
                           f"has at most {MAX_WORD_CHARS}")
    return value


def _topn(params: dict[str, str]) -> int:
    text = params.get("topn")
    if text is None:
        return DEFAULT_TOPN
    # The length check comes first: int() of thousands of digits is slow, then refused.
    if len(text) > 3 or not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_TOPN:
        raise RequestError(f"topn must be a whole number from 1 to {MAX_TOPN}, got {_quote(text)}")
    return int(text)


Route = tuple[tuple[str, ...], Callable[[Explorer, dict[str, str]], dict]]
ROUTES: dict[str, Route] = {
    "/similar": (("word", "topn"), lambda ex, p: ex.similar(_word(p, "word"), _topn(p))),
    "/analogy": (("a", "b", "c", "topn"),
                 lambda ex, p: ex.analogy(_word(p, "a"), _word(p, "b"), _word(p, "c"), _topn(p))),
    "/map": (("word", "topn"), lambda ex, p: ex.map(_word(p, "word"), _topn(p))),
    "/info": ((), lambda ex, p: ex.info()),
}


def answer(explorer: Explorer, path: str, query: str) -> dict:
    """The JSON body for an endpoint's path and query string; RequestError when it has none."""
    if path not in ROUTES:
        raise RequestError(f"no endpoint {_quote(path)}; the explorer has /, "
                           f"{', '.join(ROUTES)}", HTTPStatus.NOT_FOUND)
    allowed, run = ROUTES[path]
    return run(explorer, _params(query, allowed))


# -- HTTP --------------------------------------------------------------------------------------


@functools.cache
def page() -> bytes:
    """The explorer page, `explorer.html` beside this module: read through importlib.resources,
    so it is found in a wheel or a zipped install as well as in a source tree."""
    return resources.files(__package__).joinpath("explorer.html").read_bytes()


# The page's own inline script and style, and requests to this server: nothing else loads.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    server_version = "w2v-explorer"
    timeout = REQUEST_TIMEOUT

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/":
            self._send(HTTPStatus.OK, page(), "text/html; charset=utf-8",
                       {"Content-Security-Policy": CSP})
            return
        status: int
        try:
            status, body = HTTPStatus.OK, answer(self.server.explorer, url.path, url.query)
        except RequestError as error:
            status, body = error.status, error.payload()
        except Exception:  # a bug must cost one 500, not a traceback sent or a dead thread
            self.log_message("internal error on %s\n%s", self.path, traceback.format_exc())
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {
                "error": "internal error in the explorer; the server's log has the details"}
        self._send_json(status, body)

    do_HEAD = do_GET  # _send leaves out the body for HEAD

    def _refuse_method(self) -> None:
        self._send_json(HTTPStatus.METHOD_NOT_ALLOWED,
                        {"error": f"method {self.command} is not allowed; use GET"},
                        {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """http.server's own errors (a malformed request, an unknown method) as JSON too."""
        self.close_connection = True
        # Its messages quote the request line, which may be 64 KiB: the start is enough.
        self._send_json(code, {"error": (message or HTTPStatus(code).phrase)[:200]})

    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self._send(status, data, "application/json; charset=utf-8", headers or {})

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def version_string(self) -> str:
        return self.server_version  # not Python's version: no use to a client, of use to attackers

    def log_message(self, format: str, *args) -> None:
        if self.server.log is not None:
            print(f"w2v serve: {self.address_string()} {format % args}", file=self.server.log)


class ExplorerServer(ThreadingHTTPServer):
    """The explorer's HTTP server: one thread per request, quiet about clients that hang up."""

    daemon_threads = True  # Ctrl-C must not wait for a slow client
    # What the bound socket's getsockname() gives: (host, port), with flowinfo and scope for
    # IPv6; the base class's wider type also covers Unix sockets, which this server never uses.
    server_address: tuple[str, int] | tuple[str, int, int, int]
    request_queue_size = 128  # a burst of connections queues instead of being refused

    def __init__(self, explorer: Explorer, host: str, port: int, log: TextIO | None = None):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.explorer = explorer
        self.log = log
        try:
            super().__init__((host, port), _Handler)
        except OSError as err:
            raise W2VError(f"cannot listen on {host} port {port}: {err.strerror or err}; "
                           "pick another --port (0 picks a free one) or --host") from None

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def is_loopback(self) -> bool:
        """Whether only this machine can connect."""
        return ipaddress.ip_address(self.server_address[0]).is_loopback

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away mid-answer: nothing to fix here
        super().handle_error(request, client_address)


def make_server(kv, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, source: str = "vectors",
                log: TextIO | None = None, indexer=None) -> ExplorerServer:
    """A bound, not yet running, explorer server for `kv`; call `serve_forever()` to run it.

    `port` 0 picks a free port (see the server's `url`); `log`, when given, gets a line per
    request; `indexer` answers neighbours approximately (`w2v.vectors.ann.HnswIndexer`).
    """
    return ExplorerServer(Explorer(kv, source, indexer), host, port, log)


def open_index(path, kv, log: TextIO):
    """The HNSW index at `path` for `kv`, built and saved there first when there is none."""
    from w2v.vectors.ann import HnswIndexer

    if Path(path).exists():
        return HnswIndexer.load(path, kv)
    print(f"w2v serve: building an approximate index of {len(kv):,} words into {path} (once; "
          "later runs load it)", file=log, flush=True)
    indexer = HnswIndexer(kv)
    indexer.save(path)
    return indexer


def serve(path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, format: str | None = None,
          log: TextIO = sys.stderr, index=None, kv=None) -> None:
    """Load the vectors at `path` (unless given as `kv`) and serve the explorer until
    interrupted (Ctrl-C); with `index`, the path of an approximate index (see `open_index`),
    neighbours come from it.

    The URL, and a warning when `host` is reachable from other machines, go to `log`.
    """
    kv = formats.load_vectors(path, format=format) if kv is None else kv
    indexer = None if index is None else open_index(index, kv, log)
    with make_server(kv, host, port, Path(path).name, log, indexer) as server:
        words, dims = kv.vectors.shape
        print(f"w2v serve: exploring {path} ({words:,} words x {dims} dimensions) at "
              f"{server.url} (Ctrl-C stops)", file=log, flush=True)
        if not server.is_loopback():
            print(f"w2v: warning: listening on {server.server_address[0]}, not a loopback "
                  "address: anyone who can reach this machine can query the vectors; use "
                  "--host 127.0.0.1 to keep them local", file=log, flush=True)
        server.serve_forever()
