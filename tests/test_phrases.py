"""Phrases against gensim's on a real novel: the same phrases, scores and joined sentences, by
ids and numpy, from Python sentences and from a corpus file through the compiled scanner."""

import json

import pytest
from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS as GENSIM_CONNECTORS
from gensim.models.phrases import Phrases as GensimPhrases
from test_cli import expect_one_error_line, run

from w2v.corpus.phrases import ENGLISH_CONNECTOR_WORDS, FrozenPhrases, Phrases
from w2v.errors import W2VError

SETTINGS = [{}, {"connector_words": ENGLISH_CONNECTOR_WORDS},
            {"scoring": "npmi", "threshold": 0.5},
            {"scoring": "npmi", "threshold": 0.3, "min_count": 3,
             "connector_words": ENGLISH_CONNECTOR_WORDS}]


def test_the_connector_words_are_gensims():
    assert frozenset(GENSIM_CONNECTORS) == ENGLISH_CONNECTOR_WORDS


@pytest.mark.parametrize("options", SETTINGS)
def test_phrases_scores_and_joins_equal_gensims(austen, tmp_path, options):
    ours, theirs = Phrases(austen, **options), GensimPhrases(austen, **options)
    assert ours.corpus_word_count == theirs.corpus_word_count
    assert ours.vocab_size == len(theirs.vocab)
    found, expected = ours.export_phrases(), theirs.export_phrases()
    assert found.keys() == expected.keys() and len(found) > 100
    assert all(found[p] == pytest.approx(expected[p], rel=1e-12) for p in found)
    frozen = theirs.freeze()
    assert [ours[s] for s in austen[:2000]] == [frozen[s] for s in austen[:2000]]
    # The whole corpus, joined by ids and numpy, is what gensim's greedy rule gives.
    ours.apply_corpus(austen, tmp_path / "out.txt")
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split() for line in lines] == [frozen[s] for s in austen if s]


def test_a_corpus_file_through_the_scanner_gives_the_same_phrases(novels):
    from w2v.corpus.readers import open_corpus
    from w2v.training.kernels import corpus_scanner

    path = novels / "melville_moby_dick.txt"
    reader = open_corpus(path, max_sentence_length=10000, lowercase=False, tokenize_text=False)
    compiled = Phrases(reader, scanner=corpus_scanner()).export_phrases()
    assert compiled == Phrases(list(reader)).export_phrases()
    # gensim splits its joined keys at the delimiter, so it drops the phrases whose words hold
    # one ("(_folio_),"): the documented difference; the others are its phrases exactly.
    theirs = GensimPhrases(list(reader)).export_phrases().keys()
    assert {p for p in compiled if p.count("_") == 1} == {p for p in theirs if p.count("_") == 1}
    assert set(theirs) <= set(compiled)


def test_pruning_bounds_the_candidates_and_keeps_the_frequent_phrases(austen):
    full = Phrases(austen)
    small = Phrases(austen, max_vocab_size=20_000)
    assert len(small.keys) + len(small.long) <= 20_000 < len(full.keys)
    frequent = {p for p, s in full.export_phrases().items() if s > 100}
    assert frequent & set(small.export_phrases())


def test_a_frozen_model_saves_applies_and_refuses_what_is_not_one(austen, tmp_path):
    frozen = Phrases(austen).freeze()
    frozen.save(tmp_path / "p.json")
    back = FrozenPhrases.load(tmp_path / "p.json")
    assert back.phrasegrams == frozen.phrasegrams
    assert back[["lady", "catherine", "said"]] == ["lady_catherine", "said"]
    (tmp_path / "bad.json").write_text(json.dumps({"phrasegrams": {}}))
    (tmp_path / "noise.bin").write_bytes(b"\x00\xff" * 10)
    for bad in ("bad.json", "noise.bin", "missing.json"):
        with pytest.raises(W2VError, match="not a .*phrases model"):
            FrozenPhrases.load(tmp_path / bad)


@pytest.mark.parametrize("options, culprit", [
    ({"threshold": -1.0}, "threshold=-1.0"), ({"scoring": "npmi", "threshold": 1.5},
                                              "threshold=1.5"),
    ({"scoring": "npmi", "threshold": -1.0}, "threshold=-1.0"), ({"scoring": "pmi"}, "pmi"),
    ({"min_count": 0}, "min_count=0"), ({"delimiter": " "}, "delimiter=' '")])
def test_nonsensical_settings_are_refused_by_name(options, culprit):
    with pytest.raises(W2VError, match=culprit):
        Phrases(**options)


def test_the_command_writes_a_phrased_corpus_that_trains(capsys, novels, tmp_path):
    out, model = tmp_path / "phrased.txt", tmp_path / "p.json"
    code, _, err = run(capsys, "phrases", novels / "austen_pride_and_prejudice.txt", "-o", out,
                       "--tokenize", "--lowercase", "--save-model", model)
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "lady_catherine" in text and "phrases" in err
    assert "lady_catherine" in FrozenPhrases.load(model).phrasegrams
    # Two passes join phrases of phrases; a saved model applies without learning.
    twice = tmp_path / "twice.txt"
    code, _, err = run(capsys, "phrases", out, "-o", twice, "--passes", "2", "--threshold", "5")
    assert code == 0, err
    assert any(token.count("_") >= 2 for token in twice.read_text(encoding="utf-8").split())
    again = tmp_path / "again.txt"
    code, _, err = run(capsys, "phrases", novels / "austen_pride_and_prejudice.txt", "-o", again,
                       "--tokenize", "--lowercase", "--model", model)
    assert code == 0, err
    assert again.read_text(encoding="utf-8") == text
    code, _, err = run(capsys, "train", out, "-o", tmp_path / "v.txt", "--min-count", "3",
                       "--epochs", "1", "--vector-size", "8", "--quiet")
    assert code == 0, err


@pytest.mark.parametrize("flags, fragments", [
    (["--threshold", "-2"], ["threshold=-2.0"]),
    (["--scoring", "npmi", "--threshold", "1.5"], ["threshold=1.5", "(-1, 1]"]),
    (["--model", "MISSING"], ["not a phrases model"]),
    (["--passes", "2", "--save-model", "m.json"], ["one pass"]),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, novels, tmp_path, flags, fragments):
    flags = [str(tmp_path / f) if f in ("MISSING", "m.json") else f for f in flags]
    out = tmp_path / "out" / "p.txt"
    out.parent.mkdir()
    code, stdout, err = run(capsys, "phrases", novels / "carroll_alice_in_wonderland.txt", "-o",
                            out, *flags)
    expect_one_error_line(code, stdout, err, *fragments)
    assert not list(out.parent.iterdir())
