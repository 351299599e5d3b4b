"""Streaming corpus readers: iterables of sentences (lists of str) that can be re-iterated.

Nothing here holds a whole file in memory: text8's single 100 MB line is read in blocks and cut
into sentences of at most `max_sentence_length` words. Compressed files (.gz, .bz2, .xz) are read
transparently. Invalid UTF-8 is replaced, never fatal, and counted in `decode_errors`; the caller
reports it once.
"""

import bz2
import codecs
import gzip
import lzma
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from w2v.errors import W2VError

BLOCK = 1 << 20  # bytes per read: large enough to amortise, small enough to keep memory flat
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
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
        raise W2VError(f"cannot read corpus file {path}: {e.strerror or e}") from e


class _Decoder:
    """Incremental UTF-8 decoding that replaces bad bytes and counts them."""

    def __init__(self):
        self.errors = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __call__(self, data: bytes, final: bool = False) -> str:
        text = self._decoder.decode(data, final)
        self.errors += text.count("\ufffd")
        return text


class _Reader:
    """Shared options for the file readers: cutting long sentences and optional tokenizing."""

    def __init__(self, max_sentence_length=10000, lowercase=False, tokenize_text=False):
        if max_sentence_length < 1:
            raise W2VError(f"max_sentence_length={max_sentence_length} must be >= 1")
        self.max_sentence_length = max_sentence_length
        self.lowercase = lowercase
        self.tokenize_text = tokenize_text
        self.decode_errors = 0

    def _words(self, text: str) -> list[str]:
        if self.tokenize_text:
            return tokenize(text, self.lowercase)
        return (text.lower() if self.lowercase else text).split()

    def _cut(self, words: list[str]) -> Iterator[list[str]]:
        n = self.max_sentence_length
        for start in range(0, len(words), n):
            yield words[start : start + n]


class LineSentence(_Reader):
    """One sentence per line, words separated by whitespace (gensim's LineSentence)."""

    def __init__(self, source, limit=None, **options):
        super().__init__(**options)
        self.source = Path(source)
        self.limit = limit
        open_binary(self.source).close()

    def __iter__(self) -> Iterator[list[str]]:
        decode = _Decoder()
        with open_binary(self.source) as f:
            for i, raw in enumerate(f):
                if self.limit is not None and i >= self.limit:
                    break
                words = self._words(decode(raw))
                if words:
                    yield from self._cut(words)
            decode(b"", final=True)
        self.decode_errors = decode.errors


class Text8Corpus(_Reader):
    """A file read as one stream of words (text8's single line), cut into fixed-length sentences.

    Lines, if any, do not end sentences. The file is read in blocks; a word split across two
    blocks is joined, so memory stays at one block plus one sentence.
    """

    def __init__(self, source, **options):
        super().__init__(**options)
        self.source = Path(source)
        open_binary(self.source).close()

    def __iter__(self) -> Iterator[list[str]]:
        decode = _Decoder()
        pending: list[str] = []
        tail = ""
        with open_binary(self.source) as f:
            while block := f.read(BLOCK):
                text = tail + decode(block)
                # A block may end inside a word: keep the unfinished word for the next block.
                cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
                text, tail = (text[: cut + 1], text[cut + 1 :]) if cut >= 0 else ("", text)
                pending.extend(self._words(text))
                while len(pending) >= self.max_sentence_length:
                    yield pending[: self.max_sentence_length]
                    del pending[: self.max_sentence_length]
                if len(tail) > 100 * BLOCK:
                    raise W2VError(
                        f"{self.source}: a single 'word' longer than {100 * BLOCK} bytes near "
                        f"byte {f.tell()}; this is not a text corpus"
                    )
            pending.extend(self._words(tail + decode(b"", final=True)))
        if pending:
            yield from self._cut(pending)
        self.decode_errors = decode.errors


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

    def __iter__(self) -> Iterator[list[str]]:
        self.decode_errors = 0
        for path in self.files:
            reader = LineSentence(path, **self._options)
            yield from reader
            self.decode_errors += reader.decode_errors


def looks_like_one_line(path, probe: int = BLOCK) -> bool:
    """True for text8-style files: no newline in the first `probe` bytes of a large file."""
    with open_binary(path) as f:
        head = f.read(probe)
    return len(head) == probe and b"\n" not in head


def open_corpus(source, **options) -> Iterable[list[str]]:
    """The right reader for a path: a folder, a text8-style single line, or lines."""
    path = Path(source)
    if path.is_dir():
        return PathLineSentences(path, **options)
    if looks_like_one_line(path):
        return Text8Corpus(path, **options)
    return LineSentence(path, **options)


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
