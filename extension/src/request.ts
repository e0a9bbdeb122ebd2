import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Where the server extension's routes live, below the server's base URL. */
export const API_NAMESPACE = 'blacklake/api';

/**
 * A failed API call: the HTTP status and the server's `{message, reason}` body.
 *
 * `status` is 0 when the server could not be reached at all. `missingExtension` is true when
 * the answer says the BlackLake server extension is not there (a 404 that is not one of ours).
 */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly body: { [key: string]: unknown } = {}
  ) {
    super(message);
    this.name = 'APIError';
  }

  get missingExtension(): boolean {
    return this.status === 404 && this.reason === 'MissingExtension';
  }

  /** Paths a merge conflicted on (409 answers of merges). */
  get conflicts(): string[] {
    const c = this.body['conflicts'];
    return Array.isArray(c) ? c.map(x => String(x)) : [];
  }
}

/**
 * Call the BlackLake server extension: the one place the frontend talks to the server.
 *
 * `ServerConnection.makeRequest` adds the token and XSRF header and respects the base URL.
 * A JSON error body `{message, reason}` becomes an `APIError`; a non-JSON 404 (the Jupyter
 * server answering for a route it does not know) becomes `reason: 'MissingExtension'`.
 *
 * @param endPoint path below `/blacklake/api/`, with its query string
 * @param init fetch options (method, body)
 * @param settings the app's `serviceManager.serverSettings`
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit,
  settings: ServerConnection.ISettings
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(
      `The Jupyter server could not be reached: ${String(
        (error as Error)?.message ?? error
      )}`,
      0,
      'NetworkError'
    );
  }
  const text = await response.text();
  let data: unknown = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) {
    const body =
      data !== null && typeof data === 'object'
        ? (data as { [key: string]: unknown })
        : {};
    const isOurs = typeof body['reason'] === 'string' && 'message' in body;
    if (response.status === 404 && !isOurs) {
      throw new APIError(
        'The BlackLake server extension is not enabled on this Jupyter server.',
        404,
        'MissingExtension'
      );
    }
    const message =
      typeof body['message'] === 'string' && body['message']
        ? (body['message'] as string)
        : `${response.status} ${response.statusText}`;
    const reason =
      typeof body['reason'] === 'string'
        ? (body['reason'] as string)
        : response.statusText;
    throw new APIError(message, response.status, reason, body);
  }
  if (data === undefined) {
    throw new APIError(
      `Invalid JSON from ${endPoint.split('?')[0]}`,
      response.status,
      'InvalidResponse'
    );
  }
  return data as T;
}
