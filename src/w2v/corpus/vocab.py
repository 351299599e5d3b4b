"""The vocabulary: counting words, choosing which to keep, and the distributions built on counts.

Words are ordered by descending count (ties keep first-seen order), so id 0 is the most frequent
word, as in word2vec.c and gensim (`sorted_vocab=0`: first-seen order). A `trim_rule(word, count,
min_count)` may overrule min_count per word with gensim's RULE_KEEP / RULE_DISCARD / RULE_DEFAULT.
`Vocab.updated` grows a vocabulary for gensim's `build_vocab(update=True)`. Also here: the
subsampling keep probability, the noise distribution and its pre-generated table, and the C
tool's `word count` vocabulary file.
Encoding a corpus into ids is `encoding.py`'s.
"""

from collections import Counter
from collections.abc import Iterable

import numpy as np

from w2v.atomic import atomic_write
from w2v.errors import W2VError

NOISE_TABLE_SIZE = 10_000_000  # word2vec.c uses 1e8; 1e7 resolves count-5 words in text8 fine
NULL_WORD = "\0"  # gensim's null_word=1 pseudo-word, appended last with count 1
# The C tool's vocabulary file: one 'word count' line per word.
_SEPARATORS = " \t\n\r\x0b\x0c"  # what bytes.split() splits the file's lines at
_VOCAB_LINE_MAX = 1 << 20  # bytes; the C tool's words are under 100, a corpus's under ~4000
_COUNT_MAX = 2**63 - 1  # int64, what the counts are kept in

# What a trim_rule returns: the values of gensim.utils' constants, so either set works.
RULE_DEFAULT = 0  # apply min_count
RULE_DISCARD = 1  # drop the word whatever its count
RULE_KEEP = 2  # keep the word whatever its count


def keep_vocab_item(word: str, count: int, min_count: int, trim_rule=None) -> bool:
    """gensim's rule: keep a word seen at least min_count times, unless trim_rule says otherwise."""
    default = count >= min_count
    if trim_rule is None:
        return default
    rule = trim_rule(word, count, min_count)
    if rule == RULE_KEEP:
        return True
    if rule == RULE_DISCARD:
        return False
    return default


def effective_min_count(counts: dict[str, int], min_count: int,
                        max_final_vocab: int | None) -> int:
    """gensim's rule: raise min_count just enough that at most max_final_vocab words stay."""
    if max_final_vocab is not None and len(counts) > max_final_vocab:
        ranked = sorted(counts.values(), reverse=True)
        return max(min_count, ranked[max_final_vocab] + 1)
    return min_count


class Vocab:
    """Words in descending count order, with their counts and a word -> id map."""

    def __init__(self, words: list[str], counts, corpus_words: int | None = None):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        if len(self.words) != len(self.counts):
            raise W2VError(f"{len(self.words)} words but {len(self.counts)} counts")
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise W2VError("the vocabulary lists a word twice; each word must appear once")
        # Raw tokens seen while counting, kept or not: progress and words/s are measured on them.
        self.corpus_words = int(self.counts.sum()) if corpus_words is None else corpus_words

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
        counts, corpus_words = count_words(sentences, max_vocab_size, trim_rule)
        return cls.from_counts(counts, min_count, max_final_vocab, corpus_words, trim_rule,
                               sorted_vocab, null_word)

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
        min_count = effective_min_count(counts, min_count, max_final_vocab)
        kept = [(w, c) for w, c in counts.items() if keep_vocab_item(w, c, min_count, trim_rule)]
        if not kept:
            top = max(counts.values(), default=0)
            trimmed = " or trim_rule discarded them" if trim_rule else ""
            raise W2VError(
                f"no word occurs at least min_count={min_count} times (the most frequent occurs "
                f"{top} times in {corpus_words or 0} words){trimmed}; lower min_count or give "
                "a larger corpus"
            )
        if sorted_vocab:
            order = np.argsort(-np.array([c for _, c in kept], dtype=np.int64), kind="stable")
            kept = [kept[i] for i in order]
        if null_word and not any(w == NULL_WORD for w, _ in kept):
            kept.append((NULL_WORD, 1))
        return cls([w for w, _ in kept], [c for _, c in kept], corpus_words)

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
        min_count = effective_min_count(counts, min_count, max_final_vocab)
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


def count_words(sentences: Iterable[list[str]], max_vocab_size: int | None = None,
                trim_rule=None):
    """Count tokens; with max_vocab_size, prune rare words as gensim does to bound memory.

    Returns (counts, corpus_words). Pruning drops every word seen at most `min_reduce` times
    (unless trim_rule keeps it), then raises min_reduce, whenever the table outgrows
    max_vocab_size.
    """
    counts: Counter = Counter()
    corpus_words = 0
    min_reduce = 1
    for sentence in sentences:
        counts.update(sentence)
        corpus_words += len(sentence)
        if max_vocab_size is not None and len(counts) > max_vocab_size:
            for word in [w for w, c in counts.items()
                         if not keep_vocab_item(w, c, min_reduce + 1, trim_rule)]:
                del counts[word]
            min_reduce += 1
    if corpus_words == 0:
        raise W2VError("the corpus is empty: it holds no words")
    return counts, corpus_words


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word: sqrt(t/f) + t/f, capped at 1.

    word2vec.c's subsampling, with f the word's share of all in-vocabulary words and t = sample;
    sample = 0 keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample == 0:
        return np.ones_like(counts)
    ratio = sample * counts.sum() / counts  # t / f
    return np.minimum(np.sqrt(ratio) + ratio, 1.0)


def noise_distribution(counts: np.ndarray, ns_exponent: float = 0.75) -> np.ndarray:
    """P(w) proportional to count(w) ** ns_exponent: word2vec's smoothed unigram noise."""
    weights = np.asarray(counts, dtype=np.float64) ** ns_exponent
    return weights / weights.sum()


def noise_table(
    counts: np.ndarray, ns_exponent: float = 0.75, size: int = NOISE_TABLE_SIZE
) -> np.ndarray:
    """word2vec.c's pre-generated table: word i fills a share P(i) of `size` slots.

    Drawing a uniform slot then gives a noise word in O(1).
    """
    # Rounding the cumulative shares keeps the total exactly `size` and each word within one slot
    # of its share, without a float temporary as large as the table.
    bounds = np.round(np.cumsum(noise_distribution(counts, ns_exponent)) * size).astype(np.int64)
    slots = np.diff(bounds, prepend=0)
    return np.repeat(np.arange(len(slots), dtype=np.int32), slots)


def huffman_tree(counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """word2vec.c's Huffman tree over the words' counts, for hierarchical softmax.

    Returns (code, point, path): word w's code bits are code[path[w]:path[w+1]] (root first) and
    the inner nodes on its path, numbered 0..V-2 with the root V-2, are point[path[w]:path[w+1]].
    Built as CreateBinaryTree does (two cursors over the sorted counts), so ties break alike and
    the codes equal the C tool's. Counts in another order (sorted_vocab=0, a vocabulary grown by
    an update) get the tree of their stably sorted order, each word keeping its own code.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = len(counts)
    if n < 2:
        raise W2VError("hierarchical softmax needs at least 2 words in the vocabulary")
    if np.any(counts[1:] > counts[:-1]):
        order = np.argsort(-counts, kind="stable")  # order[rank] = word
        code, point, path = huffman_tree(counts[order])
        rank_lengths = np.diff(path)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        new_path = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(rank_lengths[rank], out=new_path[1:])
        pick = np.concatenate([np.arange(path[r], path[r + 1]) for r in rank])
        return code[pick], point[pick], new_path
    count = np.concatenate([counts, np.full(n, np.iinfo(np.int64).max // 4)]).tolist()
    parent = [0] * (2 * n)
    binary = [0] * (2 * n)
    leaf, inner = n - 1, n  # cursors: smallest unused leaf (moving left), next inner node
    for a in range(n - 1):
        picks = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[inner]:
                picks.append(leaf)
                leaf -= 1
            else:
                picks.append(inner)
                inner += 1
        count[n + a] = count[picks[0]] + count[picks[1]]
        parent[picks[0]] = parent[picks[1]] = n + a
        binary[picks[1]] = 1
    root = 2 * n - 2
    codes: list[int] = []
    points: list[int] = []
    lengths: list[int] = []
    for word in range(n):
        bits, nodes = [], []
        node = word
        while node != root:
            bits.append(binary[node])
            node = parent[node]
            nodes.append(node - n)
        codes.extend(reversed(bits))
        points.extend(reversed(nodes))
        lengths.append(len(bits))
    path = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=path[1:])
    return np.array(codes, dtype=np.int8), np.array(points, dtype=np.int32), path
