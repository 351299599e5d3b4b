"""fastText's own .bin models, read as gensim's load_facebook_vectors reads them (the files are
written here by gensim's save_facebook_model, which writes fastText's layout)."""

import struct

import numpy as np
import pytest
from gensim.models import FastText as GensimFastText
from gensim.models.fasttext import load_facebook_vectors as gensim_load
from gensim.models.fasttext import save_facebook_model

from w2v import FastTextKeyedVectors, load_facebook_vectors
from w2v.errors import W2VError
from w2v.vectors import formats


@pytest.fixture(scope="module")
def model_bin(austen, tmp_path_factory):
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    model = GensimFastText(austen[:1500], vector_size=12, min_count=2, epochs=1, bucket=3000,
                           min_n=2, max_n=4, seed=1, workers=1)
    save_facebook_model(model, str(path))
    return path


def test_a_fasttext_model_reads_as_gensim_reads_it(model_bin):
    ours, theirs = load_facebook_vectors(model_bin), gensim_load(str(model_bin))
    assert isinstance(ours, FastTextKeyedVectors)
    assert ours.index_to_key == list(theirs.index_to_key)
    assert (ours.min_n, ours.max_n, ours.bucket) == (2, 4, 3000)
    np.testing.assert_allclose(ours.vectors, theirs.vectors, atol=1e-6)
    for word in ["elizabeth", "elizabth", "</s>", "qwxz"]:
        np.testing.assert_allclose(ours[word], theirs[word], atol=1e-6)
    assert ours.get_vecattr("the", "count") == theirs.get_vecattr("the", "count")


def test_a_fasttext_model_is_detected_and_loads_through_formats(model_bin, tmp_path):
    assert formats.detect_format(model_bin) == "fasttext"
    kv = formats.load_vectors(model_bin, limit=10)
    assert len(kv) == 10 and kv.bucket == 3000 and "elizabth" in kv
    with pytest.raises(W2VError, match="reads them only"):
        formats.save_vectors(kv, tmp_path / "out.bin", "fasttext")


def test_damaged_models_are_refused_in_one_line(model_bin, tmp_path):
    data = model_bin.read_bytes()
    cases = {"version.bin": data[:4] + struct.pack("<i", 11) + data[8:],
             "short.bin": data[:200], "cut.bin": data[:len(data) // 2],
             "quantized.bin": _quantized(data)}
    expected = {"version.bin": "version 11", "short.bin": "truncated", "cut.bin": "truncated",
                "quantized.bin": "quantized"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(W2VError, match=expected[name]):
            load_facebook_vectors(tmp_path / name)


def _quantized(data: bytes) -> bytes:
    """The model with its input matrix's quantization flag set."""
    offset = 8 + 56
    size, nwords, nlabels, _, _ = struct.unpack_from("<3i2q", data, offset)
    at = offset + 28
    for _ in range(size):
        at = data.index(b"\0", at) + 10
    return data[:at] + b"\1" + data[at + 1:]
