"""Publishing a study's report beside its documentation: ``paradox-gym report DIR --copy-to DEST
[--claims-into PAGE]``.

A sweep's folder holds its job files (hundreds of megabytes for a large grid) and the report written from
them; documentation wants the report only. :func:`copy_report` copies the report's files and plots (never a
job file) into ``DEST``; :func:`splice_claims` puts ``claims.md``'s lead line and table into a markdown page
between two marker lines, so the page's claim table is the report's, never a hand copy of it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.errors import UserInputError

CLAIMS_BEGIN = "<!-- claims: begin (written by paradox-gym report --claims-into; edit the study, not this table) -->"
CLAIMS_END = "<!-- claims: end -->"


def check_destination(study_dir: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Refuse ``--copy-to`` the study folder itself (before anything is written)."""
    if Path(study_dir).resolve() == Path(dest).resolve():
        raise UserInputError(f"--copy-to {dest} is the study folder itself; name another folder")


def copy_report(study_dir: str | os.PathLike[str], dest: str | os.PathLike[str],
                paths: Mapping[str, str]) -> list[Path]:
    """Copy the report files ``paths`` (``write_report``'s answer: key -> path inside ``study_dir``) into
    ``dest``, plots into ``dest/plots``; returns the files written. ``dest`` may not be ``study_dir``."""
    check_destination(study_dir, dest)
    source, target = Path(study_dir).resolve(), Path(dest).resolve()
    written: list[Path] = []
    try:
        for path in map(Path, paths.values()):
            relative = path.resolve().relative_to(source)
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
            written.append(out)
    except OSError as exc:
        raise UserInputError(f"the report cannot be copied to {dest}: {exc.filename or dest} "
                             f"({exc.strerror or exc})") from None
    return written


def claims_block(claims_md: str) -> str:
    """``claims.md`` without its title: the lead line, the source line and the table."""
    lines = claims_md.strip("\n").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


def _read_page(page: str | os.PathLike[str]) -> tuple[str, str]:
    """The page's text before :data:`CLAIMS_BEGIN` and after :data:`CLAIMS_END`; one line naming what is wrong
    when the page cannot be read or does not hold each marker once, in that order."""
    try:
        text = Path(page).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"--claims-into {page}: cannot read it ({exc.strerror or exc})") from None
    counts = (text.count(CLAIMS_BEGIN), text.count(CLAIMS_END))
    if counts != (1, 1) or text.index(CLAIMS_BEGIN) > text.index(CLAIMS_END):
        raise UserInputError(f"--claims-into {page} needs the line {CLAIMS_BEGIN!r} once and, after it, the line "
                             f"{CLAIMS_END!r} once (found {counts[0]} and {counts[1]})")
    head, rest = text.split(CLAIMS_BEGIN, 1)
    return head, rest.split(CLAIMS_END, 1)[1]


def check_page(page: str | os.PathLike[str]) -> None:
    """Refuse a ``--claims-into`` page without its markers before anything is written."""
    _read_page(page)


def splice_claims(claims_md: str, page: str | os.PathLike[str]) -> Path:
    """Replace what lies between :data:`CLAIMS_BEGIN` and :data:`CLAIMS_END` in the markdown ``page`` with
    ``claims.md``'s block. The page must hold each marker once, in that order; otherwise nothing is written."""
    head, tail = _read_page(page)
    new = f"{head}{CLAIMS_BEGIN}\n\n{claims_block(claims_md)}\n\n{CLAIMS_END}{tail}"
    try:
        write_bytes_atomic(page, new.encode("utf-8"))
    except OSError as exc:
        raise UserInputError(f"--claims-into {page}: cannot write it ({exc.strerror or exc})") from None
    return Path(page)


__all__ = ["CLAIMS_BEGIN", "CLAIMS_END", "check_destination", "check_page", "claims_block", "copy_report", "splice_claims"]
