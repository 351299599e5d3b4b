"""w2v.training.kernels: the build cache is keyed so that environments used in turn never
rebuild each other's kernel, and a binary built for one CPU is never loaded on another."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import SRC

from w2v.training import kernels

PROBE = 'extern "C" int w2v_cache_probe() { return 42; }\n'
# Builds the probe as if in environment ENV on CPU CPU, in a process of its own as a user's
# session would be; prints the built library's path.
BUILD = """
import sys
from pathlib import Path
from w2v.training import kernels
kernels.environment_signature = lambda: sys.argv[2]
print(kernels.build("probe", Path(sys.argv[1]), flags=("-O0",), python_module=False,
                    cpu=sys.argv[3]))
"""


def build_in(tmp_path: Path, source: Path, environment: str, cpu: str = "cpu-1") -> Path:
    env = {"PYTHONPATH": SRC, "TORCH_EXTENSIONS_DIR": str(tmp_path / "cache"), "PATH":
           f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", BUILD, str(source), environment, cpu],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def test_two_environments_used_in_turn_keep_their_builds(tmp_path):
    source = tmp_path / "probe.cpp"
    source.write_text(PROBE)
    first = build_in(tmp_path, source, "venv-a")
    built = first.stat().st_mtime_ns
    other = build_in(tmp_path, source, "venv-b")
    again = build_in(tmp_path, source, "venv-a")
    assert other.parent != first.parent  # each environment has a folder of its own
    assert again == first and first.stat().st_mtime_ns == built  # found, not rebuilt


def test_a_changed_cpu_builds_afresh(tmp_path):
    source = tmp_path / "probe.cpp"
    source.write_text(PROBE)
    here = build_in(tmp_path, source, "venv-a", cpu="x86 avx512")
    there = build_in(tmp_path, source, "venv-a", cpu="x86 avx2")
    assert there.parent != here.parent and there.is_file() and here.is_file()


def test_the_key_changes_with_whatever_changes_the_binary():
    key = kernels.build_key(b"source", ("-O3",), "venv", "cpu")
    assert key == kernels.build_key(b"source", ("-O3",), "venv", "cpu")
    others = [kernels.build_key(b"other", ("-O3",), "venv", "cpu"),
              kernels.build_key(b"source", ("-O2",), "venv", "cpu"),
              kernels.build_key(b"source", ("-O3",), "venv2", "cpu"),
              kernels.build_key(b"source", ("-O3",), "venv", "cpu2")]
    assert len({key, *others}) == 5


def test_the_cpu_signature_names_the_instruction_set():
    signature = kernels.cpu_signature()
    assert signature and signature == kernels.cpu_signature()
    if Path("/proc/cpuinfo").is_file() and "flags" in Path("/proc/cpuinfo").read_text():
        assert "flags:" in signature  # what -march=native reads


def test_the_training_kernel_is_cached_under_its_key():
    module = kernels.cpu_kernel()
    assert module is not None
    folder = Path(module.__file__).parent
    assert folder.parent == kernels.cache_root() and folder.name.startswith("w2v_cpu-")
    key = kernels.build_key(kernels.SOURCE.read_bytes(), kernels.FLAGS,
                            kernels.environment_signature(), kernels.cpu_signature())
    assert folder.name == f"w2v_cpu-{key}"


def test_a_lock_left_by_a_stopped_build_is_removed_and_a_live_one_kept(tmp_path):
    lock = tmp_path / "lock"
    lock.touch()
    assert not kernels.clear_stale_lock(tmp_path)  # a build may hold it now: torch waits
    assert lock.exists()
    old = time.time() - kernels.STALE_LOCK_SECONDS - 60
    os.utime(lock, (old, old))
    with pytest.warns(UserWarning, match="stopped"):
        assert kernels.clear_stale_lock(tmp_path)
    assert not lock.exists()
    assert not kernels.clear_stale_lock(tmp_path)  # none there: nothing to do
