"""The folders' rules hold by test: the query side and the data side never import torch, the
library never imports the applications, and vectors load, answer, evaluate, convert and serve
in a process where torch cannot be imported at all."""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

from test_cli import SRC

PACKAGE = Path(SRC) / "w2v"
ROOMS = ("vectors", "corpus", "training", "apps")


# The one function of the query side whose answer is a torch object imports torch itself, when
# called: loading and querying vectors never need it.
TORCH_ONLY_IN = {("keyedvectors.py", "to_embedding")}


def imports(path: Path, skip_functions: frozenset[str] = frozenset()) -> set[str]:
    """Every module `path` imports, at its top or inside a function (but those named in
    `skip_functions`)."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
               and f.name in skip_functions for node in ast.walk(f)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules_of(room: str) -> list[Path]:
    return sorted((PACKAGE / room).rglob("*.py"))


def test_every_module_lives_in_a_room():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "atomic.py", "errors.py"]
    assert all(modules_of(room) for room in ROOMS)


def test_the_query_and_data_sides_never_import_torch():
    offenders = [f"{p.relative_to(PACKAGE)}: {name}"
                 for room in ("vectors", "corpus") for p in modules_of(room)
                 for name in imports(p, frozenset(f for m, f in TORCH_ONLY_IN if m == p.name))
                 if name.split(".")[0] == "torch" or name.startswith("w2v.training")]
    assert offenders == []
    # ... and that function does import it.
    assert "torch" in imports(PACKAGE / "vectors" / "keyedvectors.py")


def test_the_library_never_imports_the_applications():
    offenders = [f"{p.relative_to(PACKAGE)}: {name}"
                 for room in ("vectors", "corpus", "training") for p in modules_of(room)
                 for name in imports(p) if name.startswith("w2v.apps")]
    assert offenders == []


def test_the_query_side_never_imports_the_corpus_side():
    offenders = [f"{p.relative_to(PACKAGE)}: {name}" for p in modules_of("vectors")
                 for name in imports(p) if name.startswith("w2v.corpus")]
    assert offenders == []


WITHOUT_TORCH = r"""
import importlib.abc, io, json, sys, threading, urllib.request
from contextlib import redirect_stdout
from pathlib import Path


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is unimportable in this test")


sys.meta_path.insert(0, NoTorch())
import numpy as np

from w2v import KeyedVectors
from w2v.apps import explorer
from w2v.apps.cli import main

folder = Path(sys.argv[1])
rng = np.random.default_rng(0)
words = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy"]
KeyedVectors(words, rng.standard_normal((8, 6)).astype(np.float32)).save_word2vec_format(
    folder / "v.bin", binary=True)
(folder / "pairs.tsv").write_text("king\tqueen\t8\nman\twoman\t7\nparis\trome\t3\n")
(folder / "questions.txt").write_text(": capitals\nparis france rome italy\n")
kv = KeyedVectors.load_word2vec_format(folder / "v.bin", binary=True)
assert len(kv.most_similar("king", topn=3)) == 3
out = io.StringIO()
with redirect_stdout(out):
    assert main(["similar", str(folder / "v.bin"), "king", "--topn", "2"]) == 0
    assert main(["convert", str(folder / "v.bin"), str(folder / "v.w2v")]) == 0
    assert main(["evaluate", str(folder / "v.w2v"), "--analogies",
                 str(folder / "questions.txt"), "--pairs", str(folder / "pairs.tsv")]) == 0
native = KeyedVectors.load(folder / "v.w2v")
assert native.index_to_key == words
server = explorer.make_server(native, port=0)
threading.Thread(target=server.serve_forever, daemon=True).start()
page = urllib.request.urlopen(server.url + "/").read()
answer = json.loads(urllib.request.urlopen(server.url + "/similar?word=king&topn=2").read())
server.shutdown()
assert b"w2v explorer" in page and len(answer["neighbours"]) == 2
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
print("ok", len(out.getvalue().splitlines()))
"""


def test_vectors_load_query_evaluate_convert_and_serve_without_torch(tmp_path):
    done = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(tmp_path)],
                          env={"PYTHONPATH": SRC}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def module_graph() -> dict[str, set[str]]:
    """w2v's modules (packages' __init__ left out: they only re-export) and the w2v modules
    each imports, at its top or inside a function."""
    names = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p
             for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    graph = {}
    for name, path in names.items():
        graph[name] = {m for m in imports(path) if m in names and m != name}
    return graph


def test_no_module_imports_itself_through_others():
    graph = module_graph()
    assert {"w2v.vectors.formats", "w2v.training.word2vec"} <= set(graph)
    cycles, done = [], set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append(" -> ".join(trail[trail.index(name):] + [name]))
            return
        if name in done:  # every way on from here was followed already
            return
        for other in sorted(graph[name]):
            visit(other, trail + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert cycles == []


def test_the_installed_command_points_at_the_cli():
    pyproject = (PACKAGE.parents[1] / "pyproject.toml").read_text()
    target = re.search(r'^\[project\.scripts\]\s*\nw2v = "([\w.]+:\w+)"', pyproject, re.M)
    assert target, "pyproject.toml lost its [project.scripts] w2v entry"
    module, _, function = target[1].partition(":")
    assert getattr(importlib.import_module(module), function).__module__ == "w2v.apps.cli"
