// The OOS parameter-store actions (API version 2019-06-01) served on the same endpoint, with the
// same signature checks, as the ECS actions: request and response names of the OOS SDK models.
import { normalizePath, parseTags, type ParameterKind, type ParameterService } from '../services/index.js';
import { ApiError, invalid } from '../shared/index.js';
import { actionNamed, type ActionDeps } from './actions.js';
import type { Params } from './params.js';

export const OOS_API_VERSION = '2019-06-01';

export interface OosActionDeps {
  parameters: ParameterService;
}

/** An action of either table; `caller` is the AccessKey id that signed the call. */
export type RoutedAction = (
  p: Params,
  deps: ActionDeps & OosActionDeps,
  caller: string,
) => Promise<Record<string, unknown>>;

type OosAction = (p: Params, d: OosActionDeps, caller: string) => Promise<Record<string, unknown>>;

/** MaxResults of the listings: 10 to 100 in the OOS models (fewer accepted), 50 by default. */
function tokenPaging(p: Params): { mode: 'token'; maxResults: number; nextToken?: string } {
  const n = p.int('MaxResults') ?? 50;
  if (n < 1 || n > 100) {
    throw invalid('MaxResults', 'must be from 1 to 100');
  }
  const nextToken = p.optStr('NextToken');
  return { mode: 'token', maxResults: n, ...(nextToken !== undefined ? { nextToken } : {}) };
}

/** `Names`: a JSON array of names (the OOS model's form), at most 100. */
function namesOf(p: Params): string[] {
  const raw = p.required('Names');
  let names: unknown;
  try {
    names = JSON.parse(raw);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw invalid('Names', 'expected a JSON array of names such as ["a","b"]');
  }
  if (names.length === 0 || names.length > 100) {
    throw invalid('Names', 'from 1 to 100 names');
  }
  return [...new Set(names as string[])];
}

function sortOf(p: Params): { sortField: 'Name' | 'CreatedDate'; sortOrder: 'Ascending' | 'Descending' } {
  const field = p.str('SortField', 'CreatedDate');
  const order = p.str('SortOrder', 'Descending');
  if (field !== 'Name' && field !== 'CreatedDate') {
    throw invalid('SortField', 'Name or CreatedDate');
  }
  if (order !== 'Ascending' && order !== 'Descending') {
    throw invalid('SortOrder', 'Ascending or Descending');
  }
  return { sortField: field, sortOrder: order };
}

function create(kind: ParameterKind): OosAction {
  return async (p, d, caller) => ({
    Parameter: await d.parameters.create(
      kind,
      {
        name: p.opt('Name'),
        type: p.opt('Type'),
        value: p.opt('Value'),
        description: p.str('Description'),
        constraints: p.str('Constraints'),
        tags: parseTags(p.opt('Tags')),
      },
      caller,
      Date.now(),
    ),
  });
}

function update(kind: ParameterKind): OosAction {
  return async (p, d, caller) => {
    const input: Parameters<ParameterService['update']>[1] = { name: p.opt('Name') };
    const value = p.opt('Value');
    const description = p.opt('Description');
    if (value !== undefined) {
      input.value = value;
    }
    if (description !== undefined) {
      input.description = description;
    }
    if (p.opt('Tags') !== undefined) {
      input.tags = parseTags(p.opt('Tags'));
    }
    if (input.value === undefined && input.description === undefined && input.tags === undefined) {
      throw new ApiError('MissingParameter', 'Give at least one of Value, Description and Tags.');
    }
    return { Parameter: await d.parameters.update(kind, input, caller, Date.now()) };
  };
}

function list(kind: ParameterKind, byPath: boolean): OosAction {
  return async (p, d) => {
    const path = normalizePath(p.optStr('Path'), byPath);
    const f: Parameters<ParameterService['list']>[1] = {
      recursive: p.bool('Recursive'),
      tags: parseTags(p.opt('Tags')),
      paging: tokenPaging(p),
      ...(byPath ? { sortField: 'Name', sortOrder: 'Ascending' } : sortOf(p)),
    };
    if (path !== undefined) {
      f.path = path;
    }
    const name = p.optStr('Name');
    const type = p.optStr('Type');
    if (!byPath && name !== undefined) {
      f.name = name;
    }
    if (!byPath && type !== undefined) {
      f.type = type;
    }
    return d.parameters.list(kind, f, byPath, kind === 'secret' && p.bool('WithDecryption'));
  };
}

export const OOS_ACTIONS: Record<string, OosAction> = {
  CreateParameter: create('plain'),
  CreateSecretParameter: create('secret'),
  UpdateParameter: update('plain'),
  UpdateSecretParameter: update('secret'),
  async GetParameter(p, d) {
    return { Parameter: await d.parameters.get('plain', p.opt('Name'), p.int('ParameterVersion'), false) };
  },
  async GetSecretParameter(p, d) {
    return {
      Parameter: await d.parameters.get('secret', p.opt('Name'), p.int('ParameterVersion'), p.bool('WithDecryption')),
    };
  },
  async GetParameters(p, d) {
    return d.parameters.getMany('plain', namesOf(p), false);
  },
  async GetSecretParameters(p, d) {
    return d.parameters.getMany('secret', namesOf(p), p.bool('WithDecryption'));
  },
  GetParametersByPath: list('plain', true),
  GetSecretParametersByPath: list('secret', true),
  ListParameters: list('plain', false),
  ListSecretParameters: list('secret', false),
  async DeleteParameter(p, d) {
    await d.parameters.delete('plain', p.opt('Name'));
    return {};
  },
  async DeleteSecretParameter(p, d) {
    await d.parameters.delete('secret', p.opt('Name'));
    return {};
  },
};

/**
 * The action a call names, chosen by its API version: `2019-06-01` → the OOS table, anything
 * else → the ECS table. Own keys only (`toString` or `__proto__` read as unknown).
 */
export function routeAction(version: string | undefined, action: string | undefined): RoutedAction | undefined {
  if (version === OOS_API_VERSION) {
    return action !== undefined && Object.hasOwn(OOS_ACTIONS, action) ? OOS_ACTIONS[action] : undefined;
  }
  const ecs = actionNamed(action);
  return ecs ? (p, d, caller) => ecs(p, d, caller) : undefined;
}

/** Actions whose parameter names come from `Names` (a JSON array) rather than `Name`. */
const BY_NAMES = new Set(['GetParameters', 'GetSecretParameters']);
const BY_PATH = new Set(['GetParametersByPath', 'GetSecretParametersByPath', 'ListParameters', 'ListSecretParameters']);

/**
 * The parameter names an OOS call touches, for resource-scoped policies
 * (`acs:oos:<region>:<account>:parameter/<name>`): `Name` for single-parameter actions, each of
 * `Names` for GetParameters/GetSecretParameters, and for listings the `Path` as `<path>*` (or `*`
 * without one). Unknown actions and unreadable input give [] (the action itself refuses such input).
 */
export function oosParameterNames(action: string, params: Readonly<Record<string, string>>): string[] {
  if (!Object.hasOwn(OOS_ACTIONS, action)) {
    return [];
  }
  if (BY_NAMES.has(action)) {
    try {
      const names = JSON.parse(params['Names'] ?? '') as unknown;
      return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
    } catch {
      return [];
    }
  }
  if (BY_PATH.has(action)) {
    const path = params['Path'];
    if (!path) {
      return ['*'];
    }
    return [`${path.endsWith('/') ? path : `${path}/`}*`];
  }
  const name = params['Name'];
  return name ? [name] : [];
}
