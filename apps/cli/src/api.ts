// Calls to the API through the generated client, their failures turned into the CLI's exit codes.
import { type Client, createClient } from '@api-tokens/client';
import { CliError, EXIT } from './errors.js';

/** The client for the server at `url` (the API lives under /v2), sending `token`. */
export function apiClient(url: string, token: string): Client {
  return createClient({ baseUrl: `${url}/v2`, auth: token });
}

/** A client that sends no token, for the operations anyone may call (POST /v2/tokens/leaked). */
export function anonymousClient(url: string): Client {
  return createClient({ baseUrl: `${url}/v2` });
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** What the API said went wrong: its `{code, message}` body's message, or what it sent instead. */
function describe(error: unknown, response: Response): string {
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return (error as { message: string }).message;
  }
  const text = typeof error === 'string' ? error.trim() : '';
  return text === '' ? `the server answered ${response.status} ${response.statusText}` : text.slice(0, 200);
}

/**
 * The answer's data and response, or a CliError: exit 4 for 401 and 403, 1 for any other refusal
 * and for a server that cannot be reached.
 */
export async function expectSuccess<T>(
  url: string,
  call: Promise<Answer<T>>,
): Promise<{ data: T; response: Response }> {
  const { data, error, response } = await call;
  if (response === undefined) {
    const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    throw new CliError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? String(error)}`);
  }
  if (!response.ok) {
    const retry = response.headers.get('retry-after');
    const message = `${describe(error, response)} (HTTP ${response.status}${retry === null ? '' : `; retry after ${retry} s`})`;
    throw new CliError(
      message,
      response.status === 401 || response.status === 403 ? EXIT.auth : EXIT.failure,
    );
  }
  return { data: data as T, response };
}
