"""Console output of the ``skcalib`` command: rich tables and progress bars."""

from contextlib import contextmanager

from ._format import formatted_tables

__all__ = ["print_tables", "progress_bar"]


def print_tables(report, console):
    """Print the tables of ``report`` on a ``rich.console.Console``."""
    from rich.table import Table

    for table in formatted_tables(report):
        out = Table(
            title=table.title,
            title_justify="left",
            caption=table.note,
            caption_justify="left",
        )
        for i, column in enumerate(table.columns):
            out.add_column(column, justify="left" if i == 0 else "right")
        for i, row in enumerate(table.rows):
            out.add_row(*row, style="bold green" if i in table.highlight else None)
        console.print(out)


@contextmanager
def progress_bar(console, *, enabled=True):
    """Yield ``progress(iterable, description, total)`` drawing a rich progress bar.

    With ``enabled=False`` it yields None (no progress is shown).
    """
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:

        def progress(iterable, description, total):
            yield from bar.track(iterable, total=total, description=description)

        yield progress
