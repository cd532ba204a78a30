/// <reference lib="dom" />
// Access policies (account keys only; the tab is hidden for a RAM user's key): RAM users with
// their AccessKeys, policies (create from a document, delete), and attachments.
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, guarded, h, table, time } from './dom.js';

interface User {
  UserName: string;
  DisplayName: string;
  CreateDate: string;
}

interface Policy {
  PolicyName: string;
  Description: string;
  AttachmentCount: number;
  UpdateDate: string;
}

const SAMPLE_POLICY = JSON.stringify(
  {
    Version: '1',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['ecs:RunCommand', 'ecs:InvokeCommand', 'ecs:Describe*'],
        Resource: '*',
      },
    ],
  },
  null,
  2,
);

/** A labelled input (the label wraps it, as elsewhere in the console). */
const input = (label: string, name: string, attrs: Record<string, string | boolean> = {}) =>
  h('label', {}, `${label} `, h('input', { name, autocomplete: 'off', ...attrs }));

const value = (form: HTMLFormElement, name: string) =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement).value.trim();

export function createAccessPage(ctx: ConsoleContext): Page {
  const root = byId('access-content');
  const error = byId('access-error');
  const created = h('div', { id: 'access-key-created' });
  const usersEl = h('div', {});
  const policiesEl = h('div', {});
  let users: User[] = [];
  let policies: Policy[] = [];

  const userForm = h(
    'form',
    { class: 'row', 'aria-label': 'Create RAM user' },
    input('User name', 'userName', { required: true }),
    input('Display name', 'displayName'),
    h('button', { type: 'submit' }, 'Create user'),
  );
  const policyForm = h(
    'form',
    { 'aria-label': 'Create policy' },
    h(
      'div',
      { class: 'row' },
      input('Policy name', 'policyName', { required: true }),
      input('Description', 'description'),
    ),
    h(
      'label',
      {},
      'Policy document (RAM policy language, JSON) ',
      h('textarea', { name: 'document', rows: 10, spellcheck: 'false' }, SAMPLE_POLICY),
    ),
    h('button', { type: 'submit' }, 'Create policy'),
  );
  // Named by aria-label: a wrapping label's name would include the options' text.
  const attachSelects = {
    policy: h('select', { name: 'policy', 'aria-label': 'Policy to attach' }),
    user: h('select', { name: 'user', 'aria-label': 'User to attach it to' }),
  };
  const attachForm = h(
    'form',
    { class: 'row', 'aria-label': 'Attach policy' },
    h('label', {}, 'Policy ', attachSelects.policy),
    h('label', {}, 'User ', attachSelects.user),
    h('button', { type: 'submit', name: 'attach' }, 'Attach'),
    h('button', { type: 'button', name: 'detach', onclick: () => void guarded(error, () => attach(false)) }, 'Detach'),
  );

  root.replaceChildren(
    h('h3', {}, 'RAM users'),
    userForm,
    created,
    usersEl,
    h('h3', {}, 'Policies'),
    policyForm,
    policiesEl,
    h('h3', {}, 'Attach a policy to a user'),
    attachForm,
  );

  async function list(): Promise<void> {
    const api = ctx.api();
    const [u, p] = await Promise.all([api('ListRamUsers'), api('ListRamPolicies')]);
    users = (u as { Users: { User: User[] } }).Users.User;
    policies = (p as { Policies: { Policy: Policy[] } }).Policies.Policy;
    const attached = new Map<string, string[]>();
    await Promise.all(
      users.map(async (x) => {
        const r = (await api('ListRamPoliciesForUser', { UserName: x.UserName })) as { Policies: { Policy: Policy[] } };
        attached.set(
          x.UserName,
          r.Policies.Policy.map((pp) => pp.PolicyName),
        );
      }),
    );
    usersEl.replaceChildren(
      table(
        'RAM users',
        ['User', 'Display name', 'Policies', 'Created', 'Actions'],
        users.map((x) => [
          x.UserName,
          x.DisplayName,
          (attached.get(x.UserName) ?? []).join(', ') || 'none',
          time(x.CreateDate),
          h(
            'span',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                'aria-label': `Create AccessKey for ${x.UserName}`,
                onclick: () => void guarded(error, () => createKey(x.UserName)),
              },
              'Create AccessKey',
            ),
            h(
              'button',
              {
                type: 'button',
                'aria-label': `Delete user ${x.UserName}`,
                onclick: () => void guarded(error, () => deleteUser(x.UserName)),
              },
              'Delete',
            ),
          ),
        ]),
        'No RAM users yet: every AccessKey is an account key.',
      ),
    );
    policiesEl.replaceChildren(
      table(
        'Policies',
        ['Policy', 'Description', 'Attached to', 'Updated', 'Actions'],
        policies.map((x) => [
          x.PolicyName,
          x.Description,
          `${x.AttachmentCount} user(s)`,
          time(x.UpdateDate),
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Delete policy ${x.PolicyName}`,
              onclick: () => void guarded(error, () => deletePolicy(x.PolicyName)),
            },
            'Delete',
          ),
        ]),
        'No policies yet.',
      ),
    );
    attachSelects.policy.replaceChildren(...policies.map((x) => h('option', { value: x.PolicyName }, x.PolicyName)));
    attachSelects.user.replaceChildren(...users.map((x) => h('option', { value: x.UserName }, x.UserName)));
  }

  async function createKey(userName: string): Promise<void> {
    const r = (await ctx.api()('CreateRamAccessKey', { UserName: userName })) as {
      AccessKey: { AccessKeyId: string; AccessKeySecret: string };
    };
    created.replaceChildren(
      h(
        'section',
        { class: 'once', 'aria-labelledby': 'key-once-title' },
        h('h4', { id: 'key-once-title', tabindex: -1 }, `New AccessKey of ${userName}: shown once`),
        h('dl', {}, h('dt', {}, 'AccessKeyId'), h('dd', {}, r.AccessKey.AccessKeyId)),
        h('dl', {}, h('dt', {}, 'AccessKeySecret'), h('dd', {}, r.AccessKey.AccessKeySecret)),
        h('button', { type: 'button', onclick: () => created.replaceChildren() }, 'Done, hide the secret'),
      ),
    );
    announce(`Created an AccessKey for ${userName}. The secret is shown once.`);
    created.querySelector<HTMLElement>('h4')?.focus();
  }

  async function deleteUser(userName: string): Promise<void> {
    if (!confirm(`Delete the RAM user ${userName} and its AccessKeys?`)) {
      return;
    }
    await ctx.api()('DeleteRamUser', { UserName: userName });
    announce(`Deleted ${userName}.`);
    await list();
  }

  async function deletePolicy(policyName: string): Promise<void> {
    if (!confirm(`Delete the policy ${policyName}?`)) {
      return;
    }
    await ctx.api()('DeleteRamPolicy', { PolicyName: policyName });
    announce(`Deleted ${policyName}.`);
    await list();
  }

  async function attach(on: boolean): Promise<void> {
    const PolicyName = attachSelects.policy.value;
    const UserName = attachSelects.user.value;
    await ctx.api()(on ? 'AttachRamPolicyToUser' : 'DetachRamPolicyFromUser', { PolicyName, UserName });
    announce(`${on ? 'Attached' : 'Detached'} ${PolicyName} ${on ? 'to' : 'from'} ${UserName}.`);
    await list();
  }

  userForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, async () => {
      await ctx.api()('CreateRamUser', {
        UserName: value(userForm, 'userName'),
        DisplayName: value(userForm, 'displayName'),
      });
      announce(`Created ${value(userForm, 'userName')}.`);
      userForm.reset();
      await list();
    });
  });
  policyForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, async () => {
      const name = value(policyForm, 'policyName');
      await ctx.api()('CreateRamPolicy', {
        PolicyName: name,
        PolicyDocument: value(policyForm, 'document'),
        Description: value(policyForm, 'description'),
      });
      announce(`Created policy ${name}.`);
      await list();
    });
  });
  attachForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, () => attach(true));
  });

  return { show: list, hide: () => undefined };
}
