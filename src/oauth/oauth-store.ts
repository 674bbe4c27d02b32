import { createHash, randomBytes } from 'node:crypto';
import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { LlmChatError, wrapError } from '../errors.js';
import type { Sealer } from '../internal/seal.js';
import type { LockBackend } from '../lock/lock-backend.js';
import type { SessionBackend } from '../session/session-backend.js';

/** Tokens as stored: what the token endpoint said, plus when the access token ends. @internal */
export interface StoredTokens extends OAuthTokens {
  /** Epoch milliseconds at which the access token expires; absent when the server did not say. */
  expires_at?: number;
}

/** An authorization started by `/connect`, waiting for its callback. @internal */
export interface PendingFlow {
  userId: string;
  serverUrl: string;
  codeVerifier: string;
  createdAt: number;
}

/** Who holds a set of tokens: one user, or the application itself (`client_credentials`). @internal */
export type TokenOwner = { kind: 'user'; userId: string } | { kind: 'app' };

/**
 * The OAuth records of the library in the host's storage: tokens per owner and server, pending
 * authorizations by `state`, discovery results per server and dynamic registrations per
 * authorization server. Secrets (tokens, verifiers, client secrets) are sealed; every record is
 * one key, so each write replaces it atomically (a rotated refresh token is never half-written).
 * @internal
 */
export class OAuthStore {
  readonly #sessions: SessionBackend;
  readonly #locks: LockBackend;
  readonly #sealer: Sealer;
  readonly #tokenTtlMs: number;

  constructor(sessions: SessionBackend, locks: LockBackend, sealer: Sealer, tokenTtlMs: number) {
    this.#sessions = sessions;
    this.#locks = locks;
    this.#sealer = sealer;
    this.#tokenTtlMs = tokenTtlMs;
  }

  /** The tokens of `owner` for `serverUrl`, or undefined. */
  async getTokens(owner: TokenOwner, serverUrl: string): Promise<StoredTokens | undefined> {
    return this.#readSealed<StoredTokens>(tokenKey(owner, serverUrl));
  }

  /** Replaces the tokens of `owner` for `serverUrl` in one write. */
  async saveTokens(owner: TokenOwner, serverUrl: string, tokens: StoredTokens): Promise<void> {
    await this.#writeSealed(tokenKey(owner, serverUrl), tokens, this.#tokenTtlMs);
  }

  /** Forgets the tokens; true when there were any. */
  async deleteTokens(owner: TokenOwner, serverUrl: string): Promise<boolean> {
    return (await this.#call(() => this.#sessions.delete([tokenKey(owner, serverUrl)]))) > 0;
  }

  /** Discovery results for a server (not secret), shared by every user of it. */
  async getDiscovery(serverUrl: string): Promise<OAuthDiscoveryState | undefined> {
    const raw = await this.#call(() => this.#sessions.get(`oauth:discovery:${digest(serverUrl)}`));
    return raw === null ? undefined : (parseJson(raw) as OAuthDiscoveryState | undefined);
  }

  /** Stores discovery results for a day: servers rarely move, and a failure rediscovers. */
  async saveDiscovery(serverUrl: string, state: OAuthDiscoveryState): Promise<void> {
    await this.#call(() =>
      this.#sessions.set(`oauth:discovery:${digest(serverUrl)}`, JSON.stringify(state), DISCOVERY_TTL_MS),
    );
  }

  /** Forgets discovery results, so the next authorization discovers again. */
  async deleteDiscovery(serverUrl: string): Promise<void> {
    await this.#call(() => this.#sessions.delete([`oauth:discovery:${digest(serverUrl)}`]));
  }

  /** The dynamic registration made with an authorization server, shared by all users and processes. */
  async getRegistration(issuer: string): Promise<OAuthClientInformationMixed | undefined> {
    return this.#readSealed<OAuthClientInformationMixed>(`oauth:client:${digest(issuer)}`);
  }

  /** Stores a dynamic registration (kept until the authorization server rejects it). */
  async saveRegistration(issuer: string, info: OAuthClientInformationMixed): Promise<void> {
    await this.#writeSealed(`oauth:client:${digest(issuer)}`, info, REGISTRATION_TTL_MS);
  }

  /** Forgets a registration the authorization server no longer accepts. */
  async deleteRegistration(issuer: string): Promise<void> {
    await this.#call(() => this.#sessions.delete([`oauth:client:${digest(issuer)}`]));
  }

  /** Records a pending authorization under its `state`, for `ttlMs`. */
  async savePendingFlow(state: string, flow: PendingFlow, ttlMs: number): Promise<void> {
    await this.#writeSealed(`oauth:state:${digest(state)}`, flow, ttlMs);
  }

  /**
   * Takes out the pending authorization that `userId` started, once: the first caller across
   * all processes wins (an atomic set-if-absent in the lock backend), every later one gets
   * undefined. The owner is checked before anything is taken, so a callback by another user
   * leaves the authorization to its owner and gets `'other-user'`.
   */
  async consumePendingFlow(
    state: string,
    userId: string,
    ttlMs: number,
  ): Promise<PendingFlow | 'other-user' | undefined> {
    const key = `oauth:state:${digest(state)}`;
    // A pending flow is written once, under a fresh random state, and never changed: the owner
    // read here is the owner of what the lock below hands out.
    const flow = await this.#readSealed<PendingFlow>(key);
    if (!flow) return undefined;
    if (flow.userId !== userId) return 'other-user';
    const first = await this.#call(() =>
      this.#locks.tryAcquire(`oauth-state-used:${digest(state)}`, randomBytes(8).toString('hex'), ttlMs),
    );
    if (!first) return undefined;
    await this.#call(() => this.#sessions.delete([key]));
    return flow;
  }

  async #readSealed<T>(key: string): Promise<T | undefined> {
    const raw = await this.#call(() => this.#sessions.get(key));
    if (raw === null) return undefined;
    let plain: string;
    try {
      plain = this.#sealer.open(raw);
    } catch {
      // Sealed with another key, or tampered with: as good as absent (the user authorizes again).
      return undefined;
    }
    return parseJson(plain) as T | undefined;
  }

  async #writeSealed(key: string, value: unknown, ttlMs: number): Promise<void> {
    const sealed = this.#sealer.seal(JSON.stringify(value));
    await this.#call(() => this.#sessions.set(key, sealed, ttlMs));
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw wrapError(error, 'BACKEND_UNAVAILABLE', 'The OAuth storage is unavailable.');
    }
  }
}

const DISCOVERY_TTL_MS = 24 * 60 * 60 * 1000;
const REGISTRATION_TTL_MS = 365 * 24 * 60 * 60 * 1000;

/** The lock key that serializes refreshes of one owner's tokens for one server. @internal */
export function refreshLockKey(owner: TokenOwner, serverUrl: string): string {
  return `oauth-refresh:${ownerTag(owner)}:${digest(serverUrl)}`;
}

/** The lock key that makes one dynamic registration per authorization server. @internal */
export function registrationLockKey(issuer: string): string {
  return `oauth-register:${digest(issuer)}`;
}

/** A marker key counting one authorization attempt of an owner for a server. @internal */
export function attemptKey(owner: TokenOwner, serverUrl: string, attempt: number): string {
  return `oauth-attempt:${ownerTag(owner)}:${digest(serverUrl)}:${attempt}`;
}

function tokenKey(owner: TokenOwner, serverUrl: string): string {
  return `oauth:tokens:${ownerTag(owner)}:${digest(serverUrl)}`;
}

// The owner sits in a hash tag, as the session keys do, so one user's keys share a cluster slot.
function ownerTag(owner: TokenOwner): string {
  return owner.kind === 'app' ? '{app}' : `{u:${encodeURIComponent(owner.userId)}}`;
}

// URLs and states can be long or hold odd characters; keys only carry a digest of them.
function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, 32);
}

function parseJson(raw: string): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Thrown when OAuth is configured without a seal key. @internal */
export function missingSealKey(): LlmChatError {
  return new LlmChatError('CONFIG_INVALID', 'oauth needs sealKey: tokens are sealed in the storage.');
}
