// For tests only: the NATS connection and JetStream clients behind a Bus, to set up or inspect
// what the gateway cannot be asked for (delete a stream, list consumers). Product code never
// imports this module.
import type { BusContext } from './context.ts';
import { Bus } from './index.ts';

export function busInternals(bus: Bus): BusContext {
  const ctx = Bus.contextOf(bus);
  if (!ctx) throw new Error('not a Bus made by Bus.connect');
  return ctx;
}
