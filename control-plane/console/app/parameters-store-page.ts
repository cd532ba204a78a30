/// <reference lib="dom" />
// Parameter store: a read-only list of the plain and the secret parameters (ListParameters,
// ListSecretParameters, API version 2019-06-01) that commands use as {{oos:name}} and
// {{oos-secret:name}}. Listings carry no values, and this page asks for none: the console never
// shows a secret. Parameters are managed with `assist param` or the OOS API.
import type { ConsoleContext, Page } from './context.js';
import { byId, guarded, h, table, time } from './dom.js';

const OOS_VERSION = '2019-06-01';
const PAGE_SIZE = 50;

interface ListedParameter {
  Name: string;
  Type: string;
  ParameterVersion: number | string;
  Description: string;
  UpdatedDate: string;
  Tags?: Record<string, string>;
}

interface Listing {
  Parameters: ListedParameter[];
  TotalCount: number;
  NextToken?: string;
}

export function createParameterStorePage(ctx: ConsoleContext): Page {
  const root = byId('parameters-content');
  const error = byId('parameters-error');

  /** One listing (plain or secret) with a button for its next page. */
  function section(title: string, action: string, reference: (name: string) => string) {
    const el = h('div', {});
    let rows: ListedParameter[] = [];
    let token: string | undefined;
    let total = 0;
    async function load(more: boolean): Promise<void> {
      const r = (await ctx.api()(
        action,
        { SortField: 'Name', SortOrder: 'Ascending', MaxResults: PAGE_SIZE, NextToken: more ? token : undefined },
        OOS_VERSION,
      )) as unknown as Listing;
      rows = more ? [...rows, ...r.Parameters] : r.Parameters;
      token = r.NextToken;
      total = r.TotalCount;
      render();
    }
    function render(): void {
      el.replaceChildren(
        table(
          `${title}: ${rows.length} of ${total}`,
          ['Name', 'Use as', 'Type', 'Version', 'Description', 'Tags', 'Updated'],
          rows.map((p) => [
            p.Name,
            h('code', {}, reference(p.Name)),
            p.Type,
            String(p.ParameterVersion),
            p.Description,
            Object.entries(p.Tags ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
            time(p.UpdatedDate),
          ]),
          'No parameters.',
        ),
        token
          ? h(
              'button',
              { type: 'button', onclick: () => void guarded(error, () => load(true)) },
              `More ${title.toLowerCase()}`,
            )
          : '',
      );
    }
    return { el, load };
  }

  const plain = section('Parameters', 'ListParameters', (n) => `{{oos:${n}}}`);
  const secret = section('Secret parameters', 'ListSecretParameters', (n) => `{{oos-secret:${n}}}`);
  root.replaceChildren(
    h(
      'p',
      { class: 'hint' },
      'Commands with custom parameters enabled take these values when their agent fetches them. ',
      'Values are not shown here; manage parameters with assist param.',
    ),
    plain.el,
    secret.el,
  );

  return {
    async show() {
      await Promise.all([plain.load(false), secret.load(false)]);
    },
    hide() {},
  };
}
