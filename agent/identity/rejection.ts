// How a refusal by the server surfaces: one error code, REGISTER_REJECTED, carrying the server's own
// reason (`errMsg`) when it gave one. Transport failures are not refusals and pass through unchanged.
import { isObj } from '../../protocol/index.js';
import { AgentError, isAgentError } from '../shared/index.js';

function errMsgOf(v: unknown): string | undefined {
  return isObj(v) && typeof v['errMsg'] === 'string' && v['errMsg'] !== '' ? v['errMsg'] : undefined;
}

/** An HTTP status > 400 or a non-JSON answer (as thrown by HttpClient.requestJson) becomes a rejection. */
export function asRejection(e: unknown, what: string): unknown {
  if (!isAgentError(e) || (e.code !== 'HTTP_STATUS' && e.code !== 'PROTOCOL_BAD_MESSAGE')) {
    return e;
  }
  let reason: string | undefined;
  const body = e.details['body'];
  if (typeof body === 'string') {
    try {
      reason = errMsgOf(JSON.parse(body));
    } catch {
      // Not JSON: the generic message below will do.
    }
  }
  return new AgentError('REGISTER_REJECTED', reason ?? `${what} rejected: ${e.message}`, {
    retryable: e.retryable,
    cause: e,
    details: e.details,
  });
}

/** A JSON answer that is not the success shape. */
export function answerRejection(res: unknown, what: string): AgentError {
  const code = isObj(res) ? res['code'] : undefined;
  const reason =
    errMsgOf(res) ??
    (code === 200
      ? `${what}: the server's answer lacks an instance id`
      : `${what} rejected by the server (code ${JSON.stringify(code) ?? 'missing'})`);
  return new AgentError('REGISTER_REJECTED', reason, { details: { code } });
}
