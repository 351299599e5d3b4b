"""`w2v train` with word2vec.c's command line: the C tool's meanings, defaults and output format."""

import dataclasses
import re
import shlex

import pytest
from test_cli import expect_one_error_line, run

from w2v.apps import cli
from w2v.training.config import TrainConfig

EXAMPLE = shlex.split("-train text8 -output vec.bin -cbow 1 -size 200 -window 8 -negative 25 "
                      "-hs 0 -sample 1e-4 -threads 20 -binary 1 -iter 15")


def parsed(c_argv):
    """The train arguments and TrainConfig that a word2vec.c command line turns into."""
    args = cli.build_parser().parse_args(["train", *cli.c_tool_argv(c_argv)])
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    return args, config


def test_the_readme_example_maps_to_our_settings():
    args, config = parsed(EXAMPLE)
    assert (args.corpus, args.output, args.output_format) == ("text8", "vec.bin", "binary")
    assert config.sg == 0 and config.hs == 0 and config.negative == 25
    assert config.vector_size == 200 and config.window == 8 and config.sample == 1e-4
    assert config.workers == 20 and config.epochs == 15
    assert config.alpha == 0.05  # the C tool's CBOW default
    assert config.min_alpha == pytest.approx(0.05 * 1e-4)


def test_c_defaults_apply_when_flags_are_left_out():
    args, config = parsed(["-train", "t.txt", "-output", "v.bin"])
    assert args.output_format == "text"  # -binary 0 is the C default, whatever the suffix
    assert config.sg == 0 and config.alpha == 0.05 and config.min_count == 5
    assert (config.vector_size, config.window, config.sample) == (100, 5, 1e-3)
    assert (config.hs, config.negative, config.epochs) == (0, 5, 5)
    assert config.workers == 0  # ours (all cores), not the C tool's 12
    assert not args.quiet


def test_skip_gram_and_explicit_alpha():
    _, config = parsed(["-train", "t", "-output", "v", "-cbow", "0"])
    assert config.sg == 1 and config.alpha == 0.025
    _, config = parsed(["-train", "t", "-output", "v", "-cbow", "0", "-alpha", "0.1"])
    assert config.sg == 1 and config.alpha == 0.1


def test_vocab_files_debug_and_classes_zero():
    args, config = parsed(["-train", "t", "-output", "v", "-save-vocab", "s.txt",
                           "-read-vocab", "r.txt", "-min-count", "2", "-debug", "0",
                           "-classes", "0"])
    assert (args.save_vocab, args.read_vocab, config.min_count) == ("s.txt", "r.txt", 2)
    assert args.quiet  # -debug 0: no progress output


@pytest.fixture(scope="module")
def corpus(novels, tmp_path_factory):
    """Alice, pre-tokenized as word2vec.c expects: lowercase words separated by spaces."""
    text = (novels / "carroll_alice_in_wonderland.txt").read_text(encoding="utf-8")
    lines = (" ".join(re.sub(r"[^a-z ]", " ", line.lower()).split()) for line in text.splitlines())
    path = tmp_path_factory.mktemp("ctool") / "alice.txt"
    path.write_text("\n".join(line for line in lines if line) + "\n")
    return path


@pytest.mark.parametrize("binary", [0, 1])
def test_trains_and_writes_the_format_binary_asks_for(capsys, corpus, tmp_path, binary):
    gensim = pytest.importorskip("gensim")
    out, vocab = tmp_path / "vec.out", tmp_path / "vocab.txt"
    code, _, err = run(capsys, "train", "-train", corpus, "-output", out, "-size", "16",
                       "-window", "3", "-iter", "1", "-threads", "1", "-binary", binary,
                       "-save-vocab", vocab, "-debug", "0")
    assert code == 0, err
    assert err == ""
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(out), binary=bool(binary))
    assert kv.vector_size == 16 and "alice" in kv.key_to_index
    data = out.read_bytes()
    header = f"{len(kv)} 16\n".encode()
    if binary:  # `word <16 raw float32>\n` per row
        rows = sum(len(word.encode()) + 1 + 4 * 16 + 1 for word in kv.index_to_key)
        assert data.startswith(header) and len(data) == len(header) + rows
    else:  # `word 16 decimals` per line, as the C tool writes with -binary 0
        lines = data.decode("utf-8").splitlines()
        assert lines[0] == header.decode().strip() and len(lines) == len(kv) + 1
        assert all(len(line.split()) == 17 for line in lines[1:])
    rows = [line.split(" ") for line in vocab.read_text().splitlines()]
    assert all(len(row) == 2 and row[1].isdigit() for row in rows)
    assert [word for word, _ in rows] == kv.index_to_key


@pytest.mark.parametrize("argv, fragments", [
    (["-train", "t", "-output", "v", "-foo", "1"], ["unknown word2vec.c option -foo"]),
    (["-foo", "1"], ["unknown word2vec.c option -foo"]),
    (["-train", "t", "-output"], ["-output needs a value"]),
    (["-train", "-output", "v"], ["-train needs a value"]),
    (["-train", "t", "-output", "v", "-size", "big"], ["-size", "whole number", "'big'"]),
    (["-train", "t", "-output", "v", "-sample", "lots"], ["-sample", "number", "'lots'"]),
    (["-train", "t", "-output", "v", "-classes", "5"], ["-classes", "not supported"]),
    (["-train", "t", "-output", "v", "-cbow", "2"], ["-cbow", "0 or 1"]),
    (["-train", "t", "-output", "v", "-binary", "2"], ["-binary", "0 or 1"]),
    (["-train", "t"], ["-output FILE is missing"]),
    (["-train", "t", "-output", "v", "--epochs", "1"], ["--epochs", "one style"]),
    (["t", "-o", "v", "-size", "10"], ["'t'", "one style"]),
    (["-train", "t", "-output", "v", "-o", "w"], ["-o", "one style"]),
    (["-train", "t", "-output", "v", "-iter", "1", "-iter", "2"], ["-iter", "twice"]),
])
def test_bad_c_command_lines_are_one_line(capsys, argv, fragments):
    code, stdout, err = run(capsys, "train", *argv)
    expect_one_error_line(code, stdout, err, *fragments)


def test_c_option_values_are_still_validated(capsys, corpus, tmp_path):
    code, stdout, err = run(capsys, "train", "-train", corpus, "-output", tmp_path / "v",
                            "-window", "0")
    expect_one_error_line(code, stdout, err, "window=0")
    assert not list(tmp_path.iterdir())


def test_help_mentions_the_c_spellings(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    out = " ".join(out.split())
    assert "word2vec.c" in out and "-threads" in out and "one thread per core" in out
    assert "-min-count -alpha" in out
    assert "--output-format" not in out
