/**
 * The routes the front answers itself, as a Hono app (testable with `app.request()`, no socket):
 * `/livez`, `/readyz`, `/metrics`, the admin API under `/cheops/v1/` and the dashboard page.
 */
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Registry } from 'prom-client';
import { CheopsError, ErrorCode, errorMessage, type Logger } from '../../core/index.js';
import { errorResponse } from './errors.js';
import { processMetrics } from './metrics.js';

/** The node's own readiness: `true`, or a state with the reason it is not ready. */
export type Readiness = boolean | { readonly ready: boolean; readonly reason?: string };

/**
 * Says whether this node can serve. It must not depend on peers: a site cut off from all others
 * is still ready to serve its local users.
 */
export type ReadinessCheck = () => Readiness | Promise<Readiness>;

/** One admin handler: a Hono handler returning the answer. */
export type AdminHandler = (c: Context) => Response | Promise<Response>;

/**
 * The admin API under `/cheops/v1/`: either a Hono app whose routes are relative to `/cheops/v1`
 * (`app.get('/sites', …)`), or a map from `'METHOD /path'` (relative, with Hono's `:param`
 * syntax) to a handler, such as `{ 'GET /sites': (c) => c.json(sites()) }`.
 */
export type AdminRoutes = Hono | Readonly<Record<`${string} /${string}`, AdminHandler>>;

/** What the owned routes need. */
export interface OwnedRoutesDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly ready?: ReadinessCheck;
  readonly admin?: AdminRoutes;
  /** The dashboard page's HTML, made at each request. */
  readonly dashboard?: () => string | Promise<string>;
}

/** The prefix of the admin API. */
export const adminPrefix = '/cheops/v1';

/** The dashboard page. */
export const dashboardPath = '/cheops/dashboard';

/** Builds the Hono app of the owned routes. */
export function createOwnedRoutes(deps: OwnedRoutesDeps): Hono {
  const app = new Hono();
  // Plain `ok`, as the Kubernetes API server answers, so the same probes work against both.
  app.get('/livez', (c) => c.text('ok'));
  app.get('/readyz', async (c) => {
    const state = await readiness(deps.ready);
    if (state.ready) return c.text('ok');
    return c.text(`not ready${state.reason === undefined ? '' : `: ${state.reason}`}`, 503);
  });
  app.get('/metrics', async (c) => {
    // The site's metrics, then the process's (one registry per process, metrics.ts).
    const text = (await deps.registry.metrics()) + (await processMetrics().metrics());
    return c.body(text, 200, { 'content-type': deps.registry.contentType });
  });
  if (deps.admin !== undefined) app.route(adminPrefix, adminApp(deps.admin));
  const { dashboard } = deps;
  if (dashboard !== undefined) app.get(dashboardPath, async (c) => c.html(await dashboard(), 200, { 'cache-control': 'no-store' }));
  app.notFound((c) =>
    errorResponse(
      new CheopsError(ErrorCode.HttpNotFound, `no Cheops route for ${c.req.method} ${c.req.path}`, {
        details: { method: c.req.method, path: c.req.path },
      }),
    ),
  );
  app.onError((error, c) => {
    // Hono's own exceptions (a validator's 400) already carry the answer their thrower chose.
    if (error instanceof HTTPException) return error.getResponse();
    deps.logger.error({ method: c.req.method, path: c.req.path, error: errorMessage(error) }, 'owned route failed');
    return errorResponse(error);
  });
  return app;
}

async function readiness(check: ReadinessCheck | undefined): Promise<{ ready: boolean; reason?: string }> {
  if (check === undefined) return { ready: true };
  try {
    const result = await check();
    return typeof result === 'boolean' ? { ready: result } : result;
  } catch (error) {
    return { ready: false, reason: `readiness check failed: ${errorMessage(error)}` };
  }
}

function adminApp(admin: AdminRoutes): Hono {
  if (admin instanceof Hono) return admin;
  const app = new Hono();
  for (const [key, handler] of Object.entries(admin)) {
    const space = key.indexOf(' ');
    const method = key.slice(0, space).toUpperCase();
    const path = key.slice(space + 1);
    app.on(method, path, handler);
  }
  return app;
}
