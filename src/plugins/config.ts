// The validated configuration, as `app.config`: every other plugin reads its settings here.
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
  }
}

export const configPlugin = fp<{ config: Config }>(
  async function config(app, opts) {
    app.decorate('config', opts.config);
  },
  { name: 'config', fastify: '5.x' },
);
