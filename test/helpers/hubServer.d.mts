/** Types of hubServer.mjs. */

/** A file set: path ("/"-separated) → bytes. */
export type Files = Record<string, Uint8Array>;

/** A repository: its commits' files, its branches and tags, its access. */
export interface FixtureRepo {
  commits: Record<string, Files>;
  refs: Record<string, string>;
  private?: boolean;
  /** true: files need the token and an accepted request (403 without "accepted"). */
  gated?: boolean | "accepted";
  /** Its LFS files answer a Xet-accepting probe as Xet-stored (the Xet endpoints answer 404). */
  xet?: boolean;
  /** Entries appended to every tree listing as they are (to serve malformed ones). */
  extraListing?: unknown[];
}

export interface LoggedRequest {
  method: string;
  path: string;
  search: string;
  range: string | null;
  authorization: string | null;
}

export interface HubServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The token private and gated repositories accept. */
  token: string;
  requests: LoggedRequest[];
  /** How many times the whole of `file` was served (downloads proper, not range probes). */
  downloads(file: string): number;
  /** The next full-body GET of `file` breaks: "drop", "short" or "hang"; or resolve/ answers 404 for it ("missing"). */
  fault(file: string, kind: "drop" | "short" | "hang" | "missing"): void;
  /** Every /api/ request answers this HTTP status, or never answers ("hang"), until null or clearFaults. */
  apiFault(kind: number | "hang" | null): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

/** Every file under `dir`. */
export function readFolder(dir: string): Files;

export function startHubServer(options: { repos: Record<string, FixtureRepo>; token?: string; pageSize?: number; bodyDelayMs?: number }): Promise<HubServer>;
