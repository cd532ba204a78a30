// Session Manager actions (ECS API): StartTerminalSession, EndTerminalSession,
// DescribeTerminalSessions, with the request and response names of the @alicloud/ecs20140526
// models. Merged into the ECS action table by actions.ts.
import { ApiError } from '../shared/index.js';
import type { Action } from './actions.js';

/** DescribeTerminalSessions' MaxResults: "Maximum value: 100. Default value: 10." */
const MAX_SESSIONS_LISTED = 100;

export const SESSION_ACTIONS: Record<string, Action> = {
  async StartTerminalSession(p, d, caller) {
    const enabled = p.optStr('EncryptionOptions.Enabled') ?? p.optStr('EncryptionOptions.enabled');
    if (enabled === 'true') {
      throw new ApiError(
        'InvalidParameter',
        'EncryptionOptions: end-to-end session encryption is not offered; the WebSocket is TLS.',
      );
    }
    const port = p.optStr('PortNumber');
    const { sessionId, token } = await d.sessions.start(
      {
        instanceIds: p.list('InstanceId'),
        commandLine: p.str('CommandLine'),
        portNumber: port === undefined || port === '' ? undefined : (p.int('PortNumber') ?? 0),
        targetServer: p.str('TargetServer'),
        username: p.str('Username'),
        connectionType: p.str('ConnectionType', 'Internet'),
        accessKeyId: caller ?? '',
      },
      Date.now(),
    );
    return { SessionId: sessionId, SecurityToken: token, WebSocketUrl: d.sessionUrl(sessionId, token) };
  },

  async EndTerminalSession(p, d) {
    await d.sessions.end(p.required('SessionId'), 'EndedByUser', Date.now());
    return {};
  },

  /** Extension: a recorded session's asciicast v2 text (docs/sessions.md, Recording). */
  async DescribeTerminalSessionRecording(p, d) {
    const sessionId = p.required('SessionId');
    return { SessionId: sessionId, Recording: await d.sessions.readRecording(sessionId) };
  },

  async DescribeTerminalSessions(p, d) {
    const maxResults = p.int('MaxResults') ?? 10;
    if (maxResults < 1 || maxResults > MAX_SESSIONS_LISTED) {
      throw new ApiError('InvalidParameter', `MaxResults must be from 1 to ${MAX_SESSIONS_LISTED}.`);
    }
    const nextToken = p.optStr('NextToken');
    const instanceId = p.optStr('InstanceId');
    const sessionId = p.optStr('SessionId');
    return d.sessions.describe({
      ...(instanceId ? { instanceId } : {}),
      ...(sessionId ? { sessionId } : {}),
      paging: { mode: 'token', maxResults, ...(nextToken ? { nextToken } : {}) },
    });
  },
};
