import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { NetlogError } from '../errors.js';
import type { SessionRecord } from '../flow/session-record.js';
import { streamCsv } from '../store/session-query.js';
import type { ApiKeyEntry, ApiKeys } from './api-keys.js';
import { parseLogQuery } from './log-params.js';
import { Histogram, LATENCY_BOUNDS, renderMetrics, type MetricFamily, type MetricsSource } from './metrics.js';
import { FilterAttributeCache, liveLogPage, networkLogPage } from './network-logs.js';
import type { OrgDirectory } from './org-directory.js';
import type { StoreReader } from './store-reader.js';

export interface ApiOptions {
  reader: StoreReader;
  keys: ApiKeys;
  directory: OrgDirectory;
  /** Sessions open now; only the capture daemon has them. */
  live?: () => readonly SessionRecord[];
  /** More metrics for /metrics (the capture daemon's packets, flows, drops, flushes). */
  metrics?: MetricsSource;
  now?: () => Date;
}

type Env = { Variables: { key: ApiKeyEntry } };

/** Pangolin's response envelope. */
function envelope(c: Context, status: 200 | 400 | 401 | 403 | 404 | 500 | 503, data: unknown, message: string) {
  c.header('Cache-Control', 'no-store');
  return c.json({ data, success: status === 200, error: status !== 200, message, status }, status);
}

const STATUS_OF: Partial<Record<string, 400 | 500 | 503>> = {
  ERR_QUERY_INVALID: 400,
  ERR_CONFIG_INVALID: 400,
  ERR_QUERY_TIMEOUT: 503,
};

/** The folder of the table page: `web/` at the package root, from src/ or from dist/src/. */
function webDir(): string {
  for (const up of ['../../web/', '../../../web/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new NetlogError('ERR_CONFIG_INVALID', 'the web table files (web/index.html) are missing from the installation');
}

const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** File names carry the org id; anything but a safe set of characters becomes `_`. */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/**
 * The HTTP API and the table page. Every route but /healthz and the page's static files needs
 * `Authorization: Bearer <key>`; a key reads only its own org. Query strings are validated
 * (log-params.ts) and reach SQL only as bound parameters.
 */
export function createApiApp(opts: ApiOptions): Hono<Env> {
  const now = opts.now ?? (() => new Date());
  const app = new Hono<Env>();
  const requests = new Map<string, number>();
  const latency = new Map<string, Histogram>();
  const attributes = new FilterAttributeCache();

  const dir = webDir();
  const page = Object.fromEntries(Object.entries(PAGE_FILES).map(([route, file]) => [route, readFileSync(dir + file, 'utf8')]));

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath === '/*' ? 'other' : c.req.routePath;
    const key = `${route}\u0000${c.res.status}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    let h = latency.get(route);
    if (!h) latency.set(route, (h = new Histogram(LATENCY_BOUNDS)));
    h.observe((performance.now() - started) / 1000);
    c.header('X-Content-Type-Options', 'nosniff');
  });

  app.onError((e, c) => {
    if (e instanceof NetlogError) {
      const status = STATUS_OF[e.code] ?? 500;
      return envelope(c, status, null, status === 500 ? `${e.code}: ${e.message}` : e.message);
    }
    process.stderr.write(`netlog: API error on ${c.req.path}: ${(e as Error).stack ?? String(e)}\n`);
    return envelope(c, 500, null, 'internal error; the server log has the details');
  });
  app.notFound((c) => envelope(c, 404, null, `no route ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  for (const [route, text] of Object.entries(page)) {
    const type = CONTENT_TYPES[PAGE_FILES[route]!.split('.').pop()!]!;
    app.get(route, (c) => {
      c.header('Content-Security-Policy', "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
      return c.body(text, 200, { 'Content-Type': type });
    });
  }

  const authenticate = async (c: Context<Env>, next: () => Promise<void>) => {
    const header = c.req.header('Authorization');
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      c.header('WWW-Authenticate', 'Bearer realm="netlog"');
      return envelope(c, 401, null, 'missing Authorization: Bearer <key> header');
    }
    const entry = opts.keys.find(m[1]!);
    if (!entry) {
      c.header('WWW-Authenticate', 'Bearer realm="netlog", error="invalid_token"');
      return envelope(c, 401, null, 'API key not recognised');
    }
    c.set('key', entry);
    const orgId = c.req.param('orgId');
    if (orgId !== undefined && orgId !== entry.orgId) return envelope(c, 403, null, `this key reads org "${entry.orgId}", not "${orgId}"`);
    await next();
  };
  app.use('/v1/orgs', authenticate);
  app.use('/v1/org/:orgId/*', authenticate);
  app.use('/metrics', authenticate);

  app.get('/v1/orgs', (c) => envelope(c, 200, { orgs: [{ orgId: c.get('key').orgId }] }, 'orgs this key reads'));

  app.get('/v1/org/:orgId/logs/network', async (c) => {
    const filter = parseLogQuery(c.req.query(), c.req.param('orgId'), now());
    const data = await networkLogPage((work) => opts.reader.run(work), filter, opts.directory, attributes);
    return envelope(c, 200, data, 'Network logs retrieved successfully');
  });

  app.get('/v1/org/:orgId/logs/network/live', (c) => {
    if (!opts.live) return envelope(c, 404, null, 'live sessions come from a running capture: start it with `netlog capture --serve`');
    const filter = parseLogQuery(c.req.query(), c.req.param('orgId'), now(), false);
    return envelope(c, 200, liveLogPage(opts.live(), filter, opts.directory), 'Live sessions retrieved successfully');
  });

  app.get('/v1/org/:orgId/logs/network/export', (c) => {
    const orgId = c.req.param('orgId');
    const query = { ...c.req.query() };
    delete query.limit;
    delete query.offset;
    const { limit: _l, offset: _o, ...filter } = parseLogQuery(query, orgId, now());
    const pieces = opts.reader.stream((conn) => streamCsv(conn, filter));
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      // One DuckDB chunk per pull: the next is read only when the client has taken this one.
      async pull(controller) {
        try {
          const next = await pieces.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (e) {
          process.stderr.write(`netlog: export for org ${orgId} failed: ${(e as Error).message}\n`);
          controller.error(e);
        }
      },
      async cancel() {
        await pieces.return(undefined);
      },
    });
    const stamp = now().toISOString().replace(/[:.]/g, '-');
    return c.body(body, 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="network-logs-${safeName(orgId)}-${stamp}.csv"`,
      'Cache-Control': 'no-store',
    });
  });

  app.get('/metrics', (c) => {
    const families: MetricFamily[] = [
      {
        name: 'netlog_api_requests_total',
        help: 'API requests by route and status',
        type: 'counter',
        samples: [...requests].map(([k, value]) => {
          const [route, status] = k.split('\u0000');
          return { labels: { route: route!, status: status! }, value };
        }),
      },
      {
        name: 'netlog_api_request_seconds',
        help: 'API request latency by route',
        type: 'histogram',
        samples: [...latency].flatMap(([route, h]) => h.samples({ route })),
      },
      ...(opts.metrics?.() ?? []),
    ];
    return c.body(renderMetrics(families), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
  });

  return app;
}

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free port) until closed. */
export function startApi(app: Hono<Env>, host: string, port: number): Promise<RunningApi> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (e: Error) => reject(new NetlogError('ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}: ${e.message}`));
    server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      server.off('error', onError);
      const h = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${h}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', onError);
  });
}
