// Inspector form generation from a node type's declared fields:
// {name, label, kind, required, default, choices, help}; kind in
// text | textarea | select | multiselect | number | bool | list | keyvalue | json.

export const KINDS = ['text', 'textarea', 'select', 'multiselect', 'number', 'bool', 'list', 'keyvalue', 'json'];

/** Choices may be ["a", "b"], [["a", "A"]], or [{value, label}]. */
export function normaliseChoices(choices) {
  return (choices || []).map((c) => {
    if (Array.isArray(c)) return { value: String(c[0]), label: String(c[1] ?? c[0]) };
    if (c && typeof c === 'object') return { value: String(c.value), label: String(c.label ?? c.value) };
    return { value: String(c), label: String(c) };
  });
}

/** What control to render for a field, with everything the control needs. Unknown kinds fall back to json. */
export function controlFor(field) {
  const kind = KINDS.includes(field.kind) ? field.kind : 'json';
  const base = {
    name: field.name,
    label: field.label || field.name,
    help: field.help || '',
    required: !!field.required,
    kind,
    testId: `field-${field.name}`,
  };
  switch (kind) {
    case 'text':
      return { ...base, control: 'input', inputType: 'text' };
    case 'number':
      return { ...base, control: 'input', inputType: 'number' };
    case 'textarea':
      return { ...base, control: 'textarea' };
    case 'select':
      return { ...base, control: 'select', choices: normaliseChoices(field.choices) };
    case 'multiselect':
      return { ...base, control: 'checkboxes', choices: normaliseChoices(field.choices) };
    case 'bool':
      return { ...base, control: 'checkbox' };
    case 'list':
      return { ...base, control: 'lines' };
    case 'keyvalue':
      return { ...base, control: 'pairs' };
    default:
      // A json field that declares `item_fields` is a list of objects: a repeatable sub-form.
      if (Array.isArray(field.item_fields) && field.item_fields.length) {
        return { ...base, control: 'items', itemFields: field.item_fields, items: field.item_fields.map(controlFor) };
      }
      return { ...base, control: 'code' };
  }
}

/** A new item for an `items` control, from its item fields' defaults. */
export function newItem(spec, existing = []) {
  const item = defaultData({ fields: spec.itemFields });
  // Items keyed by an id (condition rules → ports) get a unique one.
  const idField = spec.itemFields.find((f) => f.name === 'id');
  if (idField && !item.id) {
    const taken = new Set(existing.map((it) => it && it.id));
    let i = existing.length + 1;
    while (taken.has(`rule_${i}`)) i += 1;
    item.id = `rule_${i}`;
  }
  return item;
}

export function buildForm(typeMeta) {
  return (typeMeta?.fields || []).map(controlFor);
}

/** Stored value -> what the control displays. */
export function toFormValue(kind, value) {
  switch (kind) {
    case 'bool':
      return !!value;
    case 'number':
      return value === null || value === undefined || Number.isNaN(value) ? '' : String(value);
    case 'multiselect':
      return Array.isArray(value) ? value.map(String) : [];
    case 'list':
      return Array.isArray(value) ? value.join('\n') : '';
    case 'keyvalue':
      return value && typeof value === 'object' && !Array.isArray(value)
        ? Object.entries(value).map(([k, v]) => [k, v == null ? '' : String(v)])
        : [];
    case 'json':
      return value === undefined ? '' : JSON.stringify(value, null, 2);
    default:
      return value == null ? '' : String(value);
  }
}

/**
 * Control value -> stored value. Returns {value} or {error} (json that does not parse).
 */
export function fromFormValue(kind, raw) {
  switch (kind) {
    case 'bool':
      return { value: !!raw };
    case 'number': {
      if (raw === '' || raw == null) return { value: null };
      const n = Number(raw);
      return Number.isFinite(n) ? { value: n } : { error: 'Not a number' };
    }
    case 'multiselect':
      return { value: Array.isArray(raw) ? [...raw] : [] };
    case 'list':
      return { value: String(raw || '').split('\n').map((s) => s.trim()).filter(Boolean) };
    case 'keyvalue': {
      const obj = {};
      for (const [k, v] of raw || []) if (String(k).trim()) obj[String(k).trim()] = String(v ?? '');
      return { value: obj };
    }
    case 'json': {
      if (String(raw).trim() === '') return { value: null };
      try {
        return { value: JSON.parse(raw) };
      } catch (e) {
        return { error: 'Invalid JSON' };
      }
    }
    default:
      return { value: raw == null ? '' : String(raw) };
  }
}

const EMPTY = { text: '', textarea: '', select: '', multiselect: [], number: null, bool: false, list: [], keyvalue: {}, json: null };

/** Initial `data` for a new node: each field's default, or an empty value of its kind. */
export function defaultData(typeMeta) {
  const data = {};
  for (const f of typeMeta?.fields || []) {
    if (f.default !== undefined && f.default !== null) data[f.name] = JSON.parse(JSON.stringify(f.default));
    else if (f.kind === 'select' && f.required && f.choices?.length) data[f.name] = normaliseChoices(f.choices)[0].value;
    else if (f.required) data[f.name] = JSON.parse(JSON.stringify(EMPTY[f.kind] ?? null));
  }
  return data;
}

/** One-line preview of a node's data for the canvas card. */
export function summarise(data, typeMeta, max = 90) {
  if (!data) return '';
  const order = (typeMeta?.fields || []).map((f) => f.name);
  const keys = [...order.filter((k) => k in data), ...Object.keys(data).filter((k) => !order.includes(k))];
  for (const k of keys) {
    const v = data[k];
    let s = '';
    if (typeof v === 'string') s = v;
    else if (Array.isArray(v) && v.length && v.every((x) => typeof x !== 'object')) s = v.join(', ');
    if (s.trim()) return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }
  return '';
}
