// acs-plugin-manager's own exit codes (spec/client-features.md §10.6); any other code a run ends
// with is the plugin's. Errors print as `<Function> <CODE>: <tip>` (stock layout).
export const PLUGIN_EXIT = {
  LOCKING_ERR: 232,
  CHECK_ENDPOINT_FAIL: 233,
  PACKAGE_NOT_FOUND: 234,
  PACKAGE_FORMAT_ERR: 235,
  UNZIP_ERR: 236,
  UNMARSHAL_ERR: 237,
  PLUGIN_FORMAT_ERR: 238,
  MD5_CHECK_FAIL: 239,
  DOWNLOAD_FAIL: 240,
  LOAD_INSTALLEDPLUGINS_ERR: 241,
  DUMP_INSTALLEDPLUGINS_ERR: 242,
  GET_ONLINE_PACKAGE_INFO_ERR: 243,
  EXECUTABLE_PERMISSION_ERR: 244,
  REMOVE_FILE_ERR: 245,
  EXECUTE_FAILED_ERR: 246,
  EXECUTE_TIMEOUT_ERR: 247,
} as const;

export type PluginErrorCode = keyof typeof PLUGIN_EXIT;

/** A failure of the manager itself (not of a plugin): its code decides the exit code. */
export class PluginError extends Error {
  readonly code: PluginErrorCode;
  /** The stock `<Function>` prefix of the error line. */
  readonly where: string;
  constructor(where: string, code: PluginErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PluginError';
    this.where = where;
    this.code = code;
  }
  get exitCode(): number {
    return PLUGIN_EXIT[this.code];
  }
  /** The stock error line: `<Function> <CODE>: <tip>`. */
  line(): string {
    return `${this.where} ${this.code}: ${this.message}`;
  }
}

export const isPluginError = (e: unknown): e is PluginError => e instanceof PluginError;
