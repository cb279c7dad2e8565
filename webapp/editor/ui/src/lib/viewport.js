// Initial / after-import viewport: fit the flow, or its start when fitting all would be unreadable.

export const LARGE_FLOW = 150;
const FIT = { padding: 0.12, maxZoom: 1 };
const MIN_FIT_ZOOM = 0.5;
const READABLE_ZOOM = 0.75;
/**
 * Fit options that keep nodes readable. When the whole flow would need a zoom below MIN_FIT_ZOOM (or it is
 * large), fit only the start of the flow: the nodes in a canvas-sized box (at READABLE_ZOOM) around the trigger.
 */
export function fitOptions(nodes, animate = true, canvas = {}) {
  const opts = animate ? { ...FIT, duration: 200 } : FIT;
  if (!nodes.length) return opts;
  const width = canvas.width || 900;
  const height = canvas.height || 600;
  const xs = nodes.map((n) => n.position.x);
  const ys = nodes.map((n) => n.position.y);
  const spanX = Math.max(...xs) - Math.min(...xs) + 260;
  const spanY = Math.max(...ys) - Math.min(...ys) + 160;
  const zoom = Math.min(width / spanX, height / spanY);
  if (zoom >= MIN_FIT_ZOOM && nodes.length <= LARGE_FLOW) return opts;
  const anchor = nodes.find((n) => n.type === 'trigger')
    || nodes.reduce((a, b) => (b.position.x < a.position.x ? b : a));
  const bw = width / READABLE_ZOOM - 260;
  const bh = height / READABLE_ZOOM - 160;
  const ax = anchor.position.x;
  const ay = anchor.position.y - bh / 2;
  const subset = nodes.filter((n) => n.position.x >= ax - 20 && n.position.x <= ax + bw
    && n.position.y >= ay && n.position.y <= ay + bh);
  return { ...opts, minZoom: 0.1, nodes: (subset.length ? subset : [anchor]).map((n) => ({ id: n.id })) };
}

export const canvasSize = (el) => ({ width: el?.clientWidth, height: el?.clientHeight });
