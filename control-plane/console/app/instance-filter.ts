// What a search box and a status filter mean as DescribeManagedInstances parameters. The API
// filters by exact id or exact name, server side, so a fleet of any size is never fetched whole.
import { listParam, type Params } from './api.js';

export type OnlineFilter = 'all' | 'online' | 'offline';

export function instanceQuery(search: string, online: OnlineFilter, pageNumber: number, pageSize: number): Params {
  const term = search.trim();
  const params: Params = { PageNumber: pageNumber, PageSize: pageSize };
  if (term !== '') {
    Object.assign(params, /^(mi|i)-[\w-]+$/.test(term) ? listParam('InstanceId', [term]) : { InstanceName: term });
  }
  if (online !== 'all') {
    params['Connected'] = String(online === 'online');
  }
  return params;
}
