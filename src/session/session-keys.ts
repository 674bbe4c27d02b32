/** The backend keys of one user's records (before the backend's own prefix). */
export interface SessionKeys {
  /** The session configuration record. */
  session: string;
  /** The chat history list: one entry per turn. */
  history: string;
  /** A marker that the user had a session, so an expired one can be told from none. */
  seen: string;
}

/**
 * The keys {@link SessionStore} uses for `userId`. The encoded id sits in a `{hash tag}`, so all
 * of one user's keys land in the same Redis Cluster slot and multi-key scripts over them stay
 * cluster-safe; `encodeURIComponent` also escapes braces and colons inside the id.
 */
export function sessionKeys(userId: string): SessionKeys {
  const tag = `{${encodeURIComponent(userId)}}`;
  return { session: `session:${tag}`, history: `history:${tag}`, seen: `seen:${tag}` };
}
