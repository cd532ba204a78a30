/// <reference lib="dom" />
// Sessions: a terminal in the page (xterm.js and its fit add-on) on a session the instances page's
// Connect button starts (StartTerminalSession, then its WebSocket in the stock user-side framing),
// resizing with the window; and the list of sessions (DescribeTerminalSessions) with End buttons
// (EndTerminalSession).
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import {
  ClientMessageType,
  ClientStatusCode,
  decodeClientFrame,
  encodeClientFrame,
  encodeClientSize,
  parseClientStatus,
} from '../../../protocol/index.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, guarded, h, status, table, time } from './dom.js';

interface SessionRow {
  SessionId: string;
  InstanceId: string;
  CreationTime: string;
  EndTime?: string;
  Status: string;
  EndReason: string;
  Username: string;
  PortNumber?: number;
  PrincipalId: string;
  Recorded?: boolean;
}

/** Pauses longer than this in a recording are shortened to it on replay. */
const MAX_REPLAY_GAP_S = 2;

/** One open terminal: its socket and xterm, gone when the session closes. */
interface Open {
  sessionId: string;
  ws: WebSocket;
  term: Terminal;
  dispose: () => void;
}

export function createSessionsPage(ctx: ConsoleContext): Page & { connect(instanceId: string): Promise<void> } {
  const error = byId('sessions-error');
  const box = byId('terminal');
  const title = byId('terminal-title');
  let open: Open | undefined;

  async function list(): Promise<void> {
    const d = (await ctx.api()('DescribeTerminalSessions', { MaxResults: 50 })) as {
      Sessions: { Session: SessionRow[] };
    };
    byId('sessions-list').replaceChildren(
      table(
        'Terminal sessions',
        ['Session', 'Instance', 'User', 'Port', 'Status', 'Reason', 'Started', 'Ended', 'By', 'Recording', 'Actions'],
        d.Sessions.Session.map((s) => [
          s.SessionId,
          s.InstanceId,
          s.Username || 'ecs-assist-user',
          s.PortNumber ?? '',
          status(s.Status),
          s.EndReason,
          time(s.CreationTime),
          time(s.EndTime),
          s.PrincipalId,
          s.Recorded
            ? h(
                'button',
                {
                  type: 'button',
                  'aria-label': `Replay ${s.SessionId}`,
                  onclick: () => void guarded(error, () => replay(s.SessionId)),
                },
                'Replay',
              )
            : '',
          s.Status === 'Ended'
            ? ''
            : h(
                'button',
                {
                  type: 'button',
                  'aria-label': `End ${s.SessionId}`,
                  onclick: () => void guarded(error, () => end(s.SessionId)),
                },
                'End',
              ),
        ]),
        'No session yet: use Connect on the Managed instances page.',
      ),
    );
  }

  /** Plays a recording (asciicast v2) into the terminal box, with its timing. */
  async function replay(sessionId: string): Promise<void> {
    open?.dispose();
    open = undefined;
    const r = (await ctx.api()('DescribeTerminalSessionRecording', { SessionId: sessionId })) as { Recording: string };
    const term = new Terminal({ fontSize: 14, scrollback: 5000, disableStdin: true });
    box.replaceChildren();
    box.hidden = false;
    term.open(box);
    title.textContent = `Replay: ${sessionId}`;
    const [, ...events] = r.Recording.split('\n').filter((l) => l !== '');
    let at = 0;
    let last = 0;
    for (const line of events) {
      const [t, kind, data] = JSON.parse(line) as [number, string, string];
      at += Math.min(t - last, MAX_REPLAY_GAP_S);
      last = t;
      if (kind === 'o') {
        setTimeout(() => term.write(data), at * 1000);
      } else if (kind === 'r') {
        const [cols, rows] = data.split('x').map(Number);
        setTimeout(() => term.resize(cols!, rows!), at * 1000);
      }
    }
    announce(`Replaying ${sessionId}.`);
  }

  async function end(sessionId: string): Promise<void> {
    await ctx.api()('EndTerminalSession', { SessionId: sessionId });
    announce(`Ended ${sessionId}.`);
    await list();
  }

  async function connect(instanceId: string): Promise<void> {
    open?.dispose();
    const s = (await ctx.api()('StartTerminalSession', { 'InstanceId.1': instanceId })) as {
      SessionId: string;
      WebSocketUrl: string;
    };
    // The socket goes to the server this page came from, whatever name the server gave.
    const url = new URL(s.WebSocketUrl);
    const ws = new WebSocket(`wss://${location.host}${url.pathname}${url.search}`);
    ws.binaryType = 'arraybuffer';
    const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    box.replaceChildren();
    box.hidden = false;
    term.open(box);
    title.textContent = `Terminal: ${instanceId} (${s.SessionId})`;
    let seq = 0;
    const send = (type: number, payload: Uint8Array) => {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(encodeClientFrame(type, payload, seq++) as Uint8Array<ArrayBuffer>);
      }
    };
    const encoder = new TextEncoder();
    const sendSize = () => {
      fit.fit();
      send(ClientMessageType.SetSize, encodeClientSize(term.cols, term.rows));
    };
    const onWindow = () => sendSize();
    const input = term.onData((d) => send(ClientMessageType.Input, encoder.encode(d)));
    ws.onopen = () => {
      sendSize();
      term.focus();
      announce(`Connected to ${instanceId}.`);
    };
    ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
      const f = decodeClientFrame(new Uint8Array(ev.data));
      if (f?.messageType === ClientMessageType.Output) {
        term.write(f.payload);
      } else if (f?.messageType === ClientMessageType.Status) {
        const st = parseClientStatus(f.payload);
        if (st?.code === ClientStatusCode.Closed) {
          term.write(`\r\n[session closed: ${st.reason}]\r\n`);
        }
      }
    };
    ws.onclose = () => {
      term.write('\r\n[disconnected]\r\n');
      window.removeEventListener('resize', onWindow);
      input.dispose();
      void guarded(error, list);
    };
    window.addEventListener('resize', onWindow);
    open = {
      sessionId: s.SessionId,
      ws,
      term,
      dispose: () => {
        ws.close();
        term.dispose();
      },
    };
    await list();
  }

  byId('sessions-refresh').addEventListener('click', () => void guarded(error, list));
  return { show: list, hide: () => undefined, connect };
}
