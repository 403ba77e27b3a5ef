// GET /readyz: NATS connected and the stream answering; 503 problem otherwise, and from the start
// of a shutdown's drain period on (src/main.ts), so load balancers stop sending before it closes.
import { GatewayError } from '../src/errors.ts';
import type { Request } from './handler.ts';

export async function getReadiness(req: Request<'getReadiness'>) {
  const { bus, config } = req.server;
  if (req.server.draining) {
    throw new GatewayError('GW_SHUTTING_DOWN', 'The gateway is shutting down', { retryAfter: config.RETRY_AFTER_SECONDS });
  }
  const nats = bus.connected;
  const stream = nats && (await bus.streamReady());
  if (!stream) {
    throw new GatewayError('GW_NOT_READY', nats ? `Stream ${config.STREAM_NAME} does not answer` : 'Not connected to NATS', {
      retryAfter: config.RETRY_AFTER_SECONDS,
    });
  }
  return { status: 'ready' as const, nats, stream };
}
