"""`w2v phrases`: join word pairs seen together far more often than chance (`new york` becomes
`new_york`), word2vec.c's `word2phrase` with gensim's `Phrases` scores; `--passes 2` finds
longer phrases as word2phrase run twice does. The output is a plain corpus, a sentence per line,
that `w2v train` reads at full speed. The work is `w2v.corpus.phrases`'s."""

import argparse
import sys
import tempfile
from pathlib import Path

from w2v.apps.arguments import positive_int
from w2v.atomic import check_writable
from w2v.corpus.phrases import (
    ENGLISH_CONNECTOR_WORDS,
    SCORINGS,
    FrozenPhrases,
    Phrases,
    check_phrase_options,
)
from w2v.corpus.readers import open_corpus
from w2v.errors import W2VError

CONNECTORS = {"none": frozenset(), "english": ENGLISH_CONNECTOR_WORDS}


def add_phrases(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phrases", help="join frequent word pairs into phrases (new_york)",
                       description=(
        "Learn phrases from CORPUS and write it to OUT with them joined by the delimiter, a "
        "sentence per line, for `w2v train OUT`. Scores are gensim's Phrases': 'default' is "
        "word2vec.c's (count - min_count) / (count_a count_b) x vocabulary size, 'npmi' lies in "
        "[-1, 1]; a pair scoring above --threshold is joined."))
    p.add_argument("corpus", metavar="CORPUS", help="text to read (as `w2v train` reads it)")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="the corpus with its phrases joined")
    p.add_argument("--min-count", type=positive_int, default=5,
                   help="ignore pairs seen fewer times (default 5)")
    p.add_argument("--threshold", type=float, default=10.0,
                   help="join pairs scoring above this (default 10; word2phrase uses 100)")
    p.add_argument("--scoring", choices=SCORINGS, default="default")
    p.add_argument("--delimiter", default="_", help="joins a phrase's words (default _)")
    p.add_argument("--connector-words", choices=sorted(CONNECTORS), default="none", help=(
        "english: articles, prepositions and conjunctions may sit inside a phrase "
        "(bank_of_america) but not start or end one (default none)"))
    p.add_argument("--passes", type=positive_int, default=1,
                   help="apply phrase detection this many times: 2 joins phrases of phrases")
    p.add_argument("--max-vocab-size", type=positive_int, default=40_000_000,
                   help="prune rare pairs past this many (bounds memory; default 40M)")
    p.add_argument("--model", metavar="MODEL",
                   help="apply the phrases of a saved model instead of learning them")
    p.add_argument("--save-model", metavar="MODEL",
                   help="also save the phrases learned (JSON; one pass only)")
    p.add_argument("--tokenize", action="store_true",
                   help="split raw text into words, dropping punctuation")
    p.add_argument("--lowercase", action="store_true", help="lowercase every token")
    p.add_argument("--max-sentence-length", type=positive_int, default=10000, metavar="N",
                   help="cut longer sentences into pieces of N words (default 10000)")


def run(args: argparse.Namespace) -> None:
    from w2v.training.kernels import corpus_scanner

    if not args.model:
        check_phrase_options(args.min_count, args.threshold, args.scoring, args.delimiter)
    if args.save_model and args.passes > 1:
        raise W2VError("--save-model keeps the phrases of one pass; run `w2v phrases` once per "
                       "pass to save each pass's model")
    check_writable(Path(args.output))
    if args.save_model:
        check_writable(Path(args.save_model))
    frozen = FrozenPhrases.load(args.model) if args.model else None
    scanner = corpus_scanner()
    source, lowercase, tokenize = Path(args.corpus), args.lowercase, args.tokenize
    with tempfile.TemporaryDirectory(dir=Path(args.output).resolve().parent) as tmp:
        for done in range(1, args.passes + 1):
            sentences = open_corpus(source, max_sentence_length=args.max_sentence_length,
                                    lowercase=lowercase, tokenize_text=tokenize)
            model = frozen or Phrases(
                sentences, min_count=args.min_count, threshold=args.threshold,
                max_vocab_size=args.max_vocab_size, delimiter=args.delimiter,
                scoring=args.scoring, connector_words=CONNECTORS[args.connector_words],
                scanner=scanner).freeze()
            target = Path(args.output) if done == args.passes else Path(tmp) / f"pass{done}.txt"
            tokens = model.apply_corpus(sentences, target, scanner)
            print(f"w2v: pass {done}: {len(model):,} phrases; wrote {target} ({tokens:,} "
                  "tokens)" if done == args.passes else
                  f"w2v: pass {done}: {len(model):,} phrases", file=sys.stderr)
            # A later pass reads the phrased text as it was written: a sentence per line.
            source, lowercase, tokenize = target, False, False
    if args.save_model:
        model.save(args.save_model)
