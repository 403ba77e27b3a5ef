// GET /v1/event-types: the catalogue with each type's data schema.
import type { FastifyRequest } from 'fastify';

export async function listEventTypes(req: FastifyRequest) {
  const types = [...req.server.catalogue.types.values()].map((t) => ({
    type: t.type,
    version: t.version,
    description: t.description,
    builtin: t.builtin,
    schema: t.schema,
  }));
  return { types };
}
