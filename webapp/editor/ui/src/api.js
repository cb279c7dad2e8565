// Seam 5 client. Every call is same-origin with the session cookie; writes carry X-CSRFToken.

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body || {};
  }
}

export function createApi({ base = '/api', flowId, csrf = '' }) {
  const root = base.replace(/\/$/, '');
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRFToken'] = csrf;
    let res;
    try {
      res = await fetch(root + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(e.message || 'Network error', 0);
    }
    let data = {};
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = { error: text.slice(0, 200) };
      }
    }
    if (!res.ok) throw new ApiError(data.error || `HTTP ${res.status}`, res.status, data);
    return data;
  }
  const f = `/flows/${encodeURIComponent(flowId)}`;
  return {
    nodeTypes: () => call('GET', '/node-types'),
    getFlow: () => call('GET', f),
    saveDraft: (document) => call('PUT', `${f}/draft`, { document }),
    validate: (document) => call('POST', `${f}/validate`, { document }),
    publish: () => call('POST', `${f}/publish`, {}),
    versions: () => call('GET', `${f}/versions`),
    version: (n) => call('GET', `${f}/versions/${encodeURIComponent(n)}`),
    diff: (from, to) => call('GET', `${f}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`),
    rollback: (version) => call('POST', `${f}/rollback`, { version }),
    simulate: (payload) => call('POST', `${f}/simulate`, payload),
    checkReplies: () => call('POST', `${f}/check-replies`, {}),
    listTests: () => call('GET', `${f}/tests`),
    saveTest: (test) => call('POST', `${f}/tests`, test),
    deleteTest: (id) => call('DELETE', `${f}/tests/${encodeURIComponent(id)}`),
    testChannels: () => call('GET', '/test-channels'),
    sendTest: (payload) => call('POST', `${f}/send-test`, payload),
  };
}
