"""w2v.apps.projector and `w2v export --projector`: the files read back as TensorBoard's Embedding
Projector reads them, one metadata row per vector, whatever characters the words hold."""

import re

import numpy as np
import pytest

from w2v.apps import projector
from w2v.apps.cli import main
from w2v.errors import W2VError
from w2v.vectors import formats
from w2v.vectors.keyedvectors import KeyedVectors

# Words that break naive TSV: separators, line breaks of every kind, blanks, escapes.
AWKWARD = ["the", "tab\there", "new\nline", "cr\rword", "back\\slash", "\\t", " ", "\u3000",
           "\ufeff", "para\u2029graph", "nel\x85word", "naïve", "日本"]


def _kv(words, dims=5, seed=0):
    rng = np.random.default_rng(seed)
    return KeyedVectors(words, rng.normal(size=(len(words), dims)).astype(np.float32))


def _projector_rows(text: str) -> list[str]:
    """metadata.tsv's rows as the projector's parseMetadata takes them: split at newlines,
    blank lines skipped, a first line with a tab taken for a header."""
    rows = [line for line in text.split("\n") if line.strip()]
    assert "\t" not in rows[0], "the first row would be read as a header"
    return rows


def _unescape(cell: str) -> str:
    if cell == '""':
        return ""
    simple = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    return re.sub(r"\\(u[0-9a-f]{4}|.)",
                  lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5 else simple[m[1]], cell)


def test_files_read_back_one_row_per_vector(tmp_path):
    kv = _kv(AWKWARD)

    folder, count = projector.export(kv, tmp_path / "proj")

    assert count == len(AWKWARD)
    vectors = np.loadtxt(folder / "vectors.tsv", delimiter="\t", dtype=np.float32)
    np.testing.assert_allclose(vectors, kv.vectors, rtol=1e-5, atol=1e-7)
    rows = _projector_rows((folder / "metadata.tsv").read_text(encoding="utf-8"))
    assert len(rows) == len(vectors)
    assert [_unescape(row) for row in rows] == AWKWARD
    # Every row stays one line for Python's readers too (universal newlines, splitlines).
    with open(folder / "metadata.tsv", encoding="utf-8") as f:
        assert len(f.readlines()) == len(AWKWARD)
    assert len((folder / "metadata.tsv").read_text(encoding="utf-8").splitlines()) == len(AWKWARD)


def test_config_points_at_the_files_in_protobuf_text_format(tmp_path):
    folder, _ = projector.export(_kv(["a", "b", "c"], dims=4), tmp_path)

    config = (folder / "projector_config.pbtxt").read_text()

    body = re.fullmatch(r"embeddings \{\n((?:  \w+: (?:\"[^\"]*\"|\d+)\n)+)\}\n", config)
    assert body, config
    fields = re.findall(r"(\w+): (\"[^\"]*\"|\d+)", body[1])
    assert fields == [("tensor_name", '"w2v"'), ("tensor_path", '"vectors.tsv"'),
                      ("metadata_path", '"metadata.tsv"'), ("tensor_shape", "3"),
                      ("tensor_shape", "4")]
    for _, value in fields[1:3]:  # relative to the config's folder, as TensorBoard reads them
        assert (folder / value.strip('"')).is_file()


def test_limit_keeps_the_first_words(tmp_path):
    kv = _kv([f"w{i}" for i in range(10)])
    folder, count = projector.export(kv, tmp_path, limit=3)
    assert count == 3
    assert (folder / "metadata.tsv").read_text() == "w0\nw1\nw2\n"
    assert np.loadtxt(folder / "vectors.tsv", delimiter="\t").shape == (3, 5)


def test_refuses_a_file_as_folder_and_non_finite_vectors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(W2VError, match="it is a file; give a folder"):
        projector.export(_kv(["a", "b"]), tmp_path / "file")
    kv = _kv(["a", "b"])
    kv.vectors[1, 2] = np.nan
    with pytest.raises(W2VError, match="NaN or infinite"):
        projector.export(kv, tmp_path / "out")
    assert not (tmp_path / "out" / "vectors.tsv").exists()


def test_cli_export_writes_the_three_files(tmp_path, capsys):
    vectors = tmp_path / "v.txt"
    formats.save_vectors(_kv(["king", "queen", "man", "woman"], dims=6), vectors, "text")
    out = tmp_path / "proj"

    assert main(["export", str(vectors), "--projector", str(out), "--limit", "3"]) == 0

    assert capsys.readouterr().out == (
        f"wrote 3 words x 6 dimensions to {out}; view with: tensorboard --logdir {out}\n")
    assert sorted(p.name for p in out.iterdir()) == [
        "metadata.tsv", "projector_config.pbtxt", "vectors.tsv"]
    assert (out / "metadata.tsv").read_text() == "king\nqueen\nman\n"
