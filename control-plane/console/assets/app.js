// The console: a client of the operator OpenAPI like any SDK. Requests are signed in the browser
// (signature v1, HMAC-SHA1 through WebCrypto); the secret never leaves this tab's sessionStorage.
const $ = (sel) => document.querySelector(sel);
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const esc = (s) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const b64text = (b64) => new TextDecoder().decode(Uint8Array.from(atob(b64 || ''), (c) => c.charCodeAt(0)));

let key = JSON.parse(sessionStorage.getItem('oca-key') || 'null');

async function api(action, params = {}) {
  const all = {
    ...params,
    Action: action,
    Version: '2014-05-26',
    RegionId: 'cn-local',
    Format: 'JSON',
    AccessKeyId: key.id,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: crypto.randomUUID(),
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const canon = Object.keys(all)
    .sort()
    .map((k) => `${enc(k)}=${enc(String(all[k]))}`)
    .join('&');
  const hmacKey = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(key.secret + '&'),
    { name: 'HMAC', hash: 'SHA-1' },
    false,
    ['sign'],
  );
  const sig = await crypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(`GET&${enc('/')}&${enc(canon)}`));
  const signature = btoa(String.fromCharCode(...new Uint8Array(sig)));
  const res = await fetch(`/?${canon}&Signature=${enc(signature)}`);
  const body = await res.json();
  if (!res.ok) throw new Error(`${body.Code}: ${body.Message}`);
  return body;
}

function table(headers, rows) {
  if (rows.length === 0) return '<p>Nothing yet.</p>';
  return `<table><thead><tr>${headers.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

async function showInstances() {
  const d = await api('DescribeManagedInstances', { PageSize: 50 });
  $('#instances').innerHTML = table(
    ['Instance', 'Name', 'Online', 'Agent', 'OS', 'IP', 'Registered'],
    d.Instances.map((i) => [
      esc(i.InstanceId),
      esc(i.InstanceName),
      i.Connected ? 'yes' : 'no',
      esc(i.AgentVersion),
      esc(i.OsType),
      esc(i.IntranetIp),
      esc(i.RegistrationTime),
    ]),
  );
  $('#run-instances').innerHTML =
    d.Instances.filter((i) => i.Connected)
      .map(
        (i) =>
          `<label><input type="checkbox" name="instance" value="${esc(i.InstanceId)}" checked /> ${esc(i.InstanceName)} (${esc(i.InstanceId)})</label>`,
      )
      .join('') || '<p>No instance is online.</p>';
}

async function showResults() {
  const d = await api('DescribeInvocations', { PageSize: 20, IncludeOutput: 'true', ContentEncoding: 'Base64' });
  $('#results').innerHTML =
    d.Invocations.Invocation.map(
      (
        inv,
      ) => `<h3>${esc(inv.InvokeId)} · <span class="status-${esc(inv.InvocationStatus)}">${esc(inv.InvocationStatus)}</span> · ${esc(inv.CreationTime)}</h3>
      <pre>${esc(b64text(inv.CommandContent))}</pre>
      ${table(
        ['Instance', 'Status', 'Exit code', 'Error', 'Output'],
        inv.InvokeInstances.InvokeInstance.map((r) => [
          esc(r.InstanceId),
          `<span class="status-${esc(r.InvocationStatus)}">${esc(r.InvocationStatus)}</span>`,
          esc(r.ExitCode ?? ''),
          esc(r.ErrorCode),
          `<pre>${esc(b64text(r.Output))}</pre>`,
        ]),
      )}`,
    ).join('') || '<p>No commands run yet.</p>';
}

async function showActivations() {
  const d = await api('DescribeActivations', { PageSize: 50 });
  $('#activations').innerHTML = table(
    ['Activation', 'Name', 'Used', 'Expired/disabled', 'Created'],
    d.ActivationList.map((a) => [
      esc(a.ActivationId),
      esc(a.InstanceName),
      `${a.RegisteredCount} / ${a.InstanceCount}`,
      a.Disabled ? 'yes' : 'no',
      esc(a.CreationTime),
    ]),
  );
}

const tabs = { run: showInstances, results: showResults, instances: showInstances, activations: showActivations };
async function openTab(name) {
  for (const b of document.querySelectorAll('nav button'))
    b.setAttribute('aria-pressed', String(b.dataset.tab === name));
  for (const t of document.querySelectorAll('.tab')) t.hidden = t.id !== `tab-${name}`;
  await tabs[name]().catch((e) => alert(e.message));
}

function signedIn(yes) {
  $('#login').hidden = yes;
  $('#app').hidden = !yes;
  $('#logout').hidden = !yes;
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  key = { id: f.get('id').trim(), secret: f.get('secret').trim() };
  try {
    await api('DescribeManagedInstances', { PageSize: 1 });
    sessionStorage.setItem('oca-key', JSON.stringify(key));
    signedIn(true);
    await openTab('run');
  } catch (e) {
    $('#login-error').textContent = e.message;
  }
});

$('#logout').addEventListener('click', () => {
  sessionStorage.removeItem('oca-key');
  key = null;
  signedIn(false);
});

for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => openTab(b.dataset.tab));

$('#run-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const ids = f.getAll('instance');
  $('#run-error').textContent = '';
  if (ids.length === 0) return void ($('#run-error').textContent = 'Pick at least one online instance.');
  const params = { Type: 'RunShellScript', CommandContent: f.get('content'), Timeout: f.get('timeout') };
  ids.forEach((id, i) => (params[`InstanceId.${i + 1}`] = id));
  try {
    await api('RunCommand', params);
    await openTab('results');
    setTimeout(() => openTab('results'), 1500);
  } catch (e) {
    $('#run-error').textContent = e.message;
  }
});

$('#activation-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const a = await api('CreateActivation', {
      InstanceName: f.get('name'),
      InstanceCount: f.get('count'),
      TimeToLiveInHours: f.get('ttl'),
      IpAddressRange: f.get('range'),
    });
    const cmd = `ALIYUN_ASSIST_SERVER_HOST=${location.host} ALIYUN_ASSIST_CERT_PATH=/path/to/ca.pem aliyun-service --register --RegionId cn-local --ActivationCode ${a.ActivationCode} --ActivationId ${a.ActivationId}`;
    $('#activation-created').innerHTML =
      `<div class="once"><p>Shown once: copy it now.</p><pre>${esc(cmd)}</pre></div>`;
    await showActivations();
  } catch (e) {
    alert(e.message);
  }
});

if (key) {
  signedIn(true);
  openTab('run');
}
