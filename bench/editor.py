"""Benchmark: a 300-node flow opening in the browser editor (headless Chromium, Playwright), against a
10-node flow opened the same way in the same run.

    .venv/bin/python bench/editor.py                     # 300 nodes vs 10, 5 rounds, gunicorn, scratch SQLite
    .venv/bin/python bench/editor.py --rounds 10 --nodes 500 --server werkzeug

Setup (all of it scratch, removed at the end): a temporary directory with a SQLite database migrated by
`flask db upgrade`, a PRO tenant and its owner made by `webapp.cli`, two draft flows made by
`webapp.services.flows.create_flow`: a generated N-node flow (default 300) with a realistic mix of node types
(messages, questions with validation, conditions with several rules, FAQ + LLM fallbacks, set-variable,
follow-ups, leads, notifications, a shared handoff; every port wired, the document passes
`flows.validate` with no errors) laid out in rows, and the baseline B-node flow (default 10). The app runs
under gunicorn (`-w 1 -k gthread --threads 4`, `APP_ENV=development`) as a child process in its own
session, stopped by process-group id (`--server werkzeug` serves it from a thread of this process instead).

Browser: Debian's `/usr/bin/chromium` (or CHROMIUM_PATH) in headless mode, one context (signed in once
through the login form, so the bundle is in the HTTP cache as it is for a returning user: every load still
revalidates it). One warm-up load of each flow is not counted; then each round opens the baseline and the
big flow, alternately, from about:blank.

"Interactive" = all of: `flow-editor-root[data-ready="true"]`, every node of the flow in the DOM and measured
(React Flow shows a node once its size is known), every edge drawn, and a real mouse click (Playwright) on
the trigger node has opened the inspector on it. The time is the page's own `performance.now()` at that
moment, i.e. milliseconds since the navigation started (the browser's time origin). Also printed: the
moment the root became ready and the moment the canvas was complete, and the wall time seen from Python.

Prints per-round times, min/median per flow, the ratio big/baseline of the medians, and the median against
the issue's target: interactive < 1.5 s for 300 nodes on this machine. It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, VENV_BIN, Child, free_port, say, wait_http  # noqa: E402
from tests.browser.conftest import sign_in  # noqa: E402  (the same login the browser tests use)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync"]
OWNER_EMAIL, OWNER_PASSWORD = "owner@bench-editor.example.com", "bench-editor-password-1"
TARGET_S = 1.5
LOAD_BEFORE = os.getloadavg()[0]
X_STEP, Y_STEP, LANE, PER_ROW = 320, 620, 190, 12


# --- the generated flow ------------------------------------------------------------------------------

class FlowBuilder:
    """Segments of a realistic scenario chained left to right; each segment returns its exit port."""

    def __init__(self, name: str, seed: int = 7) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.col = 0
        self.last_var = "name"

    def pos(self, dx: int = 0, lane: int = 0) -> dict[str, int]:
        col = self.col + dx
        return {"x": (col % PER_ROW) * X_STEP, "y": (col // PER_ROW) * Y_STEP + lane * LANE}

    def add(self, kind: str, data: dict[str, Any], dx: int = 0, lane: int = 0) -> str:
        node_id = f"{kind}_{len(self.nodes) + 1}"
        self.nodes.append({"id": node_id, "type": kind, "position": self.pos(dx, lane), "data": data})
        return node_id

    def link(self, source: str, port: str, target: str) -> None:
        self.edges.append({"id": f"e{len(self.edges) + 1}", "source": source, "sourceHandle": port,
                           "target": target})

    # each segment: (number of nodes it adds, builder(entry_from) -> exit (node, port))
    def seg_question(self, handoff: str) -> tuple[str, str, str]:
        i = len(self.nodes)
        msg = self.add("message", {"text": f"Step {i}: here is what we offer, {{{{name}}}}.",
                                   "buttons": ["Prices", "Address"]})
        ask = self.add("ask", {"text": f"Which option do you prefer? ({i})", "variable": f"choice_{i}",
                               "validate": "choice", "choices": ["A", "B", "C"], "max_retries": 2},
                       dx=1)
        self.last_var = f"choice_{i}"
        self.link(msg, "out", ask)
        self.link(ask, "failed", handoff)
        return msg, ask, "ok"

    def seg_branch(self, handoff: str) -> tuple[str, str, str]:
        i = len(self.nodes)
        cond = self.add("condition", {"rules": [
            {"id": "yes", "kind": "keywords", "keywords": ["yes", "да", "sure"]},
            {"id": "price", "kind": "keywords", "keywords": ["price", "cost", "цена"]},
            {"id": "vip", "kind": "variable", "variable": self.last_var, "op": "equals", "value": "C"}]})
        yes = self.add("message", {"text": f"Great, let's continue ({i})."}, dx=1, lane=0)
        price = self.add("message", {"text": "Prices: {{profile.prices}}"}, dx=1, lane=1)
        vip = self.add("set_variable", {"values": {"discount": "15", "segment": f"vip_{i}"}}, dx=1, lane=2)
        other = self.add("message", {"text": "Could you tell me a bit more?"}, dx=1, lane=3)
        join = self.add("message", {"text": f"Noted. ({i})"}, dx=2)
        for port, target in (("yes", yes), ("price", price), ("vip", vip), ("else", other)):
            self.link(cond, port, target)
        for source, port in ((yes, "out"), (price, "out"), (vip, "out"), (other, "out")):
            self.link(source, port, join)
        return cond, join, "out"

    def seg_answer(self, handoff: str) -> tuple[str, str, str]:
        faq = self.add("faq", {"query": "", "reply": True, "variable": ""})
        llm = self.add("llm", {"prompt": "Answer briefly using the business profile.", "max_tokens": 300,
                               "use_faq": True, "extract": [], "context_tokens": 2000}, dx=1, lane=1)
        join = self.add("message", {"text": "Anything else I can help with?", "buttons": ["Yes", "No"]}, dx=2)
        self.link(faq, "answered", join)
        self.link(faq, "no_match", llm)
        self.link(llm, "ok", join)
        self.link(llm, "fallback", handoff)
        return faq, join, "out"

    def seg_lead(self, handoff: str) -> tuple[str, str, str]:
        i = len(self.nodes)
        ask = self.add("ask", {"text": "What's the best phone number to reach you?", "variable": "phone",
                               "validate": "phone", "max_retries": 2})
        lead = self.add("lead", {"required": ["phone"], "fields": ["name", "phone"], "source": f"bench {i}"},
                        dx=1)
        notify = self.add("notify", {"text": "New lead: {{name}}, {{phone}}"}, dx=2)
        self.link(ask, "ok", lead)
        self.link(ask, "failed", handoff)
        self.link(lead, "saved", notify)
        self.link(lead, "invalid", handoff)
        return ask, notify, "out"

    def seg_follow_up(self, handoff: str) -> tuple[str, str, str]:
        wait = self.add("follow_up", {"delay": 30, "unit": "minutes", "text": "Are you still there?"})
        nudge = self.add("message", {"text": "We'll keep your request for later."}, dx=1, lane=1)
        join = self.add("message", {"text": "Thanks for your answer!"}, dx=2)
        self.link(wait, "replied", join)
        self.link(wait, "timeout", nudge)
        self.link(nudge, "out", join)
        return wait, join, "out"

    SEGMENTS = (("seg_question", 2), ("seg_branch", 6), ("seg_answer", 3), ("seg_lead", 3),
                ("seg_follow_up", 3))

    def build(self, total: int) -> dict[str, Any]:
        start = self.add("trigger", {"channels": ["any"], "kinds": [], "keywords": [], "match": "contains"})
        handoff = self.add("handoff", {"text": "A manager will pick up this chat shortly.",
                                       "reason": "the customer needs a human"}, lane=3)
        tail = (start, "out")
        self.col = 1
        index = 0
        while True:
            name, size = self.SEGMENTS[index % len(self.SEGMENTS)]
            if len(self.nodes) + size + 1 > total:
                break
            entry, exit_node, port = getattr(self, name)(handoff)
            self.link(tail[0], tail[1], entry)
            tail = (exit_node, port)
            self.col += 3
            index += 1
        while len(self.nodes) < total - 1:  # pad with messages to the exact size
            msg = self.add("message", {"text": f"Message {len(self.nodes)}"})
            self.link(tail[0], tail[1], msg)
            tail = (msg, "out")
            self.col += 1
        end = self.add("end", {})
        self.link(tail[0], tail[1], end)
        return {"schema_version": 1, "name": self.name, "nodes": self.nodes, "edges": self.edges}


def make_document(total: int, name: str) -> dict[str, Any]:
    import flows

    if total < 3:
        raise SystemExit("a flow needs at least 3 nodes (trigger, handoff, end)")
    doc = FlowBuilder(name).build(total)
    assert len(doc["nodes"]) == total, len(doc["nodes"])
    problems = [p.to_dict() for p in flows.validate(doc)]
    errors = [p for p in problems if p["severity"] == "error"]
    if errors:
        raise SystemExit(f"generated flow has {len(errors)} errors, e.g. {errors[:3]}")
    return doc


# --- the app ---------------------------------------------------------------------------------------------

def app_environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "REDIS_URL", "START_SWEEPER",
                                                             "DATABASE_URL", "SECRET_KEY")}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32), "START_SWEEPER": "0",
                "APP_ENV": "development", "FLASK_APP": "wsgi", "LOGIN_RATE_LIMIT": "1000 per minute"})
    return env


def prepare(env: dict[str, str], nodes: int, baseline: int) -> dict[str, Any]:
    done = subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=str(ROOT), env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("flask db upgrade failed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
    os.environ.update(env)
    from webapp import create_app
    from webapp.extensions import db
    from webapp.services.flows import create_flow
    from webapp.services.tenants import create_tenant, create_user

    app = create_app()
    with app.app_context():
        tenant = create_tenant("Bench Editor", "PRO", "en")
        create_user(OWNER_EMAIL, OWNER_PASSWORD, tenant.id, False)
        big_doc, small_doc = make_document(nodes, f"Big {nodes}"), make_document(baseline, f"Small {baseline}")
        big = create_flow(tenant, big_doc["name"], big_doc)
        small = create_flow(tenant, small_doc["name"], small_doc)
        db.session.commit()
        info = {"big": (big.id, nodes, len(big_doc["edges"])), "small": (small.id, baseline,
                                                                        len(small_doc["edges"])),
                "mix": _mix(big_doc)}
        db.session.remove()
        db.engine.dispose()
    return info


def _mix(doc: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for n in doc["nodes"]:
        counts[n["type"]] = counts.get(n["type"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


class ThreadServer:
    def __init__(self, port: int) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from webapp import create_app

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.server = make_server("127.0.0.1", port, create_app(), threaded=True, request_handler=Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


# --- the browser -----------------------------------------------------------------------------------------

# Resolves (polling every animation frame) with performance.now() once the whole canvas is there.
CANVAS_READY = """([nodes, edges]) => {
  const root = document.querySelector('[data-testid="flow-editor-root"][data-ready="true"]');
  if (!root) return false;
  if (window.__benchReadyAt === undefined) window.__benchReadyAt = performance.now();
  const els = document.querySelectorAll('.react-flow__node');
  if (els.length < nodes || document.querySelectorAll('.react-flow__edge').length < edges) return false;
  for (const el of els) if (el.style.visibility === 'hidden') return false;
  return {readyAt: window.__benchReadyAt, canvasAt: performance.now()};
}"""
INSPECTOR_ON = """(id) => {
  const el = document.querySelector('[data-testid="inspector-node-id"]');
  return el && el.textContent.trim() === id ? performance.now() : false;
}"""


def open_once(page: Any, base: str, flow: tuple[int, int, int]) -> dict[str, float]:
    flow_id, nodes, edges = flow
    page.goto("about:blank")
    t0 = time.perf_counter()
    page.goto(f"{base}/flows/{flow_id}/edit", wait_until="commit")
    marks = page.wait_for_function(CANVAS_READY, arg=[nodes, edges], polling="raf").json_value()
    page.locator('.react-flow__node[data-id="trigger_1"]').click()
    interactive = page.wait_for_function(INSPECTOR_ON, arg="trigger_1", polling="raf").json_value()
    wall = time.perf_counter() - t0
    dcl = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    in_dom = page.locator(".react-flow__node").count()
    if in_dom != nodes:
        raise RuntimeError(f"expected {nodes} nodes in the DOM, found {in_dom}")
    return {"dcl": dcl / 1000, "ready": marks["readyAt"] / 1000, "canvas": marks["canvasAt"] / 1000,
            "interactive": interactive / 1000, "wall": wall}


def measure(base: str, flows_: dict[str, Any], rounds: int) -> dict[str, list[dict[str, float]]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, float]]] = {"small": [], "big": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 950})
            context.set_default_timeout(60_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            sign_in(page, base, OWNER_EMAIL, OWNER_PASSWORD)
            say("warm-up: one load of each flow (not counted)")
            for key in ("small", "big"):
                open_once(page, base, flows_[key])
            for r in range(rounds):
                for key in ("small", "big"):
                    m = open_once(page, base, flows_[key])
                    results[key].append(m)
                    say(f"round {r + 1}/{rounds} {key:5} ({flows_[key][1]} nodes): interactive "
                        f"{m['interactive']:.3f} s (ready {m['ready']:.3f}, canvas {m['canvas']:.3f}, "
                        f"wall {m['wall']:.3f})")
            if errors:
                say(f"page errors: {errors[:5]}")
        finally:
            browser.close()
    return results


def report(results: dict[str, list[dict[str, float]]], flows_: dict[str, Any], server: str) -> None:
    def stats(key: str, field: str) -> tuple[float, float]:
        values = [m[field] for m in results[key]]
        return min(values), statistics.median(values)

    big_n, small_n = flows_["big"][1], flows_["small"][1]
    print(f"editor open, headless Chromium, server {server}, {len(results['big'])} rounds "
          f"(+1 warm-up), times in seconds since navigation start")
    print(f"load average (1 min) before/after: {LOAD_BEFORE:.2f} / {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs (shared machine: other jobs inflate every number)")
    print(f"big flow: {big_n} nodes, {flows_['big'][2]} edges ({flows_['mix']})")
    print(f"{'flow':<14}{'field':<13}{'min':>8}{'median':>9}")
    for key, n in (("small", small_n), ("big", big_n)):
        for field in ("dcl", "ready", "canvas", "interactive", "wall"):
            lo, med = stats(key, field)
            print(f"{f'{n} nodes':<14}{field:<13}{lo:>8.3f}{med:>9.3f}")
    _, big_med = stats("big", "interactive")
    _, small_med = stats("small", "interactive")
    print(f"ratio {big_n}-node / {small_n}-node (median interactive): {big_med / small_med:.2f}x "
          f"(+{big_med - small_med:.3f} s for the extra {big_n - small_n} nodes)")
    verdict = "OK" if big_med < TARGET_S else "ABOVE TARGET"
    print(f"{big_n}-node flow interactive, median {big_med:.3f} s — target < {TARGET_S} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=300, help="size of the big flow (default 300)")
    parser.add_argument("--baseline", type=int, default=10, help="size of the baseline flow (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="measured loads of each flow (default 5)")
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (prints its path)")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    if not (ROOT / "webapp" / "static" / "editor" / "editor.js").is_file():
        raise SystemExit("the editor bundle is not built: run `make editor`")

    scratch = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    env = app_environment(f"sqlite:///{scratch / 'bench.sqlite3'}")
    server: Any = None
    try:
        say(f"scratch SQLite in {scratch}: migrating, creating a {args.nodes}-node and a "
            f"{args.baseline}-node flow")
        flows_ = prepare(env, args.nodes, args.baseline)
        port = free_port()
        if args.server == "gunicorn":
            server = Child([str(VENV_BIN / "gunicorn"), "-w", "1", "-k", "gthread", "--threads", "4",
                            "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                           env=env, log_path=scratch / "server.log")
            wait_http(port, proc=server.proc)
        else:
            server = ThreadServer(port)
        say(f"app on http://127.0.0.1:{port} ({args.server})")
        results = measure(f"http://127.0.0.1:{port}", flows_, args.rounds)
        report(results, flows_, "gunicorn -w 1 -k gthread --threads 4" if args.server == "gunicorn"
               else "werkzeug (thread)")
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
