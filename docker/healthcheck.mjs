// Container health check (Dockerfile HEALTHCHECK and stack.yml): GET /healthz on this container's
// own port with node's fetch, so the image needs no curl. /healthz is liveness: it stays 200 while
// the database or Redis is down (that is /readyz's business), so Swarm never restarts every task
// because a dependency blinked. The timeouts (8 s here, 10 s in the HEALTHCHECK and stack.yml) leave
// room for a node process starting on a busy 2-CPU node.
const port = process.env.PORT || '3000';
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(8000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
