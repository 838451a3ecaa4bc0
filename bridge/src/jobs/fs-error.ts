// File-system failures in the user's terms: what went wrong, never the bridge's internal absolute paths
// (Node's messages name them: "EACCES: permission denied, open '/home/…/.kirie/outputs/…'").

const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the disk is read-only',
  EIO: 'an input/output error (a failing disk or a disconnected drive?)',
  ENOTDIR: 'it is not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'it does not exist',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
};

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code && WORDS[code]) return WORDS[code];
  if (code) return code;
  return err instanceof Error ? err.message : String(err);
}
