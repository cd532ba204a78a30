/// <reference lib="dom" />
// The console's entry point: sign in / out, the tabs, and the pages. Bundled by
// scripts/build-console.ts into assets/app.generated.js.
import { createAccessPage } from './access-page.js';
import { createActivationsPage } from './activations-page.js';
import { ApiError, createApi, type AccessKey, type Api } from './api.js';
import { createAuditPage } from './audit-page.js';
import { createCommandsPage } from './commands-page.js';
import type { ConsoleContext, Page } from './context.js';
import { byId, field, guarded } from './dom.js';
import { createFilesPage } from './files-page.js';
import { createInstancesPage } from './instances-page.js';
import { createParameterStorePage } from './parameters-store-page.js';
import { createPluginsPage } from './plugins-page.js';
import { createResultsPage } from './results-page.js';
import { createRunPage } from './run-page.js';
import { alsoOnShow, attachPluginChoice } from './run-plugin-choice.js';
import { createSessionsPage } from './sessions-page.js';
import { Tabs } from './tabs.js';

const KEY_STORE = 'oca-key';
let api: Api | undefined;

const ctx: ConsoleContext = {
  api: () => {
    if (!api) {
      throw new ApiError('NotSignedIn', 'Sign in first.');
    }
    return api;
  },
  showInvocation: (invokeId) => {
    tabs.open('results');
    results.open(invokeId);
  },
  connect: (instanceId) => {
    tabs.open('sessions');
    void guarded(byId('sessions-error'), () => sessions.connect(instanceId));
  },
};

const results = createResultsPage(ctx);
const sessions = createSessionsPage(ctx);
const pages: Record<string, Page> = {
  run: alsoOnShow(createRunPage(ctx), attachPluginChoice(ctx)),
  commands: createCommandsPage(ctx),
  results,
  instances: createInstancesPage(ctx),
  activations: createActivationsPage(ctx),
  files: createFilesPage(ctx),
  plugins: createPluginsPage(ctx),
  parameters: createParameterStorePage(ctx),
  sessions,
  audit: createAuditPage(ctx),
  access: createAccessPage(ctx),
};
let shown: Page | undefined;
const tabs = new Tabs(
  byId('tabs'),
  (name) => {
    shown?.hide();
    shown = pages[name];
    const panel = byId(`panel-${name}`);
    // Errors of a page's first load go to the first alert of its panel.
    void guarded(panel.querySelector<HTMLElement>('[role=alert]')!, () => shown!.show());
  },
  byId('app-title'),
);

/** The Access policies tab is for account (root) keys: a RAM user's key does not see it. */
async function showAdminTabs(): Promise<void> {
  const me = await api!('GetCallerIdentity').catch(() => ({ IdentityType: 'RAMUser' }));
  byId('tab-access').hidden = me['IdentityType'] !== 'Account';
}

function signIn(key: AccessKey): void {
  api = createApi(key);
  void showAdminTabs();
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('logout').hidden = false;
  tabs.open('run');
}

function signOut(): void {
  sessionStorage.removeItem(KEY_STORE);
  api = undefined;
  shown?.hide();
  shown = undefined;
  // A reload drops everything the pages hold (selections, outputs, a code shown once).
  location.reload();
}

const loginForm = byId<HTMLFormElement>('login-form');
loginForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = { id: field(loginForm, 'id').value.trim(), secret: field(loginForm, 'secret').value.trim() };
  void guarded(byId('login-error'), async () => {
    // Any valid key may ask who it is; a RAM user's key may have no Describe permission.
    await createApi(key)('GetCallerIdentity');
    sessionStorage.setItem(KEY_STORE, JSON.stringify(key));
    signIn(key);
  });
});
byId('logout').addEventListener('click', signOut);

const saved = sessionStorage.getItem(KEY_STORE);
if (saved) {
  signIn(JSON.parse(saved) as AccessKey);
}
