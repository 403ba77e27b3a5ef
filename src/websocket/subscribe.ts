// A `subscribe` frame turned into a delivery (src/delivery/) with the WebSocket sink, and the
// `subscribed` frame that tells the client where it starts. Which source (docs/websocket.md):
// - no group, ack "auto", from "new": the live feed (no consumer; a slow client is closed with 4010)
// - no group, ack "auto", another `from`: a replay that goes on live (a slow client pauses it)
// - a group: the tenant's durable consumer of that name, shared with HTTP consumers; ack "auto"
//   acks each event once its frame was written
// - no group, ack "client": an ephemeral consumer of the subscription's own
import type { SubscribedFrame, SubscribeFrame } from '../../schemas/websocket.ts';
import type { Bus } from '../bus/index.ts';
import { compileContentFilter } from '../content-filter.ts';
import type { Delivery, DeliveryFilter, DeliveryLog, FlowPolicy } from '../delivery/engine.ts';
import { openEphemeral, openGroup, openLive, openReplay } from '../delivery/open.ts';
import { WebSocketSink, type WebSocketTarget } from '../delivery/sinks/websocket.ts';
import type { StartPoint } from '../delivery/start.ts';
import { GatewayError } from '../errors.ts';
import { isTypePattern, typeMatcher } from '../type-patterns.ts';

export interface OpenedSubscription {
  delivery: Delivery;
  subscribed: SubscribedFrame;
}

/** Sets up the subscription's source (consumers, live feed); the delivery is not running yet. */
export async function openSubscription(
  frame: SubscribeFrame,
  target: WebSocketTarget & { readonly tenant: string },
  bus: Bus,
  limits: {
    maxInFlight: number;
    /** Throws (GW_RATE_LIMITED) when the tenant may not create the group's consumer, if it is new. */
    admitGroup?: ((name: string) => Promise<void>) | undefined;
  },
  log: DeliveryLog,
): Promise<OpenedSubscription> {
  if (!frame.types.every(isTypePattern)) {
    throw new GatewayError('GW_INVALID_FRAME', 'A type pattern is invalid', {
      errors: [{ pointer: '/types', message: 'invalid pattern' }],
    });
  }
  const content = frame.filter === undefined ? undefined : compileContentFilter(frame.filter, { pointer: '/filter' });
  const filter: DeliveryFilter = { tenant: target.tenant, matches: typeMatcher(frame.types), content };
  const sink = new WebSocketSink(frame.sub, target, frame.format);
  const sub = frame.sub;
  const ack = frame.ack ?? 'auto';
  const sel = { types: frame.types, from: frame.from };

  if (frame.group === undefined && ack === 'auto') {
    if ((frame.from ?? 'new') === 'new') {
      // Once open, the tenant's feed is subscribed: nothing stored after `subscribed` is missed.
      const delivery = await openLive(bus, filter, sink);
      return { delivery, subscribed: { op: 'subscribed', sub, ack: 'auto', start: 'new', truncated: false } };
    }
    const { delivery, start } = await openReplay(bus, filter, sel, sink, log);
    const subscribed: SubscribedFrame = { op: 'subscribed', sub, ack: 'auto', start: 'position', truncated: start.truncated };
    if (start.start_seq !== undefined) subscribed.start_seq = start.start_seq;
    return { delivery, subscribed };
  }

  const policy: FlowPolicy = { window: limits.maxInFlight, ack: ack === 'client' ? 'client' : 'on-write' };
  if (frame.group !== undefined) {
    await limits.admitGroup?.(frame.group);
    const opened = await openGroup(bus, target.tenant, frame.group, { ...sel, filter: frame.filter }, policy, sink, log);
    const subscribed: SubscribedFrame = { op: 'subscribed', sub, ack, group: frame.group, start: 'position', truncated: false };
    if (opened.resumed) subscribed.resumed_group = true;
    else if (opened.start) Object.assign(subscribed, startReport(opened.start));
    return { delivery: opened.delivery, subscribed };
  }
  const { delivery, start } = await openEphemeral(bus, filter, sel, policy, sink, log);
  if (!start) return { delivery, subscribed: { op: 'subscribed', sub, ack, start: 'new', truncated: false } };
  return { delivery, subscribed: { op: 'subscribed', sub, ack, start: 'position', ...startReport(start) } };
}

function startReport(start: StartPoint): Pick<SubscribedFrame, 'start_seq' | 'truncated'> {
  return start.start_seq === undefined ? { truncated: start.truncated } : { start_seq: start.start_seq, truncated: start.truncated };
}
