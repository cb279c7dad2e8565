"""The app's test configuration, and signing in through the real form with its CSRF token."""

from __future__ import annotations

import os
import re
from typing import Any

from flask.testing import FlaskClient

from webapp.config import TestConfig

TEST_QUEUE_PREFIX = "test-"


def make_config(database_url: str, **overrides: Any) -> TestConfig:
    cfg = TestConfig(database_url=database_url, redis_url=os.environ.get("REDIS_URL"))
    cfg.QUEUE_PREFIX = TEST_QUEUE_PREFIX
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def login(client: FlaskClient, email: str, password: str) -> Any:
    """Sign in through the real form, CSRF token included."""

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def csrf_token(client: FlaskClient, path: str = "/") -> str:

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
