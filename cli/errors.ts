// One error class for the CLI, with a code from a closed union (DESIGN.md §5), and the one place
// that maps codes to exit codes and API error codes to a hint.
const brand = Symbol.for('oca.cli-error');

export type CliErrorCode =
  /** Bad arguments: the command line itself is wrong. */
  | 'USAGE'
  /** Credentials, profile file or CA file missing or unreadable. */
  | 'CONFIG'
  /** The API answered with an error (Code/Message). */
  | 'API'
  /** The API could not be reached, or answered with something that is not an API response. */
  | 'NETWORK'
  /** --all or --tag matched no online instance. */
  | 'NO_TARGET'
  /** A local file (script, file to send) cannot be read. */
  | 'FILE';

/** Exit codes of `assist` (docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** An API call or the command failed. */
  FAILURE: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The invocation ended and at least one instance did not succeed. */
  INSTANCE_FAILED: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ApiErrorDetails {
  /** The API's Code, e.g. `InvalidAccessKeyId.NotFound`. */
  apiCode: string;
  requestId?: string;
  httpStatus?: number;
}

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly retryable: boolean;
  readonly api: ApiErrorDetails | undefined;
  constructor(
    code: CliErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean; api?: ApiErrorDetails } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'CliError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.api = opts.api;
    Object.defineProperty(this, brand, { value: true });
  }
}

export const isCliError = (e: unknown): e is CliError => typeof e === 'object' && e !== null && brand in e;

export const usageError = (message: string) => new CliError('USAGE', message);

export function exitCodeOf(e: CliError): ExitCode {
  return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILURE;
}

/** What to do about an API error, by Code (the first matching prefix wins). */
const HINTS: [prefix: string, hint: string][] = [
  ['InvalidAccessKeyId', 'check ASSIST_ACCESS_KEY_ID or run assist configure'],
  ['MissingAccessKeyId', 'check ASSIST_ACCESS_KEY_ID or run assist configure'],
  ['SignatureDoesNotMatch', 'check ASSIST_ACCESS_KEY_SECRET or run assist configure'],
  ['IncompleteSignature', 'check ASSIST_ACCESS_KEY_SECRET or run assist configure'],
  ['InvalidTimeStamp', "check this machine's clock: requests are valid for 15 minutes"],
  ['SignatureNonceUsed', 'run the command again'],
  ['InvalidInstanceId', 'list the instances with assist instances'],
  ['InvalidInvokeId', 'check the invoke id (t-…) printed by assist run or assist invoke'],
  ['InvalidCommandId', 'list the saved commands with assist commands list'],
  ['InvalidAction', 'the endpoint does not serve this action: check ASSIST_ENDPOINT or upgrade the control plane'],
  ['CmdParam', 'custom parameters are written {{name}} and given with --param name=value'],
  ['InvalidParameter.Parameters', 'give one --param name=value for each {{name}} in the script, and no others'],
  ['Parameter.Disabled', 'parameters need --enable-parameter on the saved command'],
  [
    'Forbidden.RAM',
    "the key's RAM user has no policy allowing this: an administrator can check `assist ram policy list --user NAME`",
  ],
  ['Throttling', 'the control plane is busy: retry in a moment'],
  ['InternalError', 'the control plane failed: see its log for the RequestId'],
];

export function hintFor(apiCode: string): string | undefined {
  return HINTS.find(([prefix]) => apiCode.startsWith(prefix))?.[1];
}

/** The lines `assist` prints to stderr for an error. */
export function describeError(e: unknown): string[] {
  if (!isCliError(e)) {
    const err = e instanceof Error ? e : new Error(String(e));
    return [`error: ${err.message}`];
  }
  if (e.code === 'API' && e.api) {
    const lines = [`error: ${e.api.apiCode}: ${e.message}`];
    const hint = hintFor(e.api.apiCode);
    if (hint) {
      lines.push(`hint: ${hint}`);
    }
    if (e.api.requestId) {
      lines.push(`request id: ${e.api.requestId}`);
    }
    return lines;
  }
  if (e.code === 'USAGE') {
    return [`error: ${e.message}`, 'hint: run assist --help, or assist <command> --help'];
  }
  return [`error: ${e.message}`];
}
