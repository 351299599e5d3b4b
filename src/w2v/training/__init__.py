"""The training side (torch): settings, model, examples, the loop, checkpoints, many ranks.

`word2vec.Word2Vec` is the facade users hold; it hands the corpus to `w2v.corpus`, the tables
to `loop`, and files to `checkpoint`. Compiled kernels live in `kernels/`.
"""
