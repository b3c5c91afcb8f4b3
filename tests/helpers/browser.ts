// Debian's Chromium, headless, driven by playwright-core: never a downloaded browser.
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
}

/** The one-time sign-in link the proxy printed on stderr, as a person would copy it. */
export function loginLinkFrom(logs: readonly string[]): string {
  const link = logs.map((line) => /sign in at (\S+)/.exec(line)?.[1]).find(Boolean);
  if (!link) throw new Error('the proxy printed no sign-in link');
  return link;
}
