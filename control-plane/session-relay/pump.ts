// The data path of one session's link: frames re-framed between the agent's and the client's
// framing, agent output coalesced, and each side paused while the other cannot take more.
import { WebSocket } from 'ws';
import {
  ClientMessageType,
  decodeClientFrame,
  decodeSessionFrame,
  encodeClientFrame,
  encodeSessionFrame,
  encodeSetSize,
  parseClientSize,
  SessionMessageType,
} from '../../protocol/index.js';
import { COALESCE_MAX_BYTES, EARLY_BUFFER_BYTES, HIGH_WATER, LOW_WATER, type Link } from './link.js';

/** What the data path asks of the relay around it. */
export interface PumpHooks {
  /** A session's first output is passing: record it if recording is on. */
  startRecording(link: Link): void;
  /** The client asked to end the session. */
  clientClosed(link: Link): void;
}

/**
 * Flow control: a side is paused (TCP backpressure) while the other side's socket holds more than
 * HIGH_WATER bytes unsent, and while its counterpart has not connected yet past a small buffer, so
 * nothing is buffered without bound.
 */
export class FramePump {
  readonly #hooks: PumpHooks;

  constructor(hooks: PumpHooks) {
    this.#hooks = hooks;
  }

  fromAgent(link: Link, data: Buffer): void {
    link.closeWait?.refresh();
    const f = decodeSessionFrame(data);
    if (!f || f.messageType !== SessionMessageType.OutputStreamData) {
      return;
    }
    if (!link.portForward && !link.recording && !link.ended) {
      this.#hooks.startRecording(link);
    }
    link.recording?.output(f.payload, Date.now());
    // Output is a byte stream: the frames of one read from the agent's socket (the agent sends at
    // most 2 KiB each) go to the client as one frame, which is most of the relay's cost saved.
    link.outParts.push(f.payload);
    link.outBytes += f.payload.length;
    if (link.outBytes >= COALESCE_MAX_BYTES) {
      this.flushOutput(link);
    } else if (!link.outScheduled) {
      link.outScheduled = true;
      setImmediate(() => this.flushOutput(link));
    }
  }

  flushOutput(link: Link): void {
    link.outScheduled = false;
    if (link.outBytes === 0) {
      return;
    }
    const payload = link.outParts.length === 1 ? link.outParts[0]! : Buffer.concat(link.outParts, link.outBytes);
    link.outParts = [];
    link.outBytes = 0;
    this.send(link, this.clientFrame(link, ClientMessageType.Output, payload), link.client, link.agent, 'toClient');
  }

  fromClient(link: Link, data: Buffer): void {
    if (link.bridge?.readyState === WebSocket.OPEN) {
      this.send(link, data, link.bridge, link.client, 'toAgent');
      return;
    }
    if (!link.agent && !link.ended) {
      // Held as received: replayed to a local agent, or passed through a bridge.
      link.early.push(data);
      link.earlyBytes += data.length;
      if (link.earlyBytes > EARLY_BUFFER_BYTES) {
        link.client?.pause();
      }
      return;
    }
    const f = decodeClientFrame(data);
    if (!f) {
      return;
    }
    switch (f.messageType) {
      case ClientMessageType.Input:
        this.send(
          link,
          this.agentFrame(link, SessionMessageType.InputStreamData, f.payload),
          link.agent,
          link.client,
          'toAgent',
        );
        return;
      case ClientMessageType.SetSize: {
        const size = parseClientSize(f.payload);
        if (size) {
          link.recording?.resize(size.cols, size.rows, Date.now());
          this.send(
            link,
            this.agentFrame(link, SessionMessageType.SetSize, encodeSetSize(size)),
            link.agent,
            link.client,
            'toAgent',
          );
        }
        return;
      }
      case ClientMessageType.Close:
        this.#hooks.clientClosed(link);
        return;
      default:
        return;
    }
  }

  /**
   * Sends a frame to `to`, or holds it while `to` is not connected. Pauses `from` while `to` has
   * too much unsent, resuming it once the socket drained below the low mark.
   */
  send(
    link: Link,
    frame: Uint8Array,
    to: WebSocket | undefined,
    from: WebSocket | undefined,
    queue: 'toAgent' | 'toClient',
  ): void {
    if (!to || to.readyState !== WebSocket.OPEN) {
      if (queue === 'toAgent') {
        link.toAgent.push(Buffer.from(frame));
        link.toAgentBytes += frame.length;
        if (link.toAgentBytes > EARLY_BUFFER_BYTES) {
          from?.pause();
        }
      } else {
        link.toClient.push(frame);
        link.toClientBytes += frame.length;
        if (link.toClientBytes > EARLY_BUFFER_BYTES) {
          from?.pause();
        }
      }
      return;
    }
    to.send(frame, () => {
      if (from?.isPaused && to.bufferedAmount < LOW_WATER && from.readyState === WebSocket.OPEN) {
        from.resume();
      }
    });
    // An ended session's agent is draining toward its close: what it sent is already bounded.
    if (to.bufferedAmount > HIGH_WATER && !link.ended) {
      from?.pause();
    }
  }

  replayEarly(link: Link): void {
    const early = link.early;
    link.early = [];
    link.earlyBytes = 0;
    for (const m of early) {
      this.fromClient(link, m);
    }
  }

  flushQueued(frames: Uint8Array[], ws: WebSocket, done: () => void): void {
    for (const f of frames) {
      ws.send(f);
    }
    done();
  }

  agentFrame(link: Link, type: number, payload: Uint8Array): Buffer {
    return encodeSessionFrame({
      messageType: type,
      sessionId: link.sessionId,
      payload,
      sequenceNumber: link.agentSeq++,
    });
  }

  clientFrame(link: Link, type: number, payload: Uint8Array): Uint8Array {
    return encodeClientFrame(type, payload, link.clientSeq++);
  }
}
