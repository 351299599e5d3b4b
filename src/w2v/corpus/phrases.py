"""Phrase detection (word2vec.c's `word2phrase`, gensim's `Phrases`): word pairs seen together
far more often than chance, such as `new york`, become one token `new_york`.

Counting and applying run on the corpus as ids (`encoding.prepare`, through the compiled
scanner when it is handed one), with numpy over blocks of ids, never a Python loop per token:

- A candidate is two consecutive words that are not connector words, in one sentence, with the
  connector words between them (gensim's `connector_words`: `bank_of_america`). Each is a
  64-bit key: the two ids, and the connectors' digits (1..k for k connector words) in
  bijective base k + 1; the rare candidate with more connectors between than fit is counted in
  a dictionary.
- Scores are gensim's: "default" is word2vec.c's (count - min_count) / (count_a count_b) x the
  number of distinct unigrams and candidates; "npmi" is the normalized pointwise mutual
  information of Bouma (2009), -inf below min_count. A candidate is a phrase when its score is
  above `threshold`.
- Applying is gensim's greedy left-to-right rule: in a run of consecutive candidates that are
  phrases, the first, third, ... are joined (each joined pair ends the next candidate).

Where the counts differ from gensim's, by rule: a corpus token that contains the delimiter is
not confused with the pair it spells (gensim counts `new_york` and `new york` as one key), and
past `max_vocab_size` candidates are pruned per block of ids, not per sentence (unigrams are
never pruned). Below the limit (40M candidates by default) the counts, scores and phrases equal
gensim's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator

import numpy as np

from w2v.atomic import atomic_write
from w2v.corpus.encoding import EncodedCorpus, prepare
from w2v.errors import W2VError

# gensim's ENGLISH_CONNECTOR_WORDS: articles, prepositions and conjunctions that may sit inside
# a phrase ("bank of america") but neither start nor end one.
ENGLISH_CONNECTOR_WORDS = frozenset(
    ["a", "an", "the", "for", "of", "with", "without", "at", "from", "to", "in", "on", "by",
     "and", "or"])
SCORINGS = ("default", "npmi")
BLOCK_IDS = 1 << 22  # ids counted at a time: bounds the temporaries on a huge corpus
FORMAT = "w2v-phrases"  # a saved model's "format" field


def check_phrase_options(min_count, threshold, scoring: str, delimiter) -> None:
    """Refuse settings under which no phrase could be scored sensibly, naming the fix."""
    if scoring not in SCORINGS:
        raise W2VError(f"scoring={scoring!r} is not known; use 'default' (word2vec.c's) or "
                       "'npmi' (normalized pointwise mutual information)")
    if not (isinstance(min_count, int) and min_count >= 1):
        raise W2VError(f"min_count={min_count!r}: a phrase must be seen at least once; give a "
                       "whole number >= 1")
    if not isinstance(threshold, (int, float)) or math.isnan(threshold):
        raise W2VError(f"threshold={threshold!r} is not a number")
    if scoring == "default" and threshold < 0:
        raise W2VError(f"threshold={threshold!r}: the default score is >= 0 for every pair seen "
                       "min_count times, so a negative threshold joins pairs seen fewer times; "
                       "give a threshold >= 0 (word2vec.c uses 100, gensim 10)")
    if scoring == "npmi" and not -1 < threshold <= 1:
        raise W2VError(f"threshold={threshold!r}: npmi scores lie in [-1, 1]; give a threshold "
                       "in (-1, 1], such as 0.5")
    if not isinstance(delimiter, str) or not delimiter or any(c.isspace() for c in delimiter):
        raise W2VError(f"delimiter={delimiter!r}: phrases are written as tokens, so the "
                       "delimiter must be a non-empty string without spaces, such as '_'")


def default_score(count, count_a, count_b, min_count, vocab_size, corpus_words):
    """word2vec.c's score (Mikolov et al. 2013, "Distributed Representations of Words and
    Phrases", eq. 6, scaled by the vocabulary's size as gensim does)."""
    return (count - min_count) / (count_a * count_b) * vocab_size


def npmi_score(count, count_a, count_b, min_count, vocab_size, corpus_words):
    """Normalized pointwise mutual information (Bouma 2009), in [-1, 1]; -inf below min_count."""
    p_ab, p_a, p_b = count / corpus_words, count_a / corpus_words, count_b / corpus_words
    with np.errstate(divide="ignore"):
        score = np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)
    return np.where(count >= min_count, score, -np.inf)


SCORERS = {"default": default_score, "npmi": npmi_score}


class _Keys:
    """The 64-bit candidate keys of a vocabulary of `words` ids with `connectors` (bool per id)."""

    def __init__(self, words: int, connectors: np.ndarray):
        self.words = words
        self.connectors = connectors
        self.digit = np.zeros(words, np.int64)  # 1..k for the connector words
        self.digit[connectors] = np.arange(1, int(connectors.sum()) + 1)
        self.base = int(connectors.sum()) + 1
        room = (1 << 62) // max(words * words, 1)
        self.longest = 0  # connectors between two words that fit in a key
        while self.base ** (self.longest + 1) <= room and self.base > 1:
            self.longest += 1
        self.scale = self.base ** self.longest

    def candidates(self, ids: np.ndarray, starts: np.ndarray):
        """Every candidate of a block: (keys (C,), first and last token positions (C,) each,
        keys of the candidates with too many connectors between as None in a list)."""
        sentence = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        words = np.flatnonzero(~self.connectors[ids])
        first, last = words[:-1], words[1:]
        same = sentence[first] == sentence[last]
        first, last = first[same], last[same]
        gap = last - first - 1
        code = np.zeros(len(first), np.int64)
        for t in range(min(self.longest, int(gap.max()) if len(gap) else 0)):
            inside = np.flatnonzero(gap > t)
            code[inside] += self.digit[ids[first[inside] + 1 + t]] * self.base ** t
        keys = (ids[first].astype(np.int64) * self.words + ids[last]) * self.scale + code
        keys[gap > self.longest] = -1
        return keys, first, last

    def parts(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two words' ids of each key."""
        pair = keys // self.scale
        return pair // self.words, pair % self.words

    def connector_ids(self, key: int) -> list[int]:
        code, out = key % self.scale, []
        by_digit = np.flatnonzero(self.connectors)
        while code:
            out.append(int(by_digit[code % self.base - 1]))
            code //= self.base
        return out


class Phrases:
    """Learn phrases from `sentences` (gensim's `Phrases`: its names, defaults and scores).

    >>> phrases = Phrases(sentences, min_count=5, threshold=10.0)
    >>> phrases[["i", "live", "in", "new", "york"]]   # ['i', 'live', 'in', 'new_york']
    >>> frozen = phrases.freeze(); frozen.save("phrases.json")

    `sentences` is any re-iterable of token lists or a corpus reader; `scanner`, the compiled
    corpus scanner (`w2v.training.kernels.corpus_scanner()`), reads a corpus file many times
    faster, as `w2v phrases` does. `connector_words` may sit inside a phrase but never start or
    end one (`ENGLISH_CONNECTOR_WORDS`).
    """

    def __init__(self, sentences: Iterable[list[str]] | None = None, min_count: int = 5,
                 threshold: float = 10.0, max_vocab_size: int = 40_000_000,
                 delimiter: str = "_", progress_per: int = 10000, scoring: str = "default",
                 connector_words: Iterable[str] = frozenset(), scanner=None):
        check_phrase_options(min_count, threshold, scoring, delimiter)
        self.min_count, self.threshold, self.scoring = min_count, float(threshold), scoring
        self.max_vocab_size, self.delimiter = max_vocab_size, delimiter
        self.connector_words = frozenset(connector_words)
        self.words: list[str] = []
        self.counts = np.zeros(0, np.int64)  # per word id: its count (0 for a connector word)
        self.keys = np.zeros(0, np.int64)  # the candidates, sorted, and ...
        self.key_counts = np.zeros(0, np.int64)  # ... how often each was seen
        self.long: dict[tuple[int, ...], int] = {}  # candidates with too many connectors between
        self.corpus_word_count = 0
        self._key = _Keys(0, np.zeros(0, bool))
        self._frozen: FrozenPhrases | None = None
        if sentences is not None:
            self._learn(sentences, scanner)

    # -- counting --------------------------------------------------------------------------

    def _learn(self, sentences, scanner) -> None:
        vocab, corpus = prepare(sentences, min_count=1, scanner=scanner)
        self.words = list(vocab.words)
        connectors = np.fromiter((w in self.connector_words for w in self.words), bool,
                                 len(self.words))
        self.counts = np.where(connectors, 0, vocab.counts).astype(np.int64)
        self.corpus_word_count = int(vocab.corpus_words)
        self._key = _Keys(len(self.words), connectors)
        self._count(corpus)

    def _count(self, corpus: EncodedCorpus) -> None:
        found: list[tuple[np.ndarray, np.ndarray]] = []
        held, min_reduce = 0, 1
        for ids, starts in corpus.chunks(BLOCK_IDS):
            keys, first, last = self._key.candidates(ids, starts)
            for i in np.flatnonzero(keys < 0):
                span = tuple(ids[first[i]:last[i] + 1].tolist())
                self.long[span] = self.long.get(span, 0) + 1
            unique, counts = np.unique(keys[keys >= 0], return_counts=True)
            found.append((unique, counts))
            held += len(unique)
            if held > self.max_vocab_size:
                self.keys, self.key_counts = _merge([(self.keys, self.key_counts), *found])
                found, held = [], len(self.keys)
                while held + len(self.long) > self.max_vocab_size:  # gensim's prune_vocab
                    keep = self.key_counts > min_reduce
                    self.keys, self.key_counts = self.keys[keep], self.key_counts[keep]
                    self.long = {k: n for k, n in self.long.items() if n > min_reduce}
                    held, min_reduce = len(self.keys), min_reduce + 1
        self.keys, self.key_counts = _merge([(self.keys, self.key_counts), *found])

    # -- scoring ---------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Distinct unigrams (connector words aside) and candidates: gensim's len(vocab)."""
        return int(np.count_nonzero(self.counts)) + len(self.keys) + len(self.long)

    def _scores(self, a: np.ndarray, b: np.ndarray, count: np.ndarray) -> np.ndarray:
        count_a, count_b = self.counts[a].astype(float), self.counts[b].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = SCORERS[self.scoring](count.astype(float), count_a, count_b,
                                          float(self.min_count), float(self.vocab_size),
                                          float(self.corpus_word_count))
        return np.where((count_a > 0) & (count_b > 0), score, -np.inf)

    def export_phrases(self) -> dict[str, float]:
        """Every phrase, joined by the delimiter, with its score (gensim's export_phrases)."""
        return dict(self.freeze().phrasegrams)

    def _phrases(self) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
        """Each phrase's score and its tokens, by its joined text."""
        a, b = self._key.parts(self.keys)
        scores = self._scores(a, b, self.key_counts)
        spans = [(int(a[i]), *self._key.connector_ids(int(self.keys[i])), int(b[i]))
                 for i in np.flatnonzero(scores > self.threshold)]
        found = scores[scores > self.threshold].tolist()
        if self.long:
            long = list(self.long)
            long_scores = self._scores(np.array([s[0] for s in long]),
                                       np.array([s[-1] for s in long]),
                                       np.array(list(self.long.values())))
            spans += [s for s, x in zip(long, long_scores.tolist(), strict=True)
                      if x > self.threshold]
            found += [x for x in long_scores.tolist() if x > self.threshold]
        tokens = [tuple(self.words[i] for i in span) for span in spans]
        joined = [self.delimiter.join(t) for t in tokens]
        return dict(zip(joined, found, strict=True)), dict(zip(joined, tokens, strict=True))

    def freeze(self) -> FrozenPhrases:
        """The phrases alone, without the counts: small, fast to apply, and savable."""
        if self._frozen is None:
            scores, parts = self._phrases()
            self._frozen = FrozenPhrases(scores, self.threshold, self.delimiter,
                                         self.connector_words, self.scoring, self.min_count,
                                         parts)
        return self._frozen

    # -- applying --------------------------------------------------------------------------

    def __getitem__(self, sentence):
        """One sentence (a list of str) with its phrases joined, or for a corpus (an iterable of
        sentences) a generator of them, as gensim's `phrases[...]`."""
        return self.freeze()[sentence]

    def find_phrases(self, sentences) -> dict[str, float]:
        """The phrases that occur in `sentences`, with their scores."""
        return self.freeze().find_phrases(sentences)

    def save(self, path) -> None:
        """Write the phrases (not the counts) as a JSON model that `Phrases.load` reads."""
        self.freeze().save(path)

    @staticmethod
    def load(path) -> FrozenPhrases:
        """A model written by `save`: it applies its phrases; it does not learn more."""
        return FrozenPhrases.load(path)

    def apply_corpus(self, sentences, out, scanner=None) -> int:
        """Write `sentences` with their phrases joined to `out` (a text file, a sentence per
        line) by ids and numpy; returns the tokens written. For a corpus file, `scanner` (the
        compiled corpus scanner) reads it many times faster."""
        return self.freeze().apply_corpus(sentences, out, scanner)

    def __repr__(self) -> str:
        return (f"Phrases<{len(self.words):,} words, {len(self.keys) + len(self.long):,} "
                f"candidates, min_count={self.min_count}, threshold={self.threshold}>")


def _joined(ids, starts, key: _Keys, phrase_keys: np.ndarray, long_spans: dict):
    """A block's tokens with its phrases joined, and where its sentences start among them.
    A phrase's token is V + its index in `phrase_keys`, or its `long_spans` value."""
    keys, first, last = key.candidates(ids, starts)
    at = np.minimum(np.searchsorted(phrase_keys, keys), max(len(phrase_keys) - 1, 0))
    hit = (keys >= 0) & (len(phrase_keys) > 0)
    hit[hit] = phrase_keys[at[hit]] == keys[hit]
    token = key.words + at
    for i in np.flatnonzero(keys < 0):
        span = tuple(ids[first[i]:last[i] + 1].tolist())
        hit[i] = span in long_spans
        token[i] = long_spans.get(span, 0)
    # Greedy from the left: in a run of consecutive phrase candidates (each one's last word is
    # the next one's first), the 1st, 3rd, ... are joined, as gensim's analyze_sentence does.
    linked = np.zeros(len(hit), bool)
    linked[1:] = hit[1:] & hit[:-1] & (first[1:] == last[:-1])
    run_start = np.maximum.accumulate(np.where(linked, 0, np.arange(len(hit))))
    chosen = np.flatnonzero(hit & ((np.arange(len(hit)) - run_start) % 2 == 0))
    inside = np.zeros(len(ids) + 1, np.int64)  # the tokens a phrase swallows after its first
    np.add.at(inside, first[chosen] + 1, 1)
    np.add.at(inside, last[chosen] + 1, -1)
    keep = np.cumsum(inside[:-1]) == 0
    tokens = ids.astype(np.int64)
    tokens[first[chosen]] = token[chosen]
    sentence = np.repeat(np.arange(len(starts) - 1), np.diff(starts))[keep]
    return tokens[keep], np.searchsorted(sentence, np.arange(len(starts)))


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([k for k, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)


class FrozenPhrases:
    """Phrases and their scores without the counts (gensim's `FrozenPhrases`): applies them to
    sentences, and saves to a small JSON file. `phrasegrams` maps each phrase, joined by the
    delimiter, to its score."""

    def __init__(self, phrasegrams: dict[str, float], threshold: float = 10.0,
                 delimiter: str = "_", connector_words: Iterable[str] = frozenset(),
                 scoring: str = "default", min_count: int = 5,
                 parts: dict[str, tuple[str, ...]] | None = None):
        check_phrase_options(min_count, threshold, scoring, delimiter)
        self.phrasegrams = dict(phrasegrams)
        # Each phrase's tokens, where splitting at the delimiter would not give them back (a
        # later pass joins tokens that hold the delimiter already: lady_catherine + de_bourgh).
        self.parts = {p: tuple(t) for p, t in (parts or {}).items()
                      if tuple(t) != tuple(p.split(delimiter))}
        self.threshold, self.delimiter, self.scoring = float(threshold), delimiter, scoring
        self.connector_words = frozenset(connector_words)
        self.min_count = min_count

    def __len__(self) -> int:
        return len(self.phrasegrams)

    def analyze_sentence(self, sentence: list[str]) -> Iterator[tuple[str, float | None]]:
        """Each output token with its phrase score, or None for a word left alone."""
        start: str | None = None
        between: list[str] = []
        for word in sentence:
            if word in self.connector_words:
                if start is None:
                    yield word, None
                else:
                    between.append(word)
                continue
            if start is not None:
                phrase = self.delimiter.join([start, *between, word])
                score = self.phrasegrams.get(phrase)
                if score is not None and score > self.threshold:
                    yield phrase, score
                    start, between = None, []
                    continue
                yield start, None
                yield from ((w, None) for w in between)
            start, between = word, []
        if start is not None:
            yield start, None
            yield from ((w, None) for w in between)

    def __getitem__(self, sentence):
        """One sentence with its phrases joined; for a corpus, a generator of such sentences."""
        if isinstance(sentence, list) and all(isinstance(w, str) for w in sentence):
            return [token for token, _ in self.analyze_sentence(sentence)]
        return (self[list(s)] for s in sentence)

    def find_phrases(self, sentences) -> dict[str, float]:
        """The phrases that occur in `sentences`, with their scores."""
        found = {}
        for sentence in sentences:
            for token, score in self.analyze_sentence(list(sentence)):
                if score is not None:
                    found[token] = score
        return found

    def apply_corpus(self, sentences, out, scanner=None) -> int:
        """Write `sentences` with their phrases joined to `out`, a sentence per line, by ids
        and numpy; returns the tokens written."""
        vocab, corpus = prepare(sentences, min_count=1, scanner=scanner)
        words = list(vocab.words)
        connectors = np.fromiter((w in self.connector_words for w in words), bool, len(words))
        key = _Keys(len(words), connectors)
        phrase_keys, phrase_text, long_spans = self._keys_of(key, words)
        # Token t < V is word t; V + i is phrase i (phrase_keys' order, then the long ones).
        strings = np.array([*words, *phrase_text, *(self.delimiter.join(words[i] for i in span)
                                                    for span in long_spans)], dtype=object)
        written = 0
        with atomic_write(out) as f:
            for ids, starts in corpus.chunks(BLOCK_IDS):
                tokens, cuts = _joined(ids, starts, key, phrase_keys, long_spans)
                text = strings[tokens]
                lines = (" ".join(text[s:e]) for s, e in zip(cuts[:-1].tolist(),
                                                             cuts[1:].tolist(), strict=True))
                f.write(("\n".join(lines) + "\n").encode())
                written += len(tokens)
        return written

    def _keys_of(self, key: _Keys, words: list[str]):
        """This corpus's phrases, as (sorted candidate keys, their phrases' text, and the
        phrases with too many connectors between: {id tuple: index after the keys'})."""
        index = {w: i for i, w in enumerate(words)}
        keyed, spans = {}, []
        for phrase, score in self.phrasegrams.items():
            parts = self.parts.get(phrase) or phrase.split(self.delimiter)
            ids = [index.get(p, -1) for p in parts]
            if score <= self.threshold or len(parts) < 2 or min(ids) < 0:
                continue  # not a phrase at this threshold, or words this corpus lacks
            between = ids[1:-1]
            if not all(key.connectors[i] for i in between):
                continue  # a delimiter inside a word: not a pair this corpus can hold
            if len(between) > key.longest:
                spans.append(tuple(ids))
                continue
            code = sum(int(key.digit[c]) * key.base ** t for t, c in enumerate(between))
            keyed[(ids[0] * key.words + ids[-1]) * key.scale + code] = phrase
        keys = np.array(sorted(keyed), np.int64)
        first_long = len(words) + len(keys)
        return keys, [keyed[k] for k in keys.tolist()], {
            span: first_long + i for i, span in enumerate(spans)}

    # -- files -----------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the phrases and settings as JSON (never pickle)."""
        model = {"format": FORMAT, "version": 1, "threshold": self.threshold,
                 "delimiter": self.delimiter, "scoring": self.scoring,
                 "min_count": self.min_count, "connector_words": sorted(self.connector_words),
                 "phrasegrams": self.phrasegrams,
                 "parts": {p: list(t) for p, t in self.parts.items()}}
        with atomic_write(path) as f:
            f.write(json.dumps(model, ensure_ascii=False).encode())

    @classmethod
    def load(cls, path) -> FrozenPhrases:
        """Read a model written by `save`; one W2VError naming the file if it is not one."""
        try:
            with open(path, encoding="utf-8") as f:
                model = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise W2VError(f"{path} is not a phrases model ({err}); make one with "
                           "`w2v phrases CORPUS -o OUT --save-model MODEL` or Phrases.save"
                           ) from err
        if not isinstance(model, dict) or model.get("format") != FORMAT:
            raise W2VError(f"{path} is not a w2v phrases model (no \"format\": \"{FORMAT}\"); "
                           "make one with `w2v phrases ... --save-model MODEL` or Phrases.save")
        try:
            return cls({str(k): float(v) for k, v in model["phrasegrams"].items()},
                       model["threshold"], model["delimiter"], model["connector_words"],
                       model["scoring"], model["min_count"],
                       {str(k): tuple(map(str, v)) for k, v in model["parts"].items()})
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise W2VError(f"{path}: a phrases model with a damaged field ({err}); save it "
                           "again") from err

    def __repr__(self) -> str:
        return f"FrozenPhrases<{len(self):,} phrases, threshold={self.threshold}>"
