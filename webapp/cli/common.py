"""What every command shares: JSON output, a service's refusal turned into a clear command error, and the
channel type option (the channel registry's types, read when the command runs)."""

from __future__ import annotations

import functools
import json
from typing import Any, NoReturn

import click

from connectors.channels.registry import connector_types
from webapp.services.errors import Refused
from webapp.services.flow_channels import simulator_channel_names


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


class ChannelChoice(click.Choice):  # type: ignore[type-arg]
    """`click.Choice` over the registered channel types (`simulator=True`: the simulator's `test` too).

    Click copies a plain Choice's list when the option is declared; this one reads the registry each time
    it is asked, so the choices are the channels registered when the command runs."""

    def __init__(self, *, simulator: bool = False) -> None:
        self.simulator = simulator
        super().__init__((), case_sensitive=True)

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return simulator_channel_names() if self.simulator else tuple(connector_types())

    @choices.setter
    def choices(self, _value: Any) -> None:
        """Click's __init__ assigns the declared list; the registry's is read instead."""
