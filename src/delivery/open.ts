// Opening deliveries: each function picks a source from the bus, sets it up (creates the consumer,
// or subscribes the live feed) and returns the delivery, not yet running, with what the client is
// told about where it starts. A sink is any Sink (engine.ts).
import type { Bus, DurableConsumer, StartFrom } from '../bus/index.ts';
import {
  AckedDelivery,
  type DeliveryFilter,
  type DeliveryLog,
  type FlowPolicy,
  LiveDelivery,
  OrderedDelivery,
  type Sink,
} from './engine.ts';
import { deliveryCounters } from './observe.ts';
import { type StartPoint, startPoint } from './start.ts';

/** The live feed from now on: at most once, no consumer. */
export async function openLive(bus: Bus, filter: DeliveryFilter, sink: Sink): Promise<LiveDelivery> {
  const delivery = new LiveDelivery(bus.live, filter, sink, deliveryCounters(bus, sink));
  try {
    await delivery.open();
  } catch (err) {
    await delivery.stop();
    throw err;
  }
  return delivery;
}

/**
 * A replay from a position that goes on live with no gap and no duplicate (an ordered consumer
 * tracks the stream sequence). Chosen over handing over to the live feed, which needs buffering
 * live events while catching up and a sequence cut-over; the price is one memory consumer per
 * replay, deleted when it stops (and expiring on its own if we crash).
 */
export async function openReplay(
  bus: Bus,
  filter: DeliveryFilter,
  sel: { types: string[]; from: StartFrom | undefined },
  sink: Sink,
  log: DeliveryLog,
): Promise<{ delivery: OrderedDelivery; start: StartPoint }> {
  const start = startPoint(sel.from, await bus.streamBounds());
  const source = await bus.openOrdered({ tenant: filter.tenant, types: sel.types, from: start.from });
  return { delivery: new OrderedDelivery(source, filter, sink, bus, log, deliveryCounters(bus, sink)), start };
}

/**
 * A consumer of one receiver's own, with explicit acks; deleted when the delivery stops. `start`
 * is undefined for `from: "new"` (nothing to resolve).
 */
export async function openEphemeral(
  bus: Bus,
  filter: DeliveryFilter,
  sel: { types: string[]; from: StartFrom | undefined },
  policy: FlowPolicy,
  sink: Sink,
  log: DeliveryLog,
): Promise<{ delivery: AckedDelivery; start: StartPoint | undefined }> {
  const fromNew = sel.from === undefined || sel.from === 'new';
  const start = startPoint(sel.from, fromNew ? undefined : await bus.streamBounds());
  const source = await bus.openEphemeral({ tenant: filter.tenant, types: sel.types, from: start.from }, { maxAckPending: policy.window });
  const delivery = new AckedDelivery(source, filter, policy, sink, bus, log, deliveryCounters(bus, sink));
  delivery.kind = 'ephemeral';
  return { delivery, start: fromNew ? undefined : start };
}

/**
 * The tenant's durable consumer of that name (a WebSocket group, shared with the HTTP consumer of
 * the same name): created when missing, else its types and filter follow this receiver while its
 * ack wait and max deliver (perhaps set over HTTP) are kept. Its stored content filter is the one
 * applied. `start` is set only when the consumer was created now.
 */
export async function openGroup(
  bus: Bus,
  tenant: string,
  name: string,
  spec: { types: string[]; filter: Record<string, unknown> | undefined; from: StartFrom | undefined },
  policy: FlowPolicy,
  sink: Sink,
  log: DeliveryLog,
): Promise<{ delivery: AckedDelivery; resumed: boolean; start: StartPoint | undefined }> {
  const existing = await bus.getConsumer(tenant, name);
  const group = await bus.ensureConsumer(tenant, name, {
    types: spec.types,
    filter: spec.filter,
    from: spec.from,
    ackWaitMs: existing?.ackWaitMs,
    maxDeliver: existing?.maxDeliver,
  });
  const filter: DeliveryFilter = {
    tenant,
    matches: () => true, // the consumer's subjects select the types
    content: group.filter === undefined ? undefined : group.matcher,
  };
  const source = await bus.openDurable(group);
  const delivery = new AckedDelivery(source, filter, policy, sink, bus, log, deliveryCounters(bus, sink));
  delivery.kind = 'group';
  if (group.outcome !== 'created') return { delivery, resumed: true, start: undefined };
  return { delivery, resumed: false, start: startPoint(spec.from, await bus.streamBounds()) };
}

/**
 * One HTTP long poll of the tenant's durable consumer: the window is the most events the answer
 * holds, acks come later through tokens (`release` after answering).
 */
export function openFetch(bus: Bus, consumer: DurableConsumer, max: number, sink: Sink, log: DeliveryLog): AckedDelivery {
  const filter: DeliveryFilter = {
    tenant: consumer.tenant,
    matches: () => true,
    content: consumer.filter === undefined ? undefined : consumer.matcher,
  };
  const delivery = new AckedDelivery(
    bus.openFetch(consumer),
    filter,
    { window: max, ack: 'client' },
    sink,
    bus,
    log,
    deliveryCounters(bus, sink),
  );
  delivery.kind = 'fetch';
  return delivery;
}

/**
 * A webhook's delivery on this instance: its durable consumer (shared by every instance, which
 * each run one), acks on write (the sink's 2xx), at most `window` requests outstanding here. The
 * webhook's content filter is applied by the engine.
 */
export async function openWebhook(
  bus: Bus,
  tenant: string,
  name: string,
  filter: Pick<DeliveryFilter, 'content'>,
  window: number,
  sink: Sink,
  log: DeliveryLog,
): Promise<AckedDelivery> {
  const source = await bus.openWebhook(tenant, name);
  const full: DeliveryFilter = { tenant, matches: () => true, content: filter.content };
  return new AckedDelivery(source, full, { window, ack: 'on-write' }, sink, bus, log);
}
