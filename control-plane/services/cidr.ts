// IPv4/IPv6 CIDR matching for activation source ranges.
import { BlockList, isIP } from 'node:net';

export function parseCidrList(spec: string): BlockList | undefined {
  if (spec.trim() === '') {
    return undefined;
  }
  const list = new BlockList();
  for (const part of spec.split(',').map((s) => s.trim())) {
    const [addr, bits] = part.split('/');
    const family = isIP(addr ?? '');
    if (family === 0) {
      throw new Error(`not an IP range: ${part}`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`bad prefix in ${part}`);
    }
    list.addSubnet(addr!, prefix, type);
  }
  return list;
}

export function ipInRange(ip: string, spec: string): boolean {
  const list = parseCidrList(spec);
  if (!list) {
    return true;
  }
  const clean = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  const family = isIP(clean);
  if (family === 0) {
    return false;
  }
  return list.check(clean, family === 4 ? 'ipv4' : 'ipv6');
}
