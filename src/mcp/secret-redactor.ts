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
    new Headers(headers).forEach((value, name) => {
      if (PUBLIC_HEADERS.has(name)) return;
      this.learn(value);
      if (name === 'authorization') this.learn(value.replace(/^\S+\s+/, ''));
    });
  }

  /** Remembers one value to mask. */
  learn(value: string): void {
    const trimmed = value.trim();
    if (trimmed.length < MIN_SECRET_LENGTH || this.secrets.has(trimmed) || this.secrets.size >= MAX_SECRETS) return;
    this.secrets.add(trimmed);
    // Longest first, so a token inside a longer header value does not leave the rest visible.
    this.sorted = [...this.secrets].sort((a, b) => b.length - a.length);
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
