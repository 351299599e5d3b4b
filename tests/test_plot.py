"""w2v.apps.plot and the commands that draw: valid pictures of the right size with every panel,
word and label drawn; 2-D projections that keep the layout; one clear line when matplotlib is
missing.

Set W2V_PICTURES to a folder to keep a copy of each picture for a person to look at.
"""

import os
import shutil
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib  # noqa: E402
import matplotlib.image  # noqa: E402

from w2v.apps import plot  # noqa: E402
from w2v.apps.cli import main  # noqa: E402
from w2v.errors import W2VError  # noqa: E402
from w2v.training.word2vec import Word2Vec  # noqa: E402
from w2v.vectors import formats  # noqa: E402
from w2v.vectors.keyedvectors import KeyedVectors  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]  # matplotlib's C0..C3


@pytest.fixture(scope="module")
def alice(novels):
    """A tiny model of Alice in Wonderland: a real training trace and real neighbours."""
    return Word2Vec(corpus_file=str(novels / "carroll_alice_in_wonderland.txt"), tokenize=True,
                    lowercase=True, min_count=2, vector_size=16, epochs=2, seed=1)


@pytest.fixture(scope="module")
def alice_vectors(alice, tmp_path_factory):
    path = tmp_path_factory.mktemp("vectors") / "alice.txt"
    formats.save_vectors(alice.wv, path, "text")
    return path


def _keep(path):
    """Copy a picture to $W2V_PICTURES, when set, for a person to look at."""
    folder = os.environ.get("W2V_PICTURES")
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copy(path, folder)


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _has_colour(path, colour: str) -> bool:
    """Whether some pixel of the picture is (nearly) `colour`."""
    pixels = matplotlib.image.imread(path)[..., :3]
    target = np.array(matplotlib.colors.to_rgb(colour))
    return bool((np.abs(pixels - target).max(axis=-1) < 0.02).any())


def test_training_curve_is_a_png_with_three_coloured_panels(alice, tmp_path):
    out = tmp_path / "curve.png"

    plot.training_curve(alice.trace, out)

    assert _png_size(out) == (8 * plot.DPI, int(7.5 * plot.DPI))
    assert out.stat().st_size > 20_000
    for colour in TAB10[:3]:  # loss, learning rate, words/s
        assert _has_colour(out, colour), colour
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]  # no temporary file left
    _keep(out)


def test_training_curve_labels_its_axes(alice, tmp_path):
    out = tmp_path / "curve.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, to read it back
        plot.training_curve(alice.trace, out)
    svg = out.read_text()
    for label in ("loss per example", "learning rate", "speed (words/s)", "words trained"):
        assert label in svg


def test_training_curve_needs_a_trace(tmp_path):
    with pytest.raises(W2VError, match="no training trace; train it first"):
        plot.training_curve([], tmp_path / "curve.png")


def test_later_train_calls_continue_the_words_axis():
    words = np.array([10.0, 20.0, 5.0, 15.0, 4.0])  # three train() calls, each from zero
    assert plot._cumulative(words).tolist() == [10, 20, 25, 35, 39]


def test_word_map_is_a_png_with_one_colour_per_given_word(alice, tmp_path):
    out = tmp_path / "map.png"

    plot.word_map(alice.wv, ["alice", "queen", "rabbit"], out, neighbours=8)

    assert _png_size(out) == (10 * plot.DPI, 8 * plot.DPI)
    for colour in TAB10[:3]:
        assert _has_colour(out, colour), colour
    assert not _has_colour(out, TAB10[3])
    _keep(out)


def test_word_map_labels_every_word_and_neighbour(alice, tmp_path):
    out = tmp_path / "map.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot.word_map(alice.wv, ["alice", "queen"], out, neighbours=5)
    svg = out.read_text()
    for word in ("alice", "queen"):
        for neighbour in [word] + [w for w, _ in alice.wv.most_similar(word, topn=5)]:
            assert f">{neighbour}<" in svg, neighbour


def test_word_map_refuses_unknown_words_and_formats(alice, tmp_path):
    with pytest.raises(W2VError, match="not in the vocabulary: 'zzzq'"):
        plot.word_map(alice.wv, ["alice", "zzzq"], tmp_path / "map.png")
    with pytest.raises(W2VError, match="unknown picture format '.jpg'.*png"):
        plot.word_map(alice.wv, ["alice"], tmp_path / "map.jpg")
    with pytest.raises(W2VError, match="unknown projection 'umap'"):
        plot.word_map(alice.wv, ["alice"], tmp_path / "map.png", method="umap")


def test_pca_keeps_the_distances_of_points_lying_in_a_plane():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(30, 2)) * [3.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(12, 2)))  # an orthonormal plane in 12-D
    points, names = plot.project(flat @ basis.T + 5.0, "pca")

    def distances(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    np.testing.assert_allclose(distances(points), distances(flat), atol=1e-9)
    assert names[0].startswith("principal component 1") and "% of variance" in names[0]


def test_labels_of_words_at_one_spot_are_moved_apart():
    points = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    lifts = plot._label_lifts(points, ["cat", "dog", "cow", "far"])
    assert lifts[0] == 0 and lifts[3] == 0
    assert len({lifts[0], lifts[1], lifts[2]}) == 3
    assert all(abs(lift) >= plot.LABEL_LINE for lift in lifts[1:3])


def test_tsne_map_when_scikit_learn_is_installed(alice, tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "tsne.png"
    plot.word_map(alice.wv, ["alice", "queen"], out, neighbours=6, method="tsne")
    assert _png_size(out) == (10 * plot.DPI, 8 * plot.DPI)
    _keep(out)


def test_tsne_without_scikit_learn_is_a_clear_error(alice_vectors, tmp_path, monkeypatch,
                                                    capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.manifold", None)
    with pytest.raises(W2VError, match="t-SNE needs scikit-learn"):
        plot.check_method("tsne")

    code = main(["plot", str(alice_vectors), "alice", "-o", str(tmp_path / "m.png"),
                 "--method", "tsne"])

    assert code == 2
    assert capsys.readouterr().err.startswith("w2v: error: t-SNE needs scikit-learn")
    assert not (tmp_path / "m.png").exists()


def test_cli_plot_writes_the_map(alice_vectors, tmp_path, capsys):
    out = tmp_path / "map.png"
    code = main(["plot", str(alice_vectors), "alice", "hatter", "-o", str(out),
                 "--neighbours", "4"])
    assert code == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert _png_size(out) == (10 * plot.DPI, 8 * plot.DPI)


def test_cli_train_plot_draws_the_curve(novels, tmp_path, capsys):
    out = tmp_path / "curve.png"
    code = main(["train", str(novels / "carroll_alice_in_wonderland.txt"), "-o",
                 str(tmp_path / "v.txt"), "--min-count", "2", "--vector-size", "16",
                 "--epochs", "1", "--quiet", "--plot", str(out)])
    assert code == 0
    assert _png_size(out) == (8 * plot.DPI, int(7.5 * plot.DPI))


@pytest.mark.parametrize("command", ["plot", "train"])
def test_without_matplotlib_the_commands_say_how_to_install_it(
        command, alice_vectors, novels, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = str(tmp_path / "picture.png")
    argv = (["plot", str(alice_vectors), "alice", "-o", out] if command == "plot" else
            ["train", str(novels / "carroll_alice_in_wonderland.txt"), "-o",
             str(tmp_path / "v.txt"), "--plot", out])

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'w2v[plot]'" in err
    assert os.listdir(tmp_path) == []  # refused before any work


def test_word_map_on_hand_made_vectors_puts_each_group_together(tmp_path):
    # Two tight clusters far apart: PCA's first axis must separate them.
    rng = np.random.default_rng(1)
    centres = {"north": np.eye(8)[0], "south": -np.eye(8)[0]}
    words, rows = [], []
    for name, centre in centres.items():
        for i in range(5):
            words.append(name if i == 0 else f"{name}{i}")
            rows.append(centre + 0.05 * rng.normal(size=8))
    kv = KeyedVectors(words, np.array(rows, dtype=np.float32))
    unit = np.stack([kv.get_vector(w, norm=True) for w in words])

    points, _ = plot.project(unit.astype(np.float64))

    assert np.sign(points[:5, 0]).tolist() == [np.sign(points[0, 0])] * 5
    assert np.sign(points[5:, 0]).tolist() == [-np.sign(points[0, 0])] * 5
    plot.word_map(kv, ["north", "south"], tmp_path / "clusters.png", neighbours=4)
    assert _png_size(tmp_path / "clusters.png") == (10 * plot.DPI, 8 * plot.DPI)



def test_pca_of_a_single_point_still_has_two_axes():
    from w2v.apps.plot import project

    points, names = project(np.ones((1, 5)))
    assert points.shape == (1, 2) and len(names) == 2
