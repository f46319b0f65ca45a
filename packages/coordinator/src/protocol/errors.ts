/** Why a frame was refused. */
export type ProtocolErrorReason =
  | 'too-large'
  | 'not-msgpack'
  | 'not-object'
  | 'unknown-type'
  | 'unexpected-type'
  | 'version-mismatch'
  | 'schema';

export interface SchemaIssue {
  /** Dotted path into the message, e.g. `shard.rounds[3].query`; empty for the message itself. */
  path: string;
  message: string;
}

/** A frame could not be accepted (decode) or a message is not valid (encode). */
export class ProtocolError extends Error {
  constructor(
    readonly reason: ProtocolErrorReason,
    message: string,
    /** The frame's `type` when it was readable. */
    readonly messageType?: string,
    /** For reason 'schema': every violation with its path. */
    readonly issues: readonly SchemaIssue[] = [],
  ) {
    super(`protocol error (${reason}): ${message}`);
    this.name = 'ProtocolError';
  }
}
