"""The query side: word vectors, their queries, their files and their evaluation.

Everything here imports numpy and the standard library only, never torch (a test holds it to
that), so vectors load and answer fast on machines where torch is not installed.
"""

from w2v.vectors.keyedvectors import KeyedVectors

__all__ = ["KeyedVectors"]
