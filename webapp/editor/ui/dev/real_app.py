"""Dev check of the built bundle inside the real Flask app (demo tenant). Not part of the test suite.

  DATABASE_URL=sqlite:////tmp/fe-demo.sqlite3 flask db upgrade && ... flask demo seed
  DATABASE_URL=sqlite:////tmp/fe-demo.sqlite3 flask run --port 5057 &
  .venv/bin/python webapp/editor/ui/dev/real_app.py [base] [flow_id]
"""
import sys
import time

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5057"
FLOW = sys.argv[2] if len(sys.argv) > 2 else "1"

with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = b.new_page(viewport={"width": 1440, "height": 950})
    errs = []
    page.on("pageerror", lambda e: errs.append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning") and errs.append(m.text[:300]))
    page.goto(BASE + "/login")
    page.fill("#email", "owner@demo.example.com")
    page.fill("#password", "demo-owner-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    t0 = time.perf_counter()
    page.goto(f"{BASE}/flows/{FLOW}/edit")
    page.wait_for_selector('[data-ready="true"]')
    page.wait_for_selector(".react-flow__edge")
    print(f"editor ready in {time.perf_counter() - t0:.2f}s; nodes:", page.locator(".react-flow__node").count())
    print("save-state:", page.inner_text('[data-testid="save-state"]'))
    print("problems:", page.inner_text('[data-testid="problems-list"]').replace("\n", " | ")[:300])
    page.screenshot(path="/tmp/real1.png")
    # add a node, edit it, wait for save
    page.click('[data-testid="palette-message"]')
    page.fill('[data-testid="field-text"]', "Hello from the editor check")
    page.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=8000)
    print("after add+edit:", page.inner_text('[data-testid="save-state"]'))
    page.click('[data-testid="tab-test"]')
    page.fill('[data-testid="test-input"]', "Hi")
    page.click('[data-testid="test-send"]')
    page.wait_for_selector('[data-testid="test-reply"], .fe-error-box', timeout=10000)
    print("replies:", page.locator('[data-testid="test-reply"]').all_inner_texts())
    page.check('[data-testid="test-trace-toggle"]')
    page.screenshot(path="/tmp/real2.png")
    page.click('[data-testid="tab-comment"]')
    page.fill('[data-testid="comment-post-id"]', "1790001")
    page.fill('[data-testid="comment-text"]', "price")
    page.click('[data-testid="comment-send"]')
    page.wait_for_selector('[data-testid="comment-result"], .fe-error-box', timeout=10000)
    visible_panel = page.locator('.fe-side-body > div:not([hidden])')
    print("comment:", visible_panel.inner_text()[-300:].replace("\n", " | "))
    page.click('[data-testid="tab-check"]')
    page.click('[data-testid="check-run"]')
    page.wait_for_timeout(1500)
    print("check:", visible_panel.inner_text()[-300:].replace("\n", " | "))
    page.click('[data-testid="tab-versions"]')
    page.wait_for_timeout(1000)
    print("versions:", visible_panel.inner_text()[:300].replace("\n", " | "))
    page.screenshot(path="/tmp/real3.png")
    print("errors:", errs[:10])
    b.close()
