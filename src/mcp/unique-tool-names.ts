/** One server's tools, as input to {@link uniqueToolNames}. */
export interface ServerToolNames {
  /** The server's short name, used as the prefix on collisions. */
  serverName: string;
  /** The tool names the server offers. */
  toolNames: string[];
}

/** Where a public tool name leads. */
export interface ToolNameAssignment {
  /** The name the model sees. Unique across all servers, and matches `^[A-Za-z0-9_-]{1,64}$`. */
  name: string;
  /** Index of the server in the input. */
  serverIndex: number;
  /** The tool's name on its server: what a call sends. */
  originalName: string;
}

/**
 * The longest tool name every model API takes. OpenAI allows `^[a-zA-Z0-9_-]{1,64}$`, Anthropic
 * the same up to 128, Gemini dots as well: one name outside the strictest form makes the
 * provider refuse the whole request, every other server's tools included.
 */
const MAX_NAME_CHARS = 64;
const SAFE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const UNSAFE_CHARS = /[^A-Za-z0-9_-]/g;
// `_` and 8 hex digits.
const SUFFIX_CHARS = 9;

/** One tool on its way to a public name. */
interface Candidate {
  readonly serverIndex: number;
  readonly originalName: string;
  /** Its name among its own server's tools: safe and unique there. */
  readonly own: string;
  /** The server-prefixed form of `own`, fitted to the length limit. */
  readonly prefixed: string;
  /** `prefixed` is what it asks for: another server offers `own` too. */
  shared: boolean;
  /** What makes its hash suffix its own: server and tool, stable across listings. */
  readonly key: string;
  name?: string;
}

/**
 * Gives every tool of several servers a unique name a model API accepts. Done once per tool
 * listing (at connect), never per request.
 *
 * - A name already of the form `[A-Za-z0-9_-]{1,64}` stays as it is, so sessions and approval
 *   rules keyed by it keep working.
 * - Any other name gets `_` for each character outside that set; one that is then longer than
 *   64 characters, or equal to another name of the same server, is cut and ends in `_` and a
 *   hash of the original name (`files.read` → `files_read`, or `files_read_1a2b3c4d` next to a
 *   `files_read` of the same server).
 * - A name offered by two servers becomes `${serverName}_${tool}` for each (the server name
 *   reduced to the same characters), cut with a hash suffix past 64 characters.
 * - Prefixed names are placed first: a server's own tool name cannot take the prefixed name
 *   another server's tool needs (a server offering `delete` and `bank_delete` does not push the
 *   bank server's `delete` off `bank_delete`). The displaced tool gets its own prefix instead.
 * - Anything still taken (two servers of the same name) gets a hash suffix of its server's
 *   index and name and its tool's name: the same wherever else the tool appears in the list.
 *
 * `originalName` keeps the server's own name, which a call sends. Deterministic: same input,
 * same names.
 *
 * @example
 * uniqueToolNames([
 *   { serverName: 'math', toolNames: ['add', 'mul'] },
 *   { serverName: 'calc', toolNames: ['add', 'files.read'] },
 * ]).map((a) => a.name); // ['math_add', 'mul', 'calc_add', 'files_read']
 */
export function uniqueToolNames(servers: ServerToolNames[]): ToolNameAssignment[] {
  const candidates = servers.flatMap((server, serverIndex) => ownNames(server, serverIndex));
  const owners = new Map<string, number>();
  for (const candidate of candidates) owners.set(candidate.own, (owners.get(candidate.own) ?? 0) + 1);
  for (const candidate of candidates) candidate.shared = (owners.get(candidate.own) ?? 0) > 1;
  const taken = new Set<string>();
  // Prefixed names first, then own names; own names another server's prefixed name took last.
  const displaced: Candidate[] = [];
  for (const candidate of candidates) if (candidate.shared) place(candidate, candidate.prefixed, taken);
  for (const candidate of candidates) {
    if (candidate.shared) continue;
    if (taken.has(candidate.own)) displaced.push(candidate);
    else place(candidate, candidate.own, taken);
  }
  for (const candidate of displaced) place(candidate, candidate.prefixed, taken);
  return candidates.map(({ name, serverIndex, originalName }) => ({ name: name as string, serverIndex, originalName }));
}

/** The server's tools (each once) with names safe and unique within the server. */
function ownNames(server: ServerToolNames, serverIndex: number): Candidate[] {
  const originals = [...new Set(server.toolNames)];
  const cleaned = originals.map((name) => (SAFE_NAME.test(name) ? name : name.replace(UNSAFE_CHARS, '_')));
  const counts = new Map<string, number>();
  for (const name of cleaned) counts.set(name, (counts.get(name) ?? 0) + 1);
  const prefix = server.serverName.replace(UNSAFE_CHARS, '_');
  return originals.map((originalName, i): Candidate => {
    const clean = cleaned[i] as string;
    // A changed name colliding with another of the server's names is the one that gives way.
    const own =
      clean === originalName && SAFE_NAME.test(clean)
        ? clean
        : fitted(clean, originalName, (counts.get(clean) ?? 0) > 1 || clean === '');
    const key = `${serverIndex}\u0000${server.serverName}\u0000${originalName}`;
    const prefixed = fitted(`${prefix}_${own}`, key, false);
    return { serverIndex, originalName, own, prefixed, shared: false, key };
  });
}

/** Gives `candidate` the name `wanted`, or, when taken, `wanted` with its hash suffix. */
function place(candidate: Candidate, wanted: string, taken: Set<string>): void {
  let name = wanted;
  // A second round only for a hash collision, which a server could provoke on purpose.
  for (let round = 0; taken.has(name); round += 1) {
    name = fitted(wanted, round === 0 ? candidate.key : `${candidate.key}\u0000${round}`, true);
  }
  taken.add(name);
  candidate.name = name;
}

/**
 * `name` within the length limit: as it is when short enough and no suffix is `forced`, else
 * cut to make room for `_` and the hash of `hashOf`.
 */
function fitted(name: string, hashOf: string, forced: boolean): string {
  if (!forced && name.length <= MAX_NAME_CHARS) return name;
  return `${name.slice(0, MAX_NAME_CHARS - SUFFIX_CHARS)}_${hash32(hashOf)}`;
}

/** FNV-1a over the UTF-16 code units, as 8 hex digits: short, stable, no crypto module needed. */
function hash32(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
