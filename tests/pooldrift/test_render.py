"""The CLI's tables: numbers right-aligned, wide characters lined up, upstream text shown as is."""

from __future__ import annotations

from rich.cells import cell_len

from pooldrift.render import table


def test_columns_line_up_by_display_width_and_numbers_align_right() -> None:
    rows = [("财务部-win11", 12, "drifted"), ("hr", 3, "in line")]
    out = table(("Pool", "Desktops", "Status"), rows, right={1})
    head, first, second = out.splitlines()
    # the Status column starts at the same display column on every line, Chinese names included
    pairs = ((head, "Status"), (first, "drifted"), (second, "in line"))
    starts = {cell_len(line[: line.index(word)]) for line, word in pairs}
    assert len(starts) == 1
    ends = (cell_len(first[: first.index("12") + 2]), cell_len(second[: second.index("3") + 1]))
    assert ends[0] == ends[1], "right-aligned"
    assert not any(line.endswith(" ") for line in out.splitlines())


def test_cells_are_plain_text() -> None:
    out = table(("Pool",), [("[bold]x[/bold] :smile: \x1b[2J",)])
    assert "[bold]x[/bold] :smile: \\x1b[2J" in out
