/** WebSocket close codes the fleet uses (4000-4999 is the range RFC 6455 leaves to applications). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** Set by `ws` itself when a frame exceeds maxPayload, and by us when decode finds one too large. */
  tooLarge: 1009,
  /** Not msgpack, unknown type, wrong direction, schema violation, text frame, hello out of order. */
  protocolError: 4000,
  badToken: 4001,
  versionMismatch: 4002,
  helloTimeout: 4003,
  /** The coordinator's admission hook refused the worker (e.g. model it does not want). */
  refused: 4004,
  /** A newer connection announced the same worker id. */
  superseded: 4005,
  /** The peer missed too many heartbeats; the socket is terminated, so the peer may never see this code. */
  heartbeatTimeout: 4006,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** A worker stops reconnecting after these: retrying cannot succeed without a config change. */
// superseded: the socket is still alive, so another live process announced our worker id; reconnecting would
// make the two evict each other forever.
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.badToken, CloseCode.versionMismatch, CloseCode.refused, CloseCode.superseded]);

/** Close reasons are limited to 123 bytes of UTF-8 by RFC 6455; cut on a character boundary. */
export function closeReason(text: string): string {
  const enc = new TextEncoder();
  if (enc.encode(text).length <= 123) return text;
  let out = '';
  for (const ch of text) {
    if (enc.encode(out + ch + '…').length > 123) break;
    out += ch;
  }
  return out + '…';
}
