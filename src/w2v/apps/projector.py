"""Vectors for TensorBoard's Embedding Projector: `vectors.tsv`, `metadata.tsv` and
`projector_config.pbtxt` in one folder.

`tensorboard --logdir DIR` finds the config (its paths are read relative to it) and shows the
words in 3-D with PCA, t-SNE or UMAP; the two TSV files also load as they are into the standalone
projector's "Load" dialog. The projector reads metadata.tsv one line per vector and takes a first
line containing a tab for a header, and skips blank lines: so each word is written on one line,
with backslash, tab and line breaks escaped (`\\\\`, `\\t`, `\\n`, `\\r`, other line breaks as
`\\uXXXX`), and a word of only spaces as `\\uXXXX` escapes, so that no row goes missing.
"""

import os
from pathlib import Path

import numpy as np

from w2v.atomic import atomic_write
from w2v.errors import W2VError

VECTORS = "vectors.tsv"
METADATA = "metadata.tsv"
CONFIG = "projector_config.pbtxt"
# float32 has 7-8 significant digits; 6 keep the files small and are far finer than a picture
PRECISION = "%.6g"

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
# the rest of what str.splitlines() breaks at, so no reader splits a word across rows
_ESCAPES.update({c: f"\\u{ord(c):04x}" for c in "\v\f\x1c\x1d\x1e\x85\u2028\u2029"})
_TABLE = str.maketrans(_ESCAPES)


def escape(word: str) -> str:
    """`word` as one non-blank metadata cell (see the module's docstring)."""
    cell = word.translate(_TABLE)
    # the projector trims lines (JavaScript's trim(), which also strips U+FEFF) and drops empty ones
    if not cell.replace("\ufeff", "").strip():
        cell = "".join(f"\\u{ord(c):04x}" for c in word) or '""'
    return cell


def export(kv, folder: str | os.PathLike, limit: int | None = None) -> tuple[Path, int]:
    """Write the first `limit` words of `kv` (all by default; the most frequent come first) and
    their vectors for the Embedding Projector into `folder`, created if missing. Returns the
    folder and the number of words written."""
    if limit is not None and limit < 1:
        raise W2VError(f"--limit must be 1 or more, got {limit}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise W2VError(f"cannot export to {folder}: it is a file; give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    count = len(kv) if limit is None else min(limit, len(kv))
    vectors = np.asarray(kv.vectors[:count])
    if not np.isfinite(vectors).all():
        raise W2VError("cannot export: the vectors hold NaN or infinite values; retrain them")
    with atomic_write(folder / VECTORS) as f:
        np.savetxt(f, vectors, fmt=PRECISION, delimiter="\t")
    with atomic_write(folder / METADATA) as f:
        f.write("".join(f"{escape(word)}\n" for word in kv.index_to_key[:count]).encode())
    with atomic_write(folder / CONFIG) as f:
        f.write(_config(count, vectors.shape[1]).encode())
    return folder, count


def _config(rows: int, dims: int) -> str:
    """The ProjectorConfig message in protobuf text format, as TensorBoard parses it."""
    return (
        "embeddings {\n"
        '  tensor_name: "w2v"\n'
        f'  tensor_path: "{VECTORS}"\n'
        f'  metadata_path: "{METADATA}"\n'
        f"  tensor_shape: {rows}\n"
        f"  tensor_shape: {dims}\n"
        "}\n"
    )
