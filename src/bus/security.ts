// How the gateway proves who it is to NATS and protects the link: the client options built from
// NATS_CREDS_FILE (JWT + seed), NATS_NKEY_SEED_FILE, NATS_USER / NATS_PASSWORD, NATS_TOKEN and
// NATS_TLS_CA / NATS_TLS_CERT / NATS_TLS_KEY. Every file is read once, at start, and checked: a
// missing, unreadable or malformed one (or settings that contradict each other) is a ConfigError
// naming each problem, so the process stops with exit 2 instead of retrying a connection forever
// with credentials that can never work. The authenticators are nats.js's own.
import { readFileSync } from 'node:fs';
import { type Authenticator, type ConnectionOptions, credsAuthenticator, nkeyAuthenticator } from '@nats-io/transport-node';
import { ConfigError } from '../config.ts';
import type { BusConfig } from './context.ts';

export type NatsSecurityConfig = Pick<
  BusConfig,
  | 'NATS_TOKEN'
  | 'NATS_USER'
  | 'NATS_PASSWORD'
  | 'NATS_CREDS_FILE'
  | 'NATS_NKEY_SEED_FILE'
  | 'NATS_TLS_CA'
  | 'NATS_TLS_CERT'
  | 'NATS_TLS_KEY'
>;

/** The part of the connection options that authenticates and encrypts, from the settings. */
export type NatsSecurityOptions = Pick<ConnectionOptions, 'token' | 'user' | 'pass' | 'authenticator' | 'tls'>;

const CREDS_JWT = /-----BEGIN NATS USER JWT-----\s*\S+\s*------END NATS USER JWT------/;
const CREDS_SEED = /-----BEGIN USER NKEY SEED-----\s*SU[A-Z2-7]+\s*------END USER NKEY SEED------/;
const PEM = /-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/;

function read(setting: string, path: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    problems.push(
      `${setting}=${JSON.stringify(path)}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`}`,
    );
    return undefined;
  }
}

/**
 * Reads and checks the credential and TLS files and returns the options for `connect`; throws a
 * ConfigError listing every problem. Pure apart from reading the files: src/main.ts calls it
 * before starting anything, the connection again when it starts.
 */
export function natsSecurityOptions(config: NatsSecurityConfig): NatsSecurityOptions {
  const problems: string[] = [];
  const out: NatsSecurityOptions = {};
  const authenticators: Authenticator[] = [];

  const modes = [
    config.NATS_CREDS_FILE && 'NATS_CREDS_FILE',
    config.NATS_NKEY_SEED_FILE && 'NATS_NKEY_SEED_FILE',
    config.NATS_USER && 'NATS_USER',
    config.NATS_TOKEN && 'NATS_TOKEN',
  ].filter((m): m is string => Boolean(m));
  if (modes.length > 1) problems.push(`${modes.join(', ')}: give one way of authenticating to NATS, not ${modes.length}`);
  if (config.NATS_PASSWORD !== undefined && config.NATS_USER === undefined) problems.push('NATS_PASSWORD is set without NATS_USER');
  if (config.NATS_USER !== undefined && config.NATS_PASSWORD === undefined) problems.push('NATS_USER is set without NATS_PASSWORD');

  if (config.NATS_CREDS_FILE) {
    const text = read('NATS_CREDS_FILE', config.NATS_CREDS_FILE, problems);
    if (text !== undefined) {
      if (!CREDS_JWT.test(text) || !CREDS_SEED.test(text)) {
        problems.push(
          `NATS_CREDS_FILE=${JSON.stringify(config.NATS_CREDS_FILE)}: not a NATS credentials file (expected a "NATS USER JWT" and a "USER NKEY SEED" block)`,
        );
      } else {
        authenticators.push(credsAuthenticator(new TextEncoder().encode(text)));
      }
    }
  }
  if (config.NATS_NKEY_SEED_FILE) {
    const text = read('NATS_NKEY_SEED_FILE', config.NATS_NKEY_SEED_FILE, problems);
    // The seed alone, or inside the block a creds file uses.
    const seed = text === undefined ? undefined : /\bSU[A-Z2-7]{56}\b/.exec(text)?.[0];
    if (text !== undefined && seed === undefined) {
      problems.push(
        `NATS_NKEY_SEED_FILE=${JSON.stringify(config.NATS_NKEY_SEED_FILE)}: holds no user nkey seed (58 characters starting with SU)`,
      );
    } else if (seed !== undefined) {
      authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
    }
  }
  if (config.NATS_USER !== undefined) {
    out.user = config.NATS_USER;
    out.pass = config.NATS_PASSWORD;
  }
  if (config.NATS_TOKEN !== undefined) out.token = config.NATS_TOKEN;
  if (authenticators.length > 0) out.authenticator = authenticators;

  if (config.NATS_TLS_CA || config.NATS_TLS_CERT || config.NATS_TLS_KEY) {
    if (Boolean(config.NATS_TLS_CERT) !== Boolean(config.NATS_TLS_KEY)) {
      problems.push('NATS_TLS_CERT and NATS_TLS_KEY go together: give both for a client certificate, or neither');
    }
    const tls: NonNullable<NatsSecurityOptions['tls']> = {};
    for (const [setting, key] of [
      ['NATS_TLS_CA', 'ca'],
      ['NATS_TLS_CERT', 'cert'],
      ['NATS_TLS_KEY', 'key'],
    ] as const) {
      const path = config[setting];
      if (!path) continue;
      const text = read(setting, path, problems);
      if (text === undefined) continue;
      if (!PEM.test(text)) problems.push(`${setting}=${JSON.stringify(path)}: not a PEM file`);
      else tls[key] = text;
    }
    out.tls = tls;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
