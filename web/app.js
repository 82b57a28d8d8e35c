// The network-logs table: plain JavaScript over the netlog API, no build step. Everything the
// server sends is written with textContent, never as HTML.
const $ = (id) => document.getElementById(id);
const FILTERS = ['protocol', 'clientId', 'userId', 'siteResourceId', 'sourceAddr', 'destAddr'];
const REFRESH_MS = 5000;

const state = { key: sessionStorage.getItem('netlog.key') ?? '', orgId: null, tab: 'stored', offset: 0, total: 0, timer: null };

// ---- formatting: readable figures, exact values on hover ---------------------------------
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function humanBytes(n) {
  let v = n, u = 0;
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}
export function humanDuration(s) {
  if (s === null) return 'open';
  if (s < 0.001) return `${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  if (h === 0) return `${m} min ${Math.round(s % 60)} s`;
  return `${h} h ${m % 60} min`;
}
const pad = (n) => String(n).padStart(2, '0');
function localInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// ---- API -----------------------------------------------------------------------------------
async function api(path, signal) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${state.key}` }, signal });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = (await res.json()).message ?? message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return res;
}

function query(paged) {
  const q = new URLSearchParams();
  if ($('timeStart').value) q.set('timeStart', new Date($('timeStart').value).toISOString());
  if ($('timeEnd').value) q.set('timeEnd', new Date($('timeEnd').value).toISOString());
  for (const f of FILTERS) if ($(f).value.trim()) q.set(f, $(f).value.trim());
  if (paged) { q.set('limit', $('limit').value); q.set('offset', String(state.offset)); }
  return q;
}

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

// ---- rendering -----------------------------------------------------------------------------
function cell(tr, text, title, cls) {
  const td = tr.insertCell();
  td.textContent = text;
  if (title) td.title = title;
  if (cls) td.className = cls;
  return td;
}

function named(tr, name, id) {
  const td = cell(tr, name ?? (id === null ? '—' : String(id)));
  if (name && id !== null) {
    const span = document.createElement('span');
    span.className = 'id';
    span.textContent = ` #${id}`;
    td.append(span);
  }
}

function render(log) {
  const body = $('rows');
  body.replaceChildren();
  for (const r of log) {
    const tr = body.insertRow();
    tr.dataset.sessionId = r.sessionId;
    const start = new Date(r.startedAt * 1000);
    cell(tr, start.toLocaleString(), `${start.toISOString()} (unix ${r.startedAt})`);
    cell(tr, r.protocol.toUpperCase(), `${r.state} ${r.history}${r.endReason ? `, ended: ${r.endReason}` : ''}`);
    named(tr, r.clientName, r.clientId);
    cell(tr, r.userEmail ?? r.userName ?? r.userId ?? '—', r.userId ?? '');
    named(tr, r.resourceName, r.siteResourceId);
    cell(tr, r.sourceAddr, '', 'addr');
    cell(tr, r.destAddr, '', 'addr');
    cell(tr, humanDuration(r.duration), r.duration === null ? 'still open' : `${r.duration} s`, 'num');
    cell(tr, humanBytes(r.bytesTx), `${r.bytesTx} bytes, ${r.packetsTx} packets`, 'num');
    cell(tr, humanBytes(r.bytesRx), `${r.bytesRx} bytes, ${r.packetsRx} packets`, 'num');
  }
}

function fillSelect(id, options) {
  const select = $(id);
  const chosen = select.value;
  select.replaceChildren(new Option('any', ''));
  for (const [value, label] of options) select.add(new Option(label, String(value)));
  // Keep a choice the new range no longer contains, so the filter does not silently widen.
  if (chosen && ![...select.options].some((o) => o.value === chosen)) select.add(new Option(chosen, chosen));
  select.value = chosen;
}

function fillAttributes(a) {
  fillSelect('protocol', a.protocols.map((p) => [p, p.toUpperCase()]));
  fillSelect('clientId', a.clients.map((c) => [c.id, c.name ? `${c.name} (#${c.id})` : `#${c.id}`]));
  fillSelect('userId', a.users.map((u) => [u.id, u.email ?? u.name ?? u.id]));
  fillSelect('siteResourceId', a.resources.map((r) => [r.id, r.name ? `${r.name} (#${r.id})` : `#${r.id}`]));
  $('destAddrs').replaceChildren(...a.destAddrs.map((d) => new Option(d)));
}

function showRange(p) {
  const first = p.total === 0 ? 0 : p.offset + 1;
  const last = Math.min(p.offset + p.limit, p.total);
  $('range').textContent = `${first}–${last} of ${p.total}`;
  $('prev').disabled = p.offset === 0;
  $('next').disabled = p.offset + p.limit >= p.total;
}

// ---- loading -------------------------------------------------------------------------------
// Filters change faster than answers come back, and answers need not come back in order: only
// the latest load may draw, and starting one aborts the one before, so a slow answer to an old
// query never replaces the table of the new one.
let latest = null;
async function load() {
  if (!state.orgId) return;
  latest?.abort();
  const mine = latest = new AbortController();
  const base = `/v1/org/${encodeURIComponent(state.orgId)}/logs/network`;
  try {
    const path = state.tab === 'live' ? `${base}/live` : base;
    const q = query(true);
    if (state.tab === 'live') { q.delete('timeStart'); q.delete('timeEnd'); }
    const { data } = await (await api(`${path}?${q}`, mine.signal)).json();
    if (mine !== latest) return;
    if (data.filterAttributes) fillAttributes(data.filterAttributes);
    render(data.log);
    showRange(data.pagination);
    state.total = data.pagination.total;
    setStatus(`${state.tab === 'live' ? 'Open now' : 'Sessions'}: ${data.pagination.total} · updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    if (mine !== latest) return;
    render([]);
    setStatus(e.message, true);
  }
}

async function exportCsv() {
  if (!state.orgId) return;
  setStatus('Exporting…');
  try {
    const res = await api(`/v1/org/${encodeURIComponent(state.orgId)}/logs/network/export?${query(false)}`);
    const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'network-logs.csv';
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(`Exported ${name}`);
  } catch (e) {
    setStatus(`Export failed: ${e.message}`, true);
  }
}

async function connect() {
  state.key = $('key').value.trim();
  sessionStorage.setItem('netlog.key', state.key);
  try {
    const { data } = await (await api('/v1/orgs')).json();
    state.orgId = data.orgs[0].orgId;
    $('org').textContent = `org ${state.orgId}`;
    state.offset = 0;
    await load();
  } catch (e) {
    state.orgId = null;
    $('org').textContent = '';
    setStatus(e.message, true);
  }
}

function selectTab(tab) {
  state.tab = tab;
  state.offset = 0;
  $('tab-stored').setAttribute('aria-selected', String(tab === 'stored'));
  $('tab-live').setAttribute('aria-selected', String(tab === 'live'));
  $('timeStart').disabled = $('timeEnd').disabled = $('export').disabled = tab === 'live';
  void load();
}

// ---- wiring --------------------------------------------------------------------------------
const now = new Date();
$('timeEnd').value = localInput(now);
$('timeStart').value = localInput(new Date(now.getTime() - 7 * 86_400_000));
$('key').value = state.key;

$('connect').addEventListener('submit', (e) => { e.preventDefault(); void connect(); });
$('filters').addEventListener('submit', (e) => e.preventDefault());
for (const id of ['timeStart', 'timeEnd', ...FILTERS, 'limit']) {
  $(id).addEventListener('change', () => { state.offset = 0; void load(); });
}
$('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - Number($('limit').value)); void load(); });
$('next').addEventListener('click', () => { state.offset += Number($('limit').value); void load(); });
$('export').addEventListener('click', () => void exportCsv());
$('tab-stored').addEventListener('click', () => selectTab('stored'));
$('tab-live').addEventListener('click', () => selectTab('live'));
$('autoRefresh').addEventListener('change', () => {
  clearInterval(state.timer);
  // Auto-refresh follows the present: each refresh moves "To" to now.
  const refresh = () => { if (state.tab === 'stored') $('timeEnd').value = localInput(new Date()); void load(); };
  state.timer = $('autoRefresh').checked ? setInterval(refresh, REFRESH_MS) : null;
});
if (state.key) void connect();
