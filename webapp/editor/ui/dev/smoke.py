"""Dev smoke/perf check of the built bundle against the fake API (not part of the product test suite).

Usage: python3 -m http.server 8765 --bind 127.0.0.1 -d webapp &  then  .venv/bin/python webapp/editor/ui/dev/smoke.py
"""
import sys
import time

from playwright.sync_api import sync_playwright

BASE = "http://127.0.0.1:8765/editor/ui/dev/index.html"


def open_editor(page, query=""):
    t0 = time.perf_counter()
    page.goto(BASE + query)
    page.wait_for_selector('[data-testid="flow-editor-root"][data-ready="true"]')
    page.wait_for_selector(".react-flow__node")
    return time.perf_counter() - t0


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        for _ in range(3):
            dt = open_editor(page, "?n=300")
            # interactive: a click selects a node and the inspector shows it
            t1 = time.perf_counter()
            page.locator(".react-flow__node").first.click()
            page.wait_for_selector('[data-testid="inspector-node-id"]')
            nodes = page.locator(".react-flow__node").count()
            print(f"300-node flow: ready in {dt:.2f}s, click->inspector {time.perf_counter() - t1:.2f}s, "
                  f"{nodes} nodes in DOM")
        dt = open_editor(page)
        print(f"demo flow ready in {dt:.2f}s")
        page.click('[data-testid="palette-message"]')
        page.fill('[data-testid="field-text"]', "Hello from smoke")
        page.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=5000)
        page.click('[data-testid="tab-test"]')
        page.fill('[data-testid="test-input"]', "hi")
        page.click('[data-testid="test-send"]')
        page.wait_for_selector('[data-testid="test-reply"]')
        print("replies:", page.locator('[data-testid="test-reply"]').all_inner_texts())
        page.screenshot(path=sys.argv[1] if len(sys.argv) > 1 else "/tmp/fe-smoke.png")
        print("errors:", errors)
        browser.close()


if __name__ == "__main__":
    main()
