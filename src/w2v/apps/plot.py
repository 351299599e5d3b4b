"""Pictures: a training curve (loss, learning rate, speed) and a 2-D map of words and neighbours.

matplotlib is optional (`pip install 'w2v[plot]'`) and imported only here, when a picture is
drawn; t-SNE maps also need scikit-learn. Figures are drawn on matplotlib's Agg canvas, never
through pyplot, so no display is needed and a caller's own pyplot state is left alone. The image
format follows the file's suffix (.png, .svg, .pdf) and the file is written atomically.
"""

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from w2v.atomic import atomic_write, check_writable
from w2v.errors import W2VError

FORMATS = (".png", ".svg", ".pdf")
METHODS = ("pca", "tsne")
DPI = 150
INSTALL = "pip install 'w2v[plot]'"
MAP_SIZE = (10.0, 8.0)  # inches
LABEL_CHAR_WIDTH, LABEL_LINE = 6.0, 12.0  # points, for a 9-point label


def check_output(path: str | os.PathLike) -> Path:
    """Raise W2VError unless a picture can be written at `path`: matplotlib is installed, the
    suffix is a known format and the folder is writable. Checked before long work starts."""
    _matplotlib()
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise W2VError(
            f"cannot draw {path}: unknown picture format {path.suffix or '(no suffix)'!r}; "
            f"end the name with one of {', '.join(FORMATS)}"
        )
    check_writable(path)
    return path


def check_method(method: str) -> None:
    """Raise W2VError unless `method` is a projection that can run here."""
    if method not in METHODS:
        raise W2VError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
    if method == "tsne":
        _tsne_class()


def training_curve(trace: Sequence, path: str | os.PathLike) -> Path:
    """Draw loss, learning rate and words/s against words trained, one panel each, from
    `Word2Vec.trace` (TracePoints: words, loss, alpha, words_per_second), to `path`."""
    path = check_output(path)
    if not trace:
        raise W2VError(f"cannot draw {path}: the model has no training trace; train it first")
    words = _cumulative(np.array([p.words for p in trace], dtype=np.float64))
    panels = (
        ("loss per example", [p.loss for p in trace]),
        ("learning rate", [p.alpha for p in trace]),
        ("speed (words/s)", [p.words_per_second for p in trace]),
    )
    figure = _figure((8, 7.5))
    axes = figure.subplots(3, 1, sharex=True)
    marker = "o" if len(trace) <= 60 else None
    for ax, (label, values), colour in zip(axes, panels, ("C0", "C1", "C2"), strict=True):
        ax.plot(words, values, color=colour, marker=marker, markersize=3, linewidth=1.5)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[1].set_ylim(bottom=0)
    axes[2].set_ylim(bottom=0)
    axes[2].yaxis.set_major_formatter(_eng())
    axes[-1].set_xlabel("words trained")
    axes[-1].xaxis.set_major_formatter(_eng())
    figure.suptitle(f"Training: {_count(words[-1])} words in {len(trace)} chunks")
    return _save(figure, path)


def project(vectors: np.ndarray, method: str = "pca") -> tuple[np.ndarray, tuple[str, ...]]:
    """Rows of `vectors` placed in 2-D by PCA (numpy) or t-SNE (scikit-learn), with axis names."""
    if method == "pca":
        centred = vectors - vectors.mean(axis=0)
        _, singular, components = np.linalg.svd(centred, full_matrices=False)
        share = singular[:2] ** 2 / max(float((singular**2).sum()), 1e-12)
        names = tuple(f"principal component {i + 1} ({100 * s:.0f}% of variance)"
                      for i, s in enumerate(share))
        points = centred @ components[:2].T
        # One point or 1-D vectors leave fewer than two components: the missing axis is flat.
        missing = 2 - points.shape[1]
        points = np.pad(points, ((0, 0), (0, missing)))
        return points, names + ("(no variance)",) * missing
    check_method(method)
    return _tsne(vectors), ("t-SNE 1", "t-SNE 2")


def word_map(kv, words: Sequence[str], path: str | os.PathLike, neighbours: int = 8,
             method: str = "pca") -> Path:
    """Draw `words` and each one's `neighbours` nearest words (cosine) as a labelled 2-D map,
    one colour per given word, to `path`."""
    path = check_output(path)
    check_method(method)
    groups = _neighbourhoods(kv, words, neighbours)
    labels = list(dict.fromkeys(w for group in groups for w in group))
    unit = np.stack([kv.get_vector(w, norm=True) for w in labels]).astype(np.float64)
    points, axis_names = project(unit, method)
    where = {w: i for i, w in enumerate(labels)}
    figure = _figure(MAP_SIZE)
    ax = figure.subplots()
    lift = dict(zip(labels, _label_lifts(points, labels), strict=True))
    # A word near two of the given words is drawn once, in the first one's colour; the given
    # words themselves are always drawn as their own group's star.
    placed = {group[0] for group in groups}
    for colour, group in enumerate(groups):
        centre = points[where[group[0]]]
        for word in group[1:]:
            x, y = points[where[word]]
            ax.plot([centre[0], x], [centre[1], y], color=f"C{colour}", alpha=0.25, linewidth=1)
        own = [w for w in group[1:] if w not in placed]
        _draw_group(ax, [group[0], *own], points, where, lift, f"C{colour}")
        placed.update(own)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.grid(True, alpha=0.2)
    ax.margins(0.12)
    ax.legend(title="nearest neighbours of", loc="best", fontsize=9)
    title = "PCA" if method == "pca" else "t-SNE"
    ax.set_title(f"{len(labels)} words, {title} of unit vectors")
    return _save(figure, path)


def _neighbourhoods(kv, words: Sequence[str], neighbours: int) -> list[list[str]]:
    """[word, its nearest words...] for each word, after checking every word is known."""
    if not words:
        raise W2VError("no words to draw; give one or more words")
    missing = [w for w in words if w not in kv]
    if missing:
        raise W2VError(f"not in the vocabulary: {', '.join(repr(w) for w in missing)}; "
                       "check spelling and case")
    return [[w] + [n for n, _ in kv.most_similar(positive=[w], topn=neighbours)]
            for w in dict.fromkeys(words)]


def _draw_group(ax, words: list[str], points: np.ndarray, where: dict, lift: dict,
                colour: str) -> None:
    """The given word (first) as a labelled star, its neighbours as labelled dots."""
    rows = points[[where[w] for w in words]]
    ax.scatter(rows[1:, 0], rows[1:, 1], s=22, color=colour, alpha=0.8)
    ax.scatter(rows[:1, 0], rows[:1, 1], s=160, color=colour, marker="*", edgecolor="black",
               linewidth=0.6, label=words[0], zorder=3)
    for i, (word, (x, y)) in enumerate(zip(words, rows, strict=True)):
        # a label moved off its line gets a faint leader back to its dot
        leader = dict(arrowstyle="-", color=colour, alpha=0.5, linewidth=0.6)
        ax.annotate(word, (x, y), xytext=(5, 3 + lift[word]), textcoords="offset points",
                    fontsize=12 if i == 0 else 9, fontweight="bold" if i == 0 else "normal",
                    color="black" if i == 0 else colour, zorder=4,
                    arrowprops=leader if lift[word] else None)


def _label_lifts(points: np.ndarray, labels: list[str]) -> list[float]:
    """How far (in points) to raise each label so that labels of nearby words do not print
    over each other: each in turn goes up a line while it overlaps one placed before it.

    Positions are estimated from the map's size and margins, not measured: good enough for
    the dozens of words a map holds, without a layout library."""
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    # the data fill about 70% of the figure's width and height (axes, labels, margins)
    scale = 0.7 * 72 * np.array(MAP_SIZE) / np.where(span > 0, span, 1.0)
    spots = (points - low) * scale
    placed: list[tuple[float, float, float]] = []
    lifts = []
    for (x, y), word in zip(spots, labels, strict=True):
        right = x + LABEL_CHAR_WIDTH * (len(word) + 1)
        for lift in _alternating(LABEL_LINE):
            if not any(x < r and left < right and abs(y + lift - b) < LABEL_LINE
                       for left, r, b in placed):
                break
        placed.append((x, right, y + lift))
        lifts.append(lift)
    return lifts


def _alternating(step: float):
    """0, +step, -step, +2 step, -2 step, ...: the nearest free line above or below."""
    yield 0.0
    for k in itertools.count(1):
        yield k * step
        yield -k * step


def _tsne_class():
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise W2VError(
            "t-SNE needs scikit-learn: pip install 'w2v[tsne]' (or scikit-learn), or use PCA"
        ) from None
    return TSNE


def _tsne(vectors: np.ndarray) -> np.ndarray:
    if len(vectors) < 4:
        raise W2VError(f"t-SNE needs at least 4 words, got {len(vectors)}; use --method pca")
    # perplexity must stay below the number of points; 30 is scikit-learn's default
    perplexity = min(30.0, (len(vectors) - 1) / 3)
    tsne = _tsne_class()(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                         random_state=0)
    return tsne.fit_transform(vectors)


def _cumulative(words: np.ndarray) -> np.ndarray:
    """Each train() call counts words from zero: later calls continue where the last ended."""
    ends = np.zeros_like(words)  # at each call's first point: the words of the call before
    ends[1:] = np.where(np.diff(words) < 0, words[:-1], 0.0)
    return words + np.cumsum(ends)


def _count(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:.0f}"


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise W2VError(f"drawing pictures needs matplotlib: {INSTALL}") from None
    return matplotlib


def _figure(size: tuple[float, float]):
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _eng():
    from matplotlib.ticker import EngFormatter

    return EngFormatter(sep="")


def _save(figure, path: Path) -> Path:
    with atomic_write(path) as f:
        figure.savefig(f, format=path.suffix.lower()[1:], dpi=DPI)
    return path
