// The generated client as the console uses it: the session's bearer token on every request, and a 401 signs out.
import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { client } from './generated/client.gen';
import type { Error as ApiError } from './generated/types.gen';
import { currentToken, signOut } from './session';

client.setConfig({ auth: () => currentToken() });

function isApiError(error: unknown): error is ApiError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as ApiError).code === 'number' &&
    typeof (error as ApiError).message === 'string'
  );
}

/** What to tell the person about a failed request: the API's own message, or why no answer came. */
export function messageOf(error: unknown): string {
  if (isApiError(error)) return error.message;
  if (error instanceof TypeError)
    return 'The server could not be reached. Check your connection and try again.';
  return error instanceof Error ? error.message : 'The server answered something unexpected.';
}

function onError(error: unknown) {
  // A 401 means the token is no longer good (expired, deleted, replaced): back to sign-in with the reason.
  if (isApiError(error) && error.code === 401) signOut(error.message);
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      // An error the API answered will answer the same again; only a lost connection is worth retrying.
      retry: (failures, error) => !isApiError(error) && failures < 2,
      refetchOnWindowFocus: false,
    },
  },
});
