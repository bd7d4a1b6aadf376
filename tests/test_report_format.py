"""The package's one Markdown table (study.md, the claim table and the drift section all use it)."""

from __future__ import annotations

import paradox_gym.report.format as fmt


def test_markdown_table_leaves_a_none_cell_empty_and_prints_the_rest() -> None:
    text = fmt.markdown_table(["host", "CPUs", "error"], [["vm", 2, None], ["box", 16, "timeout"]])
    assert text.splitlines() == ["| host | CPUs | error |", "|---|---|---|", "| vm | 2 |  |", "| box | 16 | timeout |"]
