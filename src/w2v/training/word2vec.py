"""`Word2Vec`: the object users hold, with gensim's names — build_vocab (also update=True),
build_vocab_from_freq, train (callbacks), predict_output_word, wv, save, load, resume.

It is a facade: the corpus becomes ids in `w2v.corpus.encoding.prepare`, the tables train in
`loop`, files are `checkpoint`'s. What it keeps is what users read back (the settings, the
vocabulary, the tables, the epoch history) and gensim's callbacks, fired between epochs.

One idea at over 400 lines: gensim's `Word2Vec` surface, whose methods users expect on one
object; most of the length is their docstrings and the checks of their arguments.
"""

import contextlib
import dataclasses
import functools
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from w2v.corpus.encoding import EncodedCorpus, encode, prepare
from w2v.corpus.readers import CutSentences, FileReader, check_sentences, open_corpus
from w2v.corpus.vocab import Vocab
from w2v.errors import W2VError
from w2v.training import distributed
from w2v.training.checkpoint import (
    LOCKF,
    Checkpointer,
    Job,
    SavedModel,
    checkpoints,
    latest,
    optimizer_state,
    read_model,
    write_model,
)
from w2v.training.config import TrainConfig
from w2v.training.kernels import corpus_scanner
from w2v.training.loop import (
    EpochStats,
    Position,
    State,
    TracePoint,
    TrainingDiverged,
    make_plan,
    train,
)
from w2v.training.model import CBOW, grow_tables, output_word_probabilities
from w2v.training.runtime import (
    epoch_seed,
    make_optimizer,
    resolve_device,
    uses_sparse_gradients,
)
from w2v.vectors.formats import load_vectors
from w2v.vectors.keyedvectors import FastTextKeyedVectors, KeyedVectors, shared_rows

_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))
TOTALS_TOLERANCE = 0.1  # train(total_examples=, total_words=) further off than this: a warning


class Word2Vec:
    """Train word vectors with CBOW and negative sampling (gensim's signature and defaults, but
    CBOW starts at word2vec.c's learning rate, alpha=0.05; pass alpha=0.025 for gensim's).

    >>> model = Word2Vec(sentences, vector_size=100, window=5, min_count=5, epochs=5)
    >>> model.wv.most_similar("king")

    Every `TrainConfig` field is a keyword argument and reads back as an attribute
    (`model.epochs`); change settings by making a new model, or per call through train()'s
    `epochs`, `start_alpha`, `end_alpha`. `trim_rule` and `callbacks` are used for the training
    this constructor starts and are not kept (gensim's rule). `compute_loss` is accepted for
    gensim's sake: the loss is always measured, exactly.

    Fine-tuning: `init_vectors` (a KeyedVectors, or the path of any vectors file) seeds the
    input vector of every vocabulary word it has, and `freeze_init=True` keeps those rows as
    they are while the rest train; `intersect_word2vec_format` does the same after
    build_vocab, with gensim's lock factor. Both train with update 'kernel' or 'batched'.
    """

    def __init__(self, sentences=None, corpus_file=None, progress=None, trim_rule=None,
                 callbacks=(), compute_loss=False, init_vectors=None, freeze_init=False,
                 **options) -> None:
        self.config = TrainConfig(**options)
        # Pretrained vectors that seed the rows of the words they share with the vocabulary,
        # each time build_vocab makes a new one (frozen there with freeze_init); a path is read
        # now, so that a mistake in it shows before the corpus is counted.
        if freeze_init and init_vectors is None:
            raise W2VError("freeze_init=True freezes the rows of init_vectors: pass "
                           "init_vectors=... too, or drop freeze_init")
        if isinstance(init_vectors, str | os.PathLike):
            init_vectors = load_vectors(init_vectors)
        self._init = None if init_vectors is None else (init_vectors, 0.0 if freeze_init else 1.0)
        self.vocab: Vocab | None = None
        self.model: CBOW | None = None
        self.corpus: EncodedCorpus | None = None
        self.corpus_file: str | None = None  # where self.corpus was read from: resumes re-read it
        self.history: list[EpochStats] = []
        self.trace: list[TracePoint] = []  # per corpus chunk: words, loss, alpha, words/s
        self.exchanged_bytes = 0  # sent to other ranks by this one (torchrun jobs) ...
        self.exchange_seconds = 0.0  # ... and the time those exchanges took
        self.decode_errors = 0
        self.corpus_count = 0  # sentences in the corpus of the last build_vocab (gensim's name)
        self.corpus_total_words = 0  # raw words in it, in-vocabulary or not
        self.progress = progress
        self._wv: KeyedVectors | None = None
        if sentences is not None and corpus_file is not None:
            raise W2VError("give sentences or corpus_file, not both")
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file, trim_rule=trim_rule)
            self.train(callbacks=callbacks)
        elif callbacks:
            warnings.warn("callbacks are not kept by the model: pass them to train(); those "
                          "given here, without a corpus to train on, are ignored", stacklevel=2)

    def __getattr__(self, name):
        # Called only for names that are not attributes: the settings read as gensim's attributes.
        if name in _CONFIG_FIELDS and "config" in self.__dict__:
            return getattr(self.config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in _CONFIG_FIELDS:
            raise W2VError(f"{name} is a training setting, fixed when the model is made: pass "
                           f"Word2Vec({name}=...) (or epochs/start_alpha/end_alpha to train())")
        super().__setattr__(name, value)

    def _sentences(self, sentences, corpus_file):
        if corpus_file is not None:
            c = self.config
            return open_corpus(corpus_file, max_sentence_length=c.max_sentence_length,
                               lowercase=c.lowercase, tokenize_text=c.tokenize)
        if sentences is None:
            raise W2VError("no corpus: pass sentences=... or corpus_file=PATH")
        return CutSentences(check_sentences(sentences), self.config.max_sentence_length)

    @staticmethod
    def _scanner(sentences):
        """The compiled corpus scanner for a corpus file (built on first use), else None."""
        return corpus_scanner() if isinstance(sentences, FileReader) else None

    def build_vocab(self, corpus_iterable=None, corpus_file=None, update: bool = False,
                    progress_per: int = 10000, keep_raw_vocab: bool = False, trim_rule=None,
                    vocab: Vocab | None = None):
        """Count the corpus, keep words by min_count / max_final_vocab / trim_rule, and encode
        it to ids (gensim's signature; progress_per and keep_raw_vocab are accepted and unused).

        `trim_rule(word, count, min_count)` returns `w2v.corpus.vocab.RULE_KEEP`, `RULE_DISCARD` or
        `RULE_DEFAULT` (min_count decides); it applies to this call only and is not saved.
        `update=True` (gensim's online training) keeps every word and its vectors, appends the
        new corpus's words that pass min_count after them (ids never move), adds the new counts
        to the old, and encodes the new corpus for the next train(). Pass `vocab` (e.g.
        `Vocab.load(path)`) to use a fixed vocabulary instead of counting.
        """
        c = self.config
        if update:
            self._check_update(vocab)
        sentences = self._sentences(corpus_iterable, corpus_file)
        share = None
        if self._join_group():
            if update or vocab is not None:
                raise W2VError("a torchrun job builds its vocabulary on rank 0 from the corpus: "
                               "update=True and vocab= are single-process only")
            share = functools.partial(distributed.share_vocab, timeout_seconds=c.dist_timeout)
        grown, corpus = prepare(
            sentences, min_count=c.min_count, max_final_vocab=c.max_final_vocab,
            max_vocab_size=c.max_vocab_size, sorted_vocab=bool(c.sorted_vocab),
            null_word=bool(c.null_word), trim_rule=trim_rule, vocab=vocab,
            grow=self._built()[0] if update else None, share=share,
            root=distributed.rank() == 0, scanner=self._scanner(sentences))
        if len(corpus) == 0:
            raise W2VError("no word of the corpus is in the vocabulary; check the vocabulary file")
        if share is not None:
            distributed.check_same_corpus(len(corpus), len(corpus.starts) - 1, corpus.checksum(),
                                          c.dist_timeout)
        self.decode_errors = corpus.report.decode_errors
        self.corpus_count, self.corpus_total_words = len(corpus.starts) - 1, corpus.corpus_words
        self._set_vocab(grown, update)
        self._set_corpus(corpus, corpus_file)
        return self

    def _set_corpus(self, corpus: EncodedCorpus | None, corpus_file) -> None:
        self.corpus = corpus
        self.corpus_file = None if corpus_file is None else str(corpus_file)

    def build_vocab_from_freq(self, word_freq: dict, keep_raw_vocab: bool = False,
                              corpus_count: int | None = None, trim_rule=None,
                              update: bool = False):
        """gensim's: the vocabulary from a {word: count} mapping instead of a corpus; train()
        then needs the corpus passed to it. `corpus_count` (sentences) is only recorded."""
        c = self.config
        if update:
            self._check_update(None)
        counts = {str(w): int(n) for w, n in dict(word_freq).items()}
        if not counts:
            raise W2VError("word_freq is empty: give a {word: count} mapping")
        if min(counts.values()) < 0:
            raise W2VError("word_freq holds a negative count; counts are occurrences, >= 0")
        total = sum(counts.values())
        if update:
            grown = self._built()[0].updated(counts, c.min_count, c.max_final_vocab, total,
                                             trim_rule, bool(c.null_word))
        else:
            grown = Vocab.from_counts(counts, c.min_count, c.max_final_vocab, total, trim_rule,
                                      bool(c.sorted_vocab), bool(c.null_word))
        self.corpus_count, self.corpus_total_words = corpus_count or 0, total
        self._set_vocab(grown, update)
        self._set_corpus(None, None)
        return self

    def _built(self, fix: str = "call build_vocab() first") -> tuple[Vocab, CBOW]:
        """The vocabulary and its tables, or a W2VError that says how to make them (`fix`)."""
        if self.vocab is None or self.model is None:
            raise W2VError(f"the model has no vocabulary yet; {fix}")
        return self.vocab, self.model

    def _encoded(self) -> EncodedCorpus:
        """The corpus train() runs on, or a W2VError: loaded models hold none."""
        if self.corpus is None:
            raise W2VError("this model holds no corpus (it was loaded, or built with "
                           "build_vocab_from_freq): pass corpus_iterable=... or "
                           "corpus_file=PATH to train()")
        return self.corpus

    def _join_group(self) -> bool:
        """Join the torchrun group if this process was started by torchrun."""
        return distributed.join(resolve_device(self.config.device), self.config.dist_timeout)

    def _check_update(self, vocab):
        if vocab is not None:
            raise W2VError("build_vocab(update=True) counts the new corpus: pass no vocab=")
        if self.vocab is None or self.model is None:
            raise W2VError("build_vocab(update=True) adds to an existing vocabulary: build one "
                           "first with build_vocab() (or load a model)")
        if self.config.hs:
            raise W2VError("build_vocab(update=True) is not supported with hs=1: the Huffman tree "
                           "of the new counts would renumber the inner nodes that syn1 has "
                           "learned; train a new model, or use negative sampling (hs=0)")

    def _set_vocab(self, vocab: Vocab, update: bool) -> None:
        """Adopt `vocab`: a fresh model for a new vocabulary, grown tables for an update."""
        old = len(self._built()[0]) if update else 0
        self.vocab = vocab
        self._wv = None
        if update:
            self._grow_model(old)
            return
        self._new_model(vocab)
        if self._init is not None:
            self._seed_rows(*self._init)

    def _new_model(self, vocab: Vocab) -> None:
        c = self.config
        device = resolve_device(c.device)
        generator = torch.Generator().manual_seed(c.seed)
        try:
            self.model = CBOW(len(vocab), c.vector_size, bool(c.cbow_mean), generator,
                              sparse=uses_sparse_gradients(c), hs=bool(c.hs),
                              buckets=c.bucket if c.subwords else 0)
            self.model.to(device)
        except (RuntimeError, MemoryError) as e:
            size = 2 * 4 * len(vocab) * c.vector_size
            raise W2VError(f"cannot allocate the two {len(vocab):,} x {c.vector_size} "
                           f"tables ({size / 2**30:.1f} GiB) on {device}: lower vector_size "
                           "or raise min_count") from e

    def intersect_word2vec_format(self, fname, lockf: float = 0.0, binary: bool = False,
                                  encoding: str = "utf8", unicode_errors: str = "strict") -> int:
        """Seed the input vectors of the vocabulary words that a word2vec file also holds, and
        give those rows lock factor `lockf` (0.0, the default: never updated; 1.0: trained as
        the rest), as gensim's does; no word is added. Call it after build_vocab. Returns how
        many words took the file's vectors."""
        self._check_seeding(lockf)
        kv = KeyedVectors.load_word2vec_format(fname, binary=binary, encoding=encoding,
                                               unicode_errors=unicode_errors)
        return self._seed_rows(kv, lockf, fname)

    def _check_seeding(self, lockf: float) -> tuple[Vocab, CBOW]:
        if not 0.0 <= lockf <= 1.0:
            raise W2VError(f"lockf={lockf!r}: a lock factor is between 0.0 (frozen) and 1.0 "
                           "(trained as any row)")
        return self._built("call build_vocab() first: the vocabulary decides which of the "
                           "pretrained words are used")

    def _seed_rows(self, kv: KeyedVectors, lockf: float, source=None) -> int:
        """Copy `kv`'s vectors into the rows of the words it shares with the vocabulary and
        give those rows lock factor `lockf`; returns how many rows."""
        vocab, model = self._check_seeding(lockf)
        source = source or "init_vectors"
        if not isinstance(kv, KeyedVectors):
            raise W2VError(f"init_vectors={kv!r} is not vectors; pass a KeyedVectors or the "
                           "path of a vectors file")
        if kv.vector_size != self.config.vector_size:
            raise W2VError(f"{source} has {kv.vector_size} dimensions, the model "
                           f"{self.config.vector_size}: pass vector_size={kv.vector_size}")
        ours, theirs = shared_rows(vocab.words, kv)
        if not len(ours):
            warnings.warn(f"{source} shares no word with the vocabulary of {len(vocab)} words; "
                          "nothing was seeded (check case and tokenization)", stacklevel=3)
            return 0
        table = model.in_embed.weight
        rows = torch.from_numpy(ours).to(table.device)
        with torch.no_grad():
            table[rows] = torch.from_numpy(
                np.asarray(kv.vectors[theirs], dtype=np.float32)).to(table.device)
        if model.lockf is None:
            model.lockf = torch.ones(len(table), device=table.device)
        model.lockf[rows] = float(lockf)
        self._wv = None
        return len(ours)

    def _grow_model(self, old: int) -> None:
        """Rows for words old.. , their input vectors drawn from a generator seeded by (seed,
        old) so that a seeded update is repeatable."""
        vocab, model = self._built()
        generator = torch.Generator().manual_seed(epoch_seed(self.config.seed, old, 1))
        grow_tables(model, len(vocab) - old, generator)

    def train(self, corpus_iterable=None, corpus_file=None, total_examples: int | None = None,
              total_words: int | None = None, epochs: int | None = None,
              start_alpha: float | None = None, end_alpha: float | None = None,
              word_count: int = 0, queue_factor: int = 2, report_delay: float = 1.0,
              compute_loss: bool = False, callbacks=()) -> tuple[int, int]:
        """Train for `epochs` (default: config.epochs) passes (gensim's signature).

        Without a corpus, trains on the one build_vocab() encoded; a new corpus must use the same
        vocabulary (words outside it are skipped). w2v measures the corpus itself: total_examples
        (sentences) and total_words (raw words) only raise a warning if they disagree with it.
        `callbacks` are objects with any of gensim's CallbackAny2Vec methods on_train_begin,
        on_epoch_begin, on_epoch_end, on_train_end, each called with this model; at
        on_epoch_end, `history`, `wv` and get_latest_training_loss() include that epoch.
        word_count, queue_factor, report_delay and compute_loss are accepted for gensim's sake.

        Returns gensim's (trained_word_count, raw_word_count): examples trained (CBOW: target
        words kept by subsampling that had a context; skip-gram: (word, context) pairs) and raw
        corpus words read, over all epochs of this call.
        """
        if self.vocab is None:
            raise W2VError("call build_vocab() before train(), or pass a corpus to Word2Vec()")
        if corpus_iterable is not None and corpus_file is not None:
            raise W2VError("give corpus_iterable or corpus_file, not both")
        if corpus_iterable is not None or corpus_file is not None:
            sentences = self._sentences(corpus_iterable, corpus_file)
            self._set_corpus(encode(sentences, self.vocab, self._scanner(sentences)), corpus_file)
        self._check_totals(total_examples, total_words)
        config = self.config
        if epochs is not None:
            config = dataclasses.replace(config, epochs=epochs)
        run = {"first_epoch": len(self.history), "epochs": config.epochs,
               "start_alpha": start_alpha, "end_alpha": end_alpha}
        return self._run(run, Position(), None, callbacks)

    def _run(self, run: dict, start: Position, optimizer_state, callbacks) -> tuple[int, int]:
        """Train the epochs of one train() call, `run`, from `start`, saving checkpoints if
        config.checkpoint_dir is set, and fire gensim's callbacks between epochs."""
        config = dataclasses.replace(self.config, epochs=run["epochs"])
        callbacks = tuple(callbacks or ())
        first = run["first_epoch"]
        vocab, model = self._built()
        corpus = self._encoded()
        sync = None
        if self._join_group():
            run = {**run, "world": distributed.world()}
            sync = distributed.TableSync([p.data for p in model.parameters()],
                                         config.dist_timeout,
                                         getattr(torch, config.sync_dtype),
                                         config.sync_overlap)
        writer = distributed.rank() == 0
        if config.checkpoint_dir and first == 0 and start == Position() and checkpoints(
                config.checkpoint_dir):
            raise W2VError(f"checkpoint_dir {config.checkpoint_dir} holds another run's "
                           "checkpoints: continue it with resume (--resume DIR), or give an "
                           "empty folder")
        plan = make_plan(model, corpus, vocab, config, first, run["start_alpha"],
                         run["end_alpha"], sync)
        optimizer = make_optimizer(config, model) if plan.update == "autograd" else None
        if optimizer is not None and optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)
        checkpointer = None
        if config.checkpoint_dir:
            job = Job(self.config, vocab, model, run, self.corpus_file, len(corpus),
                      len(corpus.starts) - 1, writer)
            checkpointer = Checkpointer(config.checkpoint_dir, config.checkpoint_every, job)
        state = State(start, self.history, self.trace)
        _fire(callbacks, "on_train_begin", self)
        with checkpointer or contextlib.nullcontext():
            try:
                epochs = train(model, corpus, plan, state, self.progress if writer else None,
                               checkpointer, sync, optimizer)
                if start.chunk == 0 and start.epoch < config.epochs:
                    _fire(callbacks, "on_epoch_begin", self)
                for stats in epochs:
                    self._wv = None
                    _fire(callbacks, "on_epoch_end", self)
                    if stats.epoch < first + config.epochs:
                        _fire(callbacks, "on_epoch_begin", self)
            except TrainingDiverged as e:
                kept = checkpoints(config.checkpoint_dir) if config.checkpoint_dir else []
                if kept:
                    raise TrainingDiverged(f"{e}; the last good checkpoint, {kept[-1]}, is "
                                           "kept") from None
                raise
            finally:
                if sync is not None:
                    self.exchanged_bytes += sync.bytes_sent
                    self.exchange_seconds += sync.seconds
        self._wv = None
        _fire(callbacks, "on_train_end", self)
        done = self.history[first:]
        return sum(h.examples for h in done), corpus.corpus_words * len(done)

    def _check_totals(self, total_examples, total_words) -> None:
        corpus = self._encoded()
        actual = {"total_examples": (len(corpus.starts) - 1, "sentences"),
                  "total_words": (corpus.corpus_words, "words")}
        for name, given in (("total_examples", total_examples), ("total_words", total_words)):
            count, unit = actual[name]
            if given is not None and abs(given - count) > TOTALS_TOLERANCE * max(count, 1):
                warnings.warn(f"train({name}={given:,}) but the corpus holds {count:,} {unit}; "
                              f"w2v measures the corpus itself and ignores {name}: is this the "
                              "corpus you meant?", stacklevel=3)

    def get_latest_training_loss(self) -> float:
        """The summed training loss of the latest epoch (0.0 before any training).

        Unlike gensim's running (and, across threads, approximate) tally, it is the exact loss
        of one epoch, measured as it trained, whether or not compute_loss was set; its mean per
        example is `epoch_losses[-1]`.
        """
        return self.history[-1].loss_sum if self.history else 0.0

    def predict_output_word(self, context_words_list, topn: int = 10):
        """gensim's: the `topn` most probable centre words given context words (str, or int ids)
        as [(word, probability)], or None when no context word is in the vocabulary.

        The probabilities are a softmax over the whole vocabulary of the negative-sampling
        output vectors (syn1neg) scored against the mean (cbow_mean=1) or sum of the context
        words' vectors, so they need negative > 0.
        """
        vocab, model = self._built("call build_vocab() and train() first")
        if not self.config.negative:
            raise W2VError("predict_output_word needs negative sampling (negative >= 1): it "
                           "scores words with the negative-sampling output table, as gensim does")
        ids = []
        for w in context_words_list:
            if isinstance(w, (int, np.integer)) and not isinstance(w, bool):
                if 0 <= w < len(vocab):
                    ids.append(int(w))
            elif w in vocab:
                ids.append(vocab.index[w])
        if not ids:
            return None
        probs = output_word_probabilities(model, ids)  # (V,)
        k = len(probs) if topn is None else max(min(int(topn), len(probs)), 0)
        top_p, top_i = torch.topk(probs, k)
        return [(vocab.words[i], p) for i, p in zip(top_i.tolist(), top_p.tolist(), strict=True)]

    @property
    def wv(self) -> KeyedVectors:
        """The trained word vectors (a numpy copy, refreshed after each train())."""
        vocab, model = self._built()
        if self._wv is None:
            vectors = model.in_embed.weight.detach().to("cpu", torch.float32).numpy()
            c = self.config
            self._wv = (FastTextKeyedVectors.from_input_table(
                            vocab.words, vectors.copy(), c.min_n, c.max_n, vocab.counts.copy())
                        if model.buckets
                        else KeyedVectors(vocab.words, vectors.copy(), vocab.counts.copy()))
            self._wv.trained_copy = True
        return self._wv

    @property
    def epoch_losses(self) -> list[float]:
        """Exact mean per-example training loss of each epoch, in order."""
        return [h.loss for h in self.history]

    def save(self, path) -> None:
        """Save the whole model (both tables, vocabulary, counts, settings) without pickle.

        The file is a native vectors file too: `w2v similar model.w2v WORD` reads it.
        """
        vocab, model = self._built("nothing to save yet: call build_vocab() and train() first")
        write_model(path, self.config, vocab, model)

    @classmethod
    def load(cls, path) -> "Word2Vec":
        """Load a model written by `save`; it can be trained further."""
        return cls._restored(read_model(path))

    @classmethod
    def resume(cls, checkpoint_dir, corpus_iterable=None, corpus_file=None, progress=None,
               callbacks=()) -> "Word2Vec":
        """Continue the training saved in `checkpoint_dir` from its newest checkpoint and return
        the finished model. The corpus is re-read from the path the run was given (or pass the
        same corpus again); with workers=1 and a seed, the result is bit-identical to a run
        that was never stopped."""
        path = latest(checkpoint_dir)
        saved = read_model(path)
        state = saved.training
        if state is None:
            raise W2VError(f"{path} is not a checkpoint (no training state); load a model with "
                           "Word2Vec.load and call train()")
        # Join a torchrun group before the tables go to a device, so each rank uses its own GPU.
        distributed.join(resolve_device(saved.config.device), saved.config.dist_timeout)
        # Go on saving where the run is resumed from, wherever this process was started.
        saved.config = dataclasses.replace(saved.config,
                                           checkpoint_dir=str(Path(checkpoint_dir).resolve()))
        self = cls._restored(saved, progress)
        if corpus_iterable is None and corpus_file is None:
            corpus_file = state["corpus_file"]
            if corpus_file is None:
                raise W2VError("the run trained on sentences given in Python: pass the same "
                               "corpus_iterable=... to resume()")
        sentences = self._sentences(corpus_iterable, corpus_file)
        corpus = encode(sentences, saved.vocab, self._scanner(sentences))
        self._set_corpus(corpus, corpus_file)
        found = (len(corpus), len(corpus.starts) - 1)
        if found != (state["corpus_ids"], state["corpus_sentences"]):
            raise W2VError(f"the corpus {corpus_file or '(sentences)'} now holds {found[0]:,} "
                           f"known words in {found[1]:,} sentences, the checkpointed run had "
                           f"{state['corpus_ids']:,} in {state['corpus_sentences']:,}: resume "
                           "with the corpus the run was started on")
        self.history = [EpochStats(**h) for h in state["history"]]
        saved_world = state["run"].get("world", 1)
        self._join_group()
        if distributed.world() != saved_world:
            raise W2VError(f"the checkpoint was written by a job of {saved_world} rank(s), this "
                           f"one has {distributed.world()}: resume with --nproc_per_node x "
                           f"--nnodes = {saved_world}")
        self._run(state["run"], Position(**state["position"]),
                  optimizer_state(saved.tables, state["optimizer"]), callbacks)
        return self

    @classmethod
    def _restored(cls, saved: SavedModel, progress=None) -> "Word2Vec":
        """A model that `__init__` makes from a file's settings, given the file's vocabulary
        and tables."""
        self = cls(progress=progress, **saved.config.to_dict())
        self.vocab = saved.vocab
        self.corpus_total_words = saved.vocab.corpus_words
        c, syn0 = self.config, saved.tables["syn0"]
        self.model = CBOW(len(saved.vocab), syn0.shape[1], bool(c.cbow_mean),
                          sparse=uses_sparse_gradients(c), hs=bool(c.hs),
                          buckets=len(syn0) - len(saved.vocab))
        m = self.model
        with torch.no_grad():
            m.in_embed.weight.copy_(torch.from_numpy(syn0))
            m.out_embed.weight.copy_(torch.from_numpy(saved.tables["syn1neg"]))
            if m.hs_embed is not None:  # made when config.hs is set
                m.hs_embed.weight.copy_(torch.from_numpy(saved.tables["syn1"]))
        if LOCKF in saved.tables:
            m.lockf = torch.from_numpy(saved.tables[LOCKF][0].copy())
        m.to(resolve_device(c.device))
        return self


class FastText(Word2Vec):
    """fastText's subword model with gensim's `FastText` names: `Word2Vec(subwords=True)`, each
    word's input vector the mean of its own row and its character n-grams' rows (`min_n`=3 to
    `max_n`=6 characters, hashed into `bucket`=2,000,000 rows), so that `model.wv` (a
    `FastTextKeyedVectors`) gives a vector to any word.

    >>> model = FastText(sentences, vector_size=100, epochs=5)
    >>> model.wv["misspeling"], model.wv.most_similar("misspeling")
    """

    def __init__(self, sentences=None, corpus_file=None, **options) -> None:
        if not options.setdefault("subwords", True):
            raise W2VError("FastText is the subword model: use Word2Vec for subwords=False")
        super().__init__(sentences, corpus_file, **options)


def _fire(callbacks, method: str, model) -> None:
    """Call `method(model)` on each callback that has it, in order (gensim's CallbackAny2Vec)."""
    for callback in callbacks:
        hook = getattr(callback, method, None)
        if hook is not None:
            hook(model)
