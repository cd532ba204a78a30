// Where session output may be cut: never inside a UTF-8 character (spec/luban-protocol.md §6), so
// each frame decodes on its own in the browser or the CLI.

/** Bytes in the character a lead byte starts; 1 for a stray continuation or invalid byte. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) {
    return 1;
  }
  if (lead >= 0xf0 && lead <= 0xf7) {
    return 4;
  }
  if (lead >= 0xe0) {
    return lead <= 0xef ? 3 : 1;
  }
  return lead >= 0xc0 ? 2 : 1;
}

/**
 * The length of the longest prefix of `buf` that does not end inside a character: `buf.length`
 * unless the last character is incomplete, then the offset where that character starts (0 when
 * `buf` is just the start of one character). Invalid bytes count as complete one-byte characters.
 */
export function utf8SafeLength(buf: Uint8Array): number {
  const n = buf.length;
  // The last character starts within the last 4 bytes: find its lead byte.
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = buf[i]!;
    if ((b & 0xc0) !== 0x80) {
      const need = sequenceLength(b);
      return i + need > n && need > 1 ? i : n;
    }
  }
  return n; // only continuation bytes at the end: invalid, nothing to wait for
}
