"""What every command shares: JSON output, and a service's refusal turned into a clear command error."""

from __future__ import annotations

import functools
import json
from typing import Any, NoReturn

import click

from webapp.services.errors import Refused


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def refusals_as_errors(group: click.Command) -> None:
    """Every command of `group` (at any depth, added later too): a `Refused` from a service is printed as
    the command's error with a non-zero exit, never a traceback."""
    stack = [group]
    while stack:
        command = stack.pop()
        if isinstance(command, click.Group):
            stack.extend(command.commands.values())
        elif command.callback is not None and not getattr(command.callback, "_refusals", False):
            command.callback = _wrapped(command.callback)


def _wrapped(callback: Any) -> Any:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except Refused as exc:
            raise click.ClickException(exc.message) from None

    run._refusals = True  # type: ignore[attr-defined]
    return run
