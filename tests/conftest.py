from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def novels() -> Path:
    """The four public-domain novels beside the repository (../shared/data/gutenberg)."""
    folder = SHARED_DATA / "gutenberg"
    if not folder.is_dir():
        pytest.fail(f"test corpus folder {folder} is missing; CI lays ../shared beside the clone")
    return folder
