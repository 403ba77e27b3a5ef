// GET /readyz: NATS connected and the stream answering; 503 problem otherwise.
import { GatewayError } from '../src/errors.ts';
import type { Request } from './handler.ts';

export async function getReadiness(req: Request<'getReadiness'>) {
  const { bus, config } = req.server;
  const nats = bus.connected;
  const stream = nats && (await bus.streamReady());
  if (!stream) {
    throw new GatewayError('GW_NOT_READY', nats ? `Stream ${config.STREAM_NAME} does not answer` : 'Not connected to NATS', {
      retryAfter: config.RETRY_AFTER_SECONDS,
    });
  }
  return { status: 'ready' as const, nats, stream };
}
