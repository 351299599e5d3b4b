"""`w2v train`: its options (every `TrainConfig` field, grouped), the run from corpus to files,
and `--resume DIR`, which continues a run from its checkpoint folder with its own settings and
outputs. The library does the work (`w2v.training`); this module turns flags into calls, and
a stop by signal into one line and the shell's exit status.
"""

import argparse
import dataclasses
import json
import os
import sys
import textwrap
import time
import typing
from pathlib import Path

from w2v.apps.arguments import image_path
from w2v.apps.ctool import C_FLAGS
from w2v.atomic import atomic_write, check_writable
from w2v.errors import W2VError
from w2v.vectors import formats

# `w2v similar` and the other query commands must not pay for torch: what imports it (the
# training side) is imported inside the functions that train.

_METAVARS = {int: "N", float: "X", str: "NAME"}


def _config_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class _TrainHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Wraps the description and epilog without splitting word2vec.c flags such as -min-count."""

    def _fill_text(self, text, width, indent):
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


def add_train(sub: argparse._SubParsersAction) -> None:
    from w2v.training.config import TrainConfig

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
    io.add_argument("--plot", metavar="IMAGE", type=image_path,
                    help="also draw loss, learning rate and words/s against words trained")
    tune = p.add_argument_group("fine-tuning")
    tune.add_argument("--init-vectors", metavar="VECTORS", help=(
        "start every vocabulary word that VECTORS has (any vectors file) from its vector"))
    tune.add_argument("--freeze-init", action="store_true",
                      help="keep those words' vectors as they are; the rest train")
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


def run(args: argparse.Namespace) -> None:
    """Train (or resume) from the command line; a torchrun job leaves its group at exit."""
    from w2v.corpus.vocab import Vocab
    from w2v.training import distributed
    from w2v.training.config import TrainConfig
    from w2v.training.word2vec import Word2Vec

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
    if args.freeze_init and not args.init_vectors:
        raise W2VError("--freeze-init freezes the vectors of --init-vectors VECTORS; give both")
    # Read before the corpus is counted: a mistake in the file shows at once.
    init = formats.load_vectors(args.init_vectors) if args.init_vectors else None
    progress = None if args.quiet else sys.stderr
    t0 = time.perf_counter()
    model = Word2Vec(progress=progress, init_vectors=init, freeze_init=args.freeze_init,
                     **options)
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


def _save_job(args: argparse.Namespace, out_format: str) -> None:
    folder = Path(args.checkpoint_dir)
    job = {"corpus": args.corpus, "output": args.output, "output_format": out_format,
           "save_model": args.save_model}
    job = {k: v if v is None or k == "output_format" else os.path.abspath(v)
           for k, v in job.items()}
    with atomic_write(folder / JOB_FILE, "w") as f:
        json.dump(job, f)


def _resume(args: argparse.Namespace) -> None:
    from w2v.training import distributed
    from w2v.training.config import TrainConfig
    from w2v.training.word2vec import Word2Vec

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
    from w2v.training.checkpoint import TrainingInterrupted

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


def _training_curve(model, path: str) -> None:
    from w2v.apps import plot

    plot.training_curve(model.trace, path)
