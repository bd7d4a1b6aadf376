"""The default progress display of :func:`paradox_gym.evaluate`: a line per stage and a tqdm bar over the
trials (a widget in a notebook), shown only when someone can see it (stderr is a terminal, or the code runs in
a Jupyter kernel)."""

from __future__ import annotations

import sys
from typing import Any


def attached() -> bool:
    """Whether progress would be seen: stderr is a terminal, or this is a Jupyter (IPython) kernel."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):  # a replaced or closed stderr
        pass
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return callable(get) and getattr(get(), "kernel", None) is not None


class ProgressBar:
    """A progress callback: each stage's message as a line on stderr, then a bar over the trials."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, event: Any) -> None:
        if event.stage == "trials" and event.total:
            if self.bar is None:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=event.total, desc="trials", unit="trial", file=sys.stderr, leave=False)
            self.bar.n = event.done
            self.bar.refresh()
            return
        self.close()
        print(event.message + ("" if event.stage == "warning" else " ..."), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


__all__ = ["ProgressBar", "attached"]
