"""argparse value types that several commands share: each checks its value where it arrives,
so a mistake is one line before any work starts."""

import argparse

from w2v.errors import W2VError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def image_path(text: str) -> str:
    """A picture file to write; checked (matplotlib, suffix, folder) before any work starts."""
    from w2v.apps import plot

    try:
        plot.check_output(text)
    except W2VError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text
