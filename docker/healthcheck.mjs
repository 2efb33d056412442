// Container health check (Dockerfile HEALTHCHECK and stack.yml): GET /healthz on this container's
// own port with node's fetch, so the image needs no curl. /healthz is liveness: it stays 200 while
// the database or Redis is down (that is /readyz's business), so Swarm never restarts every task
// because a dependency blinked.
const port = process.env.PORT || '3000';
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
