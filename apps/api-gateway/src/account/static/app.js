// The account page: a plain ES module that calls the public v1 API with the signed-in key.
// The key and its hash live only in `session` (this tab's memory): never in storage or cookies;
// the password itself is dropped as soon as the hash is computed.
import { md5 } from './md5.js';

const session = { apiKey: null, hash: null };

const $ = (id) => document.getElementById(id);
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------- status messages (aria-live regions) ----------

function say(text) {
  $('alert').textContent = '';
  $('status').textContent = text;
}

function fail(err) {
  $('status').textContent = '';
  $('alert').textContent = err instanceof Error ? err.message : String(err);
}

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * One v1 request with the session's credentials in the query string. A 429 is retried after its
 * Retry-After (a limited request was not executed, so retrying is safe), at most 3 times.
 * `raw`: return the Response (recordings); otherwise the envelope's `data`.
 */
async function api(method, path, { params, query, raw } = {}) {
  if (!session.apiKey) throw new ApiError(403, 'Not signed in');
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
  url.searchParams.set('api_key', session.apiKey);
  url.searchParams.set('hash', session.hash);
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: method === 'POST' ? { 'content-type': 'application/json' } : undefined,
        body: method === 'POST' ? JSON.stringify({ params: params ?? {} }) : undefined,
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
    }
    if (res.status === 429 && attempt < 3) {
      const wait = Math.min(Number(res.headers.get('retry-after')) || 1, 60);
      // Status only: an error the user has not read yet (another action's) stays on screen.
      $('status').textContent = `Rate limit reached: trying again in ${wait} s…`;
      await delay(wait * 1000);
      continue;
    }
    if (raw) {
      if (!res.ok) throw new ApiError(res.status, `The server answered ${res.status}.`);
      return res;
    }
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (!res.ok || body?.status !== 'success') throw new ApiError(res.status, body?.message || `The server answered ${res.status}.`);
    return body.data;
  }
}

/** Runs an action from a button: disables it meanwhile, reports failures. */
async function busy(button, work) {
  if (button) button.disabled = true;
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && /API key (is disabled|does not exist)|Invalid hash/.test(err.message)) {
      signOut(`Signed out: ${err.message}.`);
      return undefined;
    }
    fail(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------- small DOM helpers ----------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'onclick') node.addEventListener('click', value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const cell = (...children) => el('td', {}, ...children);

function time(iso) {
  if (!iso) return 'never';
  const date = new Date(iso);
  return el('time', { datetime: iso, text: Number.isNaN(date.getTime()) ? iso : date.toLocaleString() });
}

function emptyRow(tbody, columns, text) {
  tbody.replaceChildren(el('tr', {}, el('td', { colspan: columns, text })));
}

/** Copies text; falls back to selecting a hidden textarea where the Clipboard API is refused. */
async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el('textarea', { 'aria-hidden': 'true', class: 'copy-buffer' });
    area.value = text;
    area.style.position = 'fixed';
    area.style.left = '-9999px';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) {
      fail(`Could not copy the ${what}: select it and copy it by hand.`);
      return;
    }
  }
  say(`${what[0].toUpperCase()}${what.slice(1)} copied to the clipboard.`);
}

// ---------- navigation ----------

const PANELS = ['keys', 'users', 'calls', 'webhooks'];
const LOADERS = { keys: loadKeys, users: loadUsers, calls: loadCalls, webhooks: loadWebhooks };

function show(panel, { focus = true, load = true } = {}) {
  for (const name of PANELS) $(`${name}-panel`).hidden = name !== panel;
  $('sign-in-panel').hidden = true;
  for (const button of document.querySelectorAll('#nav button')) {
    if (button.dataset.panel === panel) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  if (focus) $(`${panel}-title`).focus();
  if (load) void LOADERS[panel]();
}

for (const button of document.querySelectorAll('#nav button')) {
  button.addEventListener('click', () => show(button.dataset.panel));
}

// ---------- sign in / out ----------

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const apiKey = $('sign-in-key').value.trim();
  const password = $('sign-in-password').value;
  if (!apiKey || !password) {
    fail('Enter an API key and its password.');
    (apiKey ? $('sign-in-password') : $('sign-in-key')).focus();
    return;
  }
  session.apiKey = apiKey;
  session.hash = md5(apiKey + password);
  $('sign-in-password').value = '';
  const button = $('sign-in-submit');
  button.disabled = true;
  say('Signing in…');
  try {
    const keys = await api('GET', '/v1/keys');
    $('sign-in-key').value = '';
    $('who').textContent = `Account ${apiKey.split('_')[0]} · signed in with ${apiKey}`;
    $('who').hidden = false;
    $('sign-out').hidden = false;
    $('nav').hidden = false;
    show('keys', { load: false });
    renderKeys(keys);
    say('Signed in.');
  } catch (err) {
    session.apiKey = null;
    session.hash = null;
    const message =
      err instanceof ApiError && err.message === 'API key is read-only'
        ? 'This is a read-only (RO) key: sign in with a read-write (RW) key.'
        : `Sign-in failed: ${err.message}`;
    fail(message);
    $('sign-in-password').focus();
  } finally {
    button.disabled = false;
  }
});

function signOut(message = 'Signed out.') {
  session.apiKey = null;
  session.hash = null;
  stopPlayer();
  for (const id of ['keys-table', 'users-table', 'calls-table', 'webhooks-table', 'deliveries-table']) {
    $(id).querySelector('tbody').replaceChildren();
  }
  hideSecret();
  hideWebhookSecret();
  $('deliveries-box').hidden = true;
  for (const name of PANELS) $(`${name}-panel`).hidden = true;
  $('nav').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in-panel').hidden = false;
  $('sign-in-title').focus();
  if (message.startsWith('Signed out:')) fail(message);
  else say(message);
}

$('sign-out').addEventListener('click', () => signOut());

// ---------- API keys ----------

// One list request at a time: a refresh asked for meanwhile runs once after it. Two at once share
// the key's limit for the list (1 a second) and, retrying, kept failing each other.
let keysLoading = null;
let keysAgain = false;

function loadKeys() {
  if (keysLoading) {
    keysAgain = true;
    return keysLoading;
  }
  keysLoading = (async () => {
    do {
      keysAgain = false;
      await busy($('refresh-keys'), async () => renderKeys(await api('GET', '/v1/keys')));
    } while (keysAgain);
  })().finally(() => (keysLoading = null));
  return keysLoading;
}

function renderKeys(keys) {
  const tbody = $('keys-table').querySelector('tbody');
  if (!keys.length) return emptyRow(tbody, 6, 'No keys.');
  tbody.replaceChildren(
    ...keys.map((key) => {
      const mine = key.api_key === session.apiKey;
      const label = mine ? `${key.api_key} (this session)` : key.api_key;
      const actions = el(
        'div',
        { class: 'actions' },
        el('button', { type: 'button', text: 'Regenerate password', 'aria-label': `Regenerate password of ${label}`, onclick: (e) => regenerate(key, e.currentTarget) }),
        key.enabled
          ? el('button', { type: 'button', text: 'Disable', 'aria-label': `Disable ${label}`, onclick: (e) => setEnabled(key, false, e.currentTarget) })
          : el('button', { type: 'button', text: 'Enable', 'aria-label': `Enable ${label}`, onclick: (e) => setEnabled(key, true, e.currentTarget) }),
        el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete ${label}`, onclick: (e) => removeKey(key, e.currentTarget) }),
      );
      return el(
        'tr',
        { 'data-key': key.api_key },
        el('th', { scope: 'row' }, el('code', { text: key.api_key }), mine ? ' (this session)' : null),
        cell(key.access === 'RW' ? 'RW (read-write)' : 'RO (read-only)'),
        cell(time(key.created_at)),
        cell(time(key.last_used_at)),
        cell(el('span', { class: `badge ${key.enabled ? 'on' : 'off'}`, text: key.enabled ? 'Enabled' : 'Disabled' })),
        cell(actions),
      );
    }),
  );
}

$('create-key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const access = new FormData(event.currentTarget).get('access') === 'RW' ? 'RW' : 'RO';
  await busy(event.submitter, async () => {
    const created = await api('POST', '/v1/keys/create', { params: { access } });
    showSecret(created, `New ${access} key created.`);
    await loadKeys();
  });
});

async function regenerate(key, button) {
  if (!confirm(`Regenerate the password of ${key.api_key}? The current password stops working at once.`)) return;
  await busy(button, async () => {
    const fresh = await api('POST', `/v1/keys/${encodeURIComponent(key.api_key)}/regenerate`);
    // The session's own key: keep signed in with the new password.
    if (fresh.api_key === session.apiKey) session.hash = md5(fresh.api_key + fresh.password);
    showSecret(fresh, `New password for ${fresh.api_key}.`);
    await loadKeys();
  });
}

async function setEnabled(key, enabled, button) {
  await busy(button, async () => {
    await api('POST', `/v1/keys/${encodeURIComponent(key.api_key)}/${enabled ? 'enable' : 'disable'}`);
    if (!enabled && key.api_key === session.apiKey) return signOut('Signed out: you disabled the key of this session.');
    say(`${key.api_key} ${enabled ? 'enabled' : 'disabled'}.`);
    await loadKeys();
  });
}

async function removeKey(key, button) {
  if (!confirm(`Delete ${key.api_key}? Integrations using it stop working at once.`)) return;
  await busy(button, async () => {
    await api('POST', `/v1/keys/${encodeURIComponent(key.api_key)}/delete`);
    if (key.api_key === session.apiKey) return signOut('Signed out: you deleted the key of this session.');
    say(`${key.api_key} deleted.`);
    await loadKeys();
  });
}

function showSecret({ api_key, password }, message) {
  $('secret-key').textContent = api_key;
  $('secret-password').textContent = password;
  $('secret-box').hidden = false;
  $('secret-title').focus();
  say(`${message} Copy the password now: it is shown this once.`);
}

function hideSecret() {
  $('secret-key').textContent = '';
  $('secret-password').textContent = '';
  $('secret-box').hidden = true;
}

$('copy-secret-key').addEventListener('click', () => copy($('secret-key').textContent, 'API key'));
$('copy-secret-password').addEventListener('click', () => copy($('secret-password').textContent, 'password'));
$('secret-done').addEventListener('click', () => {
  hideSecret();
  $('keys-title').focus();
});
$('refresh-keys').addEventListener('click', () => loadKeys());

// ---------- users ----------

async function loadUsers() {
  await busy($('refresh-users'), async () => {
    const [users, registrations] = await Promise.all([
      api('GET', '/v1/users'),
      // The phones' state is a bonus: without it (PBX down) the users are still listed.
      api('GET', '/v1/users/registrations').catch(() => null),
    ]);
    const registered = new Map((registrations ?? []).map((r) => [r.user, r.registered]));
    const tbody = $('users-table').querySelector('tbody');
    if (!users.length) return emptyRow(tbody, 5, 'No users yet.');
    tbody.replaceChildren(
      ...users.map((user) => {
        const state = registrations === null ? 'Unknown' : registered.get(user.user) ? 'Registered' : 'Not registered';
        return el(
          'tr',
          { 'data-user': user.user },
          el('th', { scope: 'row', text: user.user }),
          cell(user.num),
          cell(user.mail),
          cell(user.voice_mail_box === 'on' ? 'On' : 'Off'),
          cell(el('span', { class: `badge ${state === 'Registered' ? 'on' : 'off'}`, text: state })),
        );
      }),
    );
    say(`${users.length} user${users.length === 1 ? '' : 's'}.`);
  });
}
$('refresh-users').addEventListener('click', () => loadUsers());

// ---------- calls and recordings ----------

let playing = null; // the blob URL the player holds

function stopPlayer() {
  const player = $('player');
  player.pause();
  player.removeAttribute('src');
  player.load();
  if (playing) URL.revokeObjectURL(playing);
  playing = null;
  $('player-now').textContent = 'Choose a recording below.';
}

async function loadCalls() {
  await busy($('refresh-calls'), async () => {
    const calls = await api('GET', '/v1/calls/complete', { query: { days: '7' } });
    const newest = [...calls].sort((a, b) => (a.call_start_time < b.call_start_time ? 1 : -1)).slice(0, 50);
    const tbody = $('calls-table').querySelector('tbody');
    if (!newest.length) return emptyRow(tbody, 7, 'No calls in the last 7 days.');
    tbody.replaceChildren(
      ...newest.map((call) => {
        const what = `the call from ${call.src} to ${call.dst} at ${call.call_start_time}`;
        return el(
          'tr',
          {},
          el('th', { scope: 'row', text: call.call_start_time }),
          cell(call.direction),
          cell(call.src),
          cell(call.dst),
          cell(`${call.duration} s`),
          // A phone handed the call to a colleague: say to whom (the user; the users table has their extension).
          cell(call.transferred_to ? `${call.disposition}, transferred to ${call.transferred_to}` : call.disposition),
          cell(
            call.rec_file
              ? el('button', { type: 'button', text: 'Play', 'aria-label': `Play the recording of ${what}`, onclick: (e) => play(call.rec_file, what, e.currentTarget) })
              : 'None',
          ),
        );
      }),
    );
    say(`${calls.length} call${calls.length === 1 ? '' : 's'} in the last 7 days.`);
  });
}

/** Recordings need the key's credentials: fetched with them, then played from a blob URL. */
async function play(recFile, what, button) {
  await busy(button, async () => {
    say('Loading the recording…');
    const res = await api('GET', recFile, { raw: true });
    const blob = await res.blob();
    stopPlayer();
    playing = URL.createObjectURL(blob);
    const player = $('player');
    player.src = playing;
    $('player-now').textContent = `Playing the recording of ${what}.`;
    await player.play();
    say(`Playing the recording of ${what}.`);
  });
}
$('refresh-calls').addEventListener('click', () => loadCalls());

// ---------- webhooks (docs/events.md) ----------

let deliveriesOf = null; // the webhook whose deliveries are shown

async function loadWebhooks() {
  await busy($('refresh-webhooks'), async () => {
    let hooks;
    try {
      hooks = await api('GET', '/v1/webhooks');
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        $('webhooks-unavailable').hidden = false;
        $('webhooks-body').hidden = true;
        return;
      }
      throw err;
    }
    $('webhooks-unavailable').hidden = true;
    $('webhooks-body').hidden = false;
    renderWebhooks(hooks);
  });
}

function renderWebhooks(hooks) {
  const tbody = $('webhooks-table').querySelector('tbody');
  if (!hooks.length) return emptyRow(tbody, 4, 'No webhooks yet.');
  tbody.replaceChildren(
    ...hooks.map((hook) => {
      const state = hook.enabled ? 'Enabled' : hook.disabled_reason ? `Disabled: ${hook.disabled_reason}` : 'Disabled';
      return el(
        'tr',
        { 'data-webhook': hook.id },
        el('th', { scope: 'row' }, el('code', { text: hook.url }), hook.description ? el('div', { class: 'hint', text: hook.description }) : null),
        cell(hook.events.join(', ')),
        cell(el('span', { class: `badge ${hook.enabled ? 'on' : 'off'}`, text: state })),
        cell(
          el(
            'div',
            { class: 'actions' },
            el('button', { type: 'button', text: 'Deliveries', 'aria-label': `Deliveries of ${hook.url}`, onclick: (e) => showDeliveries(hook, e.currentTarget) }),
            el('button', {
              type: 'button',
              text: hook.enabled ? 'Disable' : 'Enable',
              'aria-label': `${hook.enabled ? 'Disable' : 'Enable'} the webhook ${hook.url}`,
              onclick: (e) => updateWebhook(hook, { enabled: !hook.enabled }, e.currentTarget),
            }),
            el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete the webhook ${hook.url}`, onclick: (e) => deleteWebhook(hook, e.currentTarget) }),
          ),
        ),
      );
    }),
  );
}

$('create-webhook-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const url = $('webhook-url').value.trim();
  const events = [...document.querySelectorAll('#webhook-events input:checked')].map((box) => box.value);
  const description = $('webhook-description').value.trim();
  if (!url) {
    fail('Enter the URL of your receiver.');
    $('webhook-url').focus();
    return;
  }
  if (!events.length) {
    fail('Choose at least one event.');
    document.querySelector('#webhook-events input').focus();
    return;
  }
  await busy(event.submitter, async () => {
    const created = await api('POST', '/v1/webhooks/create', { params: { url, events, ...(description ? { description } : {}) } });
    $('webhook-url').value = '';
    $('webhook-description').value = '';
    $('webhook-secret').textContent = created.secret;
    $('webhook-secret-box').hidden = false;
    $('webhook-secret-title').focus();
    say('Webhook created. Copy its signing secret now: it is shown this once.');
    await loadWebhooks();
  });
});

// "All events" and single events exclude each other.
$('webhook-events').addEventListener('change', (event) => {
  const boxes = [...document.querySelectorAll('#webhook-events input')];
  if (event.target.value === '*' && event.target.checked) for (const box of boxes) box.checked = box.value === '*';
  else if (event.target.checked) boxes[0].checked = false;
});

function hideWebhookSecret() {
  $('webhook-secret').textContent = '';
  $('webhook-secret-box').hidden = true;
}
$('copy-webhook-secret').addEventListener('click', () => copy($('webhook-secret').textContent, 'signing secret'));
$('webhook-secret-done').addEventListener('click', () => {
  hideWebhookSecret();
  $('webhooks-title').focus();
});
$('refresh-webhooks').addEventListener('click', () => loadWebhooks());

async function updateWebhook(hook, params, button) {
  await busy(button, async () => {
    await api('POST', `/v1/webhooks/${encodeURIComponent(hook.id)}/update`, { params });
    say(`Webhook ${hook.url} ${params.enabled ? 'enabled' : 'disabled'}.`);
    await loadWebhooks();
  });
}

async function deleteWebhook(hook, button) {
  if (!confirm(`Delete the webhook ${hook.url}? Its deliveries stop.`)) return;
  await busy(button, async () => {
    await api('POST', `/v1/webhooks/${encodeURIComponent(hook.id)}/delete`);
    if (deliveriesOf?.id === hook.id) {
      deliveriesOf = null;
      $('deliveries-box').hidden = true;
    }
    say(`Webhook ${hook.url} deleted.`);
    await loadWebhooks();
  });
}

async function showDeliveries(hook, button) {
  deliveriesOf = hook;
  $('deliveries-title').textContent = `Deliveries to ${hook.url}`;
  $('deliveries-box').hidden = false;
  await loadDeliveries(button);
  $('deliveries-title').focus();
}

async function loadDeliveries(button = $('refresh-deliveries')) {
  const hook = deliveriesOf;
  if (!hook) return;
  await busy(button, async () => {
    const deliveries = await api('GET', `/v1/webhooks/${encodeURIComponent(hook.id)}/deliveries`);
    const tbody = $('deliveries-table').querySelector('tbody');
    if (!deliveries.length) return emptyRow(tbody, 8, 'No deliveries yet.');
    tbody.replaceChildren(
      ...deliveries.map((d) =>
        el(
          'tr',
          { 'data-delivery': d.id },
          el('th', { scope: 'row' }, time(d.time)),
          cell(el('code', { text: d.type }), el('div', { class: 'hint', text: d.event_id })),
          cell(String(d.attempt)),
          cell(d.status),
          cell(d.response_status === null || d.response_status === undefined ? '—' : String(d.response_status)),
          cell(d.latency_ms === null || d.latency_ms === undefined ? '—' : `${d.latency_ms} ms`),
          cell(d.error ?? ''),
          cell(
            el('button', {
              type: 'button',
              text: 'Retry',
              'aria-label': `Retry the delivery of ${d.type} ${d.event_id}`,
              onclick: (e) => retryDelivery(hook, d, e.currentTarget),
            }),
          ),
        ),
      ),
    );
    say(`${deliveries.length} deliver${deliveries.length === 1 ? 'y' : 'ies'} of ${hook.url}.`);
  });
}
$('refresh-deliveries').addEventListener('click', () => loadDeliveries());

async function retryDelivery(hook, delivery, button) {
  await busy(button, async () => {
    await api('POST', `/v1/webhooks/${encodeURIComponent(hook.id)}/deliveries/${encodeURIComponent(delivery.id)}/retry`);
    say(`Delivery of ${delivery.type} queued again.`);
    await loadDeliveries();
  });
}

$('sign-in-key').focus();
