/** Page scripts (strings: vitest would rewrite functions into Node-only code) for service workers. */

/** Resolves once this page's service worker has reached `activated` (not merely `ready`). */
export const SW_ACTIVATED = `(async () => {
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (worker.state !== 'activated')
    await new Promise((done) => worker.addEventListener('statechange', () => worker.state === 'activated' && done()));
  return worker.scriptURL;
})()`;
