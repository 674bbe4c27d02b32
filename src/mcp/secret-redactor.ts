import { maskErrorChain } from '../internal/mask-error-chain.js';

// Header values that carry no secret and are too common to be worth replacing.
const PUBLIC_HEADERS = new Set(['accept', 'content-type', 'content-length', 'mcp-protocol-version', 'last-event-id']);
// Shorter values would replace ordinary words in a server's message.
const MIN_SECRET_LENGTH = 6;
// Values remembered per connection; a connection sends the same few headers on every request.
const MAX_SECRETS = 64;
const MASK = '*****';

/**
 * Remembers the header values a connection sent (its bearer token, API-key headers, session
 * id) and masks them in text that came back from the server, so a server that echoes them in
 * an error page cannot get them into logs or error messages. For `Authorization`, the
 * credential after the scheme is masked on its own too.
 * @internal
 */
export class SecretRedactor {
  private readonly secrets = new Set<string>();
  private sorted: string[] = [];

  /** Remembers the secret-looking values of `headers`. */
  learnHeaders(headers: HeadersInit | undefined): void {
    if (!headers) return;
    // Read as given, not through `new Headers()`: a value `Headers` refuses (a token with a line
    // break) is the one whose refusal quotes it, so it must be learnt before anything sends it.
    for (const [name, value] of headerEntries(headers)) {
      const lower = name.toLowerCase();
      if (PUBLIC_HEADERS.has(lower)) continue;
      this.learn(value);
      if (lower === 'authorization') this.learn(value.replace(/^\S+\s+/, ''));
    }
  }

  /** Remembers one value to mask. */
  learn(value: string): void {
    const trimmed = value.trim();
    if (trimmed.length < MIN_SECRET_LENGTH || this.secrets.has(trimmed) || this.secrets.size >= MAX_SECRETS) return;
    this.secrets.add(trimmed);
    // Longest first, so a token inside a longer header value does not leave the rest visible.
    this.sorted = [...this.secrets].sort((a, b) => b.length - a.length);
  }

  /** `error` with every remembered value masked along its cause chain (see {@link maskErrorChain}). */
  redactError(error: unknown): unknown {
    return maskErrorChain(error, (text) => this.redact(text));
  }

  /** `text` with every remembered value replaced by `*****`. */
  redact(text: string): string {
    let result = text;
    for (const secret of this.sorted) {
      if (result.includes(secret)) result = result.split(secret).join(MASK);
    }
    return result;
  }
}

function headerEntries(headers: HeadersInit): Iterable<[string, string]> {
  if (headers instanceof Headers) return headers.entries();
  if (Array.isArray(headers)) return headers.filter((pair): pair is [string, string] => pair.length === 2);
  return Object.entries(headers as Record<string, string>);
}
