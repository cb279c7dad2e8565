"""Query plans of the statements real code runs (PostgreSQL): capture them while it runs, then EXPLAIN each
with its own parameters. Shared by the hot-path and inbox plan tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def captured(engine: Any, keep: Callable[[str], bool]) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs meanwhile for which ``keep(statement)``, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if keep(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explained(engine: Any, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(statement, its plan) for each; an executemany is explained with its first row's parameters."""
    found = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            if isinstance(parameters, list | tuple) and parameters and isinstance(parameters[0], dict):
                parameters = parameters[0]
            found.append((statement, "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement,
                                                                                      parameters))))
        conn.rollback()
    return found
