/**
 * The application of a site started without `--app`: every request for it is answered 503 with a
 * Kubernetes Status naming the missing flag, instead of a dial to nowhere.
 */
import { inProcessLocalApp, type LocalApp } from './local-app.js';

export const noApplication: LocalApp = inProcessLocalApp(() =>
  Promise.resolve(
    Response.json(
      {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'this Cheops site has no local application: start it with --app <url> or --app standin',
        reason: 'ServiceUnavailable',
        code: 503,
      },
      { status: 503 },
    ),
  ),
);
