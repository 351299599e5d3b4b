"""`w2v` on the command line: thin commands over the library.

Each subcommand is a pair in `COMMANDS`: `_add_<name>(sub)` declares its arguments and
`_<name>(args)` runs it, so a new command is two functions and one entry. The query commands
live here and import numpy only; `train` is `train_command`'s, which imports torch when it runs,
and word2vec.c's spellings of it are translated by `ctool`.

Every mistake a user can make (a missing or malformed file, an unknown word, a bad option) prints
one line `w2v: error: ...` to stderr and exits 2, as argparse does for usage errors; Ctrl-C exits
130 without a traceback.

One idea at over 400 lines: the command line's surface, the registry and the eight small query
commands (a declaration and a runner each, 20-40 lines) with the error handling they share.
"""

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from w2v import __version__
from w2v.apps import datasets, phrases_command, train_command
from w2v.apps.arguments import image_path, positive_int
from w2v.apps.ctool import c_tool_argv, is_c_tool_argv
from w2v.errors import W2VError
from w2v.vectors import evaluate, formats

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

def _add_vectors(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("vectors", metavar="VECTORS", help="word vectors file")
    parser.add_argument(
        "--format",
        choices=formats.FORMATS,
        help="format of VECTORS (default: detected from its bytes)",
    )
    parser.add_argument("--limit", type=positive_int, metavar="N", help=(
        "read only the first N words: the N most frequent in files that word2vec.c, gensim "
        "or w2v wrote (default: all)"))
    parser.add_argument("--float16", action="store_true",
                        help="keep the vectors as float16: half the memory, slower queries")


def _add_topn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topn", type=positive_int, default=10, metavar="N", help="how many words (default 10)"
    )


def _add_similar(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("similar", help="the words nearest to WORD", description=(
        "Print the words whose vectors have the highest cosine similarity to WORD's. Without "
        "WORD, read words from a prompt as word2vec.c's `distance` does: each line's words "
        "(several are summed) get their neighbours; an empty line, EXIT or end of input stops."
    ))
    _add_vectors(p)
    p.add_argument("word", metavar="WORD", nargs="?",
                   help="the word to find neighbours of (default: ask at a prompt)")
    _add_topn(p)


def _add_analogy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analogy", help="A is to B as C is to ?", description=(
        "Answer 'A is to B as C is to ?' with the words nearest to B - A + C (3CosAdd). "
        "Without A B C, read them from a prompt as word2vec.c's `word-analogy` does, three "
        "words a line; an empty line, EXIT or end of input stops."
    ))
    _add_vectors(p)
    for name in ("a", "b", "c"):
        p.add_argument(name, metavar=name.upper(), nargs="?")
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
    p.add_argument("--restrict-vocab", type=positive_int, default=300000, metavar="N", help=(
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


def _load(args: argparse.Namespace, path=None):
    """Load the command's vectors; a file detected as GloVe's (no header line) gets a note, so
    that a word2vec file that lost its header is not read as something else unnoticed."""
    path = args.vectors if path is None else path
    limit = getattr(args, "limit", None)
    if args.format is None and formats.detect_format(path) == "glove":
        print(f"w2v: note: {path} has no 'VOCAB_SIZE VECTOR_SIZE' header: reading it as a GloVe "
              "text file (--format glove says so and skips this note)", file=sys.stderr)
    return formats.load_vectors(path, format=args.format, limit=limit,
                                datatype=np.float16 if getattr(args, "float16", False)
                                else np.float32)


def _check_words(kv, words: Iterable[str], source: str) -> None:
    # `in`: a vocabulary word, or for subword vectors any string with an n-gram.
    missing = [w for w in words if w not in kv]
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


def _prompt(ask: str, answer: Callable[[list[str]], None]) -> None:
    """word2vec.c's `distance` loop: read a line, answer its words, repeat until an empty line,
    EXIT or the end of input. A line that cannot be answered gets one line on stderr and the
    loop goes on. The prompt is shown (with readline's history) only to a terminal, so that
    `w2v similar v.bin < words.txt` prints answers alone."""
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (input() keeps a history once it is imported)
    while True:
        try:
            words = input(ask if interactive else "").split()
        except EOFError:
            break
        if not words or words == ["EXIT"]:
            break
        try:
            answer(words)
        except W2VError as error:
            print(f"w2v: {_error_line(error)}", file=sys.stderr)
        if interactive:
            print()
        sys.stdout.flush()


def _similar(args: argparse.Namespace) -> None:
    kv = _load(args)

    def answer(words: list[str]) -> None:
        _check_words(kv, words, args.vectors)
        _print_neighbours(kv.most_similar(positive=words, topn=args.topn))

    if args.word is None:
        _prompt("word or words, summed (empty line ends): ", answer)
    else:
        answer([args.word])


def _analogy(args: argparse.Namespace) -> None:
    given = [w for w in (args.a, args.b, args.c) if w is not None]
    if len(given) not in (0, 3):
        raise W2VError(f"got {len(given)} of the words A B C; give all three, or none for a "
                       "prompt")
    kv = _load(args)

    def answer(words: list[str]) -> None:
        if len(words) != 3:
            raise W2VError(f"{len(words)} words; give three, A B C, for 'A is to B as C is to ?'")
        _check_words(kv, words, args.vectors)
        a, b, c = words
        _print_neighbours(kv.most_similar(positive=[b, c], negative=[a], topn=args.topn))

    if given:
        answer(given)
    else:
        _prompt("A B C, for 'A is to B as C is to ?' (empty line ends): ", answer)


def _eval_file(value: str, names: tuple[str, ...]) -> Path:
    """A path, or the name of a standard set that w2v.apps.datasets finds or downloads."""
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
    kv = _load(args, args.input)
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
    p.add_argument("--index", metavar="PATH", help=(
        "answer neighbours from an approximate HNSW index at PATH, built there on first use "
        "(needs faiss: pip install 'w2v[ann]'); default: exact search"
    ))


def _serve(args: argparse.Namespace) -> None:
    from w2v.apps import explorer as serve

    serve.serve(args.vectors, host=args.host, port=args.port, format=args.format,
                index=args.index, kv=_load(args))


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


def _export(args: argparse.Namespace) -> None:
    from w2v.apps import projector

    kv = _load(args)
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
    p.add_argument("-o", "--output", metavar="IMAGE", required=True, type=image_path,
                   help="picture to write: .png, .svg or .pdf")
    p.add_argument("--neighbours", type=positive_int, default=8, metavar="N",
                   help="nearest words drawn around each WORD (default 8)")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca",
                   help="projection to 2-D (default pca)")


def _plot(args: argparse.Namespace) -> None:
    from w2v.apps import plot

    plot.check_method(args.method)
    kv = _load(args)
    _check_words(kv, args.words, args.vectors)
    plot.word_map(kv, args.words, args.output, neighbours=args.neighbours, method=args.method)
    print(f"wrote {args.output}")
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
    "train": (train_command.add_train, train_command.run),
    "phrases": (phrases_command.add_phrases, phrases_command.run),
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
