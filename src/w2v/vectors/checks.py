"""What every vector file format shares: checks on arrays and words before writing, the row
limit when reading, and the errors that name the file and the fix."""

from collections.abc import Sequence

import numpy as np

from w2v.errors import W2VError

F32 = np.dtype("<f4")
I64 = np.dtype("<i8")


def read_error(path, err: OSError) -> W2VError:
    reason = err.strerror or str(err)
    return W2VError(f"cannot read {path}: {reason}; check the path and its permissions")


def write_error(path, err: OSError) -> W2VError:
    reason = err.strerror or str(err)
    return W2VError(f"cannot write {path}: {reason}; free disk space or choose another path")


def short(value, limit: int = 120) -> str:
    """repr of a value from a file, cut: a hostile header may hold megabytes."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def rows_to_read(vocab_size: int, limit: int | None) -> int:
    # As in gensim, a falsy limit (None or 0) means "all".
    if limit is None or limit == 0:
        return vocab_size
    if not isinstance(limit, int | np.integer) or limit < 0:
        raise W2VError(f"limit={limit!r} is not a non-negative integer; pass e.g. limit=100000")
    return min(vocab_size, int(limit))


def check_vectors(path, index_to_key: Sequence[str], vectors) -> np.ndarray:
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] < 1:
        raise W2VError(
            f"cannot write {path}: vectors have shape {vectors.shape}; need (vocab, dim>=1)"
        )
    if len(index_to_key) != vectors.shape[0]:
        raise W2VError(
            f"cannot write {path}: {len(index_to_key)} words but {vectors.shape[0]} vectors; "
            "pass one word per row"
        )
    return np.ascontiguousarray(vectors, dtype=F32)


def encode_words(path, index_to_key: Sequence[str], forbidden: str) -> list[bytes]:
    """UTF-8 bytes of each word, refusing characters that would break the file's layout."""
    words = [str(w) for w in index_to_key]
    joined = "\x00".join(words)
    if any(c in joined for c in forbidden):
        i, w = next((i, w) for i, w in enumerate(words) if any(c in w for c in forbidden))
        raise W2VError(
            f"cannot write {path}: word #{i} {w!r} contains whitespace ({forbidden!r}) that "
            "this format uses as a separator; replace it (e.g. with '_') before saving"
        )
    try:
        return [w.encode("utf-8") for w in words]
    except UnicodeEncodeError:
        for i, w in enumerate(words):
            try:
                w.encode("utf-8")
            except UnicodeEncodeError as err:
                raise W2VError(
                    f"cannot write {path}: word #{i} {w!r} cannot be encoded as UTF-8; "
                    "fix or drop that word"
                ) from err
        raise
