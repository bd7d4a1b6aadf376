"""JSON and CSV files, written atomically (temporary file in the same directory + ``os.replace``), so a
reader never sees a half-written file. Tables go through pandas; JSON has non-finite floats as null.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from paradox_gym._util.files import write_bytes_atomic


def json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """JSON (non-finite floats as null) written atomically."""
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False)
    return write_bytes_atomic(path, (text + "\n").encode())


def write_csv_atomic(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]],
                     columns: Sequence[str] | None = None, *, empty_columns: Sequence[str] = ()) -> Path:
    """CSV with a header (the union of the rows' keys, first-seen order, unless ``columns``) written
    atomically. With no rows the header is ``empty_columns`` (a header-only file, never a bare newline)."""
    import pandas as pd  # imported when first needed: about 1 s at every process start

    frame = pd.DataFrame.from_records(list(rows))
    if columns is not None:
        frame = frame.reindex(columns=list(columns))
    elif frame.empty and not len(frame.columns):
        frame = pd.DataFrame(columns=list(empty_columns))
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return write_bytes_atomic(path, buf.getvalue().encode())
