// At-least-once delivery over WebSocket: a JetStream pull consumer with explicit acks. A plain
// `ack: "client"` subscription gets an ephemeral consumer of its own (deleted when it ends, with an
// inactive threshold so a crashed gateway leaks nothing); a `group` uses the tenant's shared
// durable consumer (src/bus/durable-consumers.ts), so every member on every instance shares one
// position and each event goes to one member.
//
// The subscription pulls at most its in-flight room (WS_MAX_IN_FLIGHT minus what the client holds
// unacknowledged), and pauses while the client reads slowly; an event whose ack wait passed is no
// longer counted (JetStream redelivers it, maybe to another member). The delivery after the last
// allowed one is dead-lettered instead of sent. `ack: "auto"` (a group without client acks) acks
// each event once its frame was written. On stop, unacknowledged events are nak'ed so another
// member gets them at once.
import type { Logger } from 'pino';
import type { SubscribedFrame } from '../../schemas/websocket.ts';
import type { Bus, Delivered, PullSource } from '../bus/index.ts';
import type { ContentFilter } from '../content-filter.ts';
import { GatewayError } from '../errors.ts';
import { type DeliveryTarget, eventFrame, type SubscriptionSpec, startPoint, type WsSubscription } from './subscription.ts';

/** How long one pull waits for events before the loop looks around (acks, stop) again. */
const PULL_EXPIRES_MS = 5000;
interface InFlight {
  msg: Delivered;
  at: number;
}

export interface PullLimits {
  maxInFlight: number;
}

export class PullSubscription implements WsSubscription {
  readonly id: string;
  readonly #spec: SubscriptionSpec;
  readonly #target: DeliveryTarget;
  readonly #bus: Bus;
  readonly #log: Logger;
  readonly #limits: PullLimits;
  readonly #clientAck: boolean;
  readonly #inFlight = new Map<number, InFlight>();
  #source: PullSource | undefined;
  #ackWaitMs = 30_000;
  #filter: ContentFilter | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(spec: SubscriptionSpec, target: DeliveryTarget, bus: Bus, log: Logger, limits: PullLimits) {
    this.id = spec.id;
    this.#spec = spec;
    this.#target = target;
    this.#bus = bus;
    this.#log = log;
    this.#limits = limits;
    this.#clientAck = spec.frame.ack === 'client';
    this.#filter = spec.filter;
  }

  async prepare(): Promise<SubscribedFrame> {
    const { frame } = this.#spec;
    const ack = this.#clientAck ? 'client' : 'auto';
    const tenant = this.#target.tenant;
    try {
      if (frame.group !== undefined) {
        // Keep the group's ack wait and max deliver (perhaps set over HTTP); types and filter follow the subscriber.
        const existing = await this.#bus.getConsumer(tenant, frame.group);
        const group = await this.#bus.ensureConsumer(tenant, frame.group, {
          types: frame.types,
          filter: frame.filter,
          from: frame.from,
          ackWaitMs: existing?.ackWaitMs,
          maxDeliver: existing?.maxDeliver,
        });
        this.#filter = group.filter === undefined ? undefined : group.matcher;
        this.#source = await this.#bus.openDurable(group);
        this.#ackWaitMs = this.#source.ackWaitMs;
        const out: SubscribedFrame = { op: 'subscribed', sub: this.id, ack, group: frame.group, start: 'position', truncated: false };
        if (group.outcome !== 'created') out.resumed_group = true;
        else Object.assign(out, startReport(startPoint(frame.from, await this.#bus.streamBounds())));
        return out;
      }
      const start = startPoint(frame.from, frame.from === undefined || frame.from === 'new' ? undefined : await this.#bus.streamBounds());
      this.#source = await this.#bus.openEphemeral(
        { tenant, types: this.#spec.types, from: start.from },
        { maxAckPending: this.#limits.maxInFlight },
      );
      this.#ackWaitMs = this.#source.ackWaitMs;
      if (frame.from === undefined || frame.from === 'new') return { op: 'subscribed', sub: this.id, ack, start: 'new', truncated: false };
      return { op: 'subscribed', sub: this.id, ack, start: 'position', ...startReport(start) };
    } catch (err) {
      throw this.#bus.translate(err);
    }
  }

  run(): void {
    void this.#loop().catch((err: unknown) => {
      if (this.#stopped) return;
      this.#log.warn({ err }, 'pull subscription failed');
      this.#target.fail(this.id, this.#bus.translate(err));
    });
  }

  async #loop(): Promise<void> {
    const source = this.#source;
    if (!source) return;
    let failures = 0;
    while (!this.#stopped) {
      try {
        await this.#pull(source);
        failures = 0;
      } catch (err) {
        if (this.#stopped) return;
        // A NATS outage is waited out (the consumer keeps the position); a consumer that is gone
        // (deleted, or a memory consumer lost with a restarted server) ends the subscription.
        if (await source.gone()) {
          throw new GatewayError(
            'GW_NOT_FOUND',
            "The subscription's consumer no longer exists (deleted, or lost in a NATS restart); subscribe again",
            {
              cause: err,
            },
          );
        }
        failures++;
        this.#log.warn({ err, failures }, 'pulling failed; retrying');
        await this.#sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async #pull(source: PullSource): Promise<void> {
    this.#forgetExpired();
    const room = this.#limits.maxInFlight - this.#inFlight.size;
    if (room <= 0 || !this.#target.keepingUp) {
      await this.#sleep(Math.min(250, this.#ackWaitMs));
      return;
    }
    for await (const m of await source.fetch(room, PULL_EXPIRES_MS)) {
      if (this.#stopped) {
        m.nak();
        continue;
      }
      await this.#handle(m);
    }
  }

  async #handle(m: Delivered): Promise<void> {
    const delivery = m.info.deliveryCount;
    this.#inFlight.delete(m.seq);
    try {
      if (this.#source && (await this.#bus.deadLetterIfExhausted(m, this.#source.deadLetters))) return;
    } catch (err) {
      // Not stored as a dead letter: it stays unacknowledged and is dead-lettered on a later delivery.
      this.#log.error({ err, seq: m.seq }, 'dead-lettering failed');
      return;
    }
    if (this.#stopped) {
      m.nak(); // unsubscribed meanwhile: nothing more is sent after `unsubscribed`
      return;
    }
    const json = m.string();
    if (this.#filter && !this.#filter.match(JSON.parse(json))) {
      m.ack(); // filtered out: the client never sees it, so the gateway acknowledges it
      return;
    }
    this.#inFlight.set(m.seq, { msg: m, at: Date.now() });
    if (this.#clientAck) {
      this.#target.sendRaw(eventFrame(this.id, m.seq, delivery, json));
      return;
    }
    this.#target.sendRaw(eventFrame(this.id, m.seq, delivery, json), (err) => {
      const held = this.#inFlight.get(m.seq);
      if (held?.msg !== m) return;
      this.#inFlight.delete(m.seq);
      if (err) m.nak();
      else m.ack();
      this.#wakeUp();
    });
  }

  #forgetExpired(): void {
    const cutoff = Date.now() - this.#ackWaitMs;
    for (const [seq, f] of this.#inFlight) if (f.at <= cutoff) this.#inFlight.delete(seq);
  }

  #take(seq: number): Delivered {
    if (!this.#clientAck)
      throw new GatewayError('GW_NOT_IN_FLIGHT', 'This subscription uses ack "auto": the gateway acknowledges its events');
    this.#forgetExpired();
    const f = this.#inFlight.get(seq);
    if (!f)
      throw new GatewayError('GW_NOT_IN_FLIGHT', `No unacknowledged event at seq ${seq} (already acknowledged, or its ack wait passed)`);
    this.#inFlight.delete(seq);
    this.#wakeUp();
    return f.msg;
  }

  ack(seq: number): void {
    this.#take(seq).ack();
  }

  nak(seq: number, delayMs?: number): void {
    this.#take(seq).nak(delayMs);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#source?.stopPull();
    this.#wakeUp();
    for (const f of this.#inFlight.values()) f.msg.nak();
    this.#inFlight.clear();
    await this.#source?.close();
  }
}

function startReport(start: ReturnType<typeof startPoint>): Pick<SubscribedFrame, 'start_seq' | 'truncated'> {
  return start.start_seq === undefined ? { truncated: start.truncated } : { start_seq: start.start_seq, truncated: start.truncated };
}
