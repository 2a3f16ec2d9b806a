// The client's one door to the server. Every call goes through `api()`, which
// turns every way a request can fail into an ApiError with a sentence a person
// can read: no network, an expired session, an RFC 9457 problem, or an endpoint
// this server does not offer (yet).

export class ApiError extends Error {
  constructor({ status = 0, type = 'about:blank', title, detail, kind = 'problem', instance } = {}) {
    super(detail || title || 'Something went wrong.');
    this.status = status;
    this.type = type;
    this.title = title || 'Something went wrong';
    this.detail = detail || '';
    this.kind = kind; // problem | network | unavailable | unauthorized
    this.instance = instance;
  }

  // The sentence to show a person.
  get readable() {
    if (this.kind === 'network') return "Can't reach Sovereel. Check your connection and try again.";
    if (this.kind === 'unavailable') return 'This is not available on this server yet.';
    if (this.detail && this.title && !this.detail.startsWith(this.title)) return `${this.title}: ${this.detail}`;
    return this.detail || this.title;
  }
}

let onUnauthorized = () => {};

// The app decides what an expired session means (back to the login screen).
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function isJson(response) {
  const type = response.headers.get('content-type') || '';
  return /\bjson\b/i.test(type);
}

async function problemFrom(response, fixedPath) {
  let body = null;
  if (isJson(response)) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  // A route the server does not have answers 404/405/501 without a problem body
  // (or, behind the SPA fallback, with the HTML page itself).
  // On a path without ids (such as /v1/transparency), a 404 can only mean that
  // the route itself is missing, whatever the body says.
  if ((!body || fixedPath) && [404, 405, 501].includes(response.status)) {
    return new ApiError({ status: response.status, kind: 'unavailable', title: 'Not available yet' });
  }
  return new ApiError({
    status: response.status,
    type: body?.type || 'about:blank',
    title: body?.title || response.statusText || `Error ${response.status}`,
    detail: body?.detail || (response.status >= 500 ? 'The server had a problem. Please try again in a moment.' : ''),
    instance: body?.instance,
    kind: response.status === 401 ? 'unauthorized' : 'problem',
  });
}

/**
 * Calls the API. `body` objects are sent as JSON, FormData as multipart.
 * Options: `auth` (default true) says whether a 401 means the session expired;
 * `fixedPath` says the path names no resource, so a 404 means "no such endpoint";
 * `anonymous` sends no session, to see what a visitor would.
 */
export async function api(path, { method = 'GET', body, auth = true, raw = false, signal, keepalive, fixedPath = false, anonymous = false } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, body: payload, headers, credentials: anonymous ? 'omit' : 'same-origin', signal, keepalive });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError({ kind: 'network', title: 'Offline' });
  }
  if (!response.ok) {
    const error = await problemFrom(response, fixedPath);
    if (error.kind === 'unauthorized' && auth) onUnauthorized(error);
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  if (!isJson(response)) {
    // The SPA fallback answered: the server has no such endpoint.
    const type = response.headers.get('content-type') || '';
    if (type.includes('text/html')) throw new ApiError({ status: 404, kind: 'unavailable', title: 'Not available yet' });
    return null;
  }
  try {
    return await response.json();
  } catch {
    throw new ApiError({ status: response.status, title: 'Unreadable answer', detail: 'The server sent a response the app could not read.' });
  }
}

// Messages for the whole page: shown where the content would have been.
export function describe(error) {
  if (error instanceof ApiError) return error.readable;
  return error?.message ? `Something went wrong: ${error.message}` : 'Something went wrong.';
}
