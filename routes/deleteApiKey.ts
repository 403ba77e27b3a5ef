// DELETE /v1/admin/keys/{key_id}: revokes the key in the admin bucket; refused here at once and on
// every other instance when the watch brings the deletion (well within 2 s).
import type { Reply, Request } from './handler.ts';

export async function deleteApiKey(req: Request<'deleteApiKey'>, reply: Reply<'deleteApiKey'>) {
  const { bus, apiKeys } = req.server;
  const { key_id } = req.params;
  const deleted = await bus.deleteApiKey(key_id);
  apiKeys.apply({ kind: 'key', keyId: key_id, record: undefined });
  req.log.info({ key_id, deleted }, 'API key revoked');
  return reply.send({ key_id, deleted });
}
