/**
 * The service worker's life: registered at start; when a new version has installed and waits,
 * `waiting` turns true and the frame offers a reload (nothing reloads under the user's feet).
 * Checks for a new version hourly and whenever the app comes back to the foreground.
 */
import { registerSW } from 'virtual:pwa-register';

const CHECK_EVERY_MS = 60 * 60 * 1000;

export class PwaUpdate {
  /** A new version is installed and waits for the user's go. */
  waiting = $state(false);
  /** The app shell is cached: it opens without a network from now on. */
  offlineReady = $state(false);
  #update: ((reload?: boolean) => Promise<void>) | undefined;

  start(): void {
    if (!('serviceWorker' in navigator)) return;
    this.#update = registerSW({
      onNeedRefresh: () => (this.waiting = true),
      onOfflineReady: () => (this.offlineReady = true),
      onRegisteredSW: (_url, registration) => {
        if (!registration) return;
        const check = () => {
          if (navigator.onLine) void registration.update().catch(() => undefined);
        };
        setInterval(check, CHECK_EVERY_MS);
        document.addEventListener('visibilitychange', () => {
          if (document.visibilityState === 'visible') check();
        });
      },
    });
  }

  /** Activates the waiting version and reloads into it. */
  async apply(): Promise<void> {
    await this.#update?.(true);
  }

  dismiss(): void {
    this.waiting = false;
  }
}
