import type { WebSocketHandler } from '../runtime/route';

/** Nothing is bound yet in the foundation; issue 4 deletes the connection row here. */
export const handler: WebSocketHandler = async () => ({ statusCode: 200 });
