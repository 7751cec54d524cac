// A Hugging Face Hub on 127.0.0.1 for the tests: the URL layout and headers @huggingface/hub and
// vq-diffusion's Hub client use, over model folders read from disk. Nothing leaves the machine.
//
//   GET  /api/models/{id}/revision/{rev}          { _id, id, sha, siblings }   404 RepoNotFound / RevisionNotFound, 401 private
//   GET  /api/models/{id}/tree/{rev}?recursive=…   [{ type, oid, size, path, lfs? }]   paged with Link: <…>; rel="next"
//   POST /api/models/{id}/paths-info/{rev}         [{ type, oid, size, path, lfs?, lastCommit }]
//   GET  /{id}/resolve/{rev}/{path}                small files: 200 with ETag (git blob sha1) and X-Repo-Commit;
//                                                  LFS files (.onnx, .safetensors, .bin, data): 302 to /cdn/{sha256}
//                                                  with X-Linked-Etag, X-Linked-Size, X-Repo-Commit; 404 EntryNotFound;
//                                                  403 GatedRepo; Range: bytes=a-b → 206 with Content-Range
//   GET  /cdn/{sha256}                             the content, with ETag and Range
// A repository with xet: true describes its LFS files as Xet-stored to a client accepting Xet (its
// Xet endpoints are not served: a client must fetch the file whole from resolve/).
// Faults, set per file path for the next full-body GET: "drop" (the connection is destroyed halfway),
// "short" (half the body, then the socket ends although Content-Length promised all), "hang" (half,
// then nothing until the client goes away), "missing" (resolve/ answers 404 EntryNotFound for it).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join, relative, sep } from "node:path";

/** Every file under `dir`, as { "a/b.json": bytes }. */
export function readFolder(dir) {
  const out = {};
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p).split(sep).join("/")] = new Uint8Array(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const isLfs = (path) => /\.(onnx|safetensors|bin|msgpack|h5|pt)$|_data$|\.data$/.test(path);
const sha1Blob = (bytes) => createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * Starts the server. `repos`: { [id]: { commits: { [sha]: files }, refs: { [branchOrTag]: sha },
 * private?: true, gated?: true } }; `token`: the one accepted token; `pageSize`: tree entries a page;
 * `bodyDelayMs`: every full-body GET sends half its body, waits this long, then the rest (so that
 * downloads from several clients overlap).
 */
export async function startHubServer({ repos, token = "hf_test_token", pageSize = 1000, bodyDelayMs = 0 }) {
  const requests = [];
  const served = [];
  const faults = new Map();
  let apiFault = null;
  const blobs = new Map();
  for (const repo of Object.values(repos)) for (const files of Object.values(repo.commits)) for (const bytes of Object.values(files)) blobs.set(sha256(bytes), bytes);

  const entry = (path, bytes, commit, expand) => ({
    type: "file",
    oid: sha1Blob(bytes),
    size: bytes.length,
    path,
    ...(isLfs(path) ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}),
    ...(expand ? { lastCommit: { id: commit, title: "fixture", date: "2026-01-01T00:00:00.000Z" }, securityFileStatus: { status: "safe" } } : {}),
  });
  const json = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers }).end(text);
  };
  const error = (res, status, code, message) => json(res, status, { error: message }, code ? { "x-error-code": code } : {});

  /** Serves `bytes` honouring Range and the fault set for `path`. */
  const sendBytes = (req, res, bytes, headers, path) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = range[2] === "" ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
      const part = bytes.subarray(start, end + 1);
      res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${bytes.length}`, "content-length": part.length, "accept-ranges": "bytes" });
      res.end(req.method === "HEAD" ? undefined : Buffer.from(part));
      return;
    }
    res.writeHead(200, { ...headers, "content-length": bytes.length, "accept-ranges": "bytes" });
    if (req.method === "HEAD") return void res.end();
    served.push(path);
    const fault = faults.get(path);
    if (fault === undefined && bodyDelayMs > 0) {
      res.write(Buffer.from(bytes.subarray(0, bytes.length >> 1)));
      setTimeout(() => res.end(Buffer.from(bytes.subarray(bytes.length >> 1))), bodyDelayMs);
      return;
    }
    if (fault === undefined) return void res.end(Buffer.from(bytes));
    faults.delete(path);
    res.shouldKeepAlive = false;
    res.write(Buffer.from(bytes.subarray(0, bytes.length >> 1)));
    if (fault === "drop") setTimeout(() => res.destroy(), 20);
    else if (fault === "short") setTimeout(() => res.socket?.end(), 20);
    // "hang": nothing more; the client's abort closes the socket.
  };

  const server = createServer(async (req, res) => {
    // CORS as the Hub sends it, so that a page on another origin (the page test) can read the answers.
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-expose-headers", "content-range, content-length, etag, link, x-repo-commit, x-error-code, x-linked-etag, x-linked-size");
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "access-control-allow-headers": "authorization, range, accept, content-type", "access-control-allow-methods": "GET, HEAD, POST" }).end();
      return;
    }
    const url = new URL(req.url, "http://127.0.0.1");
    const path = decodeURIComponent(url.pathname);
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method, path, search: url.search, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });

    if (apiFault !== null && path.startsWith("/api/")) {
      if (apiFault === "hang") return; // the client's timeout or abort closes the socket
      return error(res, apiFault, null, `fault ${apiFault}`);
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn) {
      const bytes = blobs.get(cdn[1]);
      if (!bytes) return error(res, 404, null, "no such blob");
      return sendBytes(req, res, bytes, { etag: `"${cdn[1]}"`, "content-type": "application/octet-stream" }, url.searchParams.get("path"));
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree|paths-info)\/(.+)$/.exec(path);
    const resolve = api ? null : /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const id = api?.[1] ?? resolve?.[1];
    const repo = id === undefined ? undefined : repos[id];
    if (!repo) return error(res, 404, "RepoNotFound", "Repository not found");
    const authorized = req.headers.authorization === `Bearer ${token}`;
    if (repo.private && !authorized) return error(res, 401, "RepoNotFound", "Invalid username or password.");
    let rev = api ? api[3] : resolve[2];
    let rest = "";
    if (api?.[2] === "tree" && !(rev in repo.refs) && !(rev in repo.commits)) [rev, rest] = [rev.split("/")[0], rev.split("/").slice(1).join("/")];
    const commit = repo.refs[rev] ?? (rev in repo.commits ? rev : undefined);
    if (commit === undefined) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
    const files = repo.commits[commit];

    if (api?.[2] === "revision") {
      return json(res, 200, { _id: `id-${id}`, id, sha: commit, private: !!repo.private, gated: repo.gated ? "manual" : false, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
    }
    if (api?.[2] === "tree") {
      const dirs = new Set();
      for (const p of Object.keys(files)) for (let i = p.indexOf("/"); i > 0; i = p.indexOf("/", i + 1)) dirs.add(p.slice(0, i));
      const all = [...[...dirs].map((d) => ({ type: "directory", oid: "0".repeat(40), size: 0, path: d })), ...Object.entries(files).map(([p, b]) => entry(p, b, commit, false))]
        .filter((e) => rest === "" || e.path.startsWith(rest + "/"))
        .concat(repo.extraListing ?? []);
      const start = Number(url.searchParams.get("cursor") ?? "0");
      const page = all.slice(start, start + pageSize);
      const headers = {};
      if (start + pageSize < all.length) {
        const next = new URL(url);
        next.searchParams.set("cursor", String(start + pageSize));
        headers.link = `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`;
      }
      return json(res, 200, page, headers);
    }
    if (api?.[2] === "paths-info") {
      const { paths, expand } = JSON.parse(body || "{}");
      return json(res, 200, (paths ?? []).filter((p) => p in files).map((p) => entry(p, files[p], commit, expand)));
    }
    const file = resolve[3];
    if (repo.gated && !authorized) return error(res, 401, "GatedRepo", "Access to this model is restricted. You must be authenticated.");
    if (repo.gated && repo.gated !== "accepted") return error(res, 403, "GatedRepo", "Access to this model is restricted and you are not in the authorized list.");
    const bytes = faults.get(file) === "missing" ? undefined : files[file];
    if (!bytes) return error(res, 404, "EntryNotFound", `${file} does not exist on "${rev}"`);
    const headers = { "x-repo-commit": commit, "content-type": "application/octet-stream" };
    if (repo.xet && isLfs(file) && (req.headers.accept ?? "").includes("application/vnd.xet-fileinfo+json")) {
      // A Xet-stored file, as the Hub describes it to a client that accepts Xet (its /xet/ endpoints answer 404 here).
      const host = `http://${req.headers.host}`;
      return json(res, 200, { casUrl: `${host}/xet/cas`, hash: sha256(bytes) }, {
        ...headers, "content-type": "application/vnd.xet-fileinfo+json", "x-xet-hash": sha256(bytes), "x-linked-size": bytes.length,
        etag: `"${sha256(bytes)}"`, link: `<${host}/xet/auth>; rel="xet-auth", <${host}/xet/reconstruction>; rel="xet-reconstruction-info"`,
      });
    }
    if (isLfs(file)) {
      const oid = sha256(bytes);
      res.writeHead(302, { ...headers, location: `/cdn/${oid}?path=${encodeURIComponent(file)}`, "x-linked-etag": `"${oid}"`, "x-linked-size": bytes.length, etag: `"${sha1Blob(bytes)}"`, "content-length": 0 }).end();
      return;
    }
    return sendBytes(req, res, bytes, { ...headers, etag: `"${sha1Blob(bytes)}"` }, file);
  });
  // Idle keep-alive connections stay open for the tests' length: a server closing one just as the
  // client reuses it would fail a request with ECONNRESET that no test meant.
  server.keepAliveTimeout = 120_000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    token,
    requests,
    /** Full-body GETs of `file` (of any repo), the downloads proper. */
    downloads: (file) => served.filter((p) => p === file).length,
    fault: (file, kind) => faults.set(file, kind),
    apiFault: (kind) => void (apiFault = kind),
    clearFaults: () => { faults.clear(); apiFault = null; },
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
