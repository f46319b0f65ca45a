// Image paths resolve inside a data root; anything that escapes it (../, an absolute path elsewhere,
// a symlink pointing out) is refused, whatever the onBadImage policy: that is a malformed or hostile
// dataset file, not a bad image.
import { realpathSync } from 'node:fs';
import path from 'node:path';

// Outside means the relative path's first segment is `..` itself; `..dots.png` is a file inside.
const inside = (root: string, p: string): boolean => {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
};

export class PathEscapeError extends Error {
  constructor(readonly imagePath: string, readonly root: string, detail: string) {
    super(`image path ${JSON.stringify(imagePath)} escapes the data root ${root}: ${detail}`);
    this.name = 'PathEscapeError';
  }
}

/**
 * Resolves `p` against `root` and checks it stays inside, lexically and after following symlinks
 * (when the file exists; a missing file is the caller's image problem). `root` must be absolute
 * and already real (see realRoot).
 */
export function resolveInRoot(root: string, p: string): string {
  if (p.length === 0) throw new PathEscapeError(p, root, 'empty path');
  if (p.includes('\0')) throw new PathEscapeError(p, root, 'NUL byte in path');
  const abs = path.resolve(root, p);
  if (!inside(root, abs)) throw new PathEscapeError(p, root, `resolves to ${abs}`);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return abs; // missing: reported by the image check
  }
  if (!inside(root, real)) throw new PathEscapeError(p, root, `follows a symlink to ${real}`);
  return abs;
}

export function realRoot(root: string): string {
  try {
    return realpathSync(path.resolve(root));
  } catch (e) {
    throw new Error(`data root ${root} is not accessible: ${(e as Error).message}`);
  }
}
