import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * The storefront's stylesheet and script, read once at setup. Their URLs carry a digest of their
 * content, so browsers keep them for a year and still fetch the new ones after an upgrade.
 * `npm run build` copies the folder next to the compiled code.
 */
export interface Asset {
  path: string;
  body: string;
  type: string;
  etag: string;
}

export interface StoreAssets {
  stylesheet: Asset;
  script: Asset;
  byPath: Map<string, Asset>;
}

async function asset(file: string, type: string): Promise<Asset> {
  const body = await readFile(new URL(`./assets/${file}`, import.meta.url), 'utf8');
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  const [name, extension] = file.split('.');
  return { path: `/assets/${name}.${digest}.${extension}`, body, type, etag: `"${digest}"` };
}

export async function loadAssets(): Promise<StoreAssets> {
  const stylesheet = await asset('store.css', 'text/css; charset=utf-8');
  const script = await asset('store.js', 'text/javascript; charset=utf-8');
  return { stylesheet, script, byPath: new Map([stylesheet, script].map((a) => [a.path, a])) };
}
