"""The one error type w2v raises for bad input: files, options, query words.

Each message names the culprit (a value, a path, a byte offset or a line) and the fix, so the CLI
can print it as one line and exit non-zero.
"""


class W2VError(ValueError):
    """Bad input given to w2v: the message says what, where, and how to fix it."""
