"""Every number the package prints, formatted in one place: percents, ratios, intervals, quantities with
units scaled per column, bytes and confidence levels.

A leaf module (it imports nothing of the package), so the analysis's evidence sentences, the evaluation
report and the study report all print the same number the same way.

Rules:
- a change is a signed percent of the baseline: one decimal below 10% (a bound that lies on one side of no
  change is never shown as ``-0%`` or ``+0%``: ``+<0.1%``), none above;
- a ratio has two decimals and an ``x``; an interval is ``[low, high]`` after its point value;
- a quantity and its bounds share one unit prefix and one number of decimals, chosen from the column's
  values, so a column reads evenly (``243 [227, 259] mJ``, not ``0.243 [0.227, 0.259]`` beside ``0.24``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

#: SI prefixes used to scale a column, from the largest.
_PREFIXES: tuple[tuple[float, str], ...] = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
                                            (1e-6, "u"), (1e-9, "n"))
NA = "n/a"


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def pct(ratio: float | None) -> str:
    """A ratio as a signed percent change: ``1.5 -> "+50%"``, ``0.995 -> "-0.5%"``, ``1.0 -> "0%"``."""
    if not _finite(ratio):
        return NA
    change = (float(ratio) - 1.0) * 100  # type: ignore[arg-type]
    if change == 0:
        return "0%"
    text = f"{change:+.1f}%" if abs(change) < 9.95 else f"{change:+.0f}%"
    return text.replace("+0.0%", "+<0.1%").replace("-0.0%", "-<0.1%")


def pct_interval(ratio: float | None, low: float | None, high: float | None) -> str:
    """``"+50% [+37%, +64%]"``; without bounds ``"+50% (no CI)"``."""
    if not _finite(ratio):
        return NA
    if not (_finite(low) and _finite(high)):
        return f"{pct(ratio)} (no CI)"
    return f"{pct(ratio)} [{pct(low)}, {pct(high)}]"


def ratio(value: float | None) -> str:
    """``1.583 -> "1.58x"``."""
    return f"{value:.2f}x" if _finite(value) else NA


def ratio_interval(value: float | None, low: float | None, high: float | None) -> str:
    """``"1.58x [1.25, 1.99]"``."""
    if not _finite(value):
        return NA
    if not (_finite(low) and _finite(high)):
        return f"{ratio(value)} (no CI)"
    return f"{ratio(value)} [{low:.2f}, {high:.2f}]"


def level(confidence: float) -> str:
    """A confidence level as text: ``0.95 -> "95%"``, ``0.98333 -> "98.3%"``."""
    return f"{100 * confidence:.3g}%"


def column_scale(values: Iterable[float | None]) -> tuple[float, str]:
    """(divisor, prefix) that puts the column's largest magnitude in [1, 1000)."""
    finite = [abs(float(v)) for v in values if _finite(v) and v != 0]
    if not finite:
        return 1.0, ""
    top = max(finite)
    for factor, prefix in _PREFIXES:
        if top >= factor:
            return factor, prefix
    return _PREFIXES[-1]


def _decimals(scaled: Sequence[float]) -> int:
    """Decimals giving three significant digits to the column's smallest non-zero magnitude (at most 3)."""
    finite = [abs(v) for v in scaled if math.isfinite(v) and v != 0]
    if not finite:
        return 0
    smallest = min(finite)
    return max(0, min(3, 2 - int(math.floor(math.log10(smallest)))))


def quantity(value: float | None, low: float | None = None, high: float | None = None, *,
             scale: tuple[float, str] | None = None, unit: str = "", decimals: int | None = None) -> str:
    """``value [low, high] unit`` with one prefix and one number of decimals for all three.

    ``scale`` is a column's :func:`column_scale` (default: this value's own); ``decimals`` a column's
    :func:`column_decimals` (default: three significant digits of this value).
    """
    if not _finite(value):
        return NA
    factor, prefix = scale or column_scale([value])
    parts = [float(value) / factor]  # type: ignore[arg-type]
    bounds = _finite(low) and _finite(high)
    if bounds:
        parts += [float(low) / factor, float(high) / factor]  # type: ignore[arg-type]
    d = decimals if decimals is not None else _decimals(parts[:1])
    text = f"{parts[0]:.{d}f}"
    if bounds:
        text += f" [{parts[1]:.{d}f}, {parts[2]:.{d}f}]"
    suffix = f"{prefix}{unit}"
    return f"{text} {suffix}" if suffix else text


def column_decimals(values: Iterable[float | None], scale: tuple[float, str]) -> int:
    """The decimals a column of values needs (three significant digits of its smallest magnitude)."""
    return _decimals([float(v) / scale[0] for v in values if _finite(v)])


def number(value: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits (``n/a`` when missing)."""
    return f"{value:.{digits}g}" if _finite(value) else NA


def signed(value: float | None, digits: int = 3) -> str:
    """A signed number with ``digits`` significant digits: ``+0.0571``."""
    return f"{value:+.{digits}g}" if _finite(value) else NA


def bytes_(n: float | None) -> str:
    """A size in B, KiB, MiB or GiB."""
    if not _finite(n):
        return NA
    value = float(n)  # type: ignore[arg-type]
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain-text table, columns padded to their widest cell, a dashed rule under the header."""
    body = [list(map(str, r)) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The same table as Markdown (a None cell is left empty)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
