// What a search box and a status filter mean as DescribeManagedInstances parameters. The API
// filters server side (an exact id, or a name with `*` wildcards), so a fleet of any size is never
// fetched whole. A plain word finds every name that contains it.
import { listParam, type Params } from './api.js';

export type OnlineFilter = 'all' | 'online' | 'offline';

export function instanceQuery(search: string, online: OnlineFilter, pageNumber: number, pageSize: number): Params {
  const term = search.trim();
  const params: Params = { PageNumber: pageNumber, PageSize: pageSize };
  if (term !== '') {
    Object.assign(
      params,
      /^(mi|i)-[\w-]+$/.test(term) ? listParam('InstanceId', [term]) : { InstanceName: namePattern(term) },
    );
  }
  if (online !== 'all') {
    params['Connected'] = String(online === 'online');
  }
  return params;
}

/** A term with its own `*` is used as given; otherwise it matches anywhere in the name. */
export function namePattern(term: string): string {
  return term.includes('*') ? term : `*${term}*`;
}
