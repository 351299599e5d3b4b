"""The README's walk-through, run as a new user would type it, on a real novel."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from test_cli import SRC

README = Path(__file__).resolve().parents[1] / "README.md"
# Set-up lines a test already stands in: it runs inside the installed .venv.
SET_UP = ("make demo", ". .venv/bin/activate")


def walkthrough() -> list[str]:
    text = README.read_text()
    block = re.search(r"<!-- walkthrough -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README.md lost its <!-- walkthrough --> block"
    lines = [line.split("  #")[0].strip() for line in block[1].splitlines()]
    return [line for line in lines if line and not line.startswith(SET_UP)]


def test_the_walkthrough_runs_on_a_novel(novels, tmp_path):
    shutil.copy(novels / "austen_pride_and_prejudice.txt", tmp_path / "mybook.txt")
    env = {**os.environ, "PYTHONPATH": SRC}
    outputs = {}
    commands = walkthrough()
    assert commands[0].startswith("w2v train mybook.txt")
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "w2v", line
        done = subprocess.run([sys.executable, "-m", "w2v", *argv[1:]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        outputs[argv[1]] = done.stdout
    for made in ("mybook.bin", "curve.png", "map.png", "projector/vectors.tsv"):
        assert (tmp_path / made).stat().st_size > 0, made
    assert len(outputs["similar"].splitlines()) == 5
    answers = [line.split()[0] for line in outputs["analogy"].splitlines()[:3]]
    assert "her" in answers  # what the README promises
