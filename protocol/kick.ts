// The `kick_vm` grammar of notify messages (spec/luban-protocol.md §4.3).

export type Kick =
  | { type: 'all' }
  | { type: 'task'; action: 'run' | 'stop'; id: string }
  | { type: 'file'; action: 'create' | 'stop'; id: string }
  | { type: 'session'; action: 'start' | 'stop'; id: string }
  | { type: 'agent'; action: 'stop' | 'remove' | 'update' | 'deregister' }
  | { type: 'noop' };

export function formatKick(k: Kick): string {
  switch (k.type) {
    case 'all':
      return 'kick_vm';
    case 'noop':
      return 'kick_vm noop';
    case 'agent':
      return `kick_vm agent ${k.action}`;
    case 'task':
    case 'file':
    case 'session':
      return `kick_vm ${k.type} ${k.action} ${k.id}`;
  }
}

/** Parses a kick; undefined for anything the agent must answer with `unknow:`. */
export function parseKick(text: string): Kick | undefined {
  const t = text.split(' ');
  if (t[0] !== 'kick_vm') {
    return undefined;
  }
  if (t.length === 1) {
    return { type: 'all' };
  }
  const [, type, action, id] = t;
  if (type === 'noop' && t.length === 2) {
    return { type: 'noop' };
  }
  if (type === 'agent' && t.length === 3) {
    if (action === 'stop' || action === 'remove' || action === 'update' || action === 'deregister') {
      return { type: 'agent', action };
    }
    return undefined;
  }
  if (t.length !== 4 || id === undefined || id === '') {
    return undefined;
  }
  if (type === 'task' && (action === 'run' || action === 'stop')) {
    return { type, action, id };
  }
  if (type === 'file' && (action === 'create' || action === 'stop')) {
    return { type, action, id };
  }
  if (type === 'session' && (action === 'start' || action === 'stop')) {
    return { type, action, id };
  }
  return undefined;
}

/** The agent's one text reply to each notify message (§4.2). */
export type KickReply = 'accept' | 'reject' | 'unknow';
export const kickReply = (reply: KickReply, original: string): string => `${reply}:${original}`;
