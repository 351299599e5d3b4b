"""`w2v train`: trains on a real novel, writes loadable files, and answers bad input in one line."""

import pytest
from test_cli import expect_one_error_line, run

from w2v import KeyedVectors
from w2v.corpus.vocab import Vocab


@pytest.fixture(scope="module")
def alice(novels):
    return novels / "carroll_alice_in_wonderland.txt"


def test_train_writes_vectors_model_and_vocab(capsys, alice, tmp_path):
    out, model, vocab = tmp_path / "v.bin", tmp_path / "m.w2v", tmp_path / "vocab.txt"
    code, stdout, err = run(capsys, "train", alice, "-o", out, "--save-model", model,
                            "--save-vocab", vocab, "--tokenize", "--lowercase", "--epochs", "2",
                            "--vector-size", "20", "--min-count", "3")
    assert code == 0, err
    assert "words/s" in err and str(out) in err and "epoch loss" in err
    kv = KeyedVectors.load_word2vec_format(out, binary=True)
    assert kv.vector_size == 20 and "alice" in kv
    assert Vocab.load(vocab).words == kv.index_to_key
    assert KeyedVectors.load(model).index_to_key == kv.index_to_key
    assert list(tmp_path.iterdir()) and not list(tmp_path.glob("*.tmp"))


def test_subword_vectors_answer_words_never_seen(capsys, alice, tmp_path):
    out = tmp_path / "ft.w2v"
    code, _, err = run(capsys, "train", alice, "-o", out, "--subwords", "--bucket", "20000",
                       "--tokenize", "--lowercase", "--epochs", "3", "--vector-size", "20",
                       "--min-count", "3", "--quiet")
    assert code == 0, err
    code, stdout, err = run(capsys, "similar", out, "rabbitt", "--topn", "5")
    assert code == 0, err
    assert "rabbit" in stdout.split()


def test_train_reads_a_fixed_vocabulary(capsys, alice, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("alice 10\nqueen 5\nrabbit 4\n")
    out = tmp_path / "v.txt"
    code, _, err = run(capsys, "train", alice, "-o", out, "--read-vocab", vocab, "--tokenize",
                       "--lowercase", "--epochs", "1", "--vector-size", "8", "--quiet")
    assert code == 0, err
    # word2vec.c applies -min-count to a vocabulary it reads too: rabbit (4 < 5) is dropped.
    assert KeyedVectors.load_word2vec_format(out).index_to_key == ["alice", "queen"]


@pytest.mark.parametrize("corpus, flags, fragments", [
    ("missing.txt", [], ["missing.txt", "does not exist"]),
    ("empty.txt", [], ["empty"]),
    ("tiny.txt", [], ["min_count=5", "lower min_count"]),
    ("tiny.txt", ["--window", "-1"], ["window=-1"]),
    ("tiny.txt", ["--sample", "-1"], ["sample=-1"]),
    ("tiny.txt", ["--vector-size", "0"], ["vector_size=0"]),
    ("tiny.txt", ["--optimizer", "lbfgs"], ["optimizer", "lbfgs"]),
    ("tiny.txt", ["--epochs", "many"], ["epochs", "many"]),
    ("tiny.txt", ["--checkpoint-dir", "/proc/w2v-ck"], ["cannot create checkpoint folder",
                                                        "choose another"]),
    ("tiny.txt", ["--checkpoint-every", "-1"], ["checkpoint_every=-1"]),
    ("tiny.txt", ["--sync-words", "-1"], ["sync_words=-1"]),
    ("tiny.txt", ["--subwords", "--min-n", "5", "--max-n", "3"], ["min_n=5, max_n=3"]),
    ("tiny.txt", ["--subwords", "--bucket", "0"], ["bucket=0"]),
    ("tiny.txt", ["--subwords", "--update", "batched"], ["subwords", "update='batched'"]),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, corpus, flags, fragments):
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "tiny.txt").write_text("one two three\n")
    out = tmp_path / "out" / "v.bin"
    out.parent.mkdir()
    code, stdout, err = run(capsys, "train", tmp_path / corpus, "-o", out, *flags)
    expect_one_error_line(code, stdout, err, *fragments)
    assert not list(out.parent.iterdir())


def test_unwritable_output_fails_before_training(capsys, alice, tmp_path):
    code, stdout, err = run(capsys, "train", alice, "-o", tmp_path / "no" / "such" / "v.bin")
    expect_one_error_line(code, stdout, err, "does not exist")


def test_bad_device_is_one_line(capsys, alice, tmp_path):
    code, stdout, err = run(capsys, "train", alice, "-o", tmp_path / "v.bin", "--device", "tpu")
    expect_one_error_line(code, stdout, err, "device")


def test_train_starts_from_pretrained_vectors_and_keeps_them_frozen(capsys, alice, novels,
                                                                    tmp_path):
    pretrained, out = tmp_path / "austen.txt", tmp_path / "v.txt"
    common = ["--tokenize", "--lowercase", "--epochs", "1", "--vector-size", "12",
              "--min-count", "3", "--quiet"]
    assert run(capsys, "train", novels / "austen_pride_and_prejudice.txt", "-o", pretrained,
               *common)[0] == 0
    code, _, err = run(capsys, "train", alice, "-o", out, "--init-vectors", pretrained,
                       "--freeze-init", *common)
    assert code == 0, err
    before = KeyedVectors.load_word2vec_format(pretrained)
    after = KeyedVectors.load_word2vec_format(out)
    shared = [w for w in after.index_to_key if w in before.key_to_index]
    assert len(shared) > 300 and (after[shared] == before[shared]).all()
    code, out_text, err = run(capsys, "train", alice, "-o", out, "--freeze-init", *common)
    expect_one_error_line(code, out_text, err, "--init-vectors")
