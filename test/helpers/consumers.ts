// HTTP calls of the pull-consumer and dead-letter endpoints, for tests.
import type { FastifyInstance } from 'fastify';
import { auth, sampleEvent } from './gateway.ts';

export interface Fetched {
  seq: number;
  delivery: number;
  ack_token: string;
  ack_deadline: string;
  event: { id: string; type: string; tenant_id: string; data: Record<string, unknown> };
}

export async function call(app: FastifyInstance, key: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const res = await app.inject({ method, url, headers: auth(key), ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.body ? (res.json() as Record<string, unknown> & { code?: string }) : {} };
}

export async function publish(app: FastifyInstance, key: string, overrides: Record<string, unknown> = {}) {
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(key), payload: sampleEvent(overrides) });
  if (res.statusCode !== 202) throw new Error(`publish failed: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; seq: number };
}

export async function putConsumer(app: FastifyInstance, key: string, name: string, body: Record<string, unknown>) {
  return call(app, key, 'PUT', `/v1/consumers/${name}`, body);
}

export async function fetchEvents(app: FastifyInstance, key: string, name: string, body: { max?: number; wait_ms?: number } = {}) {
  const res = await call(app, key, 'POST', `/v1/consumers/${name}/fetch`, body);
  if (res.status !== 200) throw new Error(`fetch failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.events as Fetched[];
}

export type Outcome = { ok: boolean; error?: { code: string; message: string } };

export async function ack(app: FastifyInstance, key: string, name: string, body: { acks?: unknown[]; naks?: unknown[] }) {
  const res = await call(app, key, 'POST', `/v1/consumers/${name}/ack`, body);
  if (res.status !== 200) throw new Error(`ack failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { acks: Outcome[]; naks: Outcome[] };
}
