"""Streaming corpus readers: iterables of sentences (lists of str) that can be re-iterated.

Nothing here holds a whole file, or a whole line, in memory: files are read in blocks of at most
`BLOCK` bytes, a word split across two blocks is joined, and sentences (LineSentence: lines;
Text8Corpus: the whole stream) are cut into pieces of at most `max_sentence_length` words as they
fill. Compressed files (.gz, .bz2, .xz) are read transparently. Invalid UTF-8 is replaced, never
fatal, and counted. A plain file can also be read in byte ranges cut at whitespace
(`FileReader.spans`), each by a process of its own.

A token longer than `MAX_WORD` characters (a base64 blob, a minified script) is cut to its first
`MAX_WORD` characters, counted, and reported by one warning per pass.
word2vec.c does the same at 100 bytes; the larger limit leaves every real word, URLs included,
as gensim reads it, and keeps memory bounded whatever the file holds.

Both counts of a pass go into the `ReadReport` that `read(report)` is given, so that whoever
reads (a scan in several processes, say) gets them back as a value; iterating a reader the
gensim way keeps those of its last pass as its `decode_errors` and `truncated_words`.
"""

import bz2
import codecs
import gzip
import lzma
import os
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from w2v.errors import W2VError

BLOCK = 1 << 20  # bytes per read: large enough to amortise, small enough to keep memory flat
MAX_WORD = 1000  # characters kept of an over-long token
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# What a damaged compressed file or a failing disk raises while being read.
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
# Words are runs of letters, digits, apostrophes inside words, and hyphens inside words.
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split raw text into words, dropping punctuation: "Don't stop!" -> ["don't", "stop"]."""
    if lowercase:
        text = text.lower()
    return _WORD.findall(text)


def open_binary(path):
    """Open a corpus file for reading bytes, decompressing by suffix; errors name the path."""
    path = Path(path)
    if path.is_dir():
        raise W2VError(f"{path} is a folder; give a file, or use PathLineSentences for a folder")
    if not path.exists():
        raise W2VError(f"corpus file {path} does not exist; check the path")
    opener = _OPENERS.get(path.suffix.lower(), open)
    try:
        return opener(path, "rb")
    except OSError as e:
        raise W2VError(f"cannot read corpus file {path}: {e.strerror or e}; check its "
                       "permissions") from e


def _read_error(path, offset: int, err: Exception) -> W2VError:
    reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
    unpacked = " of its decompressed data" if Path(path).suffix.lower() in _OPENERS else ""
    return W2VError(f"cannot read corpus file {path} at byte offset {offset}{unpacked}: "
                    f"{reason}; the file is damaged or unreadable, replace it")


def _blocks(f, path, by_line: bool, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """The file's bytes from `start` to `stop` (None: the end) in pieces of at most BLOCK bytes;
    by line, a piece ends at a newline."""
    read = f.readline if by_line else f.read
    offset = start
    try:
        if start:
            f.seek(start)
        while stop is None or offset < stop:
            raw = read(BLOCK if stop is None else min(BLOCK, stop - offset))
            if not raw:
                return
            offset += len(raw)
            yield raw
    except _READ_ERRORS as err:
        raise _read_error(path, offset, err) from err


def _next_boundary(f, path, start: int, stop: int, delimiters: re.Pattern) -> int | None:
    """The offset just after the first delimiter byte in [start, stop), or None."""
    try:
        f.seek(start)
        while start < stop:
            raw = f.read(min(1 << 16, stop - start))
            if not raw:
                return None
            found = delimiters.search(raw)
            if found:
                return start + found.end()
            start += len(raw)
    except _READ_ERRORS as err:
        raise _read_error(path, start, err) from err
    return None


class _Pass:
    """One pass over a file: incremental UTF-8 decoding that replaces and counts bad bytes, and
    the split into words that cuts and counts over-long tokens."""

    def __init__(self, lowercase: bool, tokenize_text: bool):
        self.lowercase, self.tokenize_text = lowercase, tokenize_text
        self.decode_errors = self.truncated = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def decode(self, data: bytes, final: bool = False) -> str:
        text = self._decoder.decode(data, final)
        self.decode_errors += text.count("\ufffd")
        return text

    def words(self, text: str) -> list[str]:
        """The words of `text`, which ends between words."""
        if len(text) > MAX_WORD:  # shorter text cannot hold an over-long token
            words = text.split()
            if words and max(map(len, words)) > MAX_WORD:
                self.truncated += sum(len(w) > MAX_WORD for w in words)
                words = [w[:MAX_WORD] for w in words]
                text = " ".join(words)
            if not (self.tokenize_text or self.lowercase):
                return words
        if self.tokenize_text:
            return tokenize(text, self.lowercase)
        return (text.lower() if self.lowercase else text).split()


def _split_unfinished(text: str) -> tuple[str, str]:
    """(the whole words of `text`, the word it may end inside), the latter capped at
    MAX_WORD + 1 characters: it will be cut anyway, and one more keeps it counted as cut."""
    if not text or text[-1].isspace():
        return text, ""
    cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    head, tail = text[: cut + 1], text[cut + 1 :]
    if len(tail) > MAX_WORD:  # other (Unicode) whitespace may still split it
        words = tail.split()
        head += " ".join(words[:-1]) + " "
        tail = words[-1]
    return head, tail[: MAX_WORD + 1]


@dataclass
class ReadReport:
    """What one or more passes over a corpus replaced and cut: invalid UTF-8 sequences (each
    read as U+FFFD) and tokens longer than MAX_WORD characters (cut to MAX_WORD)."""

    decode_errors: int = 0
    truncated_words: int = 0

    def add(self, other: "ReadReport") -> None:
        self.decode_errors += other.decode_errors
        self.truncated_words += other.truncated_words

    def warn(self, source) -> None:
        """One warning for the pass if it cut tokens (replaced bytes are the caller's to say)."""
        if self.truncated_words:
            warnings.warn(f"{source}: {self.truncated_words} tokens longer than {MAX_WORD} "
                          f"characters were cut to their first {MAX_WORD}", UserWarning,
                          stacklevel=3)


class _Reader:
    """Shared options, gensim's iteration, and the block-by-block splitting into sentences."""

    source: Path

    def __init__(self, max_sentence_length=10000, lowercase=False, tokenize_text=False):
        if max_sentence_length < 1:
            raise W2VError(f"max_sentence_length={max_sentence_length} must be >= 1")
        self.max_sentence_length = max_sentence_length
        self.lowercase = lowercase
        self.tokenize_text = tokenize_text
        self.decode_errors = 0
        self.truncated_words = 0

    def __iter__(self) -> Iterator[list[str]]:
        """One pass over the corpus; after it, `decode_errors` and `truncated_words` hold what
        the pass replaced and cut, and cut tokens have been warned of once."""
        report = ReadReport()
        yield from self.read(report)
        self.decode_errors, self.truncated_words = report.decode_errors, report.truncated_words
        report.warn(self.source)

    def read(self, report: ReadReport) -> Iterator[list[str]]:
        """One pass over the corpus that adds what it replaced and cut to `report`; nothing
        is warned."""
        raise NotImplementedError

    def _cut(self, words: list[str]) -> Iterator[list[str]]:
        n = self.max_sentence_length
        for start in range(0, len(words), n):
            yield words[start : start + n]

    def _sentences(self, path, by_line: bool, report: ReadReport, limit: int | None = None,
                   start: int = 0, stop: int | None = None) -> Iterator[list[str]]:
        """Sentences of bytes [start, stop) of the file at `path`: one per line when `by_line`,
        else of the whole stream, each cut at max_sentence_length words; `limit` stops after
        that many lines. What the pass replaced and cut is added to `report` at its end."""
        state = _Pass(self.lowercase, self.tokenize_text)
        n, lines = self.max_sentence_length, 0
        pending: list[str] = []
        tail = ""
        with open_binary(path) as f:
            for raw in _blocks(f, path, by_line, start, stop):
                head, tail = _split_unfinished(tail + state.decode(raw))
                words = state.words(head)
                if by_line and raw[-1:] == b"\n":
                    if pending:
                        words, pending = pending + words, []
                    if len(words) > n:
                        yield from self._cut(words)
                    elif words:
                        yield words
                    lines += 1
                    if limit is not None and lines >= limit:
                        break
                    continue
                pending += words
                if len(pending) >= n:
                    full = len(pending) // n * n
                    yield from self._cut(pending[:full])
                    pending = pending[full:]
            else:
                tail += state.decode(b"", final=True)
                yield from self._cut(pending + state.words(tail + " "))
        report.add(ReadReport(state.decode_errors, state.truncated))


class FileReader(_Reader):
    """A reader of one file that can also be read in byte ranges, each by its own process.

    `spans` cuts the file at whitespace bytes (newlines when each line is a sentence), so the
    ranges' words, read apart and put end to end, are the file's, and so are their lines.
    """

    by_line = True  # each line is a sentence, or the file is one stream of words
    limit: int | None = None  # stop after this many lines

    def __init__(self, source, **options):
        super().__init__(**options)
        self.source = Path(source)
        open_binary(self.source).close()

    def read(self, report: ReadReport, start: int = 0,
             stop: int | None = None) -> Iterator[list[str]]:
        """The sentences of bytes [start, stop) (stop None: to the end), read as if they were a
        file of their own; what they replaced and cut is added to `report`."""
        if self.limit is not None and self.limit <= 0:
            return
        yield from self._sentences(self.source, self.by_line, report, self.limit, start, stop)

    def blocks(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The file's bytes [start, stop) in blocks of at most BLOCK, decompressed, as the
        compiled scanner takes them (it finds lines and words itself)."""
        with open_binary(self.source) as f:
            yield from _blocks(f, self.source, False, start, stop)

    def spans(self, parts: int, min_bytes: int = 1) -> list[tuple[int, int | None]]:
        """At most `parts` byte ranges [start, stop) of at least about `min_bytes` that cover
        the file in order; stop None is the end. A compressed file, or one read up to a line
        `limit`, is one range."""
        if self.limit is not None or self.source.suffix.lower() in _OPENERS:
            return [(0, None)]
        delimiters = re.compile(rb"\n" if self.by_line else rb"[ \n]")
        with open_binary(self.source) as f:
            size = os.fstat(f.fileno()).st_size
            parts = max(1, min(parts, size // max(min_bytes, 1)))
            targets = [size * i // parts for i in range(1, parts)] + [size]
            cuts = [0]
            for target, bound in zip(targets, targets[1:], strict=False):
                # Searching only up to the next target bounds the bytes read; a range with no
                # delimiter joins the next one.
                cut = _next_boundary(f, self.source, target, bound, delimiters)
                if cut is not None and cuts[-1] < cut < size:
                    cuts.append(cut)
        return list(zip(cuts, [*cuts[1:], None], strict=True))


class LineSentence(FileReader):
    """One sentence per line, words separated by whitespace (gensim's LineSentence).

    A line longer than max_sentence_length words gives several sentences, as in gensim; a line
    of any length is read a block at a time. `limit` reads only the first that many lines.
    """

    def __init__(self, source, limit=None, **options):
        super().__init__(source, **options)
        self.limit = limit


class Text8Corpus(FileReader):
    """A file read as one stream of words (text8's single line), cut into fixed-length sentences.

    Lines, if any, do not end sentences. Memory stays at one block plus one sentence. Read in
    ranges, its sentences are cut anew from the total: the caller counts words, not sentences.
    """

    by_line = False


class PathLineSentences(_Reader):
    """Every file in a folder, in name order, each read as LineSentence."""

    def __init__(self, source, **options):
        super().__init__(**options)
        self.source = Path(source)
        if not self.source.is_dir():
            raise W2VError(f"{self.source} is not a folder; give a folder of text files")
        self.files = sorted(p for p in self.source.iterdir() if p.is_file())
        if not self.files:
            raise W2VError(f"folder {self.source} holds no files")
        self._options = options

    def read(self, report: ReadReport) -> Iterator[list[str]]:
        """Each file's sentences in turn; their counts add up in `report`."""
        for path in self.files:
            yield from LineSentence(path, **self._options).read(report)


def read_corpus(sentences: Iterable[list[str]], report: ReadReport) -> Iterable[list[str]]:
    """One pass over any corpus: a reader of ours adds what it replaced and cut to `report`;
    any other iterable of token lists is read as it is, with nothing to report."""
    return sentences.read(report) if isinstance(sentences, _Reader) else sentences


def looks_like_one_line(path, probe: int = BLOCK) -> bool:
    """True for text8-style files: no newline in the first `probe` bytes of a large file."""
    with open_binary(path) as f:
        try:
            head = f.read(probe)
        except _READ_ERRORS as err:
            raise _read_error(path, 0, err) from err
    return len(head) == probe and b"\n" not in head


def open_corpus(source, **options) -> Iterable[list[str]]:
    """The right reader for a path: a folder, a text8-style single line, or lines."""
    path = Path(source)
    if path.is_dir():
        return PathLineSentences(path, **options)
    if looks_like_one_line(path):
        return Text8Corpus(path, **options)
    return LineSentence(path, **options)


class CutSentences:
    """A re-iterable corpus of token lists given in Python, every sentence longer than
    `max_sentence_length` words cut into pieces of that many, as the file readers cut theirs
    (gensim truncates such a sentence, losing the rest): a 300,000-word list trains as 30
    sentences, spread over chunks, threads and progress lines like a file's words."""

    def __init__(self, sentences: Iterable, max_sentence_length: int = 10000):
        if max_sentence_length < 1:
            raise W2VError(f"max_sentence_length={max_sentence_length} must be >= 1")
        self.sentences = sentences
        self.max_sentence_length = max_sentence_length

    def __iter__(self) -> Iterator[list[str]]:
        n = self.max_sentence_length
        for sentence in self.sentences:
            if not isinstance(sentence, list):
                sentence = list(sentence)  # any iterable of tokens will do, a generator too
            if len(sentence) <= n:
                yield sentence
            else:
                yield from (sentence[i : i + n] for i in range(0, len(sentence), n))


def check_sentences(sentences) -> Iterable[list[str]]:
    """Reject a string, a sequence of strings, or a one-shot iterator as a corpus."""
    if isinstance(sentences, (str, bytes, os.PathLike)):
        raise W2VError(
            "sentences must be an iterable of token lists, not a path or string; "
            "use corpus_file=PATH to read a file"
        )
    if iter(sentences) is sentences:
        raise W2VError(
            "sentences is a one-shot iterator (a generator?); training reads the corpus more "
            "than once: pass a list, or a class whose __iter__ starts afresh"
        )
    first = next(iter(sentences), None)
    if isinstance(first, str):
        raise W2VError(
            "sentences holds strings; it must hold token lists, e.g. "
            "[['the', 'cat'], ['a', 'dog']]"
        )
    return sentences
