"""The data side: text in, word ids out, and the tables drawn from the word counts.

`readers` streams sentences from files; `counting` counts words (the one routine every path
uses); `vocab` keeps words by count; `encoding` stores the corpus as ids on disk and chooses how
a corpus becomes (vocabulary, ids); `tables` holds the sampling tables built from counts (noise
table, subsampling, Huffman tree). numpy only: training imports this room, never the reverse.
"""

from w2v.corpus.readers import (
    LineSentence,
    PathLineSentences,
    Text8Corpus,
    open_corpus,
    tokenize,
)
from w2v.corpus.vocab import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP, Vocab

__all__ = ["RULE_DEFAULT", "RULE_DISCARD", "RULE_KEEP", "LineSentence", "PathLineSentences",
           "Text8Corpus", "Vocab", "open_corpus", "tokenize"]
