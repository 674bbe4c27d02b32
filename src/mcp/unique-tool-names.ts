/** One server's tools, as input to {@link uniqueToolNames}. */
export interface ServerToolNames {
  /** The server's short name, used as the prefix on collisions. */
  serverName: string;
  /** The tool names the server offers. */
  toolNames: string[];
}

/** Where a public tool name leads. */
export interface ToolNameAssignment {
  /** The name the model sees. Unique across all servers. */
  name: string;
  /** Index of the server in the input. */
  serverIndex: number;
  /** The tool's name on its server. */
  originalName: string;
}

/**
 * Gives every tool of several servers a unique name. A tool keeps its own name unless another
 * server offers the same one; then every copy becomes `${serverName}_${tool}` (the server name
 * reduced to `[A-Za-z0-9_-]`, the characters model APIs accept in tool names). Should that still
 * collide (two servers with the same name), `_2`, `_3`, … is appended. Deterministic: same input,
 * same names.
 *
 * @example
 * uniqueToolNames([
 *   { serverName: 'math', toolNames: ['add', 'mul'] },
 *   { serverName: 'calc', toolNames: ['add'] },
 * ]).map((a) => a.name); // ['math_add', 'mul', 'calc_add']
 */
export function uniqueToolNames(servers: ServerToolNames[]): ToolNameAssignment[] {
  const owners = new Map<string, number>();
  for (const server of servers) {
    for (const tool of new Set(server.toolNames)) owners.set(tool, (owners.get(tool) ?? 0) + 1);
  }
  const taken = new Set<string>();
  const assignments: ToolNameAssignment[] = [];
  servers.forEach((server, serverIndex) => {
    const prefix = server.serverName.replace(/[^A-Za-z0-9_-]/g, '_');
    for (const originalName of new Set(server.toolNames)) {
      const wanted = (owners.get(originalName) ?? 0) > 1 ? `${prefix}_${originalName}` : originalName;
      let name = wanted;
      for (let n = 2; taken.has(name); n += 1) name = `${wanted}_${n}`;
      taken.add(name);
      assignments.push({ name, serverIndex, originalName });
    }
  });
  return assignments;
}
