/**
 * The console's one HTML page and its bundled script and style sheet (built by `npm run build` from
 * `web/` into `dist/web/`), served with a strict Content Security Policy: scripts and styles only from
 * this origin, no inline code, pictures only from this origin or the page's own canvas.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { HttpResponseInit } from '@azure/functions';

export const CONSOLE_PATH = '/api/console';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  // Another site's page may not embed the console's pictures or answers (an <img> needs no CORS).
  'cross-origin-resource-policy': 'same-origin',
};

/** The tab's icon, inline (the CSP allows data: pictures): no request, so no 404 for /favicon.ico either. */
const ICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4e79"/>' +
    '<rect x="6" y="8" width="20" height="16" rx="2" fill="#fff"/><circle cx="21" cy="13" r="3" fill="#f2b134"/>' +
    '<path d="M6 24l7-8 5 6 3-3 5 5z" fill="#2e8b57"/></svg>',
)}`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imagegen-pipeline console</title>
<link rel="icon" href="${ICON}">
<link rel="stylesheet" href="${CONSOLE_PATH}/console.css">
<script type="module" src="${CONSOLE_PATH}/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="bar">
  <span class="brand">imagegen-pipeline</span>
  <nav aria-label="Console">
    <a href="#/jobs">Jobs</a>
    <a href="#/new">New edit</a>
    <a href="#/quarantine">Quarantine</a>
    <a href="#/operations">Operations</a>
  </nav>
  <span id="viewer" class="viewer"></span>
  <button type="button" id="signout" class="signout" hidden>Sign out</button>
</header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<noscript><p>The console needs JavaScript.</p></noscript>
</body>
</html>
`;

export function pageResponse(): HttpResponseInit {
  return { status: 200, body: PAGE, headers: { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' } };
}

const ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/**
 * The bundle's folder, `dist/web/`, seen from where this module runs: a chunk of the packaged app
 * (`dist/app/chunks/`), the compiled functions (`dist/shared/adapters/http/`), or the sources (tests).
 */
function assetDir(): URL {
  const candidates = ['../../web/', '../../../web/', '../../../dist/web/'].map((dir) => new URL(dir, import.meta.url));
  return candidates.find((dir) => existsSync(new URL('console.js', dir))) ?? candidates[0]!;
}

export async function assetResponse(file: string): Promise<HttpResponseInit> {
  const type = ASSETS[file];
  if (!type) return { status: 404, jsonBody: { error: `no console asset ${file}` } };
  try {
    const body = await readFile(new URL(file, assetDir()));
    return { status: 200, body, headers: { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache' } };
  } catch {
    return { status: 503, jsonBody: { error: `the console's ${file} is not built: run npm run build` } };
  }
}
