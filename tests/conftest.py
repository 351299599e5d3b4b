import signal
from pathlib import Path

import pytest

# A job started in the background by a shell begins with Ctrl-C ignored, and the programs it
# starts inherit that; the tests that press Ctrl-C need Python's own handler, as in a terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def novels() -> Path:
    """The four public-domain novels beside the repository (../shared/data/gutenberg)."""
    folder = SHARED_DATA / "gutenberg"
    if not folder.is_dir():
        pytest.fail(f"test corpus folder {folder} is missing; CI lays ../shared beside the clone")
    return folder


@pytest.fixture(scope="session")
def austen(novels) -> list[list[str]]:
    """Pride and Prejudice, tokenized: 122k words of real English."""
    from w2v.corpus.readers import LineSentence

    return list(LineSentence(novels / "austen_pride_and_prejudice.txt", lowercase=True,
                             tokenize_text=True))
