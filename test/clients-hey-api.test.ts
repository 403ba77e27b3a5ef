// A second, independent generator (@hey-api/openapi-ts) builds a complete client from the document,
// offline, and the generated code type-checks: the document is usable beyond the tools we chose.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { generateHeyApiClient, readOpenApiDocument } from '../scripts/generate-clients.ts';
import { TSC } from './helpers/tsc.ts';

const run = promisify(execFile);

// Uses the generated SDK the way a service would; the @ts-expect-error lines prove the types bite.
const USAGE = `
import { publishEvent, publishEventBatch, type PublishResult, type Problem } from './out/index';
import { client } from './out/client.gen';

client.setConfig({ baseUrl: 'http://127.0.0.1:8080', headers: { Authorization: 'Bearer key' } });

export async function publish(): Promise<number | undefined> {
  const { data, error } = await publishEvent({ body: { type: 'order.created', source: 'svc', data: { order_id: 'o' } } });
  if (error) {
    const problem: Problem = error;
    return problem.status;
  }
  const stored: PublishResult | undefined = data;
  await publishEventBatch({ body: { events: [{ type: 'order.created', source: 'svc', data: {} }] } });
  // @ts-expect-error source is required by EventInput
  await publishEvent({ body: { type: 'order.created', data: {} } });
  // @ts-expect-error seq is a number
  const wrong: string | undefined = data?.seq;
  return stored?.seq ?? (wrong ? 0 : undefined);
}
`;

t.test('@hey-api/openapi-ts generates a client from the document that type-checks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-hey-api-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await generateHeyApiClient(join(dir, 'out'));
  t.ok(readdirSync(join(dir, 'out')).includes('sdk.gen.ts'), 'wrote an SDK');

  // One function per operation of the document, named by its operationId.
  const { paths } = readOpenApiDocument() as { paths: Record<string, Record<string, { operationId: string }>> };
  const sdk = readFileSync(join(dir, 'out', 'sdk.gen.ts'), 'utf8');
  for (const ops of Object.values(paths)) {
    for (const op of Object.values(ops)) t.match(sdk, new RegExp(`export const ${op.operationId} =`), `${op.operationId} is generated`);
  }

  writeFileSync(join(dir, 'usage.ts'), USAGE);
  const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler'];
  const typecheck = await run(TSC, [...args, '--lib', 'es2022,dom', join(dir, 'usage.ts')], {
    cwd: dir,
    timeout: 120_000,
  }).then(
    () => ({ code: 0, output: '' }),
    (err: { stdout?: string; stderr?: string; code?: number }) => ({
      code: err.code ?? 1,
      output: `${err.stdout}${err.stderr}` || String(err),
    }),
  );
  t.equal(typecheck.code, 0, `tsc: ${typecheck.output}`);
});
