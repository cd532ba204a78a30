// One error class for the agent, with a code from a closed union (DESIGN.md §5).
const brand = Symbol.for('oca.agent-error');

export type AgentErrorCode =
  | 'CONFIG_INVALID'
  | 'IDENTITY_MISSING'
  | 'IDENTITY_EXISTS'
  | 'REGISTER_REJECTED'
  | 'SERVER_UNREACHABLE'
  | 'HTTP_STATUS'
  | 'PROTOCOL_BAD_MESSAGE'
  | 'STATE_CORRUPT';

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: AgentErrorCode,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AgentError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
    Object.defineProperty(this, brand, { value: true });
  }
}

export const isAgentError = (e: unknown): e is AgentError => typeof e === 'object' && e !== null && brand in e;

/** Turns anything thrown into an Error without losing it. */
export const ensureError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
