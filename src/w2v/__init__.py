"""w2v: Word2Vec in PyTorch with gensim's names, word2vec.c's quality and formats.

The package has four rooms (docs/architecture.md): `w2v.vectors` answers queries and reads and
writes vector files with numpy alone; `w2v.corpus` turns text into word ids; `w2v.training`
trains the tables with torch; `w2v.apps` holds the command line, the explorer and the pictures.
`KeyedVectors` imports numpy only; `Word2Vec` pulls in torch when first touched.
"""

from w2v.errors import W2VError
from w2v.vectors.fasttext_bin import load_facebook_vectors
from w2v.vectors.keyedvectors import FastTextKeyedVectors, KeyedVectors

__version__ = "0.1.0"
__all__ = ["FastText", "FastTextKeyedVectors", "KeyedVectors", "W2VError", "Word2Vec",
           "__version__", "load_facebook_vectors"]


def __getattr__(name):
    if name in ("Word2Vec", "FastText"):
        from w2v.training import word2vec

        return getattr(word2vec, name)
    raise AttributeError(f"module 'w2v' has no attribute {name!r}")
