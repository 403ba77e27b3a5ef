// The event catalogue (built-in types and EVENT_TYPES_DIR's), as `app.catalogue`, and the
// envelope preparer that validates and normalises events against it, as `app.preparer`.
import fp from 'fastify-plugin';
import { type Catalogue, loadCatalogue } from '../catalogue.ts';
import { EventPreparer } from '../event-preparer.ts';

declare module 'fastify' {
  interface FastifyInstance {
    catalogue: Catalogue;
    preparer: EventPreparer;
  }
}

export const cataloguePlugin = fp<{ catalogue?: Catalogue }>(
  async function catalogue(app, opts) {
    const catalogue = opts.catalogue ?? loadCatalogue(app.config.EVENT_TYPES_DIR);
    app.decorate('catalogue', catalogue);
    app.decorate('preparer', new EventPreparer(catalogue));
  },
  { name: 'catalogue', fastify: '5.x', dependencies: ['config'] },
);
