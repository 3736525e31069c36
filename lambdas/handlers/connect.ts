import type { WebSocketHandler } from '../runtime/route';

/** Every connection starts unbound; signup, signin or resume binds it to a user (issue 4). */
export const handler: WebSocketHandler = async () => ({ statusCode: 200 });
