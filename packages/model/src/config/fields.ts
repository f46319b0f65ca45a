// Typed field access on a parsed JSON object, with errors that name the file and the field path.

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A view of one JSON object at `prefix` (e.g. "text_config.") inside `file`. */
export class Fields {
  constructor(
    readonly file: string,
    readonly obj: Json,
    readonly prefix = '',
  ) {}

  path(key: string): string {
    return this.prefix + key;
  }

  fail(key: string, message: string): never {
    throw new ConfigError(this.file, this.path(key), message);
  }

  /** Present and not null. */
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  int(key: string, fallback: number, min = 0): number {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(key, `expected an integer${min === -Infinity ? '' : ` >= ${min}`}, got ${JSON.stringify(v)}`);
    return v;
  }

  positive(key: string, fallback: number): number {
    return this.int(key, fallback, 1);
  }

  num(key: string, fallback: number): number {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `expected a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  str(key: string, fallback: string): string {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.str(key, fallback);
    if (!(allowed as readonly string[]).includes(v)) this.fail(key, `unsupported value ${JSON.stringify(v)} (supported: ${allowed.join(', ')})`);
    return v as T;
  }

  intOrNull(key: string, fallback: number | null): number | null {
    const v = this.obj[key] === undefined ? fallback : this.obj[key];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(key, `expected an integer or null, got ${JSON.stringify(v)}`);
    return v;
  }

  intsOrNull(key: string, fallback: number | number[] | null): number | number[] | null {
    const v = this.obj[key] === undefined ? fallback : this.obj[key];
    if (Array.isArray(v)) {
      if (!v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) this.fail(key, `expected a list of integers, got ${JSON.stringify(v)}`);
      return v as number[];
    }
    return this.intOrNull(key, v as number | null);
  }

  sub(key: string): Fields | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (!isObject(v)) this.fail(key, `expected an object, got ${JSON.stringify(v)}`);
    return new Fields(this.file, v, `${this.path(key)}.`);
  }
}
