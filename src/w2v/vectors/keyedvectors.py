"""Word vectors and the queries gensim 4 users know: `kv[word]`, `most_similar`, `similarity`, ...

Names, argument orders, defaults and return shapes follow `gensim.models.KeyedVectors`, and the
arithmetic mirrors gensim's step for step (float32 vectors divided by float32 norms, float64
weighted means), so rankings agree with gensim's down to near-ties. Only numpy is imported: the
query side must load fast and run where torch is not installed.

One idea at over 400 lines: gensim's `KeyedVectors` surface, which users expect on one class.
What is not a query lives elsewhere and is delegated: files (`word2vec_format`, `native`) and
evaluation (`evaluate`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from numbers import Integral

import numpy as np

from w2v.errors import W2VError
from w2v.vectors import evaluate
from w2v.vectors.native import (
    NGRAMS,
    SUBWORDS_KEY,
    read_native_subwords,
    repeated_word,
    write_native,
)
from w2v.vectors.ngrams import bag_means, bags, check_subword_options, ngram_buckets
from w2v.vectors.word2vec_format import read_counts, read_word2vec, write_counts, write_word2vec

logger = logging.getLogger(__name__)

_KEY_TYPES = (str, int, np.integer)
_ITEM_TYPES = (str, int, np.integer, np.ndarray)
_NORM_ROWS = 1 << 16  # rows per block when computing norms: bounds the temporary of a huge model


def row_norms(vectors: np.ndarray) -> np.ndarray:
    """L2 norm of each row, as float32, computed in blocks so a memory-mapped model is not copied.

    Zero rows get a norm of 1 so that they score 0 against everything instead of NaN.
    """
    norms = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), _NORM_ROWS):
        block = vectors[start : start + _NORM_ROWS]
        # Squares of float16 values overflow past 256: sum them in float32.
        norms[start : start + len(block)] = np.linalg.norm(block.astype(np.float32, copy=False),
                                                           axis=1)
    norms[norms == 0] = 1.0
    return norms


def dots(vectors: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """vectors @ vector. Float16 vectors are taken in float32 blocks: numpy has no half-precision
    matrix product, and casting the whole matrix would spend the memory float16 saved."""
    if vectors.dtype != np.float16:
        return np.dot(vectors, vector)
    out = np.empty(len(vectors), dtype=np.result_type(np.float32, vector.dtype))
    for start in range(0, len(vectors), _NORM_ROWS):
        block = vectors[start : start + _NORM_ROWS]
        out[start : start + len(block)] = np.dot(block.astype(np.float32), vector)
    return out


def shared_rows(words, kv) -> tuple[np.ndarray, np.ndarray]:
    """(their places in `words`, their rows in `kv`) of the words in `words` that `kv` has, in
    `words`' order: where pretrained vectors land in another vocabulary."""
    index = kv.key_to_index
    pairs = [(i, index[w]) for i, w in enumerate(words) if w in index]
    ours, theirs = zip(*pairs, strict=True) if pairs else ((), ())
    return np.array(ours, dtype=np.int64), np.array(theirs, dtype=np.int64)


def unitvec(vector: np.ndarray) -> np.ndarray:
    """`vector` scaled to unit length in float64 and returned as float32; a zero vector stays zero.

    Same steps as gensim's `matutils.unitvec` (scale by the reciprocal of the float64 norm).
    """
    vector64 = np.asarray(vector, dtype=np.float64)
    length = np.linalg.norm(vector64)
    if length == 0:
        return vector64.astype(np.float32)
    return (vector64 * (1.0 / length)).astype(np.float32)


def _ensure_list(value) -> list:
    """Wrap a single key or vector in a list; split a 2D array into rows (as gensim does)."""
    if value is None:
        return []
    if isinstance(value, _KEY_TYPES) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    return list(value)


_BLOCK = 64  # scores per block when narrowing a top-n search by block maxima


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` largest scores, largest first, without sorting the whole array.

    For a short answer from many scores, only the n blocks of 64 with the largest maxima can hold
    the n largest scores (any other block's maximum is beaten by n scores), so the partition runs
    on those few candidates: a max over blocks costs far less than partitioning everything. Then
    partition and sort as gensim's `matutils.argsort` does.
    """
    if n >= scores.size:
        return np.argsort(-scores)[:n]
    candidates = None
    whole = scores.size // _BLOCK * _BLOCK
    if n * _BLOCK * 8 <= whole:
        blocks = scores[:whole].reshape(-1, _BLOCK).max(axis=1)
        chosen = np.argpartition(-blocks, n)[:n]
        candidates = (chosen[:, None] * _BLOCK + np.arange(_BLOCK)).ravel()
        candidates = np.concatenate([candidates, np.arange(whole, scores.size)])
        scores = scores[candidates]
    negated = -scores
    best = np.argpartition(negated, n)[:n]
    best = best.take(np.argsort(negated.take(best)))
    return best if candidates is None else candidates[best]


class KeyedVectors:
    """Words and their vectors, with gensim 4's query methods.

    `index_to_key[i]` is the word whose vector is row `i` of `vectors` (float32, or float16
    when given so, to halve the memory; shape (V, D));
    `counts[i]`, when known, is its corpus frequency. Vector norms are computed once, on the first
    query, and kept; assigning a new array to `vectors` drops them (writing into the array in
    place does not, as in gensim: call `fill_norms(force=True)` after that).
    """

    def __init__(self, index_to_key, vectors, counts=None, *,
                 key_to_index: Mapping[str, int] | None = None):
        # key_to_index: an index of index_to_key (a list) built elsewhere, as a native file's
        # WordIndex, whose words were checked distinct; default: a dict built here.
        self.index_to_key = index_to_key if key_to_index is not None else list(index_to_key)
        self.key_to_index: Mapping[str, int] = (
            key_to_index if key_to_index is not None
            else _index_of(self.index_to_key))
        if len(self.key_to_index) != len(self.index_to_key):
            raise W2VError(f"duplicate word {_first_duplicate(self.index_to_key)!r} in the "
                           "vocabulary; every word must appear once")
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts)
        self.attrs: dict[str, np.ndarray] = {}  # set_vecattr's attributes other than "count"
        self.vectors_lockf: np.ndarray | None = None  # intersect_word2vec_format's factors
        self.trained_copy = False  # True for a model's `wv`: writing here does not train it
        if self.counts is not None and self.counts.shape != (len(self.index_to_key),):
            raise W2VError(f"counts has shape {self.counts.shape} but there are "
                           f"{len(self.index_to_key)} words; give one count per word")

    # -- storage -------------------------------------------------------------------------------

    @property
    def vectors(self) -> np.ndarray:
        """The (V, D) float32 (or float16) matrix; row i belongs to `index_to_key[i]`."""
        return self._vectors

    @vectors.setter
    def vectors(self, value) -> None:
        value = np.asarray(value)
        if value.ndim != 2:
            raise W2VError(f"vectors must be a 2D array (words x dimensions), got shape "
                           f"{value.shape}")
        if len(value) != len(self.index_to_key):
            raise W2VError(f"vectors has {len(value)} rows but there are {len(self.index_to_key)}"
                           " words; give one row per word")
        if value.dtype not in (np.float32, np.float16):
            value = value.astype(np.float32)
        self._vectors = value
        self._norms: np.ndarray | None = None
        self._normed: np.ndarray | None = None

    @property
    def vector_size(self) -> int:
        """Number of dimensions of each vector."""
        return self._vectors.shape[1]

    def fill_norms(self, force: bool = False) -> None:
        """Compute the vector norms used by every similarity query, unless already kept."""
        if force:
            self._norms = None
        self._kept_norms()

    def _kept_norms(self) -> np.ndarray:
        if self._norms is None:
            norms = row_norms(self._vectors)
            norms.setflags(write=False)
            self._norms, self._normed = norms, None
        return self._norms

    @property
    def norms(self) -> np.ndarray:
        """Float32 L2 norm of each vector (1 for a zero vector), computed on first use and kept."""
        return self._kept_norms()

    def get_normed_vectors(self) -> np.ndarray:
        """All vectors scaled to unit length, as a read-only (V, D) array computed once and kept."""
        if self._normed is None:
            normed = self._vectors / self.norms[:, np.newaxis]
            normed.setflags(write=False)
            self._normed = normed
        return self._normed

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}<vector_size={self.vector_size}, {len(self)} keys>"

    def __contains__(self, key) -> bool:
        return self.has_index_for(key)

    def has_index_for(self, key) -> bool:
        """True when `key` is a word of the vocabulary (or an int row index in range)."""
        return self.get_index(key, -1) >= 0

    def get_index(self, key, default=None) -> int:
        """Row of `key` in `vectors`; an int that is not a word is taken as a row index.

        Raises KeyError naming the key when it is unknown and no `default` is given.
        """
        index = self.key_to_index.get(key, -1)
        if index >= 0:
            return index
        if isinstance(key, (int, np.integer)) and 0 <= key < len(self.index_to_key):
            return int(key)
        if default is not None:
            return default
        raise KeyError(f"Key '{key}' not present in the vocabulary of {len(self)} words")

    def get_vector(self, key, norm: bool = False) -> np.ndarray:
        """The (read-only) vector of `key`, scaled to unit length when `norm` is True."""
        index = self.get_index(key)
        result = self._vectors[index] / self.norms[index] if norm else self._vectors[index]
        result.setflags(write=False)
        return result

    def __getitem__(self, key_or_keys) -> np.ndarray:
        """One key gives its 1D vector; a list of keys gives a 2D array, one row per key."""
        if isinstance(key_or_keys, _KEY_TYPES):
            return self.get_vector(key_or_keys)
        indices = [self.get_index(key) for key in key_or_keys]
        return self._vectors[indices]

    def get_vecattr(self, key, attr: str):
        """The value of attribute `attr` ("count", or any set by set_vecattr) for `key`."""
        table = self.counts if attr == "count" else self.attrs.get(attr)
        if table is None:
            kept = ", ".join(repr(a) for a in ["count"] * (self.counts is not None) + [*self.attrs])
            raise W2VError(f"no {attr!r} attribute for words in these vectors (kept: "
                           f"{kept or 'none'}); set it with set_vecattr(key, {attr!r}, value)")
        return table[self.get_index(key)]

    def set_vecattr(self, key, attr: str, value) -> None:
        """Set attribute `attr` of `key` to `value`, as gensim does: each attribute is an array
        over the vocabulary (others' values 0) in the type of the first value set."""
        index = self.get_index(key)
        table = self.counts if attr == "count" else self.attrs.get(attr)
        if table is None:
            dtype = np.int64 if attr == "count" else np.asarray(value).dtype
            table = np.zeros(len(self), dtype=dtype)
            if attr == "count":
                self.counts = table
            else:
                self.attrs[attr] = table
        table[index] = value

    def add_vector(self, key, vector) -> int:
        """Add one word and its vector (gensim's name); returns its row. A word already there
        keeps its vector, as in gensim. Adding many words one by one copies the table each
        time: add_vectors adds them together."""
        self.add_vectors([key], np.asarray(vector)[None, :])
        return self.get_index(key)

    def add_vectors(self, keys, weights, extras=None, replace: bool = False) -> None:
        """Append words and their vectors (gensim's signature): words already in the vocabulary
        keep their rows, which take the new vectors only with `replace`. `extras` maps an
        attribute name to one value per key, as set_vecattr would set them. New words' counts
        are 0."""
        keys = [keys] if isinstance(keys, _KEY_TYPES) else list(keys)
        weights = np.asarray(weights).reshape(len(keys), -1)
        if weights.shape[1] != self.vector_size:
            raise W2VError(f"vectors of {weights.shape[1]} dimensions cannot join vectors of "
                           f"{self.vector_size}; give one vector of {self.vector_size} per key")
        if len(set(keys)) != len(keys):
            raise W2VError(f"duplicate word {_first_duplicate(keys)!r} among the keys to add; "
                           "give each once")
        known = np.array([key in self.key_to_index for key in keys], dtype=bool)
        new = [key for key, old in zip(keys, known, strict=True) if not old]
        index = self._writable_index()
        for key in new:
            index[key] = len(self.index_to_key)
            self.index_to_key.append(key)
        self.vectors = np.concatenate([self._vectors, weights[~known].astype(self._vectors.dtype)])
        for attr in ["count"] * (self.counts is not None) + list(self.attrs):
            table = self.counts if attr == "count" else self.attrs[attr]
            assert table is not None  # "count" is listed only where there are counts
            grown = np.concatenate([table, np.zeros(len(new), dtype=table.dtype)])
            if attr == "count":
                self.counts = grown
            else:
                self.attrs[attr] = grown
        if replace and known.any():
            self._vectors[[self.key_to_index[k] for k, old in zip(keys, known, strict=True)
                           if old]] = weights[known]
            self._norms = self._normed = None
        for attr, values in (extras or {}).items():
            for key, value, old in zip(keys, values, known, strict=True):
                if replace or not old:
                    self.set_vecattr(key, attr, value)

    def _writable_index(self) -> dict[str, int]:
        """key_to_index as a dict, made one first if a file's WordIndex answers it (with a
        list of words of its own, so that the WordIndex keeps the words it was made for)."""
        if not isinstance(self.key_to_index, dict):
            self.index_to_key = list(self.index_to_key)
            self.key_to_index = _index_of(self.index_to_key)
        return self.key_to_index

    def sort_by_descending_frequency(self) -> None:
        """Reorder the words most frequent first, as gensim does."""
        if self.counts is None:
            raise W2VError("these vectors carry no counts to sort by; load them with fvocab= "
                           "or set them with set_vecattr(key, 'count', n)")
        if not len(self):
            return
        # gensim 4.4's order: by count, ties with the later word first.
        order = np.lexsort((-np.arange(len(self)), -np.asarray(self.counts, dtype=np.int64)))
        self.index_to_key = [self.index_to_key[i] for i in order]
        self.key_to_index = _index_of(self.index_to_key)
        self.counts = self.counts[order]
        self.attrs = {attr: table[order] for attr, table in self.attrs.items()}
        self.vectors = self._vectors[order]

    def vectors_for_all(self, keys, allow_inference: bool = True,
                        copy_vecattrs: bool = False) -> KeyedVectors:
        """A new KeyedVectors of `keys` (each once, in order): with `allow_inference`, every
        key must have a vector (subword vectors infer one for unseen words); without, keys
        that have none are left out. `copy_vecattrs` copies the attributes (gensim's rule)."""
        keys = list(dict.fromkeys(keys if allow_inference else (k for k in keys if k in self)))
        vectors = (np.stack([self[key] for key in keys]) if keys
                   else np.zeros((0, self.vector_size), self._vectors.dtype))
        kv = KeyedVectors(keys, vectors, np.arange(len(keys), 0, -1))  # gensim's made-up counts
        if copy_vecattrs:
            for attr in ["count"] * (self.counts is not None) + list(self.attrs):
                for key in keys:
                    if key in self.key_to_index:
                        kv.set_vecattr(key, attr, self.get_vecattr(key, attr))
        return kv

    def get_mean_vector(self, keys, weights=None, pre_normalize: bool = True,
                        post_normalize: bool = False, ignore_missing: bool = True) -> np.ndarray:
        """Weighted mean of the vectors of `keys` (words, row indices or raw vectors).

        The sum of weight * vector is divided by the sum of |weight|; with `pre_normalize` each
        word's vector is first scaled to unit length, and with `post_normalize` so is the mean.
        """
        if len(keys) == 0:
            raise W2VError("cannot compute a mean vector of no words; give at least one word")
        if isinstance(weights, list):
            weights = np.array(weights, dtype=self._vectors.dtype)
        if weights is None:
            weights = np.ones(len(keys), dtype=self._vectors.dtype)
        if len(keys) != weights.shape[0]:
            raise W2VError(f"{len(keys)} keys but {weights.shape[0]} weights; give one weight "
                           "per key")
        # The loop mirrors gensim's accumulation (float32 mean, float64 weights) so the mean,
        # and hence every ranking, matches gensim's bit for bit.
        mean = np.zeros(self.vector_size, self._vectors.dtype)
        total_weight = 0
        for weight, key in zip(weights, keys, strict=True):
            if isinstance(key, np.ndarray):
                mean += weight * key
                total_weight += abs(weight)
            elif key in self:
                mean += weight * self.get_vector(key, norm=pre_normalize)
                total_weight += abs(weight)
            elif not ignore_missing:
                self.get_index(key)
        if total_weight > 0:
            mean = mean / total_weight
        if post_normalize:
            mean = unitvec(mean)
        return mean

    # -- neighbours ----------------------------------------------------------------------------

    def most_similar(self, positive=None, negative=None, topn=10, clip_start=0, clip_end=None,
                     restrict_vocab=None, indexer=None):
        """The `topn` words nearest (by cosine) to the mean of `positive` minus `negative`.

        Items are words, row indices, vectors, or (item, weight) pairs (default weights 1 for
        positive, -1 for negative). Input words are left out of the answer. `restrict_vocab`
        searches only the first N words (and overrides `clip_start`/`clip_end`). Returns a list
        of (word, similarity); with `topn=None`, the array of similarities to every searched word.
        """
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _ensure_list(positive), _ensure_list(negative)
        items = positive + negative
        weights = np.concatenate((np.ones(len(positive)), -1.0 * np.ones(len(negative))))
        keys = []
        for i, item in enumerate(items):
            if isinstance(item, _ITEM_TYPES):
                keys.append(item)
            else:
                keys.append(item[0])
                weights[i] = item[1]
        if not keys:
            raise W2VError("most_similar needs at least one positive or negative word")
        mean = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True,
                                    ignore_missing=False)
        exclude = {self.get_index(key) for key in keys
                   if isinstance(key, _KEY_TYPES) and self.has_index_for(key)}
        if indexer is not None and isinstance(topn, int):
            # Unlike gensim's, the answer leaves out the query's words, as the exact one does.
            found = indexer.most_similar(mean, topn + len(exclude))
            return [(w, s) for w, s in found if self.key_to_index.get(w) not in exclude][:topn]

        clip_end = clip_end or len(self._vectors)
        if restrict_vocab:
            clip_start, clip_end = 0, restrict_vocab
        norms = self.norms
        dists = dots(self._vectors[clip_start:clip_end], mean) / norms[clip_start:clip_end]
        if not topn:
            return dists
        return self._ranked(dists, topn, exclude, offset=clip_start)

    def _ranked(self, scores: np.ndarray, topn: int, exclude: set, offset: int = 0) -> list:
        best = top_indices(scores, topn + len(exclude))
        result = [(self.index_to_key[i + offset], float(scores[i]))
                  for i in best if i + offset not in exclude]
        return result[:topn]

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """Nearest words by Levy & Goldberg's 3CosMul: prod (1+cos)/2 of positives over negatives.

        The score of word w is prod_p (1+cos(w,p))/2 / (prod_n (1+cos(w,n))/2 + 1e-6). Items are
        words, row indices or vectors; input words are left out. Unlike gensim 4.4, which ignores
        it here, `restrict_vocab` searches only the first N words; raw vectors are scaled to unit
        length, as words are, so the cosines lie in [-1, 1].
        """
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _ensure_list(positive), _ensure_list(negative)
        if not positive:
            raise W2VError("most_similar_cosmul needs at least one positive word")
        exclude = {self.get_index(key) for key in positive + negative
                   if isinstance(key, _KEY_TYPES) and self.has_index_for(key)}
        end = restrict_vocab or len(self._vectors)
        vectors, norms = self._vectors[:end], self.norms[:end]

        def shifted_cosines(items):
            return [(1 + dots(vectors, self._unit(item)) / norms) / 2 for item in items]

        dists = (np.prod(shifted_cosines(positive), axis=0)
                 / (np.prod(shifted_cosines(negative), axis=0) + 0.000001))
        if not topn:
            return dists
        return self._ranked(dists, topn, exclude)

    def _unit(self, item) -> np.ndarray:
        if isinstance(item, np.ndarray):
            return unitvec(item)
        return self.get_vector(item, norm=True)

    def similar_by_key(self, key, topn=10, restrict_vocab=None):
        """The `topn` words nearest to `key` (itself excluded)."""
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        """The `topn` words nearest to `word` (itself excluded)."""
        return self.similar_by_key(word, topn, restrict_vocab)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        """The `topn` words nearest to a raw `vector`."""
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def doesnt_match(self, words) -> str:
        """The word furthest from the mean of the unit vectors of `words`; unknown words are
        ignored with a logged warning."""
        used = [word for word in words if word in self]
        if len(used) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring these "
                           "words", set(words) - set(used))
        if not used:
            raise W2VError("doesnt_match needs at least one word of the vocabulary")
        vectors = np.vstack([self.get_vector(word, norm=True) for word in used])
        mean = self.get_mean_vector(vectors, post_normalize=True)
        dists = np.dot(vectors, mean)
        # The smallest (similarity, word) pair: gensim's ordering, ties included.
        return min(zip(dists.tolist(), used, strict=True))[1]

    # -- similarities and distances ------------------------------------------------------------

    @staticmethod
    def cosine_similarities(vector_1: np.ndarray, vectors_all: np.ndarray) -> np.ndarray:
        """Cosine similarity between `vector_1` (D,) and each row of `vectors_all` (N, D)."""
        norm = np.linalg.norm(vector_1)
        all_norms = np.linalg.norm(vectors_all, axis=1)
        return np.dot(vectors_all, vector_1) / (norm * all_norms)

    def distances(self, word_or_vector, other_words=()) -> np.ndarray:
        """Cosine distances (1 - similarity) from a word or vector to `other_words`, or to every
        word of the vocabulary when `other_words` is empty."""
        if isinstance(word_or_vector, _KEY_TYPES):
            vector = self.get_vector(word_or_vector)
        else:
            vector = np.asarray(word_or_vector)
        if not other_words:
            sims = dots(self._vectors, vector) / (np.linalg.norm(vector) * self.norms)
            return 1 - sims
        others = self._vectors[[self.get_index(word) for word in other_words]]
        return 1 - self.cosine_similarities(vector, others)

    def distance(self, w1, w2) -> float:
        """Cosine distance between two words: 1 - similarity."""
        return 1 - self.similarity(w1, w2)

    def similarity(self, w1, w2) -> float:
        """Cosine similarity between two words."""
        return float(np.dot(unitvec(self[w1]), unitvec(self[w2])))

    def n_similarity(self, ws1, ws2) -> float:
        """Cosine similarity between the means of two lists of words.

        Unlike gensim, which silently skips them, an unknown word raises KeyError.
        """
        if not (len(ws1) and len(ws2)):
            raise W2VError("n_similarity needs two non-empty lists of words")
        for word in (*ws1, *ws2):
            self.get_index(word)
        mean1 = self.get_mean_vector(ws1, pre_normalize=False)
        mean2 = self.get_mean_vector(ws2, pre_normalize=False)
        return float(np.dot(unitvec(mean1), unitvec(mean2)))

    def closer_than(self, key1, key2) -> list[str]:
        """Every word closer to `key1` than `key2` is (`key1` itself excluded)."""
        dists = self.distances(key1)
        own = self.get_index(key1)
        closer = np.flatnonzero(dists < dists[self.get_index(key2)])
        return [self.index_to_key[i] for i in closer if i != own]

    def rank(self, key1, key2) -> int:
        """1 + the number of words closer to `key1` than `key2` is."""
        dists = self.distances(key1)
        closer = dists < dists[self.get_index(key2)]
        closer[self.get_index(key1)] = False
        return int(np.count_nonzero(closer)) + 1

    def most_similar_to_given(self, key1, keys_list):
        """The key of `keys_list` most similar to `key1`."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def relative_cosine_similarity(self, wa, wb, topn: int = 10) -> float:
        """Leeuwenberg et al.'s relative cosine similarity (2016): sim(wa, wb) over the sum of
        wa's similarities to its `topn` nearest words."""
        sims = self.similar_by_word(wa, topn)
        if not sims:
            raise W2VError(f"{wa!r} has no neighbours to compare with; give topn >= 1")
        return float(self.similarity(wa, wb)) / sum(sim for _, sim in sims)

    def rank_by_centrality(self, words, use_norm: bool = True) -> list:
        """(cosine to the words' normalized mean, word) for the known `words`, most central
        first; unknown words are left out with a logged warning, as in gensim."""
        used = [word for word in words if word in self]
        if len(used) != len(words):
            logger.warning("vectors for words %s are not present, ignoring them",
                           set(words) - set(used))
        if not used:
            raise W2VError("rank_by_centrality needs at least one known word")
        vectors = np.vstack([self.get_vector(word, norm=use_norm) for word in used]).astype(
            np.float32)
        mean = self.get_mean_vector(vectors, post_normalize=True)
        return sorted(zip(np.dot(vectors, mean), used, strict=True), reverse=True)

    def to_embedding(self, freeze: bool = True):
        """The vectors as a torch `nn.Embedding` (row i is `index_to_key[i]`; `key_to_index`
        maps words to rows), trainable unless `freeze`. torch is imported here only."""
        import torch

        weights = torch.from_numpy(np.array(self._vectors, dtype=np.float32))
        return torch.nn.Embedding.from_pretrained(weights, freeze=freeze)

    # -- files and evaluation (each in its own module) ---------------------------------------

    def intersect_word2vec_format(self, fname, lockf: float = 0.0, binary: bool = False,
                                  encoding: str = "utf8", unicode_errors: str = "strict") -> None:
        """Take the vectors of the words also in a word2vec file, as gensim does: no word is
        added, and those rows' factors in `vectors_lockf` become `lockf`. A model's `wv` is a
        copy of its tables: seed a model with Word2Vec.intersect_word2vec_format instead."""
        if self.trained_copy:
            raise W2VError("model.wv is a copy of the trained vectors, which training does not "
                           "read: call model.intersect_word2vec_format(...) to seed the model")
        other = KeyedVectors.load_word2vec_format(fname, binary=binary, encoding=encoding,
                                                  unicode_errors=unicode_errors)
        if other.vector_size != self.vector_size:
            raise W2VError(f"{fname} has {other.vector_size} dimensions, these vectors "
                           f"{self.vector_size}; give a file of {self.vector_size}")
        ours, theirs = shared_rows(self.index_to_key, other)
        if self.vectors_lockf is None:
            self.vectors_lockf = np.ones(len(self), dtype=np.float32)
        if len(ours):
            if not self._vectors.flags.writeable:  # a memory-mapped file: change a copy
                self.vectors = np.array(self._vectors)
            self._vectors[ours] = other.vectors[theirs]
            self.vectors_lockf[ours] = lockf
            self._norms = self._normed = None
        logger.info("merged %d vectors into %s from %s", len(ours), self, fname)

    def save_word2vec_format(self, path, fvocab=None, binary: bool = False, total_vec=None,
                             write_header: bool = True, prefix: str = "", append: bool = False,
                             sort_attr: str = "count") -> None:
        """Write the vectors in word2vec.c's text (or, with `binary`, binary) format.

        gensim's arguments: `fvocab` also writes "word count" lines (word2vec.c's -save-vocab);
        `write_header=False` leaves out the "V D" line (GloVe's layout) and `total_vec` sets
        its V; `prefix` goes before every word; `append` adds to an existing file. With
        sort_attr="count" and counts kept, words are written most frequent first (ties in
        vocabulary order), as gensim writes them.
        """
        order = None
        if sort_attr == "count" and self.counts is not None:
            order = np.argsort(-self.counts, kind="stable")
        elif sort_attr != "count":
            raise W2VError(f"sort_attr={sort_attr!r}: only 'count' is kept here")
        words = self.index_to_key if order is None else [self.index_to_key[i] for i in order]
        vectors = self._vectors if order is None else self._vectors[order]
        if fvocab is not None:
            if self.counts is None:
                raise W2VError(f"cannot write {fvocab}: these vectors carry no counts; drop "
                               "fvocab, or load them with their vocabulary file")
            write_counts(fvocab, words, self.counts if order is None else self.counts[order])
        write_word2vec(path, words, vectors, binary, write_header=write_header,
                       total_vec=total_vec, prefix=prefix, append=append)

    @classmethod
    def load_word2vec_format(cls, path, fvocab=None, binary: bool = False,
                             encoding: str = "utf8", unicode_errors: str = "strict",
                             limit=None, datatype=np.float32,
                             no_header: bool = False) -> KeyedVectors:
        """Read vectors from word2vec.c's text (or, with `binary`, binary) format; gensim's
        arguments and meanings (see `w2v.vectors.word2vec_format.read_word2vec`). `fvocab`
        names a "word count" file whose counts the vectors keep; every word must be in it."""
        words, vectors = read_word2vec(path, binary, limit=limit, unicode_errors=unicode_errors,
                                       no_header=no_header, datatype=datatype,
                                       encoding=encoding)
        counts = None
        if fvocab is not None:
            counts = read_counts(fvocab, words, encoding, unicode_errors)
        return cls(words, vectors, counts)

    def save(self, path) -> None:
        """Write the vectors, words and counts in w2v's native format."""
        write_native(path, self.index_to_key, self._vectors, self.counts)

    @classmethod
    def load(cls, path, mmap: bool = True) -> KeyedVectors:
        """Read vectors saved by `save`; with `mmap` the matrices are mapped, not read into
        memory. A file of subword vectors gives a `FastTextKeyedVectors`."""
        return load_native(path, mmap)

    def evaluate_word_analogies(self, analogies, restrict_vocab=300000, case_insensitive=True,
                                dummy4unknown=False, method="3cosadd"):
        """Analogy accuracy on a questions-words style file (`w2v.vectors.evaluate`)."""
        return evaluate.evaluate_word_analogies(self, analogies, restrict_vocab=restrict_vocab,
                                       case_insensitive=case_insensitive,
                                       dummy4unknown=dummy4unknown, method=method)

    def evaluate_word_pairs(self, pairs, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """Pearson and Spearman correlation with human word-pair scores (`w2v.vectors.evaluate`)."""
        return evaluate.evaluate_word_pairs(self, pairs, delimiter=delimiter,
                                   restrict_vocab=restrict_vocab,
                                   case_insensitive=case_insensitive,
                                   dummy4unknown=dummy4unknown, encoding=encoding)


class FastTextKeyedVectors(KeyedVectors):
    """Word vectors that answer any string (gensim's `FastTextKeyedVectors`): a vocabulary
    word's vector is `vectors[i]` (the mean of its own row and its n-grams' rows, as trained),
    any other string's the mean of its n-grams' rows in `vectors_ngrams` (bucket, D).

    `"word" in kv` is True for every string with an n-gram, since it has a vector (gensim's
    meaning); `kv.key_to_index` holds the vocabulary, and `most_similar` answers from it.
    """

    def __init__(self, index_to_key, vectors, vectors_ngrams, min_n: int, max_n: int,
                 counts=None, *, key_to_index: Mapping[str, int] | None = None):
        super().__init__(index_to_key, vectors, counts, key_to_index=key_to_index)
        vectors_ngrams = np.asanyarray(vectors_ngrams)  # a memmap stays mapped
        check_subword_options(min_n, max_n, len(vectors_ngrams))
        if vectors_ngrams.ndim != 2 or vectors_ngrams.shape[1] != self.vector_size:
            raise W2VError(f"vectors_ngrams has shape {vectors_ngrams.shape}; give one row of "
                           f"{self.vector_size} numbers per bucket, as the word vectors have")
        self.vectors_ngrams = vectors_ngrams
        self.min_n, self.max_n = min_n, max_n

    @classmethod
    def from_input_table(cls, index_to_key, table: np.ndarray, min_n: int, max_n: int,
                         counts=None) -> FastTextKeyedVectors:
        """From fastText's input matrix `table` (V + bucket, D): the words' rows, then the
        buckets'; each word's vector is the mean of its bag, as training used it."""
        words = list(index_to_key)
        rows, starts = bags(words, min_n, max_n, len(table) - len(words))
        return cls(words, bag_means(table, rows, starts), table[len(words):], min_n, max_n,
                   counts)

    @property
    def bucket(self) -> int:
        """Number of hash buckets the n-grams share: the rows of `vectors_ngrams`."""
        return len(self.vectors_ngrams)

    def __contains__(self, key) -> bool:
        return super().__contains__(key) or (isinstance(key, str) and self._has_ngrams(key))

    def _has_ngrams(self, word: str) -> bool:
        return len(ngram_buckets([word], self.min_n, self.max_n, self.bucket)[0]) > 0

    def get_vector(self, key, norm: bool = False) -> np.ndarray:
        """The vector of `key`: its row for a vocabulary word, else the mean of its n-grams'
        rows (KeyError for a string that has no n-gram of min_n..max_n characters)."""
        if self.has_index_for(key) or not isinstance(key, str):
            return super().get_vector(key, norm)
        buckets, _ = ngram_buckets([key], self.min_n, self.max_n, self.bucket)
        if len(buckets) == 0:
            raise KeyError(f"'{key}' is not in the vocabulary and '<{key}>' has no n-grams of "
                           f"{self.min_n} to {self.max_n} characters to build its vector from")
        vector = self.vectors_ngrams[buckets].mean(0, dtype=np.float32)
        if norm:
            vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        vector.setflags(write=False)
        return vector

    def __getitem__(self, key_or_keys) -> np.ndarray:
        if isinstance(key_or_keys, _KEY_TYPES):
            return self.get_vector(key_or_keys)
        return np.vstack([self.get_vector(key) for key in key_or_keys])

    def save(self, path) -> None:
        """Write the words, vectors, counts and n-gram table in w2v's native format."""
        write_native(path, self.index_to_key, self.vectors, self.counts,
                     extra={NGRAMS: self.vectors_ngrams}, metadata=self.metadata())

    def metadata(self) -> dict[str, str]:
        """What a native file needs to hold these subword vectors, besides the n-gram table."""
        return {SUBWORDS_KEY: json.dumps({"min_n": self.min_n, "max_n": self.max_n})}


def load_native(path, mmap: bool = True) -> KeyedVectors:
    """A native vectors file as KeyedVectors, or FastTextKeyedVectors if it holds subwords."""
    words, vectors, counts, subwords, index = read_native_subwords(path, mmap)
    try:
        if subwords is None:
            return KeyedVectors(words, vectors, counts, key_to_index=index)
        ngrams, min_n, max_n = subwords
        return FastTextKeyedVectors(words, vectors, ngrams, min_n, max_n, counts,
                                    key_to_index=index)
    except W2VError as err:
        if len(set(words)) != len(words):
            raise repeated_word(path, words) from err
        raise


def _index_of(keys: list) -> dict:
    """Each key's row, as a dict (a repeated key keeps its last row; callers compare lengths)."""
    return dict(zip(keys, range(len(keys)), strict=True))


def _first_duplicate(words: list[str]) -> str:
    seen = set()
    for word in words:
        if word in seen:
            return word
        seen.add(word)
    raise AssertionError("no duplicate")  # only called after a duplicate was detected
