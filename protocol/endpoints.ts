// Paths of the luban agent API (spec/luban-protocol.md §3).
export const LubanPath = {
  connectionDetect: '/luban/api/connection_detect',
  heartbeat: '/luban/api/heart-beat',
  gshell: '/luban/api/gshell',
  notifyServer: '/luban/notify_server',
  taskList: '/luban/api/v1/task/list',
  taskReport: (kind: ReportKind) => `/luban/api/v1/task/${kind}`,
  updateCheck: '/luban/api/v1/update/update_check',
  register: '/luban/api/instance/register',
  deregister: '/luban/api/instance/deregister',
  metrics: '/luban/api/metrics',
  clientReport: '/luban/api/v1/exception/client_report',
  classicRegionId: '/luban/api/classic/region-id',
  sessionList: '/luban/api/v1/session/list',
  sessionStatus: '/luban/api/v1/session/status',
  sessionBackend: '/luban/session/backend',
  pluginList: '/luban/api/v1/plugin/list',
  pluginReportStatus: '/luban/api/v1/plugin/report_status',
  pluginUpdateCheck: '/luban/api/v2/plugin/update_check',
  stateConfigurations: '/luban/api/instance/list_instance_state_configurations',
  stateTemplate: '/luban/api/instance/get_template',
  stateReport: '/luban/api/instance/put_instance_state_report',
  inventory: '/luban/api/instance/put_inventory',
} as const;

export const REPORT_KINDS = ['running', 'finish', 'timeout', 'error', 'stopped', 'invalid', 'verified'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
export const isReportKind = (s: string): s is ReportKind => (REPORT_KINDS as readonly string[]).includes(s);

/** `User-Agent` of every agent API request: `<GOOS>_<GOARCH>/<version>` (§1.1). */
export function userAgent(platform: string, arch: string, version: string): string {
  const os = platform === 'win32' ? 'windows' : platform;
  const goarch = arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
  return `${os}_${goarch}/${version}`;
}
