"""`w2v serve`: a small web page for exploring word vectors, and the JSON endpoints it calls.

The page (one HTML file with its CSS and JavaScript inline, no other assets, so it works offline)
shows a word's nearest neighbours with similarity bars, a 2-D map of its neighbourhood (PCA of the
unit vectors of the word and its neighbours) and answers analogies. Its endpoints:

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

import ipaddress
import json
import socket
import sys
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from w2v import formats
from w2v.errors import W2VError

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

    def __init__(self, kv, source: str):
        self.kv = kv
        self.source = source
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
        pairs = self.kv.most_similar(positive=[word], topn=topn)
        return {"word": word, "neighbours": _neighbours(pairs)}

    def analogy(self, a: str, b: str, c: str, topn: int) -> dict:
        """Answers to 'a is to b as c is to ?': the words nearest to b - a + c (3CosAdd)."""
        self._check_known([a, b, c])
        pairs = self.kv.most_similar(positive=[b, c], negative=[a], topn=topn)
        return {"a": a, "b": b, "c": c, "answers": _neighbours(pairs)}

    def map(self, word: str, topn: int) -> dict:
        """`word` (first) and its `topn` neighbours placed in 2-D by PCA of their unit vectors."""
        self._check_known([word])
        pairs = [(word, 1.0), *self.kv.most_similar(positive=[word], topn=topn)]
        rows = [self.kv.key_to_index[w] for w, _ in pairs]
        # Only these rows are normalised: the whole normalised matrix can be gigabytes.
        unit = self.kv.vectors[rows] / self.kv.norms[rows, np.newaxis]
        coords, explained = pca_2d(unit)
        points = [{"word": w, "x": float(x), "y": float(y), "similarity": float(sim)}
                  for (w, sim), (x, y) in zip(pairs, coords, strict=True)]
        return {"word": word, "points": points, "explained": explained.tolist()}

    def _check_known(self, words: list[str]) -> None:
        missing = [w for w in dict.fromkeys(words) if w not in self.kv.key_to_index]
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
            self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8",
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
                log: TextIO | None = None) -> ExplorerServer:
    """A bound, not yet running, explorer server for `kv`; call `serve_forever()` to run it.

    `port` 0 picks a free port (see the server's `url`); `log`, when given, gets a line per
    request.
    """
    return ExplorerServer(Explorer(kv, source), host, port, log)


def serve(path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, format: str | None = None,
          log: TextIO = sys.stderr) -> None:
    """Load the vectors at `path` and serve the explorer until interrupted (Ctrl-C).

    The URL, and a warning when `host` is reachable from other machines, go to `log`.
    """
    kv = formats.load_vectors(path, format=format)
    with make_server(kv, host, port, Path(path).name, log) as server:
        words, dims = kv.vectors.shape
        print(f"w2v serve: exploring {path} ({words:,} words x {dims} dimensions) at "
              f"{server.url} (Ctrl-C stops)", file=log, flush=True)
        if not server.is_loopback():
            print(f"w2v: warning: listening on {server.server_address[0]}, not a loopback "
                  "address: anyone who can reach this machine can query the vectors; use "
                  "--host 127.0.0.1 to keep them local", file=log, flush=True)
        server.serve_forever()


PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>w2v explorer</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f5f6fa; --card: #ffffff; --ink: #1d2233; --muted: #6b7185; --line: #e3e6ef;
  --accent: #4f46e5; --accent2: #06b6d4; --soft: #eef0fb; --bad: #b42318; --badbg: #fef3f2;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11131a; --card: #1a1d27; --ink: #e7e9f2; --muted: #9aa0b4; --line: #2b2f3d;
    --accent: #818cf8; --accent2: #22d3ee; --soft: #242838; --bad: #fda29b; --badbg: #3a1d1b;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
header { padding: 22px 32px 6px; display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; }
h1 { margin: 0; font-size: 22px; letter-spacing: -0.02em; }
h1 span { color: var(--accent); }
#info { color: var(--muted); font-size: 14px; }
main { padding: 12px 32px 24px; display: grid; gap: 20px; max-width: 1240px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 14px;
  padding: 18px 22px; box-shadow: 0 1px 2px rgba(16, 24, 40, .05);
}
h2 {
  margin: 0 0 10px; font-size: 13px; text-transform: uppercase; letter-spacing: .08em;
  color: var(--muted); font-weight: 600;
}
form { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
input, select, button { font: inherit; color: inherit; }
input, select {
  background: var(--bg); border: 1px solid var(--line); border-radius: 9px; padding: 8px 12px;
}
input:focus, select:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
#word { flex: 1 1 260px; font-size: 17px; }
.analogy input { width: 150px; }
button.go {
  background: var(--accent); color: #fff; border: 0; border-radius: 9px; padding: 8px 18px;
  font-weight: 600; cursor: pointer;
}
button.go:hover { filter: brightness(1.1); }
.examples { margin: 10px 0 0; color: var(--muted); font-size: 13px; }
.chip, .word {
  background: var(--soft); border: 0; border-radius: 999px; padding: 2px 10px; margin: 2px;
  cursor: pointer; font-size: 13px;
}
.chip:hover, .word:hover { background: var(--accent); color: #fff; }
.grid { display: grid; grid-template-columns: minmax(280px, 1fr) minmax(360px, 1.35fr); gap: 24px;
  margin-top: 16px; }
@media (max-width: 820px) { .grid { grid-template-columns: 1fr; } }
ol.bars { list-style: none; margin: 0; padding: 0; }
ol.bars li {
  display: grid; grid-template-columns: 22px minmax(80px, 150px) 1fr 56px; align-items: center;
  gap: 10px; padding: 3px 0;
}
.rank { color: var(--muted); font-size: 12px; text-align: right; }
ol.bars li.hint { display: block; }
ol.bars .word { justify-self: start; font-size: 14px; max-width: 150px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.bar { height: 10px; background: var(--soft); border-radius: 999px; overflow: hidden; }
.bar span { display: block; height: 100%; border-radius: 999px;
  background: linear-gradient(90deg, var(--accent), var(--accent2)); }
.score { font-variant-numeric: tabular-nums; font-size: 13px; color: var(--muted);
  text-align: right; }
.error { color: var(--bad); background: var(--badbg); border-radius: 9px; padding: 8px 12px;
  margin: 8px 0 0; }
.hint { color: var(--muted); margin: 6px 0; }
svg { width: 100%; height: auto; display: block; background: var(--bg); border-radius: 10px; }
svg line { stroke: var(--accent); }
svg circle { fill: var(--accent2); stroke: var(--card); stroke-width: 2; cursor: pointer; }
svg circle.centre { fill: var(--accent); }
svg text { font-size: 13px; fill: var(--ink); paint-order: stroke; stroke: var(--bg);
  stroke-width: 4px; stroke-linejoin: round; cursor: pointer; }
svg text.centre { font-weight: 700; font-size: 15px; }
.caption { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.answer { font-size: 18px; margin: 14px 0 8px; }
#answers { max-width: 640px; }
.answer b { color: var(--accent); }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px; }
</style>
</head>
<body>
<header>
  <h1><span>w2v</span> explorer</h1>
  <div id="info"></div>
</header>
<main>
  <section class="card">
    <form id="similar-form">
      <input id="word" name="word" placeholder="Type a word, e.g. king" autocomplete="off"
             spellcheck="false" autofocus aria-label="word">
      <label for="topn" class="hint">neighbours</label>
      <select id="topn" aria-label="number of neighbours">
        <option>5</option><option selected>10</option><option>15</option><option>20</option>
        <option>30</option><option>50</option>
      </select>
      <button class="go" type="submit">Explore</button>
    </form>
    <div class="examples" id="examples"></div>
    <div id="similar-error"></div>
    <div class="grid">
      <div>
        <h2>Nearest neighbours</h2>
        <ol class="bars" id="neighbours">
          <li class="hint">Type a word to see its neighbours.</li>
        </ol>
      </div>
      <div>
        <h2>Neighbourhood map</h2>
        <svg id="map" viewBox="0 0 640 420" role="img"
             aria-label="2-D map of the neighbourhood"></svg>
        <p class="caption" id="map-caption">
          Principal components of the word's and its neighbours' unit vectors.
        </p>
      </div>
    </div>
  </section>
  <section class="card">
    <h2>Analogy</h2>
    <form id="analogy-form" class="analogy">
      <input id="a" placeholder="man" aria-label="a" autocomplete="off" spellcheck="false">
      <span class="hint">is to</span>
      <input id="b" placeholder="king" aria-label="b" autocomplete="off" spellcheck="false">
      <span class="hint">as</span>
      <input id="c" placeholder="woman" aria-label="c" autocomplete="off" spellcheck="false">
      <span class="hint">is to ?</span>
      <button class="go" type="submit">Solve</button>
    </form>
    <div id="analogy-error"></div>
    <p class="answer" id="answer"></p>
    <ol class="bars" id="answers"></ol>
  </section>
</main>
<footer>
  Cosine similarity of the vectors · analogies by 3CosAdd (b − a + c) · served by w2v:
  nothing leaves this machine.
</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const state = { word: "", a: "", b: "", c: "" };
let latest = 0;  // the newest word query: answers to older ones arrive late and are dropped

function el(tag, attrs = {}, text = "") {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;  // never innerHTML: words are data, not markup
  return node;
}

async function getJSON(path, params) {
  const response = await fetch(path + "?" + new URLSearchParams(params));
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(body.error || response.statusText);
    error.suggestions = body.suggestions || [];
    throw error;
  }
  return body;
}

function showError(box, error, retry) {
  box.replaceChildren();
  if (!error) return;
  const p = el("p", { class: "error", role: "alert" }, error.message);
  if (error.suggestions && error.suggestions.length) {
    p.append(" — did you mean ");
    for (const s of error.suggestions) {
      const b = el("button", { class: "word", type: "button" }, s);
      b.onclick = () => retry(s);
      p.append(b);
    }
    p.append("?");
  }
  box.append(p);
}

function bars(list, pairs) {
  list.replaceChildren();
  pairs.forEach((item, i) => {
    const li = el("li");
    const word = el("button", { class: "word", type: "button", title: item.word }, item.word);
    word.onclick = () => explore(item.word);
    const bar = el("div", { class: "bar" });
    const fill = el("span");
    fill.style.width = (Math.max(0, item.similarity) * 100).toFixed(1) + "%";
    bar.append(fill);
    li.append(el("span", { class: "rank" }, String(i + 1)), word, bar,
              el("span", { class: "score" }, item.similarity.toFixed(3)));
    list.append(li);
  });
  if (!pairs.length) list.append(el("li", { class: "hint" }, "No other words in the vocabulary."));
}

// Where to put a word's label beside its dot (x, y): the first of a few spots around the dot
// that stays inside the map and clear of `taken` boxes, which it then joins.
function placeLabel(taken, x, y, word, size, W, H) {
  const w = word.length * size * 0.62 + 4, h = size + 2;
  const spots = [[10, 4, "start"], [-10, 4, "end"], [6, -9, "start"], [6, 17, "start"],
                 [-6, -9, "end"], [-6, 17, "end"]];
  const box = ([dx, dy, anchor]) => [anchor === "start" ? x + dx : x + dx - w, y + dy - size, w, h];
  const inside = ([bx, by, bw, bh]) => bx >= 0 && by >= 0 && bx + bw <= W && by + bh <= H;
  const clear = ([bx, by, bw, bh]) => taken.every(([tx, ty, tw, th]) =>
    bx + bw <= tx || tx + tw <= bx || by + bh <= ty || ty + th <= by);
  const fits = spots.filter((s) => inside(box(s)));
  const best = fits.find((s) => clear(box(s))) || fits[0] || spots[0];
  taken.push(box(best));
  return { x: x + best[0], y: y + best[1], anchor: best[2] };
}

function drawMap(data) {
  const svg = $("map"), W = 640, H = 420, pad = 56;
  svg.replaceChildren();
  const xs = data.points.map((p) => p.x), ys = data.points.map((p) => -p.y);
  const span = (v) => Math.max(...v) - Math.min(...v) || 1;
  // One scale for both axes, so distances on screen stay true to the projection.
  const k = Math.min((W - 2 * pad) / span(xs), (H - 2 * pad) / span(ys));
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2, cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const at = (i) => [W / 2 + (xs[i] - cx) * k, H / 2 + (ys[i] - cy) * k];
  const [x0, y0] = at(0);
  // Boxes a label should not cover: every dot, then each label as it is placed.
  const taken = data.points.map((_, i) => { const [x, y] = at(i); return [x - 6, y - 6, 12, 12]; });
  const lines = el("svg:g"), dots = el("svg:g"), labels = el("svg:g");
  data.points.forEach((p, i) => {
    const [x, y] = at(i), centre = i === 0;
    if (!centre) {
      lines.append(el("svg:line", { x1: x0, y1: y0, x2: x, y2: y,
        "stroke-opacity": (0.12 + 0.5 * Math.max(0, p.similarity)).toFixed(2) }));
    }
    const dot = el("svg:circle",
      { cx: x, cy: y, r: centre ? 8 : 5.5, class: centre ? "centre" : "" });
    dot.append(el("svg:title", {}, `${p.word}  ${p.similarity.toFixed(3)}`));
    const spot = placeLabel(taken, x, y, p.word, centre ? 15 : 13, W, H);
    const label = el("svg:text", { x: spot.x, y: spot.y, "text-anchor": spot.anchor,
      class: centre ? "centre" : "" }, p.word);
    for (const node of [dot, label]) node.onclick = () => explore(p.word);
    dots.append(dot);
    labels.append(label);
  });
  svg.append(lines, dots, labels);
  const [e1, e2] = data.explained.map((v) => Math.round(v * 100));
  $("map-caption").textContent = `PCA of the unit vectors of “${data.word}” and its ` +
    `${data.points.length - 1} nearest neighbours: the axes explain ${e1}% and ${e2}% ` +
    "of their variance.";
}

function saveState() {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v) params.set(k, v);
  history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
}

async function explore(word) {
  word = word.trim();
  if (!word) return;
  $("word").value = word;
  state.word = word;
  saveState();
  const ticket = ++latest, topn = $("topn").value;
  try {
    const [similar, map] = await Promise.all([
      getJSON("/similar", { word, topn }), getJSON("/map", { word, topn })]);
    if (ticket !== latest) return;
    showError($("similar-error"), null);
    bars($("neighbours"), similar.neighbours);
    drawMap(map);
    document.title = `${word} · w2v explorer`;
  } catch (error) {
    if (ticket === latest) showError($("similar-error"), error, explore);
  }
}

async function solve() {
  const [a, b, c] = ["a", "b", "c"].map((id) => $(id).value.trim());
  if (!a || !b || !c) return;
  Object.assign(state, { a, b, c });
  saveState();
  try {
    const data = await getJSON("/analogy", { a, b, c, topn: 10 });
    showError($("analogy-error"), null);
    const answer = $("answer");
    answer.replaceChildren(`${a} is to ${b} as ${c} is to `,
      el("b", {}, data.answers.length ? data.answers[0].word : "?"));
    bars($("answers"), data.answers);
  } catch (error) {
    showError($("analogy-error"), error, (word) => {
      for (const id of ["a", "b", "c"]) {
        if ($(id).value.trim().toLowerCase() === word.toLowerCase()) $(id).value = word;
      }
      solve();
    });
  }
}

async function showInfo() {
  try {
    const info = await getJSON("/info", {});
    $("info").textContent = `${info.source} · ${info.words.toLocaleString()} words · ` +
      `${info.dimensions} dimensions`;
    const box = $("examples");
    if (info.examples.length) box.append("Try ");
    for (const word of info.examples) {
      const chip = el("button", { class: "chip", type: "button" }, word);
      chip.onclick = () => explore(word);
      box.append(chip);
    }
  } catch (error) {
    $("info").textContent = "cannot reach the w2v server: " + error.message;
  }
}

let typing;
$("word").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => explore($("word").value), 350);
});
$("similar-form").addEventListener("submit", (e) => {
  e.preventDefault();
  explore($("word").value);
});
$("topn").addEventListener("change", () => explore($("word").value));
$("analogy-form").addEventListener("submit", (e) => { e.preventDefault(); solve(); });

const start = new URLSearchParams(location.search);
showInfo();
if (start.get("word")) explore(start.get("word"));
if (start.get("a") && start.get("b") && start.get("c")) {
  for (const id of ["a", "b", "c"]) $(id).value = start.get(id);
  solve();
}
</script>
</body>
</html>
"""
