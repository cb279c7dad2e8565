// Validation problems -> per-node badges. Problem: {node_id, severity: "error"|"warning", code, message}.

export function problemsByNode(problems) {
  const byNode = {};
  const general = [];
  for (const p of problems || []) {
    if (!p || !p.node_id) {
      if (p) general.push(p);
      continue;
    }
    const entry = byNode[p.node_id] || (byNode[p.node_id] = { errors: 0, warnings: 0, messages: [] });
    if (p.severity === 'error') entry.errors += 1;
    else entry.warnings += 1;
    entry.messages.push(p.message || p.code || '');
  }
  return { byNode, general };
}

export const hasErrors = (problems) => (problems || []).some((p) => p && p.severity === 'error');

export function countBySeverity(problems) {
  let errors = 0;
  let warnings = 0;
  for (const p of problems || []) {
    if (p?.severity === 'error') errors += 1;
    else if (p) warnings += 1;
  }
  return { errors, warnings };
}

/** Errors first, then warnings; stable within a severity. */
export function sortProblems(problems) {
  return [...(problems || [])].sort(
    (a, b) => (a.severity === 'error' ? 0 : 1) - (b.severity === 'error' ? 0 : 1),
  );
}
