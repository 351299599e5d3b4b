"""`TrainConfig`: every training option, its default, its help text and its validation.

The CLI flags, the `Word2Vec` keyword arguments and the saved model's settings all come from this
one dataclass, so an option is added in exactly one place. Names and defaults are gensim's where
gensim has the option, except CBOW's starting learning rate: word2vec.c's 0.05 (`default_alpha`).
"""

import dataclasses
import re
from dataclasses import dataclass, field

from w2v.errors import W2VError
from w2v.vectors.ngrams import check_subword_options

OPTIMIZERS = ("sgd", "adam", "sparseadam", "rmsprop", "adagrad")
UPDATES = ("auto", "kernel", "fused", "batched", "autograd")
SYNC_DTYPES = ("float32", "bfloat16")


def _opt(default, help, group, **extra):
    return field(default=default, metadata={"help": help, "group": group, **extra})


@dataclass
class TrainConfig:
    # corpus
    lowercase: bool = _opt(False, "lowercase every token", "corpus")
    tokenize: bool = _opt(
        False, "split raw text into words, dropping punctuation (for novels, web text)", "corpus"
    )
    max_sentence_length: int = _opt(
        10000, "cut longer sentences (and text8's single line) into pieces of this many words",
        "corpus",
    )
    # vocabulary
    min_count: int = _opt(5, "ignore words seen fewer times than this", "vocabulary")
    # word2vec.c prunes past 21M words (0.7 of its 30M-slot hash); gensim never does by default.
    # A table of 20M words takes about 1.2 GB: a corpus of fewer distinct words is unaffected.
    max_vocab_size: int | None = _opt(
        20_000_000, "prune rare words while counting whenever more than this many are held, as "
        "gensim does (bounds memory on huge corpora; None: never)", "vocabulary",
    )
    max_final_vocab: int | None = _opt(
        None, "keep at most this many words, raising min_count as needed", "vocabulary"
    )
    sample: float = _opt(
        1e-3, "downsample words more frequent than this (0 disables; word2vec.c's -sample)",
        "vocabulary",
    )
    sorted_vocab: int = _opt(
        1, "1: word ids by descending count (word2vec.c); 0: in the order first seen",
        "vocabulary", choices=(0, 1),
    )
    null_word: int = _opt(
        0, "1: add gensim's '\\0' pseudo-word (count 1) at the end of the vocabulary",
        "vocabulary", choices=(0, 1),
    )
    # model
    sg: int = _opt(0, "1: skip-gram, 0: CBOW", "model", choices=(0, 1))
    hs: int = _opt(
        0, "1: hierarchical softmax (alone with --negative 0, or beside negative sampling)",
        "model", choices=(0, 1),
    )
    vector_size: int = _opt(100, "dimensionality of the word vectors", "model")
    window: int = _opt(5, "largest distance between the target and a context word", "model")
    negative: int = _opt(5, "noise words per example for negative sampling (0: none)", "model")
    ns_exponent: float = _opt(
        0.75, "noise distribution is count**ns_exponent (0.75 in word2vec)", "model"
    )
    cbow_mean: int = _opt(
        1, "1: average the context vectors, 0: sum them", "model", choices=(0, 1)
    )
    shrink_windows: bool = _opt(
        True, "draw each target's window from 1..window (word2vec.c); off: always window",
        "model",
    )
    subwords: bool = _opt(
        False, "fastText's model: a word's input vector is the mean of its own row and its "
        "character n-grams' rows (--min-n to --max-n characters, hashed into --bucket rows), so "
        "that any word, seen or not, has a vector", "model",
    )
    min_n: int = _opt(3, "shortest character n-gram of --subwords (fastText's -minn)", "model")
    max_n: int = _opt(6, "longest character n-gram of --subwords (fastText's -maxn)", "model")
    bucket: int = _opt(
        2_000_000, "rows the n-grams of --subwords are hashed into (fastText's -bucket)", "model"
    )
    # optimisation
    alpha: float = _opt(
        None, "initial learning rate (default: word2vec.c's, 0.05 for CBOW and 0.025 for "
        "skip-gram, gensim uses 0.025 for both; with --update autograd 0.025, and with "
        "--optimizer adam or sparseadam 0.03, rmsprop 0.01, adagrad 0.1, measured in "
        "BENCHMARKS.md)", "optimisation",
    )
    min_alpha: float = _opt(
        1e-4, "learning rate reached at the end, decaying linearly by words processed",
        "optimisation",
    )
    epochs: int = _opt(5, "passes over the corpus", "optimisation")
    batch_size: int = _opt(
        1024, "examples (target words) per step of the batched and autograd updates",
        "optimisation"
    )
    optimizer: str = _opt(
        "sgd",
        "sgd reproduces word2vec.c; adam, sparseadam, rmsprop, adagrad use torch.optim",
        "optimisation",
        choices=OPTIMIZERS,
    )
    update: str = _opt(
        "auto",
        "kernel: word2vec.c's loop compiled, lock-free threads (CPU); batched: the same update "
        "on batches of tensors (any device); autograd: loss.backward() and --optimizer; "
        "fused: word2vec.c's loop as one Triton kernel per chunk (CUDA GPU); "
        "auto: kernel on CPU, fused on GPU (batched where triton is missing)",
        "optimisation",
        choices=UPDATES,
    )
    batch_damping: bool = _opt(
        True, "batched update: scale back a row whose summed update in one batch would "
        "overshoot (a frequent word many times in a large batch), so large batches do not "
        "diverge; off: word2vec.c's plain summed update", "optimisation",
    )
    seed: int = _opt(1, "seed for initialisation, subsampling, windows and noise", "optimisation")
    device: str = _opt("auto", "cpu, cuda, cuda:N, or auto (cuda when available)", "optimisation")
    workers: int = _opt(
        0, "CPU threads (0: one per core this process may use); with 1, a seeded kernel run is "
        "bit-for-bit repeatable",
        "optimisation",
    )
    private_nodes: int = _opt(
        512, "with --hs 1 and several workers, each thread updates its own copy of the Huffman "
        "tree's top this many nodes (on nearly every word's path) and adds its changes to the "
        "shared table every 1,024 words; shared, those rows moved between cores on every write "
        "and two threads trained slower than one (BENCHMARKS.md); 0: all rows shared, as in "
        "word2vec.c", "optimisation",
    )

    # checkpoints
    checkpoint_dir: str | None = _opt(
        None, "save the training state in this folder at each epoch end, every "
        "--checkpoint-every minutes and on SIGINT/SIGTERM; continue with --resume DIR",
        "checkpoints", metavar="DIR",
    )
    checkpoint_every: float = _opt(
        30.0, "minutes between checkpoints within an epoch (0: at epoch ends only)",
        "checkpoints",
    )

    # distributed (torchrun)
    sync_words: int = _opt(
        0, "words each rank trains between exchanges of changed rows (torchrun runs); 0: "
        "rounds of 1/64 of an epoch, at most 262,144 words per rank", "distributed",
    )
    # Both measured at no cost in accuracy on two corpora, 4 ranks (BENCHMARKS.md): together
    # they send 3.5-3.8 times fewer bytes an exchange.
    sync_dtype: str = _opt(
        "bfloat16", "the type row changes are summed in across ranks (bfloat16: half the bytes "
        "of float32)", "distributed", choices=SYNC_DTYPES,
    )
    sync_rare_every: int = _opt(
        4, "exchange the rows of rare words (expected less than once a round) only every this "
        "many rounds, the frequent ones every round (Ji et al.'s tiered schedule; 1: every row "
        "every round)", "distributed",
    )
    sync_overlap: bool = _opt(
        False, "send each round's summed row changes while the next round trains, and apply "
        "them a round late (the tables one round staler)", "distributed",
    )
    dist_timeout: float = _opt(
        300.0, "seconds a rank waits for the others before the job stops with an error",
        "distributed",
    )

    def __post_init__(self):
        if self.alpha is None:
            self.alpha = default_alpha(self.sg, self.optimizer, self.update)
        self.validate()

    def validate(self):
        """Raise W2VError naming the first nonsensical option and the accepted range."""
        positive = ("vector_size", "window", "epochs", "batch_size", "max_sentence_length")
        for name in positive:
            _require(name, getattr(self, name), lambda v: isinstance(v, int) and v >= 1, ">= 1")
        _require("min_count", self.min_count, lambda v: isinstance(v, int) and v >= 1, ">= 1")
        _require("negative", self.negative, lambda v: isinstance(v, int) and v >= 0, ">= 0")
        _require("workers", self.workers, lambda v: isinstance(v, int) and v >= 0, ">= 0")
        _require("private_nodes", self.private_nodes,
                 lambda v: isinstance(v, int) and v >= 0, ">= 0 (0: every row shared)")
        _require("sync_words", self.sync_words, lambda v: isinstance(v, int) and v >= 0,
                 ">= 0 (0: chosen from the corpus)")
        _require("sync_rare_every", self.sync_rare_every,
                 lambda v: isinstance(v, int) and v >= 1, ">= 1 (1: every row every round)")
        for name in ("max_vocab_size", "max_final_vocab"):
            value = getattr(self, name)
            _require(name, value, lambda v: v is None or (isinstance(v, int) and v >= 1),
                     ">= 1 or None")
        _require("sample", self.sample, lambda v: 0 <= v < 1, "in [0, 1)")
        _require("dist_timeout", self.dist_timeout, lambda v: v > 0, "> 0 seconds")
        _require("checkpoint_every", self.checkpoint_every, lambda v: v >= 0, ">= 0 minutes")
        _require("alpha", self.alpha, lambda v: 0 < v < float("inf"), "a finite number > 0")
        _require("min_alpha", self.min_alpha, lambda v: 0 <= v <= self.alpha,
                 f"in [0, alpha={self.alpha}]")
        _require("ns_exponent", self.ns_exponent, lambda v: -10 <= v <= 10, "in [-10, 10]")
        for name in ("sg", "hs", "cbow_mean", "sorted_vocab", "null_word"):
            _require(name, getattr(self, name), lambda v: v in (0, 1), "0 or 1")
        if self.subwords:
            check_subword_options(self.min_n, self.max_n, self.bucket)
            if self.update in ("batched", "autograd"):
                raise W2VError(f"subwords=True (fastText's model) trains with the compiled CPU "
                               f"kernel or the fused GPU kernel, not update={self.update!r}: "
                               "use update='auto'")
        if self.hs and self.update in ("fused", "batched", "autograd"):
            raise W2VError(f"hs=1 (hierarchical softmax) trains with the compiled CPU kernel "
                           f"only, not update={self.update!r}: use update='auto' or 'kernel', "
                           "or negative sampling (hs=0)")
        if self.negative == 0 and self.hs == 0:
            raise W2VError("negative=0 and hs=0 leave nothing to train: set negative >= 1 "
                           "(negative sampling) or hs=1 (hierarchical softmax)")
        _require("seed", self.seed, lambda v: isinstance(v, int) and 0 <= v < 2**32,
                 "a whole number in [0, 2**32)")
        _require("device", self.device,
                 lambda v: re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v) is not None,
                 "auto, cpu, cuda, cuda:N or mps")
        _require("optimizer", self.optimizer, lambda v: v in OPTIMIZERS, f"one of {OPTIMIZERS}")
        _require("update", self.update, lambda v: v in UPDATES, f"one of {UPDATES}")
        _require("sync_dtype", self.sync_dtype, lambda v: v in SYNC_DTYPES,
                 f"one of {SYNC_DTYPES}")
        if self.update != "autograd" and self.optimizer != "sgd":
            raise W2VError(
                f"optimizer={self.optimizer!r} needs update='autograd' (--update autograd); "
                f"update={self.update!r} is word2vec.c's plain SGD"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise W2VError(f"unknown training option(s) {unknown}; known options: {sorted(known)}")
        return cls(**values)


# Starting rates of torch.optim's adaptive optimizers (update="autograd"), from
# `python benchmarks/optimizers.py sweep` (the four novels, CBOW, 3 epochs; BENCHMARKS.md): the
# rate with the best WordSim-353 there. At a third of it and below, every word vector still
# pointed one way after training (Adam's usual 0.001: mean cosine 0.999 between the 1,000 most
# frequent words); at three times it Adam and SparseAdam diverged.
OPTIMIZER_ALPHA = {"adam": 0.03, "sparseadam": 0.03, "rmsprop": 0.01, "adagrad": 0.1}
# Plain SGD through autograd adds up a batch's updates of one row, all taken from the same stale
# vectors (the kernel applies them one after another; the batched update damps the sum): at
# CBOW's 0.05 it diverged on the text8-like corpus after 1.8M words, at 0.025 it trained
# (`python benchmarks/optimizers.py compare`, BENCHMARKS.md).
AUTOGRAD_SGD_ALPHA = 0.025


def default_alpha(sg: int, optimizer: str = "sgd", update: str = "auto") -> float:
    """The starting learning rate: OPTIMIZER_ALPHA's for an adaptive optimizer,
    AUTOGRAD_SGD_ALPHA for SGD through autograd, and otherwise word2vec.c's: 0.05 for CBOW,
    0.025 for skip-gram.

    gensim starts both at 0.025. CBOW averages its context, so each context vector gets a
    smaller share of the signal than a skip-gram pair gives, and it trains better at the C tool's
    higher rate: on the text8-like corpus (5 epochs) 0.05 gives 35.0% analogy accuracy where
    0.025 gives 29.0% (BENCHMARKS.md). The adaptive optimizers scale each step by the gradient's
    own size, so one rate serves both modes.
    """
    if optimizer in OPTIMIZER_ALPHA:
        return OPTIMIZER_ALPHA[optimizer]
    if update == "autograd":
        return AUTOGRAD_SGD_ALPHA
    return 0.025 if sg else 0.05


def _require(name, value, ok, accepted):
    try:
        good = ok(value)
    except TypeError:
        good = False
    if not good:
        raise W2VError(f"{name}={value!r} is not valid: it must be {accepted}")
