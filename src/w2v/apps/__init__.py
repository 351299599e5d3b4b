"""The applications built on the library: the `w2v` command line (and word2vec.c's), the
explorer web page, pictures, the Embedding Projector export and dataset downloads.

Applications import the library; nothing in `w2v.vectors`, `w2v.corpus` or `w2v.training`
imports them.
"""
