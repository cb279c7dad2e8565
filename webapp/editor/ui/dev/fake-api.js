// In-memory fake of the Seam 5 API for the dev harness: patches window.fetch for /api/* only.
// Query string: ?n=300 builds a generated flow of that many nodes; ?errors=1 seeds an error. The harness is
// English: the editor's translations come from the Flask page (data-messages), which the harness does not have.
(function () {
  const qs = new URLSearchParams(location.search);
  const NODE_TYPES = [
    { type: 'trigger', label: 'Trigger', category: 'trigger', description: 'Where a conversation starts: DM, comment or keyword.', ports: ['out'], waits: false,
      fields: [{ name: 'channels', label: 'Channels', kind: 'multiselect', choices: ['any', 'instagram', 'whatsapp', 'telegram', 'webchat'], default: ['any'] },
               { name: 'keywords', label: 'Keywords', kind: 'list', help: 'Start only when the message contains one of these (one per line).' },
               { name: 'event', label: 'Event', kind: 'select', choices: ['dm', 'comment', 'any'], required: true }] },
    { type: 'message', label: 'Send message', category: 'messages', description: 'Send a text, optionally with quick-reply buttons.', ports: ['out'], waits: false,
      fields: [{ name: 'text', label: 'Text', kind: 'textarea', required: true, help: 'Use {{variable}} to insert collected values.' },
               { name: 'buttons', label: 'Quick replies', kind: 'list' }] },
    { type: 'ask', label: 'Ask a question', category: 'messages', description: 'Ask and store the answer in a variable, with validation.', ports: ['out', 'invalid'], waits: true,
      fields: [{ name: 'text', label: 'Question', kind: 'textarea', required: true },
               { name: 'variable', label: 'Save answer as', kind: 'text', required: true },
               { name: 'validate', label: 'Validation', kind: 'select', choices: ['none', 'phone', 'email', 'number', 'date'], default: 'none' },
               { name: 'retries', label: 'Retries', kind: 'number', default: 2 }] },
    { type: 'buttons', label: 'Choice', category: 'messages', description: 'Offer buttons and branch on the answer.', ports: ['option_1', 'option_2', 'option_3', 'other'], waits: true,
      fields: [{ name: 'text', label: 'Text', kind: 'textarea', required: true }, { name: 'options', label: 'Options', kind: 'list' }] },
    { type: 'condition', label: 'Condition', category: 'logic', description: 'Branch on a variable.', ports: ['true', 'false'], waits: false,
      fields: [{ name: 'variable', label: 'Variable', kind: 'text', required: true }, { name: 'operator', label: 'Operator', kind: 'select', choices: ['equals', 'contains', 'is_set', 'gt', 'lt'], required: true },
               { name: 'value', label: 'Value', kind: 'text' }, { name: 'case_sensitive', label: 'Case sensitive', kind: 'bool' }] },
    { type: 'llm', label: 'AI reply', category: 'ai', description: 'Answer with the language model using your prompt layers and FAQ.', ports: ['out', 'fallback'], waits: true,
      fields: [{ name: 'instructions', label: 'Instructions', kind: 'textarea' }, { name: 'use_faq', label: 'Use FAQ', kind: 'bool', default: true },
               { name: 'max_turns', label: 'Max turns', kind: 'number', default: 5 }, { name: 'extract', label: 'Extract variables', kind: 'keyvalue' }] },
    { type: 'http_request', label: 'HTTP request', category: 'integrations', description: 'Call an external API (plan feature: integrations).', ports: ['ok', 'error'], waits: false,
      fields: [{ name: 'url', label: 'URL', kind: 'text', required: true }, { name: 'method', label: 'Method', kind: 'select', choices: ['GET', 'POST'], default: 'POST' },
               { name: 'headers', label: 'Headers', kind: 'keyvalue' }, { name: 'body', label: 'Body', kind: 'json' }] },
    { type: 'lead', label: 'Save lead', category: 'actions', description: 'Create or update a lead in the CRM.', ports: ['out'], waits: false,
      fields: [{ name: 'fields', label: 'Lead fields', kind: 'keyvalue' }, { name: 'notify', label: 'Notify the team', kind: 'bool', default: true }] },
    { type: 'handoff', label: 'Hand off to human', category: 'actions', description: 'Stop the bot and notify an operator.', ports: [], waits: false,
      fields: [{ name: 'message', label: 'Message to the customer', kind: 'textarea' }] },
  ];
  const demo = {
    schema_version: 1, name: 'Lead capture', settings: { timezone: 'Europe/Kyiv' },
    nodes: [
      { id: 'start', type: 'trigger', position: { x: 0, y: 0 }, data: { channels: ['any'], event: 'dm' } },
      { id: 'welcome', type: 'buttons', position: { x: 0, y: 0 }, data: { text: 'Hi! 👋 How can we help?', options: ['Book a visit', 'Prices', 'Talk to a human'] } },
      { id: 'ask_phone', type: 'ask', position: { x: 0, y: 0 }, data: { text: 'Your phone number?', variable: 'phone', validate: 'phone', retries: 2 } },
      { id: 'prices', type: 'llm', position: { x: 0, y: 0 }, data: { instructions: 'Answer price questions from the price list.', use_faq: true } },
      { id: 'human', type: 'handoff', position: { x: 0, y: 0 }, data: { message: 'An operator will reply shortly.' } },
      { id: 'save', type: 'lead', position: { x: 0, y: 0 }, data: { fields: { phone: '{{phone}}' }, notify: true } },
      { id: 'thanks', type: 'message', position: { x: 0, y: 0 }, data: { text: 'Thanks! We will call you at {{phone}}.' } },
      { id: 'bad_phone', type: 'message', position: { x: 0, y: 0 }, data: { text: '' } },
    ],
    edges: [
      { id: 'e1', source: 'start', sourceHandle: 'out', target: 'welcome' },
      { id: 'e2', source: 'welcome', sourceHandle: 'option_1', target: 'ask_phone' },
      { id: 'e3', source: 'welcome', sourceHandle: 'option_2', target: 'prices' },
      { id: 'e4', source: 'welcome', sourceHandle: 'option_3', target: 'human' },
      { id: 'e5', source: 'ask_phone', sourceHandle: 'out', target: 'save' },
      { id: 'e6', source: 'save', sourceHandle: 'out', target: 'thanks' },
      { id: 'e7', source: 'ask_phone', sourceHandle: 'invalid', target: 'bad_phone' },
    ],
  };
  function generated(n) {
    const types = ['message', 'ask', 'condition', 'llm', 'lead'];
    const nodes = [{ id: 'start', type: 'trigger', position: { x: 0, y: 0 }, data: { channels: ['any'], event: 'dm' } }];
    const edges = [];
    for (let i = 1; i < n; i += 1) {
      const type = types[i % types.length];
      nodes.push({ id: `n${i}`, type, position: { x: (i % 20) * 300, y: Math.floor(i / 20) * 200 },
        data: type === 'ask' ? { text: `Question ${i}?`, variable: `v${i}` } : type === 'condition' ? { variable: `v${i - 1}`, operator: 'is_set' } : { text: `Message number ${i}` } });
      const parent = i === 1 ? 'start' : `n${Math.max(1, i - 1 - (i % 3))}`;
      const pType = i === 1 ? 'trigger' : types[Math.max(1, i - 1 - (i % 3)) % types.length];
      const port = NODE_TYPES.find((t) => t.type === pType).ports[i % 2] || 'out';
      edges.push({ id: `e${i}`, source: parent, sourceHandle: port, target: `n${i}` });
    }
    return { schema_version: 1, name: `Big flow (${n} nodes)`, nodes, edges };
  }
  const n = Number(qs.get('n') || 0);
  let draft = n ? generated(n) : demo;
  const versions = [{ number: 1, created_at: '2026-11-20T10:00:00Z', author: 'owner@salon.test', is_current: false, document: { ...demo, nodes: demo.nodes.filter((x) => x.id !== 'prices') } },
    { number: 2, created_at: '2026-11-23T15:30:00Z', author: 'owner@salon.test', is_current: true, document: JSON.parse(JSON.stringify(demo)) }];
  let savedTests = [{ id: 1, name: 'Booking happy path', channel: 'test', kind: 'dm', messages: ['hi', 'Book a visit'] }];
  window.__fake = { get draft() { return draft; }, calls: [] };

  function validate(doc) {
    const problems = [];
    const types = Object.fromEntries(NODE_TYPES.map((t) => [t.type, t]));
    if (!doc.nodes.some((x) => x.type === 'trigger')) problems.push({ node_id: null, severity: 'error', code: 'no_trigger', message: 'The flow has no trigger' });
    const targets = new Set(doc.edges.map((e) => e.target));
    for (const node of doc.nodes) {
      const t = types[node.type];
      if (!t) { problems.push({ node_id: node.id, severity: 'error', code: 'unknown_type', message: `Unknown node type ${node.type}` }); continue; }
      for (const f of t.fields) {
        const v = node.data?.[f.name];
        if (f.required && (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length))) problems.push({ node_id: node.id, severity: 'error', code: 'required', message: `${t.label}: "${f.label}" is required` });
      }
      if (node.type !== 'trigger' && !targets.has(node.id)) problems.push({ node_id: node.id, severity: 'warning', code: 'unreachable', message: `${node.id} is never reached` });
    }
    return problems;
  }
  function simulate(body) {
    const doc = draft;
    const byId = Object.fromEntries(doc.nodes.map((x) => [x.id, x]));
    const next = (id, port) => doc.edges.find((e) => e.source === id && e.sourceHandle === port)?.target;
    const turns = [];
    let cur = doc.nodes.find((x) => x.type === 'trigger')?.id;
    const vars = {};
    const inputs = body.kind === 'comment' ? [body.comment?.text || ''] : body.messages;
    inputs.forEach((input, ti) => {
      const trace = [];
      const replies = [];
      let waiting = false;
      let steps = 0;
      let consumed = ti === 0;
      while (cur && !waiting && steps++ < 30) {
        const node = byId[cur];
        let port = 'out';
        const changed = {};
        if (node.type === 'buttons') {
          if (consumed) { replies.push({ text: node.data.text, buttons: node.data.options || [], kind: 'reply' }); trace.push({ node_id: cur, type: node.type, port: null, vars_changed: {} }); waiting = true; continue; }
          const idx = (node.data.options || []).indexOf(input);
          port = idx >= 0 ? `option_${idx + 1}` : 'other';
          consumed = true;
        } else if (node.type === 'ask') {
          if (consumed) { replies.push({ text: node.data.text, buttons: [], kind: 'reply' }); trace.push({ node_id: cur, type: node.type, port: null, vars_changed: {} }); waiting = true; continue; }
          consumed = true;
          vars[node.data.variable] = input; changed[node.data.variable] = input;
          if (node.data.validate === 'phone' && !/\d{6,}/.test(input.replace(/\D/g, ''))) port = 'invalid';
        } else if (node.type === 'message' || node.type === 'handoff') {
          const text = String(node.data.text || node.data.message || '').replace(/\{\{(\w+)\}\}/g, (_, k) => vars[k] ?? '');
          if (text) replies.push({ text, buttons: node.data.buttons || [], kind: body.kind === 'comment' ? 'private_reply' : 'reply' });
        } else if (node.type === 'llm') {
          replies.push({ text: '(offline) Our manicure starts at 25 €.', buttons: [], kind: 'reply' });
          trace.push({ node_id: cur, type: node.type, port: 'out', vars_changed: {}, prompt: 'SYSTEM: You are the assistant of Salon Lily…\nUSER: ' + input, warnings: ['no LLM provider: offline answer'] });
          cur = null; break;
        } else if (node.type === 'trigger' && body.kind === 'comment') {
          replies.push({ text: 'Thanks! Check your DMs 💌', buttons: [], kind: 'comment_reply' });
        }
        trace.push({ node_id: cur, type: node.type, port, vars_changed: changed });
        cur = next(cur, port);
      }
      turns.push({ input, replies, trace });
    });
    return { turns, variables: vars, effects: vars.phone ? [{ type: 'lead', payload: { phone: vars.phone } }] : [] };
  }
  const json = (status, data) => new Response(JSON.stringify(data), { status, headers: { 'Content-Type': 'application/json' } });
  const realFetch = window.fetch.bind(window);
  window.fetch = async function (url, opts = {}) {
    const u = new URL(url, location.href);
    if (!u.pathname.startsWith('/api/')) return realFetch(url, opts);
    const method = (opts.method || 'GET').toUpperCase();
    const body = opts.body ? JSON.parse(opts.body) : {};
    window.__fake.calls.push({ method, path: u.pathname + u.search, headers: opts.headers, body });
    await new Promise((r) => setTimeout(r, Number(qs.get('delay') || 30)));
    const p = u.pathname.replace(/^\/api/, '');
    let m;
    if (p === '/node-types') return json(200, { node_types: NODE_TYPES });
    if ((m = p.match(/^\/flows\/(\w+)$/))) return json(200, { id: +m[1], name: draft.name, is_default: true, draft, draft_updated_at: new Date().toISOString(), published_version: 2, problems: validate(draft) });
    if (p.endsWith('/draft') && method === 'PUT') {
      if (qs.get('savefail')) return json(500, { error: 'database is locked' });
      draft = JSON.parse(JSON.stringify(body.document)); return json(200, { saved_at: new Date().toISOString(), problems: validate(draft) });
    }
    if (p.endsWith('/validate')) return json(200, { problems: validate(body.document) });
    if (p.endsWith('/publish')) {
      const problems = validate(draft);
      if (problems.some((x) => x.severity === 'error')) return json(409, { error: 'The flow has errors', problems });
      versions.forEach((v) => { v.is_current = false; });
      versions.push({ number: versions.length + 1, created_at: new Date().toISOString(), author: 'you', is_current: true, document: JSON.parse(JSON.stringify(draft)) });
      return json(200, { version: versions.length });
    }
    if (p.endsWith('/versions')) return json(200, { versions: versions.map(({ document, ...v }) => v).reverse() });
    if (p.includes('/diff')) {
      const get = (k) => (k === 'draft' ? draft : versions.find((v) => String(v.number) === k)?.document);
      const a = get(u.searchParams.get('from')); const b = get(u.searchParams.get('to'));
      const A = Object.fromEntries(a.nodes.map((x) => [x.id, x])); const B = Object.fromEntries(b.nodes.map((x) => [x.id, x]));
      return json(200, { added: Object.keys(B).filter((k) => !A[k]), removed: Object.keys(A).filter((k) => !B[k]),
        changed: Object.keys(B).filter((k) => A[k] && JSON.stringify(A[k].data) !== JSON.stringify(B[k].data)).map((id) => ({ id, fields: Object.keys({ ...A[id].data, ...B[id].data }).filter((f) => JSON.stringify(A[id].data[f]) !== JSON.stringify(B[id].data[f])) })) });
    }
    if (p.endsWith('/rollback')) { draft = JSON.parse(JSON.stringify(versions.find((v) => v.number === body.version).document)); return json(200, { draft }); }
    if (p.endsWith('/simulate')) return json(200, simulate(body));
    if (p.endsWith('/tests') && method === 'GET') return json(200, { tests: savedTests });
    if (p.endsWith('/tests') && method === 'POST') { const row = { id: savedTests.length + 1, ...body, created_at: new Date().toISOString() }; savedTests.push(row); return json(201, row); }
    if ((m = p.match(/\/tests\/(\d+)$/)) && method === 'DELETE') { savedTests = savedTests.filter((x) => x.id !== +m[1]); return json(200, { deleted: +m[1] }); }
    if (p.endsWith('/check-replies')) return json(200, { cases: [
      { name: 'Booking happy path', turns: [{ input: 'hi', published: [{ text: 'Hi! 👋 How can we help?' }], draft: [{ text: 'Hi! 👋 How can we help?' }], changed: false },
        { input: 'Book a visit', published: [{ text: 'Your phone?' }], draft: [{ text: 'Your phone number?' }], changed: true }] },
      { name: 'Prices', turns: [{ input: 'how much?', published: ['Manicure from 25 €'], draft: ['Manicure from 25 €'], changed: false }] }] });
    return json(404, { error: 'not found' });
  };
})();
