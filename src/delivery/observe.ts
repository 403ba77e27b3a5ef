// What the delivery engine counts, per sink: deliveries, redeliveries, acks, naks and dead
// letters. The metrics plugin attaches its counters to an app's bus (`observeDeliveries`); every
// delivery opened on that bus finds them there, whatever its sink, so a new sink (webhook, SSE) is
// counted without a line of its own. A bus nobody observes counts into nothing.
import type { Bus } from '../bus/index.ts';
import type { DeliveryCounters, Inc } from '../metrics.ts';
import type { Sink } from './engine.ts';

export interface DeliveryObserver {
  deliveryCounters(sink: string): DeliveryCounters;
}

const observers = new WeakMap<Bus, DeliveryObserver>();

const nothing: Inc = { inc() {} };
const UNCOUNTED: DeliveryCounters = { delivered: nothing, redelivered: nothing, acked: nothing, nakked: nothing, deadLettered: nothing };

/** Counts every delivery opened on `bus` from now on. */
export function observeDeliveries(bus: Bus, observer: DeliveryObserver): void {
  observers.set(bus, observer);
}

/** The `sink` label: the sink's `metricsName`, else its class name (`WebhookSink` → `webhook`). */
export function sinkName(sink: Sink): string {
  if (sink.metricsName) return sink.metricsName;
  const cls = (sink as object).constructor?.name ?? 'sink';
  return (
    cls
      .replace(/Sink$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .toLowerCase() || 'sink'
  );
}

/** The counters of a delivery on `bus` into `sink` (looked up once, when the delivery is made). */
export function deliveryCounters(bus: Bus, sink: Sink): DeliveryCounters {
  const observer = observers.get(bus);
  return observer ? observer.deliveryCounters(sinkName(sink)) : UNCOUNTED;
}

/** The counters of settling by ack token (HTTP fetch), outside any delivery. */
export function countersOf(bus: Bus, sink: string): DeliveryCounters {
  return observers.get(bus)?.deliveryCounters(sink) ?? UNCOUNTED;
}
