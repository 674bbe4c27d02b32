import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, which CI installs. */
export const CHROMIUM = '/usr/bin/chromium';
/** Where browser tests write their screenshots (git-ignored). */
export const ARTIFACTS = new URL('../../.artifacts/', import.meta.url);
/** expect.poll waits 1 s by default; a streamed answer can take a few. */
export const POLL = { timeout: 10_000 };

/**
 * Whether Chromium is there. In CI its absence is an error: the browser tests must not pass by
 * skipping.
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing.`);
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING ${suite}: ${CHROMIUM} is missing.\n${'!'.repeat(78)}\n`);
  return false;
}

/** Headless Chromium with the flags this machine's closed network needs. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** The path of a screenshot named `name` in the artifacts folder. */
export function artifact(name: string): string {
  return new URL(name, ARTIFACTS).pathname;
}
