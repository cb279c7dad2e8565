"""Operator commands (`flask ...`): thin over webapp.services; JSON on stdout, a clear message and a non-zero exit
on bad input (a service's refusal becomes the command's error)."""

from __future__ import annotations

from flask import Flask

from webapp.inputs import guard_cli

from . import channels, demo, flows, leads, tenants, worker
from .common import refusals_as_errors


def register_cli(app: Flask) -> None:
    for module in (tenants, channels, leads, flows, demo, worker):
        module.register(app.cli)
    guard_cli(app.cli)
    refusals_as_errors(app.cli)
