/**
 * Sends a web Request to `target` over an undici dispatcher: method, headers and a streamed body
 * kept, redirects handed back rather than followed (the caller relays answers, it does not browse).
 */
import { fetch as undiciFetch, type Dispatcher } from 'undici';

/** `signal`: the one `request` was made with, when the caller has it (see RemoteFetch: it is the one that surely aborts). */
export function relayFetch(target: string | URL, request: Request, dispatcher: Dispatcher, signal: AbortSignal = request.signal): Promise<Response> {
  const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
  return undiciFetch(target, {
    method: request.method,
    headers: [...request.headers],
    body: hasBody ? request.body : null,
    signal,
    redirect: 'manual',
    dispatcher,
    ...(hasBody ? { duplex: 'half' as const } : {}),
  });
}
