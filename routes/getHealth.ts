// GET /healthz: the process is alive.
export async function getHealth() {
  return { status: 'ok' as const };
}
