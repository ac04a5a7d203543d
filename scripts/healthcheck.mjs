// Container health check: exit 0 when GET /healthz on MESH_HTTP_PORT answers 200.
const port = process.env.MESH_HTTP_PORT ?? '8080';
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
