"""`w2v` on the command line: thin commands over the library.

Each subcommand is a pair in `COMMANDS`: `_add_<name>(sub)` declares its arguments and
`_<name>(args)` runs it, so a new command (such as `train`) is two functions and one entry.
The query commands import numpy only; a command that needs torch imports it in its own function.

Every mistake a user can make (a missing or malformed file, an unknown word, a bad option) prints
one line `w2v: error: ...` to stderr and exits 2, as argparse does for usage errors; Ctrl-C exits
130 without a traceback.
"""

import argparse
import os
import signal
import sys
import textwrap
import threading
import typing
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from w2v import __version__, datasets, evaluate, formats
from w2v.atomic import check_writable
from w2v.errors import W2VError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
# The shell's code for a process killed by SIGPIPE, as when `w2v similar ... | head` stops reading.
EXIT_BROKEN_PIPE = 141

ANALOGY_SETS = ("questions-words",)
PAIR_SETS = ("wordsim353", "simlex999")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one W2VError line, like every other error."""

    def error(self, message):
        raise W2VError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def _add_vectors(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("vectors", metavar="VECTORS", help="word vectors file")
    parser.add_argument(
        "--format",
        choices=formats.FORMATS,
        help="format of VECTORS (default: detected from its bytes)",
    )


def _add_topn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topn", type=_positive_int, default=10, metavar="N", help="how many words (default 10)"
    )


def _add_similar(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("similar", help="the words nearest to WORD", description=(
        "Print the words whose vectors have the highest cosine similarity to WORD's."
    ))
    _add_vectors(p)
    p.add_argument("word", metavar="WORD", help="the word to find neighbours of")
    _add_topn(p)


def _add_analogy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analogy", help="A is to B as C is to ?", description=(
        "Answer 'A is to B as C is to ?' with the words nearest to B - A + C (3CosAdd)."
    ))
    _add_vectors(p)
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    _add_topn(p)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="analogy accuracy and word-pair correlations", description=(
        "Score vectors on analogy questions and on word pairs with human similarity scores. "
        "With neither --analogies nor --pairs, runs questions-words, wordsim353 and simlex999, "
        "taken from $W2V_HOME (default ~/.cache/w2v), gensim's test data, or downloaded once."
    ))
    _add_vectors(p)
    p.add_argument("--analogies", metavar="FILE", help=(
        "analogy questions in questions-words.txt's format: a path, or 'questions-words'"
    ))
    p.add_argument("--pairs", metavar="FILE", nargs="+", action="extend", help=(
        "tab-separated word pairs with a score: paths, or 'wordsim353' / 'simlex999'"
    ))
    p.add_argument("--restrict-vocab", type=_positive_int, default=300000, metavar="N", help=(
        "only the N most frequent words take part (default 300000)"
    ))
    p.add_argument("--case-sensitive", action="store_true", help=(
        "match words as written (default: compare uppercased, like gensim)"
    ))


def _add_convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="rewrite vectors in another format", description=(
        "Read vectors in one format and write them in another. The output is written to a "
        "temporary file and renamed, so OUT is never left half written."
    ))
    p.add_argument("input", metavar="IN", help="word vectors file to read")
    p.add_argument("output", metavar="OUT", help="file to write")
    p.add_argument(
        "--from", "--format", dest="format", choices=formats.FORMATS,
        help="format of IN (default: detected from its bytes)",
    )
    p.add_argument("--to", choices=formats.FORMATS, help=(
        "format of OUT (default: from its suffix: .bin binary, .txt/.vec text, "
        ".w2v/.safetensors native)"
    ))


def _load(args: argparse.Namespace):
    return formats.load_vectors(args.vectors, format=args.format)


def _check_words(kv, words: Iterable[str], source: str) -> None:
    missing = [w for w in words if w not in kv.key_to_index]
    if missing:
        names = ", ".join(repr(w) for w in missing)
        what = "word" if len(missing) == 1 else "words"
        verb = "is" if len(missing) == 1 else "are"
        raise W2VError(
            f"{what} {names} {verb} not in the vocabulary of {source}; check spelling and case"
        )


def _print_neighbours(pairs: list[tuple[str, float]]) -> None:
    width = max((len(word) for word, _ in pairs), default=0)
    for word, similarity in pairs:
        print(f"{word:<{width}}  {similarity:>7.4f}")


def _similar(args: argparse.Namespace) -> None:
    kv = _load(args)
    _check_words(kv, [args.word], args.vectors)
    _print_neighbours(kv.most_similar(positive=[args.word], topn=args.topn))


def _analogy(args: argparse.Namespace) -> None:
    kv = _load(args)
    _check_words(kv, [args.a, args.b, args.c], args.vectors)
    _print_neighbours(kv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.topn))


def _eval_file(value: str, names: tuple[str, ...]) -> Path:
    """A path, or the name of a standard set that w2v.datasets finds or downloads."""
    path = Path(value)
    if not path.exists() and value in names:
        return datasets.find(value)
    if not path.is_file():
        raise W2VError(f"no evaluation file at {value}; give a path or one of {', '.join(names)}")
    return path


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Print the first column left-aligned and the others right-aligned, two spaces apart."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        cells = [row[0].ljust(widths[0]), *rest]
        print("  ".join(cells).rstrip())


def _accuracy_row(name: str, correct: int, total: int) -> tuple[str, ...]:
    accuracy = f"{100 * correct / total:.1f}%" if total else "n/a"
    return (name, str(correct), str(total), accuracy)


def _count_questions(path: Path) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.strip() and not line.startswith(":"))


def _print_analogies(kv, path: Path, args: argparse.Namespace) -> None:
    _, sections = evaluate.evaluate_word_analogies(
        kv, path, restrict_vocab=args.restrict_vocab, case_insensitive=not args.case_sensitive
    )
    # The last section is gensim's "Total accuracy"; the total is summed here from the rest.
    sections = [s for s in sections if s["section"] != "Total accuracy"]
    rows = [
        _accuracy_row(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
        for s in sections
    ]
    correct = sum(int(row[1]) for row in rows)
    total = sum(int(row[2]) for row in rows)
    print(f"analogies: {path}")
    rows.append(_accuracy_row("total", correct, total))
    _table(("section", "correct", "total", "accuracy"), rows)
    asked = _count_questions(path)
    print(
        f"skipped: {asked - total} of {asked} questions "
        "(a word outside the vocabulary or past --restrict-vocab)"
    )


def _print_pairs(kv, paths: list[Path], args: argparse.Namespace) -> None:
    rows = []
    for path in paths:
        (pearson, _), (spearman, _), oov = evaluate.evaluate_word_pairs(
            kv, path, restrict_vocab=args.restrict_vocab, case_insensitive=not args.case_sensitive
        )
        rows.append((path.name, f"{pearson:.4f}", f"{spearman:.4f}", f"{oov:.1f}%"))
    _table(("word pairs", "pearson", "spearman", "OOV"), rows)


def _evaluate(args: argparse.Namespace) -> None:
    analogy_arg, pair_args = args.analogies, args.pairs or []
    if analogy_arg is None and not pair_args:
        analogy_arg, pair_args = ANALOGY_SETS[0], PAIR_SETS
    # Every file is found before the vectors load, so a typo fails in a moment, not after it.
    analogies = _eval_file(analogy_arg, ANALOGY_SETS) if analogy_arg else None
    pairs = [_eval_file(value, PAIR_SETS) for value in pair_args]
    kv = _load(args)
    if analogies is not None:
        _print_analogies(kv, analogies, args)
    if analogies is not None and pairs:
        print()
    if pairs:
        _print_pairs(kv, pairs, args)


def _convert(args: argparse.Namespace) -> None:
    out_format = args.to or formats.format_from_suffix(args.output)
    kv = formats.load_vectors(args.input, format=args.format)
    formats.save_vectors(kv, args.output, out_format)
    words, dims = kv.vectors.shape
    print(f"wrote {args.output}: {words} words x {dims} dimensions, {out_format} format")


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="explore the vectors in a web browser", description=(
        "Serve a web page for exploring VECTORS: a word's nearest neighbours, a 2-D map of its "
        "neighbourhood, analogies. It listens on this machine only unless --host says otherwise; "
        "Ctrl-C stops it."
    ))
    _add_vectors(p)
    p.add_argument("--host", default="127.0.0.1", help=(
        "address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for every network)"
    ))
    p.add_argument("--port", type=_port, default=8000,
                   help="port (default 8000; 0 picks a free one)")


def _serve(args: argparse.Namespace) -> None:
    from w2v import serve

    serve.serve(args.vectors, host=args.host, port=args.port, format=args.format)



def _image_path(text: str) -> str:
    """A picture file to write; checked (matplotlib, suffix, folder) before any work starts."""
    from w2v import plot

    try:
        plot.check_output(text)
    except W2VError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _training_curve(model, path: str) -> None:
    from w2v import plot

    plot.training_curve(model.trace, path)


def _add_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch a corpus or evaluation set into the cache",
                       description=(
        "Download NAME into $W2V_HOME (default ~/.cache/w2v), check its checksum, unpack it "
        "(text8.zip gives text8) and print its path. An interrupted download resumes where it "
        "stopped. Without NAME, list the names and what is already there."
    ))
    p.add_argument("name", metavar="NAME", nargs="?",
                   help=f"one of {', '.join(datasets.DATASETS)}")
    p.add_argument("--force", action="store_true",
                   help="download again even if the file is in the cache")


def _download(args: argparse.Namespace) -> None:
    if args.name is not None:
        print(datasets.fetch(args.name, force=args.force, progress=sys.stderr))
        return
    width = max(len(name) for name in datasets.DATASETS)
    for name, dataset in datasets.DATASETS.items():
        try:
            where = str(datasets.find(name, download=False))
        except W2VError:
            where = "not downloaded"
        print(f"{name:<{width}}  {dataset.size / 2**20:5.1f} MiB  {where}")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write vectors for TensorBoard's Embedding Projector",
                       description=(
        "Write vectors.tsv, metadata.tsv (one word per line) and projector_config.pbtxt into "
        "DIR; view them with 'tensorboard --logdir DIR' (Projector tab), or load the two TSV "
        "files into the standalone Embedding Projector."
    ))
    _add_vectors(p)
    p.add_argument("--projector", metavar="DIR", required=True,
                   help="folder to write to (created if missing)")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="only the N most frequent words (default: all)")


def _export(args: argparse.Namespace) -> None:
    from w2v import projector

    kv = formats.load_vectors(args.vectors, format=args.format, limit=args.limit)
    folder, count = projector.export(kv, args.projector)
    print(f"wrote {count} words x {kv.vector_size} dimensions to {folder}; "
          f"view with: tensorboard --logdir {folder}")


def _add_plot(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw words and their nearest neighbours on a 2-D map",
                       description=(
        "Draw each WORD and its nearest neighbours (cosine), projected to 2-D, as a labelled "
        "picture. Needs matplotlib (pip install 'w2v[plot]'); t-SNE also needs scikit-learn."
    ))
    _add_vectors(p)
    p.add_argument("words", metavar="WORD", nargs="+", help="words to draw")
    p.add_argument("-o", "--output", metavar="IMAGE", required=True, type=_image_path,
                   help="picture to write: .png, .svg or .pdf")
    p.add_argument("--neighbours", type=_positive_int, default=8, metavar="N",
                   help="nearest words drawn around each WORD (default 8)")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca",
                   help="projection to 2-D (default pca)")


def _plot(args: argparse.Namespace) -> None:
    from w2v import plot

    plot.check_method(args.method)
    kv = _load(args)
    _check_words(kv, args.words, args.vectors)
    plot.word_map(kv, args.words, args.output, neighbours=args.neighbours, method=args.method)
    print(f"wrote {args.output}")

_METAVARS = {int: "N", float: "X", str: "NAME"}


def _config_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class _TrainHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Wraps the description and epilog without splitting word2vec.c flags such as -min-count."""

    def _fill_text(self, text, width, indent):
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


def _add_train(sub: argparse._SubParsersAction) -> None:
    import dataclasses

    from w2v.config import TrainConfig

    p = sub.add_parser("train", help="train word vectors on a corpus", description=(
        "Train CBOW word vectors with negative sampling on CORPUS (a text file with a sentence "
        "per line, a text8-style single line, a folder of files; .gz/.bz2/.xz read as they are) "
        "and write them to OUT."
    ), epilog=(
        "word2vec.c's command line works too: 'w2v train -train text8 -output vec.bin -cbow 1 "
        "-size 200 -window 8 -negative 25 -hs 0 -sample 1e-4 -threads 20 -binary 1 -iter 15'. "
        "With those spellings the C tool's defaults apply (-cbow 1, -size 100, -window 5, "
        "-sample 1e-3, -hs 0, -negative 5, -iter 5, -min-count 5, -alpha 0.05 for CBOW and "
        "0.025 for skip-gram, -binary 0: text output whatever the suffix), except -threads, "
        "which defaults to 0 (one thread per core) rather than 12. Accepted: "
        + " ".join(C_FLAGS) + "; -classes only as 0."
    ), formatter_class=_TrainHelp)
    p.add_argument("corpus", metavar="CORPUS", nargs="?",
                   help="training text (with --resume: the run's own unless given)")
    io = p.add_argument_group("output")
    io.add_argument("-o", "--output", metavar="OUT",
                    help="vectors file; .bin binary, .txt/.vec text, .w2v native")
    io.add_argument("--resume", metavar="DIR",
                    help="continue the run whose --checkpoint-dir is DIR from its newest "
                         "checkpoint, with its settings and outputs")
    io.add_argument("--save-model", metavar="PATH",
                    help="also save the whole model (both tables, settings) to continue later")
    io.add_argument("--save-vocab", metavar="PATH", help="write the vocabulary as 'word count'")
    io.add_argument("--read-vocab", metavar="PATH",
                    help="use this 'word count' vocabulary instead of counting the corpus")
    io.add_argument("--quiet", action="store_true", help="no progress, only errors")
    io.add_argument("--plot", metavar="IMAGE", type=_image_path,
                    help="also draw loss, learning rate and words/s against words trained")
    # Set by word2vec.c's -binary (see c_tool_argv): the format, whatever OUT's suffix says.
    io.add_argument("--output-format", choices=formats.FORMATS, help=argparse.SUPPRESS)
    fields = dataclasses.fields(TrainConfig)
    groups = {name: p.add_argument_group(name)
              for name in dict.fromkeys(f.metadata["group"] for f in fields)}
    for f in fields:
        group = groups[f.metadata["group"]]
        if f.type is bool:
            group.add_argument(_config_flag(f.name), action=argparse.BooleanOptionalAction,
                               default=f.default, help=f.metadata["help"])
            continue
        kind = next(t for t in (int, float, str) if t == f.type or t in typing.get_args(f.type))
        group.add_argument(_config_flag(f.name), type=kind, default=f.default,
                           choices=f.metadata.get("choices"),
                           metavar=None if "choices" in f.metadata
                           else f.metadata.get("metavar", _METAVARS[kind]),
                           help=f.metadata["help"])


JOB_FILE = "job.json"  # in a checkpoint folder: the command's files, for `--resume DIR`
JOB_KEYS = ("corpus", "output", "output_format", "save_model")


def _train(args: argparse.Namespace) -> None:
    import dataclasses
    import time

    from w2v import distributed
    from w2v.config import TrainConfig
    from w2v.vocab import Vocab
    from w2v.word2vec import Word2Vec

    if args.resume:
        _resume(args)
        return
    if args.corpus is None or args.output is None:
        raise W2VError("w2v train needs CORPUS and -o OUT (or --resume DIR to continue a run)")
    options = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    if options["checkpoint_dir"]:  # resumes run from anywhere
        options["checkpoint_dir"] = os.path.abspath(options["checkpoint_dir"])
        try:  # up front, not after the vocabulary
            Path(options["checkpoint_dir"]).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise W2VError(f"cannot create checkpoint folder {options['checkpoint_dir']}: "
                           f"{e.strerror}; choose another --checkpoint-dir") from None
    out_format = args.output_format or formats.format_from_suffix(args.output)
    for path in filter(None, (args.output, args.save_model, args.save_vocab)):
        check_writable(path)
    progress = None if args.quiet else sys.stderr
    t0 = time.perf_counter()
    model = Word2Vec(progress=progress, **options)
    vocab = None
    if args.read_vocab:
        vocab = Vocab.load(args.read_vocab, options["min_count"], options["max_final_vocab"])
    model.build_vocab(corpus_file=args.corpus, vocab=vocab)
    if model.decode_errors:
        print(f"w2v: warning: {args.corpus}: {model.decode_errors} invalid UTF-8 byte sequences "
              "were replaced by U+FFFD", file=sys.stderr)
    writer = distributed.rank() == 0  # in a torchrun job, rank 0 alone writes and reports
    if args.save_vocab and writer:
        assert model.vocab is not None  # build_vocab() above made it
        model.vocab.save(args.save_vocab)
    if args.checkpoint_dir and writer:
        _save_job(args, out_format)
    t1 = time.perf_counter()
    _train_interruptible(model.train, args.checkpoint_dir)
    t2 = time.perf_counter()
    if writer:
        _write_outputs(model, args.output, out_format, args.save_model)
    if writer and args.plot:
        _training_curve(model, args.plot)
    if writer and not args.quiet:
        _summary(model, t1 - t0, t2 - t1, args.output)


def _leaving_the_group(command, args: argparse.Namespace) -> None:
    """Run `command`; in a torchrun job, leave the process group however it ends."""
    try:
        command(args)
    finally:
        if "torch.distributed" in sys.modules:
            from w2v import distributed

            distributed.leave()


def _save_job(args: argparse.Namespace, out_format: str) -> None:
    import json

    from w2v.atomic import atomic_write

    folder = Path(args.checkpoint_dir)
    job = {"corpus": args.corpus, "output": args.output, "output_format": out_format,
           "save_model": args.save_model}
    job = {k: v if v is None or k == "output_format" else os.path.abspath(v)
           for k, v in job.items()}
    with atomic_write(folder / JOB_FILE, "w") as f:
        json.dump(job, f)


def _resume(args: argparse.Namespace) -> None:
    import dataclasses
    import json
    import time

    from w2v import distributed
    from w2v.config import TrainConfig
    from w2v.word2vec import Word2Vec

    ignored = [_config_flag(f.name) for f in dataclasses.fields(TrainConfig)
               if getattr(args, f.name) != f.default]
    ignored += [flag for flag, value in (("--save-vocab", args.save_vocab),
                                         ("--read-vocab", args.read_vocab)) if value]
    if ignored:
        raise W2VError(f"--resume continues a run with the settings it was started with; "
                       f"drop {' '.join(ignored)}")
    try:
        job = json.loads((Path(args.resume) / JOB_FILE).read_text())
        ok = isinstance(job, dict) and all(k in job for k in JOB_KEYS)
    except (OSError, ValueError):
        ok = False
    if not ok:
        raise W2VError(f"cannot resume from {args.resume}: no readable {JOB_FILE}; give the "
                       "--checkpoint-dir of a `w2v train` run")
    output = args.output or job["output"]
    out_format = (args.output_format or formats.format_from_suffix(output) if args.output
                  else job["output_format"])
    save_model = args.save_model or job["save_model"]
    for path in filter(None, (output, save_model)):
        check_writable(path)
    t0 = time.perf_counter()
    model = _train_interruptible(
        lambda: Word2Vec.resume(args.resume, corpus_file=args.corpus or job["corpus"],
                                progress=None if args.quiet else sys.stderr),
        args.resume)
    if distributed.rank() == 0:
        _write_outputs(model, output, out_format, save_model)
        if args.plot:  # the curve of the resumed part: the trace is not kept in checkpoints
            _training_curve(model, args.plot)
        if not args.quiet:
            _summary(model, 0.0, time.perf_counter() - t0, output)


def _train_interruptible(train, checkpoint_dir):
    """Run `train()`; a signal that stopped it after a checkpoint becomes one line and the
    shell's exit status for that signal."""
    from w2v.checkpoint import TrainingInterrupted

    try:
        return train()
    except TrainingInterrupted as stop:
        print(f"w2v: {stop}; continue with: w2v train --resume {checkpoint_dir}",
              file=sys.stderr)
        raise SystemExit(128 + stop.signum) from None


def _write_outputs(model, output: str, out_format: str, save_model: str | None) -> None:
    formats.save_vectors(model.wv, output, out_format)
    if save_model:
        model.save(save_model)


def _summary(model, vocab_seconds: float, train_seconds: float, output: str) -> None:
    words = sum(h.words for h in model.history)
    losses = " ".join(f"{h.loss:.4f}" for h in model.history)
    print(
        f"vocabulary {len(model.vocab):,} words from {model.corpus.corpus_words:,} tokens "
        f"({vocab_seconds:.1f}s) | trained {words:,} words in {train_seconds:.1f}s = "
        f"{words / max(train_seconds, 1e-9):,.0f} words/s | epoch loss {losses} | "
        f"vectors: {output}",
        file=sys.stderr,
    )


# word2vec.c's flags: each takes one value, parsed as this type.
C_FLAGS: dict[str, type] = {
    "-train": str, "-output": str, "-size": int, "-window": int, "-sample": float, "-hs": int,
    "-negative": int, "-threads": int, "-iter": int, "-min-count": int, "-alpha": float,
    "-cbow": int, "-binary": int, "-save-vocab": str, "-read-vocab": str, "-debug": int,
    "-classes": int,
}
# Flags whose value passes straight to one of our options (TrainConfig's or train's own).
_C_TO_OURS = {
    "-size": "--vector-size", "-window": "--window", "-sample": "--sample", "-hs": "--hs",
    "-negative": "--negative", "-threads": "--workers", "-iter": "--epochs",
    "-min-count": "--min-count", "-save-vocab": "--save-vocab", "-read-vocab": "--read-vocab",
}
# word2vec.c's defaults where they are not already TrainConfig's (-threads keeps ours: all cores).
_C_DEFAULTS = {"-size": 100, "-window": 5, "-sample": 1e-3, "-hs": 0, "-negative": 5, "-iter": 5,
               "-min-count": 5, "-cbow": 1, "-binary": 0}


def is_c_tool_argv(argv: list[str]) -> bool:
    """Whether train's arguments use word2vec.c's spellings: a single-dash word such as -train
    first, or any of its known flags anywhere (to report a mix with ours)."""
    if not argv:
        return False
    first = argv[0]
    single_dash_word = (first.startswith("-") and not first.startswith("--") and len(first) > 2
                        and not first[1:2].isdigit())
    return single_dash_word or any(a in C_FLAGS for a in argv)


def _c_value(flag: str, text: str) -> str | int | float:
    kind = C_FLAGS[flag]
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise W2VError(f"word2vec.c option {flag} expects {what}, got {text!r}") from None


def _c_binary(flag: str, value: str | int | float) -> int:
    if value not in (0, 1):
        raise W2VError(f"word2vec.c option {flag} must be 0 or 1, got {value}")
    return int(value)


def c_tool_argv(argv: list[str]) -> list[str]:
    """Translate word2vec.c's command line (the arguments after `train`) into ours.

    `-train text8 -output vec.bin -cbow 1 -size 200 ...` becomes `text8 -o vec.bin --sg 0
    --vector-size 200 ... --output-format text|binary`, with the C tool's defaults for what is
    not given, its learning rate rule (-alpha 0.05 for CBOW, 0.025 for skip-gram, decaying to
    alpha * 1e-4) and -binary (default 0: text) deciding the output format, not the suffix.
    """
    values: dict[str, str | int | float] = {}
    i = 0
    while i < len(argv):
        flag = argv[i]
        if flag.startswith("--") or flag in ("-o", "-h"):
            raise W2VError(
                f"{flag} is a w2v option but the command uses word2vec.c's spellings (-train, "
                "-size, ...); use one style: either word2vec.c's flags only, or "
                "'w2v train CORPUS -o OUT --option VALUE'"
            )
        if flag not in C_FLAGS:
            if not flag.startswith("-"):
                raise W2VError(
                    f"unexpected {flag!r}: with word2vec.c's spellings every argument is a flag "
                    "and its value (the corpus is -train FILE); use one style, not both"
                )
            raise W2VError(f"unknown word2vec.c option {flag}; w2v train accepts "
                           f"{' '.join(C_FLAGS)}")
        if i + 1 >= len(argv) or argv[i + 1] in C_FLAGS:
            raise W2VError(f"word2vec.c option {flag} needs a value")
        if flag in values:
            raise W2VError(f"word2vec.c option {flag} is given twice")
        values[flag] = _c_value(flag, argv[i + 1])
        i += 2
    for flag in ("-train", "-output"):
        if flag not in values:
            raise W2VError(f"word2vec.c option {flag} FILE is missing; w2v train needs "
                           "-train CORPUS and -output VECTORS")
    if values.get("-classes", 0) != 0:
        raise W2VError("-classes (k-means word classes) is not supported: w2v writes word "
                       "vectors only; drop -classes or give -classes 0")
    values = {**_C_DEFAULTS, **values}
    cbow = _c_binary("-cbow", values["-cbow"])
    binary = _c_binary("-binary", values["-binary"])
    alpha = float(values.get("-alpha", 0.05 if cbow else 0.025))
    ours = [str(values["-train"]), "-o", str(values["-output"]),
            "--output-format", "binary" if binary else "text", "--sg", str(1 - cbow),
            # word2vec.c decays alpha linearly towards 0, never below alpha * 1e-4.
            "--alpha", repr(alpha), "--min-alpha", repr(alpha * 1e-4)]
    for flag, option in _C_TO_OURS.items():
        if flag in values:
            ours += [option, str(values[flag])]
    if values.get("-debug") == 0:
        ours.append("--quiet")
    return ours


COMMANDS: dict[
    str,
    tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], None]],
] = {
    "similar": (_add_similar, _similar),
    "analogy": (_add_analogy, _analogy),
    "evaluate": (_add_evaluate, _evaluate),
    "convert": (_add_convert, _convert),
    "serve": (_add_serve, _serve),
    "download": (_add_download, _download),
    "export": (_add_export, _export),
    "plot": (_add_plot, _plot),
    "train": (_add_train, lambda args: _leaving_the_group(_train, args)),
}


def build_parser() -> argparse.ArgumentParser:
    """The `w2v` argument parser with every command in `COMMANDS`."""
    parser = _Parser(prog="w2v", description="Word2Vec in PyTorch: train, query, evaluate.")
    parser.add_argument("--version", action="version", version=f"w2v {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _error_line(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return _one_line(str(error.args[0]))
    if isinstance(error, OSError) and error.filename is not None:
        return _one_line(f"{error.filename}: {error.strerror or error}")
    return _one_line(str(error))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # A warning is news for the user (say, repeated words in a file), not for a developer: one
    # line, without the source location Python would add.
    print(f"w2v: warning: {_one_line(str(message))}", file=sys.stderr)


def _terminate(signum, frame) -> None:
    # SIGTERM unwinds like Ctrl-C does, so temporary files (the encoded corpus) are removed.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the `w2v` command line; return the exit status (0, 2 on error, 130 on Ctrl-C, 143
    on SIGTERM)."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv[:1] == ["train"] and is_c_tool_argv(argv[1:]):
            argv = ["train", *c_tool_argv(argv[1:])]
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help and --version print, then end here
            return _exit_status(done)
        COMMANDS[args.command][1](args)
        sys.stdout.flush()
    except SystemExit as done:
        return _exit_status(done)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Point stdout at /dev/null so Python's flush at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (W2VError, KeyError, OSError, UnicodeDecodeError) as error:
        print(f"w2v: error: {_error_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    return 0


def _exit_status(done: SystemExit) -> int:
    """The status a SystemExit ends the process with: its int code, None for 0 (success), and
    1 for a message (argparse and w2v exit with int codes only)."""
    code = done.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
