/**
 * Renders docker/nginx/bookstore.conf.template for nginx running outside a container (the loopback
 * stack test), the same way the official nginx image does at start in Swarm:
 * `envsubst` over /etc/nginx/templates/*.template with the variables that are set in the
 * environment, the result included in the http{} block of the image's own nginx.conf.
 *
 * `loopbackMainConf` stands in for that image's nginx.conf (same shape: events, mime types,
 * `sendfile on`, `keepalive_timeout 65`, then the includes), with every path inside one prefix
 * directory so nginx runs unprivileged and leaves nothing behind, and adds the upstream{} blocks
 * that map service names to local ports.
 */

/**
 * `${NAME}` and `$NAME` → value for every NAME present in `env` (set, even to ""), as the image's
 * envsubst does; other `$names` (nginx's own variables) stay. A `${NGINX_…}` left over means the
 * stack does not set a variable the template needs.
 */
export function renderTemplate(template: string, env: Record<string, string>): string {
  const has = (name: string) => Object.prototype.hasOwnProperty.call(env, name);
  const rendered = template.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    return has(name) ? env[name]! : whole;
  });
  const missing = [...new Set([...rendered.matchAll(/\$\{(NGINX_[A-Za-z0-9_]*)\}/g)].map((m) => m[1]))];
  if (missing.length > 0) throw new Error(`nginx template needs ${missing.join(', ')}, which the environment does not set`);
  return rendered;
}

/** The upstream{} blocks standing in for Swarm DNS: one group per service name, one server per replica. */
export function upstreamBlocks(groups: Record<string, string[]>): string {
  return Object.entries(groups)
    .map(([name, servers]) => {
      const lines = servers.map((server) => `    server ${server} max_fails=1 fail_timeout=10s;`);
      return `upstream ${name} {\n${lines.join('\n')}\n}\n`;
    })
    .join('\n');
}

/** An nginx.conf like the official image's, with every path under `prefix` (an absolute directory). */
export function loopbackMainConf(prefix: string, options: { mimeTypes?: string } = {}): string {
  const mimeTypes = options.mimeTypes ?? '/etc/nginx/mime.types';
  return `# Generated for the loopback stack test; mirrors the nginx image's /etc/nginx/nginx.conf.
worker_processes 1;
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
    include ${mimeTypes};
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;

    client_body_temp_path ${prefix}/temp/client_body;
    proxy_temp_path ${prefix}/temp/proxy;
    fastcgi_temp_path ${prefix}/temp/fastcgi;
    uwsgi_temp_path ${prefix}/temp/uwsgi;
    scgi_temp_path ${prefix}/temp/scgi;

    include ${prefix}/upstreams.conf;
    include ${prefix}/conf.d/*.conf;
}
`;
}
