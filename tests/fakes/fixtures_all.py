"""Every fake-server fixture in one plugin, so any test can ask for `graph_api`, `telegram_api`,
`openai_fake`."""

from __future__ import annotations

import importlib

for _module in ("tests.fakes.fixtures", "tests.fakes.openai_fixtures"):
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError:
        continue
    globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("_")})
