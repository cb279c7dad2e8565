// The editor's texts: English msgids marked with _() so that pybabel extracts them into messages.pot (babel.cfg);
// the server translates them with the same Babel catalog as the rest of the UI and hands the bundle the
// translations (data-messages on the mount element, see webapp/editor/messages.py). Node labels and field
// texts come already translated from GET /api/node-types and are not listed here.

/** pybabel's marker: returns the msgid unchanged. */
const _ = (msgid) => msgid;

export const MESSAGES = {
  loading: _('Loading editor…'),
  load_failed: _('Could not load the flow: {error}'),
  save: _('Save'),
  publish: _('Publish'),
  undo: _('Undo'),
  redo: _('Redo'),
  layout: _('Auto-layout'),
  import: _('Import'),
  export: _('Export'),
  fit: _('Fit view'),
  help: _('Shortcuts'),
  flow_name: _('Flow name'),
  saved: _('Saved'),
  saving: _('Saving…'),
  unsaved: _('Unsaved changes'),
  save_failed: _('Save failed: {error}'),
  published: _('Published version {n}'),
  publish_blocked: _('Fix the errors before publishing'),
  publish_failed: _('Publish failed: {error}'),
  nodes: _('Nodes'),
  search_nodes: _('Search nodes…'),
  palette_hint: _('Click or drag onto the canvas'),
  inspector: _('Inspector'),
  no_selection: _('Select a node to edit it.'),
  flow_settings: _('Flow settings'),
  restart_after: _('Start again after (minutes)'),
  restart_after_help: _('When a customer writes after this flow has finished: empty means it never starts again by itself (a keyword trigger or an FAQ answer replies, else an offer of a person); a number starts it again once that many minutes have passed since it finished.'),
  multi_selection: _('{n} nodes selected'),
  node_id: _('Node id'),
  unknown_type: _('Unknown node type "{type}": edit its data as JSON.'),
  data: _('Data'),
  one_per_line: _('One item per line'),
  add_row: _('Add'),
  key: _('Key'),
  value: _('Value'),
  remove: _('Remove'),
  invalid_json: _('Invalid JSON'),
  not_a_number: _('Not a number'),
  delete_node: _('Delete node'),
  problems: _('Problems'),
  no_problems: _('No problems'),
  errors: _('{n} errors'),
  warnings: _('{n} warnings'),
  flow_level: _('Flow'),
  tab_inspector: _('Inspector'),
  tab_test: _('Test'),
  tab_comment: _('Comment'),
  tab_check: _('Check'),
  tab_versions: _('Versions'),
  test_placeholder: _('Type a message…'),
  send: _('Send test'),
  reset: _('Reset'),
  trace: _('Trace'),
  test_intro: _('Chat with the draft. Every send replays the whole conversation through the simulator.'),
  no_replies: _('(no reply)'),
  sim_failed: _('Simulation failed: {error}'),
  send_real: _('Also send to'),
  send_real_none: _('only here'),
  send_real_how: _('To also get the replies on your phone, set your own test account on a channel\'s page (Channels → the channel → Your test account).'),
  sent_real: _('Sent {n} to {name}'),
  send_real_failed: _('Not sent to {name}: {error}'),
  step: _('Step'),
  node: _('Node'),
  type: _('Type'),
  port: _('Port'),
  vars: _('Variables changed'),
  prompt: _('LLM prompt'),
  variables: _('Variables'),
  effects: _('Effects'),
  comment_intro: _('Post a fake Instagram comment and see the public reply and the private DM.'),
  post_id: _('Post id'),
  comment_text: _('Comment text'),
  simulate_comment: _('Simulate comment'),
  public_reply: _('Public reply'),
  private_dm: _('Private DM'),
  none: _('None'),
  check_intro: _('Replay the saved test conversations against the draft and compare with the published version.'),
  check_run: _('Check replies'),
  input: _('Input'),
  published_col: _('Published'),
  draft_col: _('Draft'),
  changed: _('changed'),
  unchanged: _('same'),
  no_cases: _('No saved test conversations yet.'),
  changed_count: _('{n} of {total} turns changed'),
  versions: _('Versions'),
  refresh: _('Refresh'),
  current: _('current'),
  draft: _('Draft'),
  compare: _('Compare'),
  from: _('From'),
  to: _('To'),
  clear_diff: _('Clear'),
  rollback: _('Roll back'),
  diff_vs_draft: _('Diff vs draft'),
  rollback_confirm: _('Replace the draft with version {n}? The current draft is overwritten (publish stays separate).'),
  rolled_back: _('Draft restored from version {n}'),
  no_versions: _('Nothing published yet.'),
  added: _('Added'),
  removed: _('Removed'),
  changed_nodes: _('Changed'),
  no_diff: _('No differences'),
  import_failed: _('Import failed: {error}'),
  imported: _('Imported {n} nodes'),
  shortcuts: _('Keyboard shortcuts'),
  close: _('Close'),
  sc_copy: _('Copy selection'),
  sc_paste: _('Paste'),
  sc_dup: _('Duplicate selection'),
  sc_delete: _('Delete selection'),
  sc_undo: _('Undo'),
  sc_redo: _('Redo'),
  sc_all: _('Select all'),
  sc_save: _('Save now'),
  sc_multi: _('Add to selection'),
  sc_box: _('Box select'),
  sc_pan: _('Pan canvas'),
  sc_zoom: _('Zoom'),
  sc_help: _('Show this help'),
  sc_layout: _('Auto-layout'),
  drag_or_scroll: _('drag empty canvas'),
  scroll: _('scroll / pinch'),
  waits: _('waits'),
  waits_hint: _('Waits for the customer to answer'),
  empty_canvas: _('Empty flow: click or drag a Trigger from the palette to start.'),
  test_case_save: _('Save as test'),
  test_case_default: _('Test conversation'),
  test_case_saved: _('Saved for Check replies'),
  test_case_hint: _('Chat in the Test tab, then "Save as test" to replay it here after every change.'),
  saved_cases: _('Saved test conversations ({n})'),
};

/**
 * t(key, vars) for the given translations ({msgid: text}, from the server): the text for MESSAGES[key] with
 * {name} placeholders filled in. A msgid without a translation stays English; an unknown key is shown as is.
 */
export function makeT(translations = {}) {
  const dict = translations && typeof translations === 'object' ? translations : {};
  return (key, vars) => {
    const msgid = MESSAGES[key] ?? key;
    let s = (Object.hasOwn(dict, msgid) && typeof dict[msgid] === 'string' && dict[msgid]) || msgid;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

/** The translations a mount element carries in data-messages (JSON); anything unreadable means English. */
export function readTranslations(json) {
  try {
    const value = JSON.parse(json || '{}');
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch (e) {
    return {};
  }
}
