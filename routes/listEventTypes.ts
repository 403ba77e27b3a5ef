// GET /v1/event-types: the catalogue with each type's data schema.
import type { Request } from './handler.ts';

export async function listEventTypes(req: Request<'listEventTypes'>) {
  const types = [...req.server.catalogue.types.values()].map((t) => ({
    type: t.type,
    version: t.version,
    description: t.description,
    builtin: t.builtin,
    schema: t.schema,
  }));
  return { types };
}
