"""The public API the README documents keeps a docstring on every class, method and function."""

import inspect

import pytest

import w2v
from w2v.apps import datasets
from w2v.corpus import readers as corpus
from w2v.corpus.vocab import Vocab
from w2v.training.batches import CBOWDataset
from w2v.training.model import CBOW
from w2v.training.word2vec import FastText, Word2Vec
from w2v.vectors import formats
from w2v.vectors.fasttext_bin import load_facebook_vectors
from w2v.vectors.keyedvectors import FastTextKeyedVectors, KeyedVectors

CLASSES = [Word2Vec, FastText, KeyedVectors, FastTextKeyedVectors, Vocab, corpus.LineSentence,
           corpus.Text8Corpus, corpus.PathLineSentences, CBOW, CBOWDataset]
FUNCTIONS = [datasets.find, datasets.fetch, formats.load_vectors, formats.save_vectors,
             load_facebook_vectors]


def public_members(cls: type) -> dict[str, object]:
    """Public methods and properties of `cls`, its own and those it inherits from w2v's classes
    (what `help(cls)` shows a user), keyed by qualified name."""
    members = {}
    for klass in reversed(cls.__mro__[:-1]):  # object's members are Python's, not ours
        if not klass.__module__.startswith("w2v."):  # torch's nn.Module, Dataset: theirs
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (classmethod, staticmethod)):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                members[f"{cls.__name__}.{name}"] = value
    return members


def undocumented(objects) -> list[str]:
    return [name for name, obj in objects if not (obj.__doc__ or "").strip()]


def test_the_collector_sees_the_documented_methods():
    # Guards the test below against passing because it looked at nothing.
    assert {"Word2Vec.build_vocab", "Word2Vec.train", "Word2Vec.wv", "Word2Vec.load"} <= set(
        public_members(Word2Vec))
    assert {"KeyedVectors.most_similar", "KeyedVectors.norms"} <= set(public_members(KeyedVectors))
    assert "Vocab.from_counts" in public_members(Vocab)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_public_classes_and_their_members_have_docstrings(cls):
    objects = [(cls.__name__, cls), *public_members(cls).items()]
    assert undocumented(objects) == []


def test_public_functions_and_package_exports_have_docstrings():
    exports = [(name, getattr(w2v, name)) for name in w2v.__all__ if name != "__version__"]
    functions = [(f"{f.__module__}.{f.__name__}", f) for f in FUNCTIONS]
    assert undocumented(exports + functions) == []
