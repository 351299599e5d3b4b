"""The vocabulary: counting words, choosing which to keep, and the distributions built on counts.

Words are ordered by descending count (ties keep first-seen order), so id 0 is the most frequent
word, as in word2vec.c and gensim (`sorted_vocab=0`: first-seen order). A `trim_rule(word, count,
min_count)` may overrule min_count per word with gensim's RULE_KEEP / RULE_DISCARD / RULE_DEFAULT.
`Vocab.updated` grows a vocabulary for gensim's `build_vocab(update=True)`. Also here: the C
tool's `word count` vocabulary file. Counting is `counting.py`'s, encoding a corpus into ids
`encoding.py`'s, and the tables drawn from the counts `tables.py`'s.
"""

from collections.abc import Iterable

import numpy as np

from w2v.atomic import atomic_write

# The trim_rule constants are counting's (pruning applies them too); vocabulary users find them
# here as well.
from w2v.corpus.counting import RULE_DEFAULT as RULE_DEFAULT
from w2v.corpus.counting import RULE_DISCARD as RULE_DISCARD
from w2v.corpus.counting import RULE_KEEP as RULE_KEEP
from w2v.corpus.counting import count_words, keep_vocab_item
from w2v.errors import W2VError

NULL_WORD = "\0"  # gensim's null_word=1 pseudo-word, appended last with count 1
# The C tool's vocabulary file: one 'word count' line per word.
_SEPARATORS = " \t\n\r\x0b\x0c"  # what bytes.split() splits the file's lines at
_VOCAB_LINE_MAX = 1 << 20  # bytes; the C tool's words are under 100, a corpus's under ~4000
_COUNT_MAX = 2**63 - 1  # int64, what the counts are kept in

def effective_min_count(counts: np.ndarray, min_count: int,
                        max_final_vocab: int | None) -> int:
    """gensim's rule: raise min_count just enough that at most max_final_vocab words stay."""
    if max_final_vocab is not None and len(counts) > max_final_vocab:
        # The (max_final_vocab + 1)-th largest count, found without sorting them all.
        cut = -np.partition(-np.asarray(counts, dtype=np.int64), max_final_vocab)[max_final_vocab]
        return max(min_count, int(cut) + 1)
    return min_count


class Vocab:
    """Words in descending count order, with their counts and a word -> id map."""

    def __init__(self, words: list[str], counts, corpus_words: int | None = None,
                 distinct: bool = False):
        """`distinct`: the words are known to be distinct (they came from a count), so the
        word -> id map waits for its first use instead of being built here to check them."""
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        if len(self.words) != len(self.counts):
            raise W2VError(f"{len(self.words)} words but {len(self.counts)} counts")
        self._index: dict[str, int] | None = None
        if not distinct and len(self.index) != len(self.words):
            raise W2VError("the vocabulary lists a word twice; each word must appear once")
        # Raw tokens seen while counting, kept or not: progress and words/s are measured on them.
        self.corpus_words = int(self.counts.sum()) if corpus_words is None else corpus_words

    @property
    def index(self) -> dict[str, int]:
        """word -> id. Built on first use: for ten million words it takes ~700 MB, which a
        scan need not hold beside its own tables."""
        if self._index is None:
            self._index = dict(zip(self.words, range(len(self.words)), strict=True))
        return self._index

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    @property
    def total_words(self) -> int:
        """Occurrences of in-vocabulary words: the N in word2vec's frequency f = count / N."""
        return int(self.counts.sum())

    @classmethod
    def build(
        cls,
        sentences: Iterable[list[str]],
        min_count: int = 5,
        max_vocab_size: int | None = None,
        max_final_vocab: int | None = None,
        trim_rule=None,
        sorted_vocab: bool = True,
        null_word: bool = False,
    ) -> "Vocab":
        """Count `sentences` (pruning rare words while counting once more than `max_vocab_size`
        are held, as gensim does) and return the vocabulary `from_counts` keeps of them."""
        counted = count_words(sentences, max_vocab_size=max_vocab_size, trim_rule=trim_rule)
        if counted.corpus_words == 0:
            raise W2VError("the corpus is empty: it holds no words")
        return cls.from_counts(counted.as_dict(), min_count, max_final_vocab,
                               counted.corpus_words, trim_rule, sorted_vocab, null_word)

    @classmethod
    def from_counts(
        cls,
        counts: dict[str, int],
        min_count: int = 5,
        max_final_vocab: int | None = None,
        corpus_words: int | None = None,
        trim_rule=None,
        sorted_vocab: bool = True,
        null_word: bool = False,
    ) -> "Vocab":
        """Keep the words that `keep_vocab_item` keeps, in descending count order (ties and
        `sorted_vocab=False`: first-seen order, i.e. the order of `counts`); `null_word` appends
        gensim's "\\0" pseudo-word with count 1 last."""
        values = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        return cls.choose(list(counts), values, min_count, max_final_vocab, corpus_words,
                          trim_rule, sorted_vocab, null_word)[0]

    @classmethod
    def choose(
        cls,
        words: list[str],
        counts: np.ndarray,
        min_count: int = 5,
        max_final_vocab: int | None = None,
        corpus_words: int | None = None,
        trim_rule=None,
        sorted_vocab: bool = True,
        null_word: bool = False,
    ) -> tuple["Vocab", np.ndarray]:
        """`from_counts` for distinct words in first-seen order and their counts, given as a
        list and an array: the vocabulary, and for each of its words (the null word aside) its
        place in `words`. Without a trim_rule the choice is numpy's, never a loop per word."""
        counts = np.asarray(counts, dtype=np.int64)
        min_count = effective_min_count(counts, min_count, max_final_vocab)
        if trim_rule is None:
            picked = np.flatnonzero(counts >= min_count)
        else:
            picked = np.array([i for i, (w, c) in enumerate(zip(words, counts.tolist(),
                                                                 strict=True))
                               if keep_vocab_item(w, c, min_count, trim_rule)], dtype=np.int64)
        if len(picked) == 0:
            trimmed = " or trim_rule discarded them" if trim_rule else ""
            raise W2VError(
                f"no word occurs at least min_count={min_count} times (the most frequent occurs "
                f"{counts.max(initial=0)} times in {corpus_words or 0} words){trimmed}; lower "
                "min_count or give a larger corpus"
            )
        if sorted_vocab:
            picked = picked[np.argsort(-counts[picked], kind="stable")]
        # Through an object array: a list of 10M positions would cost 10M Python ints.
        kept = np.array(words, dtype=object)[picked].tolist()
        kept_counts = counts[picked]
        if null_word and NULL_WORD not in kept:
            kept.append(NULL_WORD)
            kept_counts = np.append(kept_counts, 1)
        return cls(kept, kept_counts, corpus_words, distinct=True), picked

    def updated(
        self,
        counts: dict[str, int],
        min_count: int = 5,
        max_final_vocab: int | None = None,
        corpus_words: int | None = None,
        trim_rule=None,
        null_word: bool = False,
    ) -> "Vocab":
        """gensim's `build_vocab(update=True)`: this vocabulary with the words of a new corpus's
        `counts` that pass min_count (and trim_rule) appended in first-seen order, and every word's
        count raised by its count in the new corpus. Existing words keep their ids."""
        min_count = effective_min_count(
            np.fromiter(counts.values(), dtype=np.int64, count=len(counts)), min_count,
            max_final_vocab)
        new = [w for w, c in counts.items()
               if w not in self.index and keep_vocab_item(w, c, min_count, trim_rule)]
        if null_word and NULL_WORD not in self.index and NULL_WORD not in new:
            new.append(NULL_WORD)
        grown = np.concatenate([self.counts, np.zeros(len(new), dtype=np.int64)])
        grown += np.array([counts.get(w, 0) for w in self.words + new], dtype=np.int64)
        grown[grown == 0] = 1  # only the null word can be unseen; gensim gives it count 1
        total = self.corpus_words if corpus_words is None else corpus_words
        return Vocab(self.words + new, grown, total)

    def save(self, path) -> None:
        """Write the C tool's vocabulary file: one `word count` line per word, in UTF-8."""
        bad = next((w for w in self.words if not w or any(c in w for c in _SEPARATORS)), None)
        if bad is not None:
            raise W2VError(f"cannot write {path}: word {bad!r} is empty or holds whitespace, "
                           "which the 'word count' format uses as a separator; replace it first")
        pairs = zip(self.words, self.counts.tolist(), strict=True)
        with atomic_write(path, "wb") as f:
            f.writelines(f"{w} {c}\n".encode() for w, c in pairs)

    @classmethod
    def load(cls, path, min_count: int = 1, max_final_vocab: int | None = None) -> "Vocab":
        """Read a `word count` file (word2vec.c's -save-vocab output).

        Words are UTF-8 (invalid bytes are replaced); a word listed twice has its counts added.
        """
        return cls.from_counts(read_counts(path), min_count, max_final_vocab)


def read_counts(path) -> dict[str, int]:
    """The {word: count} of a `word count` file, every line checked as it arrives."""
    counts: dict[str, int] = {}
    total = 0
    try:
        with open(path, "rb") as f:
            lines = iter(lambda: f.readline(_VOCAB_LINE_MAX + 1), b"")
            for lineno, line in enumerate(lines, 1):
                word, count = _parse_count_line(path, lineno, line)
                if word is None:
                    continue
                total += count
                if total > _COUNT_MAX:
                    raise W2VError(f"{path}:{lineno}: the counts add up to more than {_COUNT_MAX}"
                                   "; fix the counts")
                counts[word] = counts.get(word, 0) + count
    except OSError as e:
        raise W2VError(f"cannot read vocabulary file {path}: {e.strerror or e}; check the path "
                       "and its permissions") from e
    if not counts:
        raise W2VError(f"vocabulary file {path} is empty; give a file of 'word count' lines")
    return counts


def _parse_count_line(path, lineno: int, line: bytes) -> tuple[str | None, int]:
    """(word, count) of one line, (None, 0) for a blank one."""
    if len(line) > _VOCAB_LINE_MAX:
        raise W2VError(f"{path}:{lineno}: line longer than {_VOCAB_LINE_MAX} bytes; this is not "
                       "a vocabulary file of 'word count' lines")
    parts = line.split()
    if not parts:
        return None, 0
    # 19 digits hold any int64; the length test first spares int() a huge string.
    if len(parts) != 2 or not parts[1].isdigit() or len(parts[1]) > 19 \
            or int(parts[1]) > _COUNT_MAX:
        shown = line.strip()[:60].decode("utf-8", "replace")
        raise W2VError(f"{path}:{lineno}: expected 'word count' (a count up to {_COUNT_MAX}), "
                       f"got {shown!r}; fix that line")
    return parts[0].decode("utf-8", "replace"), int(parts[1])
