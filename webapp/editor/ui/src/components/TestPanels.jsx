import { memo, useEffect, useRef, useState } from 'react';

const replyText = (r) => (typeof r === 'string' ? r : r?.text || '');

export function TraceTable({ trace, t }) {
  if (!trace?.length) return null;
  return (
    <div className="fe-trace" data-testid="test-trace">
      {trace.map((s, i) => (
        <div className="fe-trace-step" key={i}>
          <div className="fe-trace-head">
            <span className="fe-trace-n">{i + 1}</span>
            <code>{s.node_id}</code>
            <span className="fe-muted">{s.type}</span>
            {s.port && <span className="fe-pill">→ {s.port}</span>}
          </div>
          {s.vars_changed && Object.keys(s.vars_changed).length > 0 && (
            <div className="fe-trace-vars">
              {Object.entries(s.vars_changed).map(([k, v]) => (
                <div key={k}><code>{k}</code> = <code>{JSON.stringify(v)}</code></div>
              ))}
            </div>
          )}
          {s.warnings?.length > 0 && <div className="fe-trace-warn">{s.warnings.join('; ')}</div>}
          {s.prompt && (
            <details className="fe-trace-prompt">
              <summary>{t('prompt')}</summary>
              <pre>{typeof s.prompt === 'string' ? s.prompt : JSON.stringify(s.prompt, null, 2)}</pre>
            </details>
          )}
        </div>
      ))}
    </div>
  );
}

/** "Send test": replays all user messages so far through POST /simulate on the draft. */
export const TestChat = memo(function TestChat({ api, t, onTrace, onFocusNode, notify }) {
  const [inputs, setInputs] = useState([]);
  const [result, setResult] = useState(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [showTrace, setShowTrace] = useState(false);
  const [caseName, setCaseName] = useState(null);
  const [targets, setTargets] = useState([]);
  const [target, setTarget] = useState('');
  const chatRef = useRef(null);

  // Channels where the tenant set its own test account: "Send test" can also send the replies there.
  useEffect(() => {
    if (!api.testChannels) return;
    api.testChannels().then((res) => setTargets(res.channels || [])).catch(() => setTargets([]));
  }, [api]);

  async function sendReal(messages) {
    const channel = targets.find((c) => String(c.id) === target);
    if (!channel) return;
    try {
      const res = await api.sendTest({ channel_id: channel.id, messages });
      const failed = (res.replies || []).find((r) => r.status !== 'sent');
      if (failed) notify(t('send_real_failed', { name: channel.name, error: failed.error || failed.status }), 'error');
      else notify(t('sent_real', { n: res.sent, name: channel.name }), 'success');
    } catch (err) {
      notify(t('send_real_failed', { name: channel.name, error: err.message }), 'error');
    }
  }

  async function saveCase(e) {
    e.preventDefault();
    try {
      await api.saveTest({ name: caseName.trim() || t('test_case_default'), messages: inputs, channel: 'test', kind: 'dm' });
      setCaseName(null);
      notify(t('test_case_saved'), 'success');
    } catch (err) {
      notify(err.message, 'error');
    }
  }

  // Keep the newest bubble in view (scroll the chat box only, never the host page).
  useEffect(() => {
    const el = chatRef.current;
    if (el && (result || busy)) el.scrollTop = el.scrollHeight;
  }, [result, busy]);

  async function send(msg) {
    const m = String(msg ?? text).trim();
    if (!m || busy) return;
    const messages = [...inputs, m];
    setText('');
    setBusy(true);
    setError('');
    setInputs(messages);
    try {
      const res = await api.simulate({ channel: 'test', kind: 'dm', messages, version: 'draft' });
      setResult(res);
      const last = res.turns?.[res.turns.length - 1];
      onTrace((last?.trace || []).map((s) => s.node_id).filter(Boolean));
      if (target) sendReal(messages);
    } catch (e) {
      setError(t('sim_failed', { error: e.message }));
    } finally {
      setBusy(false);
    }
  }

  function reset() {
    setInputs([]);
    setResult(null);
    setError('');
    onTrace([]);
  }

  const turns = result?.turns || [];
  const lastTurn = turns[turns.length - 1];
  const lastButtons = (lastTurn?.replies || []).flatMap((r) => r.buttons || []);
  return (
    <div className="fe-test">
      <div className="fe-test-bar">
        <span className="fe-muted fe-small">{t('test_intro')}</span>
        <label className="fe-toggle">
          <input type="checkbox" checked={showTrace} onChange={(e) => setShowTrace(e.target.checked)}
            data-testid="test-trace-toggle" />
          {t('trace')}
        </label>
        <button type="button" className="fe-btn fe-btn-small" onClick={() => setCaseName(caseName === null ? '' : null)}
          disabled={!inputs.length} data-testid="test-save-case" title={t('test_case_hint')}>{t('test_case_save')}</button>
        <button type="button" className="fe-btn fe-btn-small" onClick={reset} data-testid="test-reset">{t('reset')}</button>
        {targets.length === 0 && api.testChannels && (
          <a className="fe-muted fe-small" href="/channels" data-testid="test-send-real-how">{t('send_real_how')}</a>
        )}
        {targets.length > 0 && (
          <label className="fe-small">
            {t('send_real')}{' '}
            <select className="fe-input fe-input-small" value={target} onChange={(e) => setTarget(e.target.value)}
              data-testid="test-send-real">
              <option value="">{t('send_real_none')}</option>
              {targets.map((c) => <option key={c.id} value={String(c.id)}>{c.name} ({c.type})</option>)}
            </select>
          </label>
        )}
      </div>
      {caseName !== null && (
        <form className="fe-case-form" onSubmit={saveCase}>
          <input className="fe-input" autoFocus value={caseName} placeholder={t('test_case_default')}
            onChange={(e) => setCaseName(e.target.value)} data-testid="test-case-name" />
          <button type="submit" className="fe-btn fe-btn-primary fe-btn-small" data-testid="test-case-confirm">{t('save')}</button>
        </form>
      )}
      <div className="fe-chat" data-testid="test-replies" ref={chatRef}>
        {turns.map((turn, i) => (
          <div key={i} className="fe-turn">
            {turn.input && <div className="fe-bubble fe-bubble-user">{turn.input}</div>}
            {(turn.replies || []).map((r, j) => (
              <div key={j} className={`fe-bubble fe-bubble-bot kind-${r.kind || 'reply'}`} data-testid="test-reply">
                {replyText(r)}
              </div>
            ))}
            {!turn.replies?.length && <div className="fe-muted fe-small">{t('no_replies')}</div>}
            {showTrace && (
              <div onClick={(e) => { const c = e.target.closest('code'); if (c) onFocusNode(c.textContent); }}>
                <TraceTable trace={turn.trace} t={t} />
              </div>
            )}
          </div>
        ))}
        {busy && <div className="fe-bubble fe-bubble-bot fe-typing"><span /><span /><span /></div>}
        {error && <div className="fe-error-box">{error}</div>}
        {showTrace && result?.variables && Object.keys(result.variables).length > 0 && (
          <details className="fe-vars" open>
            <summary>{t('variables')}</summary>
            <pre>{JSON.stringify(result.variables, null, 2)}</pre>
          </details>
        )}
        {showTrace && result?.effects?.length > 0 && (
          <details className="fe-vars">
            <summary>{t('effects')}</summary>
            <pre>{JSON.stringify(result.effects, null, 2)}</pre>
          </details>
        )}
      </div>
      {lastButtons.length > 0 && (
        <div className="fe-quick" data-testid="test-buttons">
          {lastButtons.map((b, i) => (
            <button type="button" key={i} className="fe-quick-btn" onClick={() => send(b)}>{b}</button>
          ))}
        </div>
      )}
      <form className="fe-chat-input" onSubmit={(e) => { e.preventDefault(); send(); }}>
        <input className="fe-input" value={text} onChange={(e) => setText(e.target.value)}
          placeholder={t('test_placeholder')} data-testid="test-input" />
        <button type="submit" className="fe-btn fe-btn-primary" disabled={busy || !text.trim()}
          data-testid="test-send">{t('send')}</button>
      </form>
    </div>
  );
});

/** "Simulate comment": a fake Instagram comment → public reply + private DM. */
export const CommentSim = memo(function CommentSim({ api, t, onTrace }) {
  const [postId, setPostId] = useState('');
  const [text, setText] = useState('');
  const [res, setRes] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  async function run(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const out = await api.simulate({
        channel: 'instagram', kind: 'comment', messages: [], version: 'draft',
        comment: { text, post_id: postId },
      });
      setRes(out);
      const turns = out.turns || [];
      onTrace(turns.flatMap((tu) => (tu.trace || []).map((s) => s.node_id)).filter(Boolean));
    } catch (err) {
      setError(t('sim_failed', { error: err.message }));
    } finally {
      setBusy(false);
    }
  }
  const replies = (res?.turns || []).flatMap((tu) => tu.replies || []);
  const pub = replies.filter((r) => r.kind === 'comment_reply');
  const dm = replies.filter((r) => r.kind === 'private_reply' || r.kind === 'reply' || !r.kind);
  return (
    <form className="fe-form" onSubmit={run}>
      <p className="fe-muted fe-small">{t('comment_intro')}</p>
      <label className="fe-label">{t('post_id')}</label>
      <input className="fe-input" value={postId} onChange={(e) => setPostId(e.target.value)} data-testid="comment-post-id" />
      <label className="fe-label">{t('comment_text')}</label>
      <textarea className="fe-input fe-textarea" rows={3} value={text} onChange={(e) => setText(e.target.value)}
        data-testid="comment-text" />
      <button type="submit" className="fe-btn fe-btn-primary" disabled={busy || !text.trim()}
        data-testid="comment-send">{t('simulate_comment')}</button>
      {error && <div className="fe-error-box">{error}</div>}
      {res && (
        <div className="fe-comment-result" data-testid="comment-result">
          <div className="fe-result-block">
            <div className="fe-result-title">{t('public_reply')}</div>
            <div data-testid="comment-public">
              {pub.length ? pub.map((r, i) => <div key={i} className="fe-bubble fe-bubble-bot">{replyText(r)}</div>)
                : <span className="fe-muted">{t('none')}</span>}
            </div>
          </div>
          <div className="fe-result-block">
            <div className="fe-result-title">{t('private_dm')}</div>
            <div data-testid="comment-private">
              {dm.length ? dm.map((r, i) => (
                <div key={i}>
                  <div className="fe-bubble fe-bubble-bot">{replyText(r)}</div>
                  {r.buttons?.length > 0 && (
                    <div className="fe-quick">{r.buttons.map((b, j) => <span key={j} className="fe-quick-btn">{b}</span>)}</div>
                  )}
                </div>
              )) : <span className="fe-muted">{t('none')}</span>}
            </div>
          </div>
        </div>
      )}
    </form>
  );
});

const repliesToText = (list) => (list || []).map(replyText).join('\n');

/** "Check replies": saved test conversations, published vs draft, changed turns highlighted. */
export const CheckReplies = memo(function CheckReplies({ api, t, active }) {
  const [res, setRes] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState(null);

  useEffect(() => {
    if (!active) return;
    api.listTests().then((r) => setSaved(r.tests || [])).catch(() => setSaved(null));
  }, [active, api]);

  async function remove(id) {
    try {
      await api.deleteTest(id);
      setSaved((list) => (list || []).filter((x) => x.id !== id));
    } catch (e) {
      setError(e.message);
    }
  }
  async function run() {
    setBusy(true);
    setError('');
    try {
      setRes(await api.checkReplies());
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  const cases = res?.cases || [];
  const total = cases.reduce((a, c) => a + (c.turns?.length || 0), 0);
  const changed = cases.reduce((a, c) => a + (c.turns || []).filter((x) => x.changed).length, 0);
  return (
    <div className="fe-form">
      <p className="fe-muted fe-small">{t('check_intro')}</p>
      {saved && (
        <div className="fe-saved-cases" data-testid="check-cases">
          <div className="fe-result-title">{t('saved_cases', { n: saved.length })}</div>
          {!saved.length && <div className="fe-muted fe-small">{t('test_case_hint')}</div>}
          {saved.map((c) => (
            <div key={c.id} className="fe-saved-case" data-testid={`check-case-${c.id}`}>
              <span className="fe-saved-name">{c.name}</span>
              <span className="fe-muted fe-small">{(c.messages || []).length} msg</span>
              <button type="button" className="fe-icon-btn" title={t('remove')} onClick={() => remove(c.id)}
                data-testid={`check-delete-${c.id}`}>×</button>
            </div>
          ))}
        </div>
      )}
      <button type="button" className="fe-btn fe-btn-primary" onClick={run} disabled={busy}
        data-testid="check-run">{t('check_run')}</button>
      {error && <div className="fe-error-box">{error}</div>}
      {res && !cases.length && <p className="fe-muted">{t('no_cases')}</p>}
      {res && cases.length > 0 && (
        <div data-testid="check-results">
          <div className={`fe-check-summary ${changed ? 'is-changed' : ''}`}>{t('changed_count', { n: changed, total })}</div>
          {cases.map((c, i) => (
            <div className="fe-case" key={i}>
              <div className="fe-case-name">{c.name}</div>
              <table className="fe-table">
                <thead><tr><th>{t('input')}</th><th>{t('published_col')}</th><th>{t('draft_col')}</th></tr></thead>
                <tbody>
                  {(c.turns || []).map((turn, j) => (
                    <tr key={j} className={turn.changed ? 'is-changed' : ''} data-testid={turn.changed ? 'check-changed' : undefined}>
                      <td>{turn.input}</td>
                      <td className="fe-pre">{turn.published == null ? '—' : repliesToText(turn.published)}</td>
                      <td className="fe-pre">{repliesToText(turn.draft)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </div>
      )}
    </div>
  );
});
