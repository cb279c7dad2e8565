"""Browser fixtures: the session app served over real HTTP, one headless Chromium for the package, a fresh
browser context per test, and a screenshot + the page's HTML in `test-artifacts/` when a test fails.

Chromium is Debian's (`/usr/bin/chromium`, or `CHROMIUM_PATH`); `playwright install` is never needed.
Without it the browser tests are skipped, except when `CI` is set: then they fail, because CI installs it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.helpers.browser import sign_in

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync"]
EDITOR_BUNDLE = ROOT / "webapp" / "static" / "editor" / "editor.js"
VIEWPORT = {"width": 1440, "height": 950}
TIMEOUT_MS = 15_000  # generous: the machine is shared; every wait is for a state, never a fixed sleep


def missing(reason: str) -> None:
    """Skip locally; fail loudly in CI (which installs chromium and builds the editor)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


# --- the live server -----------------------------------------------------------------------------------

class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # keep test output readable
        pass


@pytest.fixture(scope="package")
def _live_server_url(app: Flask) -> Iterator[str]:
    """The session app on 127.0.0.1:<random port>; werkzeug runs each request in its own thread and the
    app pushes its own app context (own DB session) per request."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture()
def live_server(_live_server_url: str, db: Any) -> str:
    """Base URL of the running app, with the `db` fixture's clean tables (commit before browsing)."""
    return _live_server_url


# --- the browser ---------------------------------------------------------------------------------------

@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        pw.stop()
        raise
    yield browser
    browser.close()
    pw.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")


def save_artifacts(page: Any, name: str) -> list[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    saved = []
    try:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, timeout=10_000)
        saved.append(path)
    except Exception as exc:  # a crashed page must not hide the real failure
        print(f"screenshot failed: {exc}")
    try:
        path = ARTIFACTS / f"{name}.html"
        path.write_text(page.content(), encoding="utf-8")
        saved.append(path)
    except Exception as exc:
        print(f"page HTML failed: {exc}")
    return saved


@pytest.fixture()
def page(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context (own cookies and localStorage); `page.base_url` is the live server.
    `page.js_errors` collects uncaught exceptions, console errors and failed HTTP responses, so tests can
    assert the page ran cleanly. It depends on `live_server` (hence `db`) so that the context is closed,
    and its polling stopped, before the test's database session is torn down."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
          and errors.append(f"console: {msg.text[:500]}"))
    # failed requests are reported with their URL (the browser's own favicon probe is not the app's)
    pg.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
          and errors.append(f"http {r.status}: {r.request.method} {r.url}"))
    pg.js_errors = errors  # type: ignore[attr-defined]
    pg.base_url = live_server  # type: ignore[attr-defined]
    yield pg
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
                 for when in ("setup", "call"))
    if failed:
        paths = save_artifacts(pg, _artifact_name(request.node))
        print("browser artifacts:", *paths, "\njs errors:", *errors[:20], sep="\n  ")
    context.close()


# --- signing in ----------------------------------------------------------------------------------------

@pytest.fixture()
def signed_in_page(page: Any, live_server: str, tenant: Any) -> Any:
    """`page`, signed in as the `tenant` fixture's owner; `page.base_url` is the live server."""
    sign_in(page, live_server, tenant.owner_email, tenant.owner_password)
    return page


# --- the editor bundle and the job queue ---------------------------------------------------------------

@pytest.fixture(scope="session")
def editor_bundle() -> Path:
    if not EDITOR_BUNDLE.is_file():
        missing(f"the editor bundle is not built ({EDITOR_BUNDLE.relative_to(ROOT)}): run `make editor`")
    return EDITOR_BUNDLE


@pytest.fixture()
def run_jobs(app: Flask, db: Any) -> Callable[..., Any]:
    """`run_jobs(until, timeout=...)`: run queued jobs in the test's thread (embedded queue with
    autostart=False, or RQ via a burst SimpleWorker) until `until()` is true.

    Draining happens here rather than in a background thread because RQ's worker installs signal
    handlers (main thread only) and jobs need the app, which this thread has."""
    queue = app.extensions["job_queue"]

    def run(until: Callable[[], bool], timeout: float = TIMEOUT_MS / 1000, settle: Callable[[], None] | None
            = None) -> None:
        deadline = time.monotonic() + timeout
        while True:
            queue.drain()
            if until():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s of running jobs")
            (settle or (lambda: time.sleep(0.2)))()

    return run


@pytest.fixture()
def flow_factory(db: Any) -> Callable[..., Any]:
    """Create a flow for a tenant (optionally from a template document, optionally published)."""
    from webapp.services.flows import create_flow, publish, template_document

    def make(tenant: Any, name: str = "Browser test flow", document: dict[str, Any] | None = None,
             template: str | None = None, publish_now: bool = False) -> Any:
        doc = template_document(template) if template else document
        flow = create_flow(tenant, name, doc)
        if publish_now:
            publish(flow)
        db.session.commit()
        return SimpleNamespace(id=flow.id, name=flow.name)

    return make
