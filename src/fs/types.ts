/** The little of a filesystem the core needs; the shell passes a real one, tests may pass others. */
export interface DirEntry {
  name: string;
  kind: "file" | "dir" | "symlink" | "other";
}

export interface Files {
  /** Entries of a directory, without following symbolic links. */
  list(dir: string): Promise<DirEntry[]>;
  read(path: string): Promise<Uint8Array>;
  /** Replaces the file's content all at once: readers see the old bytes or the new, never a mix. */
  writeAtomic(path: string, text: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}
