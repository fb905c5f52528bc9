/**
 * The request head the raw path sends to the local application: the same rules as the node:http
 * passthrough (forward-headers.ts), applied to the head's text so that every header the client
 * sent passes in its original spelling, order and bytes, without a header object being built.
 */
import type { RequestHead } from './request-head.js';

/** Where the request came from, for the X-Forwarded-* headers. */
export interface ClientOrigin {
  readonly address: string | undefined;
  readonly encrypted: boolean;
}

/**
 * The head for the application: target prefixed with the application's base path, HTTP/1.1 (the
 * connection to the application is always persistent), hop-by-hop headers and those named in
 * `Connection` removed (`Transfer-Encoding` stays: a chunked body is relayed as it is), `Host`
 * kept as sent, `X-Forwarded-For` merged and extended with the client's address,
 * `X-Forwarded-Proto` and `X-Forwarded-Host` added unless an earlier proxy set them.
 */
export function upstreamRequestHead(head: RequestHead, targetPrefix: string, origin: ClientOrigin): string {
  const { text, dropLines } = head;
  let out = `${head.method} ${targetPrefix}${head.target} HTTP/1.1\r\n`;
  let from = head.fieldsStart;
  for (let i = 0; i < dropLines.length; i += 2) {
    out += text.slice(from, dropLines[i]);
    from = dropLines[i + 1] as number;
  }
  out += text.slice(from);
  const client = origin.address;
  const chain = head.forwardedFor;
  if (client !== undefined) out += `X-Forwarded-For: ${chain === undefined ? client : `${chain}, ${client}`}\r\n`;
  else if (chain !== undefined) out += `X-Forwarded-For: ${chain}\r\n`;
  if (!head.hasForwardedProto) out += origin.encrypted ? 'X-Forwarded-Proto: https\r\n' : 'X-Forwarded-Proto: http\r\n';
  if (!head.hasForwardedHost && head.host !== undefined) out += `X-Forwarded-Host: ${head.host}\r\n`;
  return `${out}\r\n`;
}
