"""Publishing a study's report beside its documentation: ``paradox-gym report DIR --copy-to DEST
[--claims-into PAGE]``.

A sweep's folder holds its job files (hundreds of megabytes for a large grid) and the report written from
them; documentation wants the report only. :func:`copy_report` copies the report's files and plots (never a
job file) into ``DEST``, each atomically; :func:`splice_claims` puts ``claims.md``'s lead line and table into
a markdown page between two marker lines, so the page's claim table is the report's, never a hand copy of it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.errors import UserInputError

CLAIMS_BEGIN = "<!-- claims: begin (written by paradox-gym report --claims-into; edit the study, not this table) -->"
CLAIMS_END = "<!-- claims: end -->"


def check_destination(study_dir: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Refuse ``--copy-to`` the study folder itself or a folder inside it (its jobs/ would take the report's
    JSON for job files), before anything is written."""
    source, target = Path(study_dir).resolve(), Path(dest).resolve()
    if target == source or source in target.parents:
        raise UserInputError(f"--copy-to {dest} is {'the study folder' if target == source else 'inside the study folder'}"
                             f" {study_dir}; name a folder outside it")


def copy_report(study_dir: str | os.PathLike[str], dest: str | os.PathLike[str],
                paths: Mapping[str, str]) -> list[Path]:
    """Copy the report files ``paths`` (``write_report``'s answer: key -> path of a file it wrote inside
    ``study_dir``) into ``dest`` at the same relative paths (plots into ``dest/plots``), each atomically;
    returns the files written."""
    check_destination(study_dir, dest)
    source, target = Path(study_dir), Path(dest)
    written: list[Path] = []
    for path in map(Path, paths.values()):
        try:
            relative = path.relative_to(source)
        except ValueError:
            raise UserInputError(f"report file {path} is not inside the study folder {study_dir}") from None
        out = target / relative
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(out, path.read_bytes())
        except OSError as exc:
            raise UserInputError(f"the report cannot be copied to {dest}: {exc.filename or out} "
                                 f"({exc.strerror or exc})") from None
        written.append(out)
    return written


def claims_block(claims_md: str) -> str:
    """``claims.md`` without its title: the lead line, the source line and the table."""
    lines = claims_md.strip("\n").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


def _split_page(page: str | os.PathLike[str]) -> tuple[list[str], list[str], str]:
    """The page's lines up to and including the :data:`CLAIMS_BEGIN` line, those from the :data:`CLAIMS_END`
    line on, and its line ending; one line naming what is wrong when the page cannot be read or does not
    hold each marker line once, in that order."""
    try:
        text = Path(page).read_bytes().decode("utf-8")  # as it is: its line endings kept
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"--claims-into {page}: cannot read it as UTF-8 text "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
    lines = text.splitlines(keepends=True)
    bare = [line.rstrip("\r\n").strip() for line in lines]
    begins = [i for i, line in enumerate(bare) if line == CLAIMS_BEGIN]
    ends = [i for i, line in enumerate(bare) if line == CLAIMS_END]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        raise UserInputError(f"--claims-into {page} needs the line {CLAIMS_BEGIN!r} once and, after it, the line "
                             f"{CLAIMS_END!r} once (found {len(begins)} and {len(ends)})")
    newline = "\r\n" if "\r\n" in text else "\n"
    return lines[:begins[0] + 1], lines[ends[0]:], newline


def check_page(page: str | os.PathLike[str]) -> None:
    """Refuse a ``--claims-into`` page without its marker lines before anything is written."""
    _split_page(page)


def splice_claims(claims_md: str, page: str | os.PathLike[str]) -> Path:
    """Replace the lines between :data:`CLAIMS_BEGIN` and :data:`CLAIMS_END` in the markdown ``page`` with
    ``claims.md``'s block (the rest of the page, its line endings and its file mode are kept; a linked page
    is written through its link). The page must hold each marker line once, in that order; otherwise
    nothing is written."""
    head, tail, newline = _split_page(page)
    if not head[-1].endswith(("\n", "\r")):
        head[-1] += newline
    block = newline.join(["", *claims_block(claims_md).splitlines(), "", ""])
    target = Path(page).resolve()
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        write_bytes_atomic(target, ("".join(head) + block + "".join(tail)).encode("utf-8"))
        os.chmod(target, mode)
    except OSError as exc:
        raise UserInputError(f"--claims-into {page}: cannot write it ({exc.strerror or exc})") from None
    return Path(page)


__all__ = ["CLAIMS_BEGIN", "CLAIMS_END", "check_destination", "check_page", "claims_block", "copy_report",
           "splice_claims"]
