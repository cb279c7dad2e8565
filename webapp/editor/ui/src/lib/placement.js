// Where to drop a node added by a click: the requested point, or the nearest free slot below/right of it.

const W = 240;
const H = 110;

function overlaps(p, n) {
  const w = n.measured?.width || W;
  const h = n.measured?.height || H;
  return p.x < n.position.x + w && p.x + W > n.position.x && p.y < n.position.y + h && p.y + H > n.position.y;
}

export function freeSpot(pos, nodes, step = 30) {
  for (let col = 0; col < 8; col += 1) {
    for (let row = 0; row < 12; row += 1) {
      const p = { x: Math.round(pos.x + col * (W + step)), y: Math.round(pos.y + row * (H / 2 + step / 2)) };
      if (!nodes.some((n) => overlaps(p, n))) return p;
    }
  }
  return { x: Math.round(pos.x), y: Math.round(pos.y) };
}
