"""Training progress for people: a one-line bar on a terminal, periodic log lines otherwise."""

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Shows words/s, loss, learning rate and ETA; `stream=None` silences it."""

    def __init__(self, total_words: float, stream=sys.stderr, every: float | None = None,
                 start_words: float = 0.0):
        self.total = max(total_words, 1.0)
        self.start_words = start_words  # words done before this run (a resumed one): not timed
        self.stream = stream
        self.tty = bool(stream) and hasattr(stream, "isatty") and stream.isatty()
        self.every = every if every is not None else (0.2 if self.tty else 10.0)
        self.start = self.last = time.perf_counter()

    def due(self) -> bool:
        """Whether a line is due: lets callers skip computing the figures (a GPU sync) if not."""
        return self.stream is not None and time.perf_counter() - self.last >= self.every

    def update(self, done_words: float, epoch: int, epochs: int, loss: float, alpha: float):
        if not self.due():
            return
        now = self.last = time.perf_counter()
        elapsed = now - self.start
        rate = (done_words - self.start_words) / max(elapsed, 1e-9)
        frac = min(done_words / self.total, 1.0)
        eta = (self.total - done_words) / max(rate, 1e-9)
        stats = (
            f"epoch {epoch}/{epochs} {100 * frac:5.1f}% | {rate / 1e3:,.0f}K words/s | "
            f"loss {loss:.4f} | lr {alpha:.5f} | ETA {_duration(eta)}"
        )
        if self.tty:
            bar = "#" * int(20 * frac)
            self.stream.write(f"\r[{bar:<20}] {stats}")
        else:
            self.stream.write(f"{stats}\n")
        self.stream.flush()

    def close(self):
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()
