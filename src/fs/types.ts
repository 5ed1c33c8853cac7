/** The little of a filesystem the core needs; the shell passes a real one, tests may pass others. */
export interface DirEntry {
  name: string;
  kind: "file" | "dir" | "symlink" | "other";
}

export interface Files {
  /** Entries of a directory, without following symbolic links. */
  list(dir: string): Promise<DirEntry[]>;
  /**
   * The file's bytes. With `maxBytes`, a larger file is refused (FileTooLargeError) without
   * reading it whole; implementations that cannot tell may read it, and callers check the length.
   */
  read(path: string, maxBytes?: number): Promise<Uint8Array>;
  /**
   * The bytes of a regular file, its name not followed if it is a symbolic link: a link, a
   * directory or a special file at `path` is an error, like a missing one. Optional: without it,
   * a caller that must tell these apart lists the directory first.
   */
  readRegular?(path: string, maxBytes?: number): Promise<Uint8Array>;
  /** Replaces the file's content all at once: readers see the old bytes or the new, never a mix. */
  writeAtomic(path: string, text: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** The path with every symbolic link resolved, where the filesystem has links. */
  realPath?(path: string): Promise<string>;
}

/** A file larger than a reader accepts: reported as that file's problem, never read whole. */
export class FileTooLargeError extends Error {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super(`is ${formatBytes(size)}; files over ${formatBytes(limit)} are not read`);
    this.name = "FileTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

export const formatBytes = (n: number): string =>
  n >= 1024 * 1024
    ? `${(n / (1024 * 1024)).toFixed(1)} MiB`
    : n >= 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${n} bytes`;

/**
 * Why a file or directory could not be read, in words and without the path or any content
 * (the caller names the path): `permission denied`, `not a directory`…
 */
export function describeReadError(error: unknown): string {
  if (error instanceof FileTooLargeError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "cannot be read: permission denied";
    case "ENOENT":
      return "cannot be read: no such file or directory";
    case "EISDIR":
      return "cannot be read: it is a directory";
    case "ENOTDIR":
      return "cannot be read: not a directory";
    case "ELOOP":
      return "cannot be read: too many symbolic links";
    case "EIO":
      return "cannot be read: input/output error";
    case "EMFILE":
    case "ENFILE":
      return "cannot be read: too many open files";
    default:
      return typeof code === "string"
        ? `cannot be read (${code})`
        : `cannot be read (${error instanceof Error ? error.name : "unknown error"})`;
  }
}
