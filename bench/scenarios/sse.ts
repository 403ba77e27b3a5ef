// Scenario 8: fan-out over Server-Sent Events (GET /v1/events/stream): `n` streams of one tenant on
// one gateway, a burst of events published in one batch, and the time until every stream has every
// event; the same shape as the WebSocket fan-out (scenario 4), so the two transports compare.
import type { BenchContext } from '../context.ts';
import { closeAllSse, connectManySse } from '../sse-subscriber.ts';
import { everyoneReceived, type FanOutMeasure, measureFanOut } from './websocket.ts';

export type SseFanOutResult = FanOutMeasure & {
  /** Every stream got every event in every round. */
  pass: boolean;
};

export async function sseFanOut(ctx: BenchContext, n: number): Promise<SseFanOutResult> {
  const m = await measureFanOut(ctx, n, {
    connect: (count) => connectManySse(ctx.gateway.url, ctx.gateway.key, count),
    close: (subs) => closeAllSse(subs),
    idTag: 'sse',
  });
  return { ...m, pass: everyoneReceived(m) };
}
