import { type HttpError, toHttpError } from '../errors.js';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** A JSON response with the library's standard headers. @internal */
export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
  });
}

/** The one place where a thrown error becomes an HTTP response. @internal */
export function errorResponse(error: unknown, extraHeaders?: Record<string, string>): Response {
  const http: HttpError = toHttpError(error);
  return jsonResponse(http.status, http.body, { ...http.headers, ...extraHeaders });
}
