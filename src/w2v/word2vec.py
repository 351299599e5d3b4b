"""`Word2Vec`: the object users hold, with gensim's names — build_vocab, train, wv, save, load."""

import dataclasses
import json

import torch

from w2v.config import TrainConfig
from w2v.corpus import check_sentences, open_corpus
from w2v.encoding import EncodedCorpus, encode, scan
from w2v.errors import W2VError
from w2v.keyedvectors import KeyedVectors
from w2v.model import CBOW
from w2v.train import EpochStats, resolve_device, train_model, uses_sparse_gradients
from w2v.vocab import Vocab

MODEL_KIND = "model"


class Word2Vec:
    """Train word vectors with CBOW and negative sampling (gensim's signature and defaults).

    >>> model = Word2Vec(sentences, vector_size=100, window=5, min_count=5, epochs=5)
    >>> model.wv.most_similar("king")
    """

    def __init__(self, sentences=None, corpus_file=None, progress=None, **options):
        self.config = TrainConfig(**options)
        self.vocab: Vocab | None = None
        self.model: CBOW | None = None
        self.corpus: EncodedCorpus | None = None
        self.history: list[EpochStats] = []
        self.decode_errors = 0
        self.progress = progress
        if sentences is not None and corpus_file is not None:
            raise W2VError("give sentences or corpus_file, not both")
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file)
            self.train()

    def _sentences(self, sentences, corpus_file):
        if corpus_file is not None:
            c = self.config
            return open_corpus(corpus_file, max_sentence_length=c.max_sentence_length,
                               lowercase=c.lowercase, tokenize_text=c.tokenize)
        if sentences is None:
            raise W2VError("no corpus: pass sentences=... or corpus_file=PATH")
        return check_sentences(sentences)

    def build_vocab(self, corpus_iterable=None, corpus_file=None, vocab: Vocab | None = None):
        """Count the corpus, keep words by min_count / max_final_vocab, and encode it to ids.

        Pass `vocab` (e.g. `Vocab.load(path)`) to use a fixed vocabulary instead of counting.
        """
        c = self.config
        sentences = self._sentences(corpus_iterable, corpus_file)
        if vocab is None and c.max_vocab_size is None:
            self.vocab, self.corpus = scan(sentences, c.min_count, c.max_final_vocab)
        else:  # a given vocabulary, or pruning while counting: count, then encode
            self.vocab = vocab or Vocab.build(sentences, c.min_count, c.max_vocab_size,
                                              c.max_final_vocab)
            self.corpus = encode(sentences, self.vocab)
        self.decode_errors = getattr(sentences, "decode_errors", 0)
        if len(self.corpus) == 0:
            raise W2VError("no word of the corpus is in the vocabulary; check the vocabulary file")
        device = resolve_device(c.device)
        generator = torch.Generator().manual_seed(c.seed)
        try:
            self.model = CBOW(len(self.vocab), c.vector_size, c.cbow_mean, generator,
                              sparse=c.update == "autograd" and uses_sparse_gradients(c.optimizer),
                              hs=bool(c.hs))
            self.model.to(device)
        except (RuntimeError, MemoryError) as e:
            size = 2 * 4 * len(self.vocab) * c.vector_size
            raise W2VError(f"cannot allocate the two {len(self.vocab):,} x {c.vector_size} "
                           f"tables ({size / 2**30:.1f} GiB) on {device}: lower vector_size "
                           "or raise min_count") from e
        self._wv = None
        return self

    def train(self, corpus_iterable=None, corpus_file=None, epochs: int | None = None,
              start_alpha: float | None = None, end_alpha: float | None = None):
        """Train for `epochs` (default: config.epochs) passes; a new corpus must use the same
        vocabulary (words outside it are skipped)."""
        if self.vocab is None:
            raise W2VError("call build_vocab() before train(), or pass a corpus to Word2Vec()")
        if corpus_iterable is not None or corpus_file is not None:
            self.corpus = encode(self._sentences(corpus_iterable, corpus_file), self.vocab)
        if self.corpus is None:
            raise W2VError("this loaded model holds no corpus: pass corpus_iterable=... or "
                           "corpus_file=PATH to train()")
        config = self.config
        if epochs is not None:
            config = dataclasses.replace(config, epochs=epochs)
        self.history += train_model(self.model, self.corpus, self.vocab, config, start_alpha,
                                   end_alpha, progress_stream=self.progress,
                                   first_epoch=len(self.history))
        self._wv = None
        return self

    @property
    def wv(self) -> KeyedVectors:
        """The trained word vectors (a numpy copy, refreshed after each train())."""
        if self.model is None:
            raise W2VError("the model has no vocabulary yet; call build_vocab() first")
        if self._wv is None:
            vectors = self.model.in_embed.weight.detach().to("cpu", torch.float32).numpy()
            self._wv = KeyedVectors(self.vocab.words, vectors.copy(), self.vocab.counts.copy())
        return self._wv

    @property
    def epoch_losses(self) -> list[float]:
        """Exact mean per-example training loss of each epoch, in order."""
        return [h.loss for h in self.history]

    def save(self, path) -> None:
        """Save the whole model (both tables, vocabulary, counts, settings) without pickle.

        The file is a native vectors file too: `w2v similar model.w2v WORD` reads it.
        """
        from w2v.formats import write_native

        if self.model is None:
            raise W2VError("nothing to save yet: call build_vocab() and train() first")
        m = self.model
        extra = {"syn1neg": m.out_embed.weight.detach().cpu().numpy()}
        if m.hs_embed is not None:
            extra["syn1"] = m.hs_embed.weight.detach().cpu().numpy()
        write_native(
            path, self.vocab.words, m.in_embed.weight.detach().cpu().numpy(), self.vocab.counts,
            extra=extra,
            metadata={"kind": MODEL_KIND, "config": json.dumps(self.config.to_dict()),
                      "corpus_words": str(self.vocab.corpus_words)},
        )

    @classmethod
    def load(cls, path) -> "Word2Vec":
        """Load a model written by `save`; it can be trained further."""
        from w2v.formats import read_native, read_native_extra

        words, syn0, counts = read_native(path, mmap=False)
        _, metadata = read_native_extra(path, [])
        if metadata.get("kind") != MODEL_KIND:
            raise W2VError(f"{path} holds vectors, not a w2v model: load it with "
                           "KeyedVectors.load, or save a model with Word2Vec.save")
        self = cls.__new__(cls)
        self.config = TrainConfig.from_dict(json.loads(metadata["config"]))
        tables, _ = read_native_extra(path, ["syn1neg"] + (["syn1"] if self.config.hs else []))
        self.vocab = Vocab(words, counts, int(metadata["corpus_words"]))
        self.corpus, self.history, self.decode_errors, self.progress = None, [], 0, None
        self.model = CBOW(len(words), syn0.shape[1], self.config.cbow_mean,
                          hs=bool(self.config.hs))
        with torch.no_grad():
            self.model.in_embed.weight.copy_(torch.from_numpy(syn0))
            self.model.out_embed.weight.copy_(torch.from_numpy(tables["syn1neg"]))
            if self.config.hs:
                self.model.hs_embed.weight.copy_(torch.from_numpy(tables["syn1"]))
        self.model.to(resolve_device(self.config.device))
        self._wv = None
        return self
