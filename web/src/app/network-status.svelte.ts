/** Whether the browser has a network at all (`navigator.onLine` and its events). */
export class NetworkStatus {
  online = $state(navigator.onLine);

  constructor() {
    addEventListener('online', () => (this.online = true));
    addEventListener('offline', () => (this.online = false));
  }
}
