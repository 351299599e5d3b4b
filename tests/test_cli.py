"""w2v's command line: each command's output, and one clear line for each kind of bad input.

The vector files are written by gensim, the reference, and built so the answers are known:
king - man + woman is exactly queen, and the fruit and vehicle words sit apart from the people.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import gensim
import numpy as np
import pytest

import w2v
from w2v.apps import cli
from w2v.apps.cli import main
from w2v.vectors import formats

# Features: royal, male, female, person, fruit, vehicle (and a little noise in the last two).
VECTORS = {
    "king": [1, 1, 0, 1, 0, 0],
    "queen": [1, 0, 1, 1, 0, 0],
    "man": [0, 1, 0, 1, 0, 0],
    "woman": [0, 0, 1, 1, 0, 0],
    "prince": [0.8, 1, 0, 0.9, 0.1, 0],
    "apple": [0, 0, 0, 0, 1, 0.1],
    "banana": [0, 0, 0, 0.1, 1, 0.2],
    "car": [0, 0, 0, 0, 0.1, 1],
    "truck": [0.1, 0, 0, 0, 0.2, 1],
}
ANALOGIES = """\
: people
man king woman queen
man woman king queen
man king woman prince
: things
apple banana car truck
apple banana unicorn truck
"""
PAIRS = """\
# word1\tword2\tscore
king\tqueen\t8.0
man\twoman\t8.5
apple\tbanana\t7.0
car\ttruck\t7.5
king\tapple\t1.0
car\tqueen\t0.5
unicorn\tcar\t2.0
"""
# Where this w2v was imported from, so the subprocess gets the same one.
SRC = str(Path(w2v.__file__).parents[1])


@pytest.fixture(scope="module")
def reference():
    kv = gensim.models.KeyedVectors(6)
    kv.add_vectors(list(VECTORS), np.array(list(VECTORS.values()), dtype=np.float32))
    return kv


@pytest.fixture(scope="module")
def files(reference, tmp_path_factory):
    folder = tmp_path_factory.mktemp("vectors")
    paths = {"text": folder / "v.txt", "binary": folder / "v.bin"}
    reference.save_word2vec_format(str(paths["text"]))
    reference.save_word2vec_format(str(paths["binary"]), binary=True)
    (folder / "analogies.txt").write_text(ANALOGIES)
    (folder / "pairs.tsv").write_text(PAIRS)
    paths["analogies"] = folder / "analogies.txt"
    paths["pairs"] = folder / "pairs.tsv"
    return {key: str(path) for key, path in paths.items()}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def lines(text):
    return text.rstrip("\n").split("\n")


def expect_one_error_line(code, out, err, *fragments):
    assert code == cli.EXIT_ERROR
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("w2v: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"w2v {w2v.__version__}"


def test_similar_prints_gensims_neighbours_aligned(capsys, files, reference):
    code, out, err = run(capsys, "similar", files["text"], "apple", "--topn", 3)

    assert code == 0 and err == ""
    rows = lines(out)
    expected = reference.most_similar("apple", topn=3)
    assert [row.split() for row in rows] == [[w, f"{s:.4f}"] for w, s in expected]
    assert len({len(row) for row in rows}) == 1  # similarities end in one column


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_format_is_detected_or_taken_from_the_flag(capsys, files, fmt):
    detected = run(capsys, "similar", files[fmt], "king")
    forced = run(capsys, "similar", files[fmt], "king", "--format", fmt)
    from_text = run(capsys, "similar", files["text"], "king")

    assert detected == forced
    assert detected[0] == 0
    assert detected[1] == from_text[1]


def test_glove_file_is_read_with_a_note_unless_named(capsys, files, reference, tmp_path):
    glove = tmp_path / "glove.txt"
    reference.save_word2vec_format(str(glove), write_header=False)
    code, out, err = run(capsys, "similar", glove, "king")
    assert code == 0 and out == run(capsys, "similar", files["text"], "king")[1]
    assert err.count("\n") == 1 and "w2v: note:" in err and "GloVe" in err
    assert run(capsys, "similar", glove, "king", "--format", "glove") == (0, out, "")


def test_limit_and_float16_load_less(capsys, files, reference):
    first = reference.index_to_key[:4]
    code, out, _ = run(capsys, "similar", files["binary"], first[0], "--limit", 4, "--float16")
    expected = [w for w, _ in reference.most_similar(first[0], topn=10, restrict_vocab=4)]
    assert code == 0 and [row.split()[0] for row in lines(out)] == expected
    code, out, err = run(capsys, "similar", files["binary"], reference.index_to_key[-1],
                         "--limit", 4)
    expect_one_error_line(code, out, err, "not in the vocabulary")


def test_analogy_is_b_minus_a_plus_c(capsys, files, reference):
    code, out, _ = run(capsys, "analogy", files["binary"], "man", "king", "woman", "--topn", 2)

    assert code == 0
    rows = [row.split() for row in lines(out)]
    assert rows[0][0] == "queen"
    expected = reference.most_similar(positive=["king", "woman"], negative=["man"], topn=2)
    assert rows == [[w, f"{s:.4f}"] for w, s in expected]


def test_similar_without_a_word_answers_each_line_until_an_empty_one(capsys, monkeypatch, files,
                                                                    reference):
    monkeypatch.setattr(sys, "stdin", io.StringIO("king\nnosuchword\napple king\n\nqueen\n"))
    code, out, err = run(capsys, "similar", files["text"], "--topn", 2)
    assert code == 0
    expected = [reference.most_similar(positive=words, topn=2) for words in (["king"],
                                                                             ["apple", "king"])]
    assert [row.split() for row in lines(out)] == [[w, f"{s:.4f}"] for pairs in expected
                                                   for w, s in pairs]
    assert err.count("\n") == 1 and "'nosuchword' is not in the vocabulary" in err


def test_analogy_prompt_takes_three_words_a_line_and_stops_at_exit(capsys, monkeypatch, files,
                                                                   reference):
    monkeypatch.setattr(sys, "stdin", io.StringIO("man king\nman king woman\nEXIT\nx y z\n"))
    code, out, err = run(capsys, "analogy", files["binary"], "--topn", 1)
    expected = reference.most_similar(positive=["king", "woman"], negative=["man"], topn=1)
    assert code == 0 and [row.split() for row in lines(out)] == [[w, f"{s:.4f}"]
                                                                  for w, s in expected]
    assert err.count("\n") == 1 and "2 words; give three" in err


def test_analogy_with_some_of_its_words_is_refused(capsys, files):
    code, out, err = run(capsys, "analogy", files["binary"], "man", "king")
    expect_one_error_line(code, out, err, "got 2 of the words A B C")


def test_evaluate_reports_sections_total_and_pair_correlations(capsys, files, reference):
    code, out, err = run(
        capsys, "evaluate", files["text"], "--analogies", files["analogies"],
        "--pairs", files["pairs"],
    )

    assert code == 0, err
    table = {row.split()[0]: row.split()[1:] for row in lines(out) if row.strip()}
    # people: 2 of 3 right (the answer to the third is queen, not prince); things: the question
    # with "unicorn" is skipped.
    assert table["people"] == ["2", "3", "66.7%"]
    assert table["things"] == ["1", "1", "100.0%"]
    assert table["total"] == ["3", "4", "75.0%"]
    assert "skipped: 1 of 5 questions" in out
    (pearson, _), (spearman, _), oov = reference.evaluate_word_pairs(files["pairs"])
    assert table["pairs.tsv"] == [f"{pearson:.4f}", f"{spearman:.4f}", f"{oov:.1f}%"]


def test_evaluate_without_files_runs_the_three_standard_sets(capsys, files, tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_HOME", str(tmp_path))  # empty: gensim's copies are used
    code, out, err = run(capsys, "evaluate", files["text"])

    assert code == 0, err
    assert "questions-words.txt" in out
    first_column = [row.split()[0] for row in lines(out) if row.strip()]
    assert {"capital-common-countries", "gram9-plural-verbs", "total"} <= set(first_column)
    assert {"wordsim353.tsv", "simlex999.txt"} <= set(first_column)


def test_convert_round_trip_through_every_format(capsys, files, reference, tmp_path):
    binary, native, text = tmp_path / "a.bin", tmp_path / "b.data", tmp_path / "c.vec"

    assert run(capsys, "convert", files["text"], binary)[0] == 0
    assert formats.detect_format(binary) == "binary"
    code, out, _ = run(capsys, "convert", binary, native, "--to", "native")
    assert code == 0 and "9 words" in out
    assert formats.detect_format(native) == "native"
    assert run(capsys, "convert", native, text, "--from", "native")[0] == 0

    back = gensim.models.KeyedVectors.load_word2vec_format(str(text))
    assert back.index_to_key == reference.index_to_key
    np.testing.assert_allclose(back.vectors, reference.vectors, atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.data", "c.vec"]  # no temporary left


def test_warnings_are_one_line_each(capsys, tmp_path):
    repeated = tmp_path / "repeated.txt"
    repeated.write_text("3 2\nking 1 0\nqueen 0.9 0.1\nking 0 1\n")

    code, out, err = run(capsys, "similar", repeated, "king")

    assert code == 0
    assert out.split() == ["queen", f"{0.9 / np.hypot(0.9, 0.1):.4f}"]  # the first king is kept
    assert err.startswith("w2v: warning: ") and err.count("\n") == 1
    assert "'king'" in err


@pytest.fixture
def truncated(files, tmp_path):
    data = Path(files["binary"]).read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(data[: len(data) - 10])
    return path


def test_failed_convert_writes_nothing(capsys, truncated, tmp_path):
    code, out, err = run(capsys, "convert", truncated, tmp_path / "out.txt")
    expect_one_error_line(code, out, err, str(truncated))
    assert sorted(os.listdir(tmp_path)) == ["cut.bin"]


def test_missing_vectors_file(capsys, tmp_path):
    missing = tmp_path / "nope.bin"
    expect_one_error_line(*run(capsys, "similar", missing, "king"), str(missing))


def test_truncated_binary_file(capsys, truncated):
    expect_one_error_line(*run(capsys, "similar", truncated, "king"), str(truncated))


def test_unknown_word_names_word_and_file(capsys, files):
    code, out, err = run(capsys, "analogy", files["text"], "man", "king", "xyzzy")
    expect_one_error_line(code, out, err, "'xyzzy'", files["text"])
    assert "'king'" not in err


def test_unknown_format_name(capsys, files):
    code, out, err = run(capsys, "similar", files["text"], "king", "--format", "gzip")
    expect_one_error_line(code, out, err, "gzip")


def test_unknown_output_suffix(capsys, files, tmp_path):
    out = tmp_path / "v.parquet"
    expect_one_error_line(*run(capsys, "convert", files["text"], out), str(out))
    assert not out.exists()


def test_missing_eval_file(capsys, files, tmp_path):
    missing = tmp_path / "nope.tsv"
    expect_one_error_line(*run(capsys, "evaluate", files["text"], "--pairs", missing), str(missing))


@pytest.mark.parametrize(
    "flag, content",
    [
        ("--analogies", ": people\nman king woman\n"),
        ("--pairs", "king\tqueen\tvery similar\n"),
    ],
)
def test_malformed_eval_file(capsys, files, tmp_path, flag, content):
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    expect_one_error_line(*run(capsys, "evaluate", files["text"], flag, bad), str(bad))


def test_bad_topn(capsys, files):
    expect_one_error_line(*run(capsys, "similar", files["text"], "king", "--topn", "-3"), "--topn")


def test_ctrl_c_exits_130_quietly(capsys, files, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(formats, "load_vectors", interrupted)
    assert run(capsys, "similar", files["text"], "king") == (cli.EXIT_INTERRUPTED, "", "")


def test_python_dash_m_reports_one_line_and_exit_code(files, tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def w2v_cmd(*argv):
        return subprocess.run(
            [sys.executable, "-m", "w2v", *map(str, argv)], env=env, capture_output=True, text=True
        )

    ok = w2v_cmd("analogy", files["text"], "man", "king", "woman", "--topn", "1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split()[0] == "queen"

    bad = w2v_cmd("similar", tmp_path / "nope.txt", "king")
    assert bad.returncode == cli.EXIT_ERROR
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("w2v: error: ")
    assert "Traceback" not in bad.stderr
