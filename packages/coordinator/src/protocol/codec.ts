// Framing: one WebSocket binary message = one msgpack map `{ v, type, ...fields }`, validated on both ends.
import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { ProtocolError, type SchemaIssue } from './errors.js';
import {
  LIMITS,
  MESSAGE_SCHEMAS,
  PROTOCOL_VERSION,
  isMessageType,
  senderOf,
  type Message,
  type Sender,
} from './messages.js';

// moreTypes: typed arrays travel as msgpack ext records and decode as the same class (DESIGN.md section 9);
// without it msgpackr hands back Buffers. useRecords off: record structures are shared packer state,
// which peers that connect and reconnect independently must not depend on.
const packr = new Packr({ moreTypes: true, useRecords: false, mapsAsObjects: true });

export interface DecodeOptions {
  /** Refuse frames larger than this many bytes (default LIMITS.maxPayload). */
  maxBytes?: number;
  /** Refuse message types the other side never sends (a worker does not send `assign`). */
  from?: Sender;
}

function pathOf(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): SchemaIssue[] {
  return issues.map((i) => ({ path: pathOf(i.path), message: i.message }));
}

function validate(type: keyof typeof MESSAGE_SCHEMAS, body: unknown, where: string): Message {
  const parsed = MESSAGE_SCHEMAS[type].safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = formatIssues(parsed.error.issues);
  const list = issues.map((i) => `${i.path || '(message)'}: ${i.message}`).join('; ');
  throw new ProtocolError('schema', `${where} '${type}' violates the schema: ${list}`, type, issues);
}

/** Validate `msg` against its schema and frame it. Throws ProtocolError('schema') for an invalid message. */
export function encodeMessage(msg: Message): Uint8Array {
  const type: unknown = (msg as { type?: unknown }).type;
  if (!isMessageType(type)) throw new ProtocolError('unknown-type', `cannot encode unknown message type ${JSON.stringify(type)}`);
  validate(type, msg, 'outgoing');
  return packr.pack({ v: PROTOCOL_VERSION, ...msg });
}

/**
 * Decode and validate one frame. Order of checks: size, msgpack, map with a string `type`, protocol
 * version (a `reject` is read at any version: its schema is frozen), known type, direction, schema.
 */
export function decodeMessage(bytes: Uint8Array, opts: DecodeOptions = {}): Message {
  const maxBytes = opts.maxBytes ?? LIMITS.maxPayload;
  if (bytes.byteLength > maxBytes) throw new ProtocolError('too-large', `frame of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes} bytes`);
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (e) {
    throw new ProtocolError('not-msgpack', `frame of ${bytes.byteLength} bytes is not msgpack: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    throw new ProtocolError('not-object', `frame decodes to ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}, expected a map with a 'type'`);
  }
  const { v, ...body } = raw as Record<string, unknown>;
  const type = body.type;
  if (typeof type !== 'string') throw new ProtocolError('not-object', `frame has no string 'type' field`);
  if (v !== PROTOCOL_VERSION && type !== 'reject') {
    throw new ProtocolError('version-mismatch', `'${type}' frame has protocol version ${JSON.stringify(v)}, this side speaks version ${PROTOCOL_VERSION}`, type);
  }
  if (!isMessageType(type)) throw new ProtocolError('unknown-type', `unknown message type '${type.slice(0, 64)}'`, type);
  if (opts.from && senderOf(type) !== opts.from) {
    throw new ProtocolError('unexpected-type', `'${type}' is sent by the ${senderOf(type)}, but this frame came from the ${opts.from}`, type);
  }
  return validate(type, body, 'incoming');
}
