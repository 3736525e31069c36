/** The current route as reactive state, following `location.hash` (routes.ts). */
import { parseRoute, type Route } from './routes';

export class Router {
  route = $state<Route>(parseRoute(location.hash));
  /** How many navigations happened since the page loaded (0: the first screen). */
  navigations = $state(0);

  constructor() {
    addEventListener('hashchange', () => {
      this.route = parseRoute(location.hash);
      this.navigations += 1;
    });
  }
}
