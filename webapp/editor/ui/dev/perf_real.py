"""Dev perf check: a 300-node draft in the real app, opened 5 times (same idea as bench/editor.py).

Needs the demo app from real_app.py on BASE. Prints the time from navigation to an interactive canvas.
"""
import sys
import time

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5057"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300

GEN = """async ([n]) => {
  const csrf = document.getElementById('flow-editor').dataset.csrfToken;
  const h = {'Content-Type': 'application/json', 'X-CSRFToken': csrf};
  const post = {method: 'POST', headers: h, body: JSON.stringify({name: 'Big ' + n})};
  const created = await (await fetch('/api/flows', post)).json();
  const nodes = [{id: 'start', type: 'trigger', position: {x: 0, y: 0}, data: {channels: ['any']}}];
  const edges = [];
  for (let i = 1; i < n; i++) {
    const ask = i % 3 === 0;
    const position = {x: (i % 20) * 300, y: Math.floor(i / 20) * 220};
    const data = ask ? {text: 'Question ' + i + '?', variable: 'v' + i} : {text: 'Message number ' + i};
    nodes.push({id: 'n' + i, type: ask ? 'ask' : 'message', position, data});
    const src = i === 1 ? 'start' : 'n' + (i - 1);
    const srcAsk = i > 1 && (i - 1) % 3 === 0;
    edges.push({id: 'e' + i, source: src, sourceHandle: srcAsk ? 'ok' : 'out', target: 'n' + i});
  }
  const doc = {schema_version: 1, name: 'Big ' + n, nodes, edges};
  const put = {method: 'PUT', headers: h, body: JSON.stringify({document: doc})};
  const r = await fetch('/api/flows/' + created.id + '/draft', put);
  return [created.id, r.status];
}"""

with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = b.new_page(viewport={"width": 1440, "height": 950})
    page.goto(BASE + "/login")
    page.fill("#email", "owner@demo.example.com")
    page.fill("#password", "demo-owner-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(BASE + "/flows/1/edit")
    page.wait_for_selector('[data-ready="true"]')
    flow_id, status = page.evaluate(GEN, [N])
    print("created flow", flow_id, "draft PUT", status)
    for _ in range(5):
        t0 = time.perf_counter()
        page.goto(f"{BASE}/flows/{flow_id}/edit")
        page.wait_for_selector('[data-ready="true"]')
        page.wait_for_selector(f'.react-flow__node[data-id="n{N - 1}"]', state="attached")
        page.wait_for_selector(".react-flow__edge")
        t1 = time.perf_counter()
        page.locator(".react-flow__node").first.click()
        page.wait_for_selector('[data-testid="inspector-node-id"]')
        t2 = time.perf_counter()
        print(f"{N} nodes: canvas {t1 - t0:.2f}s, first click->inspector {t2 - t1:.2f}s, total {t2 - t0:.2f}s,"
              f" nodes in DOM {page.locator('.react-flow__node').count()}")
    b.close()
