// The old name of the bus facade, kept for the branches that still import it: see index.ts.
export { Bus as EventBus } from './index.ts';
