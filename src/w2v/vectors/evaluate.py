"""Analogy accuracy and word-pair correlation, defined as gensim 4.4 defines them, computed fast.

`evaluate_word_analogies` gives gensim's score and per-section lists, but instead of one
`most_similar` call per question it computes the cosines of the few distinct question words with
the vocabulary once, block by block, and scores every question from three rows of them. Questions
whose best candidates lie closer together than float32 rounding can tell apart are re-answered
one by one with gensim's own arithmetic, so the figures equal gensim's, near-ties included.
`evaluate_word_pairs` gives Pearson's and Spearman's coefficients with scipy's two-sided
p-values, computed here without scipy.

One idea at over 400 lines: scoring vectors against human judgements. The two scores share the
file reading and vocabulary restriction, and the statistics exist only to give gensim's figures
without scipy; apart, each half would import the other's helpers.
"""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path

import numpy as np

from w2v.errors import W2VError

logger = logging.getLogger(__name__)

ANALOGY_FORMAT = ("analogy files hold ': section name' header lines, each followed by questions "
                  "of four words 'a b c d' (a is to b as c is to d)")
METHODS = ("3cosadd", "3cosmul")
TOTAL_SECTION = "Total accuracy"

_CANDIDATES = 5  # gensim takes the first of its 5 best answers that is not a question word
# Score gaps below this may be rounding (measured: under 1e-6 at 300 dimensions), so those
# questions are re-answered exactly.
_TIE = 1e-5
_QUESTIONS_PER_BLOCK = 1024
_SCORES_PER_BLOCK = 1 << 22  # floats in one block of cosines or of scores: 16 MiB


# -- reading -----------------------------------------------------------------------------------

def _lines(path, encoding: str, expected: str):
    """Yield (line number from 1, text without its newline) for each line of `path`."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise W2VError(f"cannot read {path}: {err.strerror or err}; {expected}") from None
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for line_no, raw in enumerate(lines, start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as err:
            raise W2VError(f"{path}, line {line_no}: not valid {encoding} ({err.reason} at byte "
                           f"{err.start} of the line); save the file as {encoding}") from None
        except LookupError:
            raise W2VError(f"unknown encoding {encoding!r} for {path}; use e.g. 'utf8'") from None
        yield line_no, text.rstrip("\r")


def read_analogies(path, case_insensitive: bool = True) -> list[tuple[str, list]]:
    """Sections of an analogy file: [(name, [(a, b, c, d), ...]), ...].

    Words are upper-cased when `case_insensitive`. Blank lines are skipped; any other line that
    is neither a header nor four words is an error naming the line.
    """
    sections: list[tuple[str, list]] = []
    for line_no, line in _lines(path, "utf8", ANALOGY_FORMAT):
        if line.startswith(": "):
            sections.append((line.lstrip(": ").strip(), []))
            continue
        words = line.split()
        if not words:
            continue
        if not sections:
            raise W2VError(f"{path}, line {line_no}: question before any ': section' header; "
                           f"{ANALOGY_FORMAT}")
        if len(words) != 4:
            raise W2VError(f"{path}, line {line_no}: expected 4 words, found {len(words)}; "
                           f"{ANALOGY_FORMAT}")
        if case_insensitive:
            words = [word.upper() for word in words]
        sections[-1][1].append(tuple(words))
    return sections


def _check_restrict(restrict_vocab, kv) -> int:
    if restrict_vocab is None:
        return len(kv)
    counts = isinstance(restrict_vocab, (int, np.integer)) and not isinstance(restrict_vocab, bool)
    if not counts or restrict_vocab < 1:
        raise W2VError(f"restrict_vocab must be a positive number of words, got "
                       f"{restrict_vocab!r}")
    return min(int(restrict_vocab), len(kv))


def _vocab(kv, limit: int, case_insensitive: bool) -> tuple[dict[str, int], np.ndarray]:
    """The searchable words and, for each of the first `limit` rows, its canonical row.

    Case-insensitively, the first (most frequent) of the words that upper-case alike stands for
    all of them, as in gensim.
    """
    keys = kv.index_to_key[:limit]
    folded = [key.upper() for key in keys] if case_insensitive else keys
    ok_vocab: dict[str, int] = {}
    canon = np.array([ok_vocab.setdefault(word, i) for i, word in enumerate(folded)],
                     dtype=np.int64)
    return ok_vocab, canon


# -- analogies ---------------------------------------------------------------------------------

def evaluate_word_analogies(kv, path, restrict_vocab=300000, case_insensitive=True,
                            dummy4unknown=False, method="3cosadd"):
    """Accuracy on analogy questions 'a b c d': is d the word nearest to b - a + c?

    Only the first `restrict_vocab` words are searched, and questions with a word outside them
    are skipped (or, with `dummy4unknown`, counted wrong). With `case_insensitive`, words are
    compared upper-cased. `method` is "3cosadd" (gensim's `most_similar`) or "3cosmul"
    (`most_similar_cosmul`). Returns (score, sections) as gensim does: each section is a dict
    with 'section', 'correct' and 'incorrect' (lists of 4-tuples), the last one being
    'Total accuracy'.
    """
    if method not in METHODS:
        raise W2VError(f"unknown analogy method {method!r}; use one of {', '.join(METHODS)}")
    limit = _check_restrict(restrict_vocab, kv)
    ok_vocab, canon = _vocab(kv, limit, case_insensitive)
    file_sections = read_analogies(path, case_insensitive)
    questions = [q for _, section in file_sections for q in section]
    if not questions:
        raise W2VError(f"no analogy questions in {path}; {ANALOGY_FORMAT}")
    logger.info("Evaluating word analogies for top %i words in the model on %s", limit, path)

    known = [all(word in ok_vocab for word in q) for q in questions]
    rows = np.array([[ok_vocab[word] for word in q]
                     for q, ok in zip(questions, known, strict=True) if ok],
                    dtype=np.int64).reshape(-1, 4)
    right = iter((answer_analogies(kv, rows[:, :3], limit, canon, method) == rows[:, 3]).tolist())
    verdicts = iter([next(right) if ok else None for ok in known])  # None: out of vocabulary

    sections = []
    for name, section in file_sections:
        result = {"section": name, "correct": [], "incorrect": []}
        for question in section:
            verdict = next(verdicts)
            if verdict is not None:
                result["correct" if verdict else "incorrect"].append(question)
            elif dummy4unknown:
                result["incorrect"].append(question)
        _log_section(result)
        sections.append(result)
    total = {
        "section": TOTAL_SECTION,
        "correct": list(itertools.chain.from_iterable(s["correct"] for s in sections)),
        "incorrect": list(itertools.chain.from_iterable(s["incorrect"] for s in sections)),
    }
    oov = len(questions) - int(rows.shape[0])
    logger.info("Quadruplets with out-of-vocabulary words: %.1f%%", 100.0 * oov / len(questions))
    score = _log_section(total)
    sections.append(total)
    return score, sections


def _log_section(section: dict) -> float:
    correct, incorrect = len(section["correct"]), len(section["incorrect"])
    if correct + incorrect == 0:
        return 0.0
    score = correct / (correct + incorrect)
    logger.info("%s: %.1f%% (%i/%i)", section["section"], 100.0 * score, correct,
                correct + incorrect)
    return score


def answer_analogies(kv, abc: np.ndarray, limit: int, canon: np.ndarray,
                     method: str = "3cosadd") -> np.ndarray:
    """Canonical row of gensim's answer to each question (rows a, b, c of `abc`), -1 for none.

    gensim takes the 5 best-scoring rows among the first `limit`, the question rows excluded, and
    answers with the first whose canonical row is not a question word (else with the fifth).
    """
    if len(abc) == 0:
        return np.zeros(0, dtype=np.int64)
    keep = min(_CANDIDATES + 1, limit)
    cand, scores = _best_rows(kv, abc, limit, method, keep)
    answers = _pick(canon[cand[:, :_CANDIDATES]], np.isfinite(scores[:, :_CANDIDATES]), abc)
    for q in np.flatnonzero(_near_ties(scores)):
        answers[q] = _answer_exactly(kv, abc[q], limit, canon, method)
    return answers


def _pick(cand: np.ndarray, usable: np.ndarray, abc: np.ndarray) -> np.ndarray:
    """gensim's choice among sorted candidates (canonical rows), vectorised over questions."""
    allowed = usable & (cand != abc[:, :1]) & (cand != abc[:, 1:2]) & (cand != abc[:, 2:3])
    first = allowed.argmax(axis=1)
    last = usable.sum(axis=1) - 1
    rows = np.arange(len(cand))
    fallback = np.where(last >= 0, cand[rows, np.maximum(last, 0)], -1)
    return np.where(allowed.any(axis=1), cand[rows, first], fallback)


def _near_ties(scores: np.ndarray) -> np.ndarray:
    """Questions whose ranking of candidates could flip under float32 rounding."""
    top, below = scores[:, :-1], scores[:, 1:]
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isfinite(below), top - below, np.inf)
    return (gap <= _TIE * np.maximum(1.0, np.abs(top))).any(axis=1)


def _answer_exactly(kv, abc: np.ndarray, limit: int, canon: np.ndarray, method: str) -> int:
    """One question answered through `most_similar`, whose arithmetic is gensim's own."""
    a, b, c = (int(i) for i in abc)
    query = kv.most_similar if method == "3cosadd" else kv.most_similar_cosmul
    answer = -1
    for word, _ in query(positive=[b, c], negative=[a], topn=_CANDIDATES, restrict_vocab=limit):
        answer = int(canon[kv.key_to_index[word]])
        if answer not in (a, b, c):
            break
    return answer


def _best_rows(kv, abc: np.ndarray, limit: int, method: str, keep: int):
    """The `keep` best rows (question rows excluded) and their scores per question, best first.

    Both methods score word w from the cosines of w with a, b and c alone: 3CosAdd ranks by
    cos(w,b) + cos(w,c) - cos(w,a) (the cosine with the unit mean, times a positive constant per
    question), 3CosMul by (1+cos(w,b))/2 * (1+cos(w,c))/2 / ((1+cos(w,a))/2 + 1e-6). A test set
    asks about far fewer distinct words than it has questions (905 against 19,544 for
    questions-words), so one product of those words with a block of the vocabulary serves every
    question, and each question costs three row lookups instead of a matrix-vector product.
    """
    vectors, norms = kv.vectors, kv.norms
    asked, slots = np.unique(abc.ravel(), return_inverse=True)
    slots = slots.reshape(abc.shape)
    units = vectors[asked] / norms[asked, np.newaxis]
    step = min(_QUESTIONS_PER_BLOCK, max(len(abc), 1))
    width = max(keep + 3, _SCORES_PER_BLOCK // max(len(asked), step))
    best = np.zeros((len(abc), 0), dtype=np.int64)
    best_scores = np.zeros((len(abc), 0), dtype=np.float32)
    for lo in range(0, limit, width):
        hi = min(limit, lo + width)
        cosines = units @ (vectors[lo:hi] / norms[lo:hi, np.newaxis]).T
        if method == "3cosmul":
            cosines = (1 + cosines) / 2
        found, found_scores = [], []
        for start in range(0, len(abc), step):
            a, b, c = slots[start : start + step].T
            if method == "3cosadd":
                scores = cosines[b] + cosines[c] - cosines[a]
            else:
                scores = cosines[b] * cosines[c] / (cosines[a] + 0.000001)
            _mask(scores, abc[start : start + step], lo, hi)
            rows, row_scores = _row_maxima(scores, min(keep, hi - lo))
            found.append(rows + lo)
            found_scores.append(row_scores)
        if found:
            best = np.concatenate([best, np.concatenate(found)], axis=1)
            best_scores = np.concatenate([best_scores, np.concatenate(found_scores)], axis=1)
            order = np.argsort(-best_scores, axis=1, kind="stable")[:, :keep]
            best = np.take_along_axis(best, order, axis=1)
            best_scores = np.take_along_axis(best_scores, order, axis=1)
    return best, best_scores


def _mask(scores: np.ndarray, block: np.ndarray, lo: int, hi: int) -> None:
    """Rule out each question's own words (columns lo..hi of `scores`)."""
    rows = np.arange(len(block))
    for j in range(3):
        inside = (block[:, j] >= lo) & (block[:, j] < hi)
        scores[rows[inside], block[inside, j] - lo] = -np.inf


def _row_maxima(scores: np.ndarray, k: int):
    """Columns and values of the `k` largest scores of each row, largest first; overwrites them.

    k passes of argmax beat one argpartition several times over for the few answers needed.
    """
    rows = np.arange(len(scores))
    columns = np.empty((len(scores), k), dtype=np.int64)
    values = np.empty((len(scores), k), dtype=scores.dtype)
    for j in range(k):
        columns[:, j] = scores.argmax(axis=1)
        values[:, j] = scores[rows, columns[:, j]]
        scores[rows, columns[:, j]] = -np.inf
    return columns, values


# -- word pairs --------------------------------------------------------------------------------

def evaluate_word_pairs(kv, path, delimiter="\t", restrict_vocab=300000, case_insensitive=True,
                        dummy4unknown=False, encoding="utf8"):
    """Correlation of the vectors' cosine similarities with human scores of word pairs.

    Lines are 'word1<delimiter>word2<delimiter>score'; lines starting with '#' are comments.
    Pairs with a word outside the first `restrict_vocab` words are skipped (or, with
    `dummy4unknown`, given similarity 0). Returns ((pearson r, p), (spearman rho, p), oov ratio
    in percent), as gensim does.
    """
    expected = (f"word-pair files hold lines 'word1{delimiter}word2{delimiter}score' separated by "
                f"{delimiter!r}, and '#' comment lines")
    if not isinstance(delimiter, str) or not delimiter:
        raise W2VError(f"delimiter must be a non-empty string, got {delimiter!r}; e.g. '\\t'")
    limit = _check_restrict(restrict_vocab, kv)
    ok_vocab, _ = _vocab(kv, limit, case_insensitive)
    gold, model = [], []
    oov = 0
    for line_no, line in _lines(path, encoding, expected):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(delimiter)
        if len(fields) != 3:
            raise W2VError(f"{path}, line {line_no}: expected 3 fields, found {len(fields)}; "
                           f"{expected}")
        a, b, score = fields
        try:
            score = float(score)
        except ValueError:
            raise W2VError(f"{path}, line {line_no}: score {score.strip()!r} is not a number; "
                           f"{expected}") from None
        if not math.isfinite(score):
            raise W2VError(f"{path}, line {line_no}: score {fields[2].strip()!r} is not finite; "
                           f"{expected}")
        if case_insensitive:
            a, b = a.upper(), b.upper()
        if a not in ok_vocab or b not in ok_vocab:
            oov += 1
            if dummy4unknown:
                gold.append(score)
                model.append(0.0)
            continue
        gold.append(score)
        model.append(kv.similarity(ok_vocab[a], ok_vocab[b]))
    if not gold:
        raise W2VError(f"no usable word pairs in {path}: every pair has a word outside the first "
                       f"{limit} words of the vectors; {expected}")
    if len(gold) < 2:
        raise W2VError(f"only one usable word pair in {path}; a correlation needs at least two")
    pearson, spearman = pearsonr(gold, model), spearmanr(gold, model)
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    logger.info("Pearson correlation coefficient against %s: %.4f", path, pearson[0])
    logger.info("Spearman rank-order correlation coefficient against %s: %.4f", path, spearman[0])
    logger.info("Pairs with unknown words ratio: %.1f%%", oov_ratio)
    return pearson, spearman, oov_ratio


# -- statistics --------------------------------------------------------------------------------

def pearsonr(x, y) -> tuple[float, float]:
    """Pearson's r and its two-sided p-value (as `scipy.stats.pearsonr`); NaN for constant input."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    r = _correlation(x, y)
    if n == 2 and not math.isnan(r):
        return float(np.round(r)), 1.0
    return r, _two_sided_p(r, n - 2)


def spearmanr(x, y) -> tuple[float, float]:
    """Spearman's rho (Pearson's r of average ranks) and its two-sided p-value, as scipy's."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    rx, ry = rankdata(x), rankdata(y)
    if rx.min() == rx.max() or ry.min() == ry.max():
        return math.nan, math.nan
    # np.corrcoef is what scipy uses here: the same rounding, so ties to 1 agree.
    rho = float(np.clip(np.corrcoef(rx, ry)[0, 1], -1.0, 1.0))
    return rho, _two_sided_p(rho, len(x) - 2)


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r, rounded at the same steps as scipy, so perfect correlations come out as 1."""
    xm, ym = x - x.mean(), y - y.mean()
    xmax, ymax = np.abs(xm).max(), np.abs(ym).max()
    if xmax == 0 or ymax == 0:
        return math.nan
    # Scaling by the largest deviation first keeps the squares from overflowing.
    norm_x, norm_y = xmax * np.linalg.norm(xm / xmax), ymax * np.linalg.norm(ym / ymax)
    return float(np.clip(np.sum((xm / norm_x) * (ym / norm_y)), -1.0, 1.0))


def _two_sided_p(r: float, dof: int) -> float:
    """P(|R| >= |r|) for a correlation of independent normal samples with `dof` = n - 2.

    Equals 2 * t.sf(|t|, dof) with t = r * sqrt(dof / (1 - r^2)), written as the regularized
    incomplete beta I_{1-r^2}(dof/2, 1/2).
    """
    if math.isnan(r) or dof <= 0:
        return math.nan
    return betainc(dof / 2.0, 0.5, (1.0 - abs(r)) * (1.0 + abs(r)))


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    # The fraction converges fast only below the mean; above it use I_x(a,b) = 1 - I_{1-x}(b,a).
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300

    def guard(value: float) -> float:
        return value if abs(value) > tiny else tiny

    c, d = 1.0, 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    h = d
    for m in range(1, 100000):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 / guard(1.0 + even * d)
        c = guard(1.0 + even / c)
        h *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 / guard(1.0 + odd * d)
        c = guard(1.0 + odd / c)
        h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h
