// A TCP server on loopback that sends `size` random bytes to each connection and then closes it,
// hashing what it sent: the far end of a port-forwarding test, which checks the bytes arrived intact.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';

export interface ByteSource {
  port: number;
  /** SHA-256 (hex) of every byte sent so far, over all connections. */
  sentDigest(): string;
  server: Server;
}

export async function startByteSource(size: number): Promise<ByteSource> {
  const sent = createHash('sha256');
  const server = createServer((sock) => {
    sock.on('error', () => {}); // a reset shows as a short or wrong checksum at the receiving end
    let left = size;
    const chunk = randomBytes(1024 * 1024);
    const pump = () => {
      while (left > 0) {
        const part = chunk.subarray(0, Math.min(chunk.length, left));
        left -= part.length;
        sent.update(part);
        if (!sock.write(part)) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, sentDigest: () => sent.digest('hex'), server };
}
