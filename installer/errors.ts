// The installer's error, with a code from a closed union (DESIGN.md §5). The CLI prints the message
// after the stock prefix (`install assist failed: …`).
const brand = Symbol.for('oca.installer-error');

export type InstallerErrorCode =
  /** The spec or a value cannot be written safely into a unit (newline, relative path, …). */
  | 'SPEC_INVALID'
  /** A template names a placeholder no value was given for. */
  | 'TEMPLATE_INVALID'
  /** This platform or init system cannot run this service. */
  | 'UNSUPPORTED'
  | 'NOT_INSTALLED'
  /** A service-manager command exited non-zero or could not be run. */
  | 'COMMAND_FAILED'
  | 'FILE_FAILED';

export class InstallerError extends Error {
  readonly code: InstallerErrorCode;
  readonly retryable = false;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: InstallerErrorCode,
    message: string,
    opts: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'InstallerError';
    this.code = code;
    this.details = opts.details ?? {};
    Object.defineProperty(this, brand, { value: true });
  }
}

export const isInstallerError = (e: unknown): e is InstallerError => typeof e === 'object' && e !== null && brand in e;
