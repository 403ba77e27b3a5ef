// POST /v1/admin/keys: a new key for a tenant. The key is drawn here, shown once in the answer and
// never stored: the admin bucket gets its SHA-256. Applied to this instance at once (the watch
// brings it to the others, and back here as a repeat that changes nothing).
import { randomBytes } from 'node:crypto';
import type { ApiKeyRecord } from '../schemas/admin.ts';
import { ApiKeys } from '../src/auth/api-keys.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import { GatewayError } from '../src/errors.ts';
import type { Reply, Request } from './handler.ts';

export async function createApiKey(req: Request<'createApiKey'>, reply: Reply<'createApiKey'>) {
  const { bus, apiKeys } = req.server;
  const { tenant_id, scopes, description, expires_at } = req.body;
  const now = new Date();
  if (expires_at !== undefined && !(Date.parse(expires_at) > now.getTime())) {
    throw new GatewayError('GW_VALIDATION_FAILED', 'expires_at must be in the future', {
      errors: [{ pointer: '/expires_at', message: 'must be in the future' }],
    });
  }
  const key = `gwk_${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = {
    key_id: `key_${randomBytes(12).toString('base64url')}`,
    tenant_id,
    scopes: [...new Set(scopes)],
    created_at: now.toISOString(),
    key_sha256: ApiKeys.digestOf(key),
  };
  if (description !== undefined) record.description = description;
  if (expires_at !== undefined) record.expires_at = new Date(Date.parse(expires_at)).toISOString();
  await bus.putApiKey(record);
  apiKeys.apply({ kind: 'key', keyId: record.key_id, record });
  req.log.info({ key_id: record.key_id, tenant_id, scopes: record.scopes, by: principalOf(req).keyId }, 'API key created');
  const { key_sha256: _digest, ...info } = record;
  return reply.code(201).send({ key, ...info });
}
