/// <reference lib="dom" />
// Plugins: the catalogue (ListPlugins; publish a zip with PublishPlugin, retire a version with
// RetirePluginVersion) and the plugin states of instances (ListPluginStatus).
import { listParam } from './api.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, guarded, h, status, table, time } from './dom.js';

export interface CatalogPlugin {
  PluginId: string;
  Name: string;
  Version: string;
  OsType: string;
  Arch: string;
  PluginType: string;
  Publisher: string;
  Size: number;
  Retired: boolean;
  CreationTime: string;
  Description: string;
}

interface InstanceStatus {
  InstanceId: string;
  PluginStatusSet: {
    PluginStatus: {
      PluginName: string;
      PluginVersion: string;
      PluginStatus: string;
      FirstHeartbeatTime: string;
      LastHeartbeatTime: string;
    }[];
  };
}

/** The catalogue's live versions (what the Run page offers too). */
export async function listPlugins(ctx: ConsoleContext, includeRetired = false): Promise<CatalogPlugin[]> {
  const r = (await ctx.api()('ListPlugins', { IncludeRetired: includeRetired || undefined })) as {
    Plugins: { Plugin: CatalogPlugin[] };
  };
  return r.Plugins.Plugin;
}

/** A file's bytes as base64 (the PublishPlugin `Package`). */
async function fileBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function createPluginsPage(ctx: ConsoleContext): Page {
  const root = byId('plugins-content');
  const error = byId('plugins-error');
  const retiredBox = h('input', { type: 'checkbox', name: 'retired' });
  const catalogEl = h('div', {});
  const fileInput = h('input', { type: 'file', name: 'package', accept: '.zip,application/zip', required: true });
  const publishForm = h(
    'form',
    { class: 'row', 'aria-label': 'Publish a plugin' },
    h('label', {}, 'Plugin package (.zip) ', fileInput),
    h('label', {}, 'Description ', h('input', { name: 'description', autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Publish'),
  );
  const statusForm = h(
    'form',
    { class: 'row', 'aria-label': 'Plugin states' },
    h('label', {}, 'Instance ID ', h('input', { name: 'instance', autocomplete: 'off', placeholder: 'mi-…' })),
    h('label', {}, 'Plugin ', h('input', { name: 'plugin', autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Show states'),
  );
  const statusEl = h('div', {});
  root.replaceChildren(
    h('h3', {}, 'Catalogue'),
    publishForm,
    h('label', { class: 'check' }, retiredBox, ' Show retired versions'),
    catalogEl,
    h('h3', {}, 'Plugin states on instances'),
    h('p', { class: 'hint' }, 'One instance and all its plugins, or one plugin on every instance that reported it.'),
    statusForm,
    statusEl,
  );

  async function loadCatalog(): Promise<void> {
    const plugins = await listPlugins(ctx, retiredBox.checked);
    catalogEl.replaceChildren(
      table(
        'Published plugins',
        ['Name', 'Version', 'Type', 'OS', 'Arch', 'Publisher', 'Size', 'Published', 'Description', ''],
        plugins.map((p) => [
          p.Name,
          p.Version,
          p.PluginType,
          p.OsType || 'any',
          p.Arch || 'any',
          p.Publisher,
          `${p.Size} B`,
          time(p.CreationTime),
          p.Description,
          p.Retired
            ? 'retired'
            : h(
                'button',
                {
                  type: 'button',
                  'aria-label': `Retire ${p.Name} ${p.Version}`,
                  onclick: () =>
                    void guarded(error, async () => {
                      if (!confirm(`Stop offering ${p.Name} ${p.Version} to agents?`)) {
                        return;
                      }
                      await ctx.api()('RetirePluginVersion', { Name: p.Name, PluginVersion: p.Version });
                      announce(`Retired ${p.Name} ${p.Version}.`);
                      await loadCatalog();
                    }),
                },
                'Retire',
              ),
        ]),
        'No plugins are published yet.',
      ),
    );
  }

  async function loadStates(): Promise<void> {
    const v = (n: string) => (statusForm.elements.namedItem(n) as HTMLInputElement).value.trim();
    const instance = v('instance');
    const plugin = v('plugin');
    if (!instance && !plugin) {
      throw new Error('Give an instance ID, a plugin name, or both.');
    }
    const r = (await ctx.api()('ListPluginStatus', {
      Name: plugin || undefined,
      MaxResults: 50,
      ...listParam('InstanceId', instance ? [instance] : []),
    })) as { InstancePluginStatusSet: { InstancePluginStatus: InstanceStatus[] } };
    const rows = r.InstancePluginStatusSet.InstancePluginStatus.flatMap((i) =>
      i.PluginStatusSet.PluginStatus.map((s) => [
        i.InstanceId,
        s.PluginName,
        s.PluginVersion,
        status(s.PluginStatus),
        time(s.FirstHeartbeatTime),
        time(s.LastHeartbeatTime),
      ]),
    );
    statusEl.replaceChildren(
      table(
        'Plugin states',
        ['Instance', 'Plugin', 'Version', 'State', 'First report', 'Last report'],
        rows,
        'No plugin states reported.',
      ),
    );
  }

  publishForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, async () => {
      const file = fileInput.files?.[0];
      if (!file) {
        throw new Error('Choose a plugin zip.');
      }
      const description = (publishForm.elements.namedItem('description') as HTMLInputElement).value.trim();
      const r = (await ctx.api()('PublishPlugin', {
        Package: await fileBase64(file),
        Description: description || undefined,
      })) as { Plugin: CatalogPlugin };
      announce(`Published ${r.Plugin.Name} ${r.Plugin.Version}.`);
      publishForm.reset();
      await loadCatalog();
    });
  });
  statusForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, loadStates);
  });
  retiredBox.addEventListener('change', () => void guarded(error, loadCatalog));
  return { show: loadCatalog, hide: () => undefined };
}
