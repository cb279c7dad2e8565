"""`flask demo seed`, `flask layers seed`."""

from __future__ import annotations

import click

from webapp.services.demo import seed_demo
from webapp.services.prompts import ensure_default_layers

from .common import emit


def register(cli: click.Group) -> None:
    @cli.group()
    def demo() -> None:
        """Demo data."""

    @demo.command("seed")
    def demo_seed() -> None:
        emit(seed_demo())

    @cli.group()
    def layers() -> None:
        """The platform's prompt layers (base and niche)."""

    @layers.command("seed")
    def layers_seed() -> None:
        """Add the default base and niche layers that are missing; staff edits are kept."""
        emit(ensure_default_layers())
