// The signed-in token: in sessionStorage only (gone with the tab), never localStorage, a cookie or a URL.
import { useSyncExternalStore } from 'react';

const KEY = 'api-tokens.console.token';

export interface Session {
  /** The secret the console sends as its bearer token; undefined: signed out. */
  token: string | undefined;
  /** Why the person was signed out (the API's message), shown on the sign-in page. */
  reason: string | undefined;
}

let reason: string | undefined;
let snapshot: Session = { token: read(), reason };
const listeners = new Set<() => void>();

function read(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    // Storage refused (a sandboxed frame): the person signs in again on each load.
    return undefined;
  }
}

function publish() {
  snapshot = { token: read(), reason };
  for (const listener of listeners) listener();
}

export function currentToken(): string | undefined {
  return snapshot.token;
}

export function signIn(token: string) {
  sessionStorage.setItem(KEY, token);
  reason = undefined;
  publish();
}

/** Forgets the token; `why` is shown on the sign-in page (a 401's message). */
export function signOut(why?: string) {
  sessionStorage.removeItem(KEY);
  reason = why;
  publish();
}

export function useSession(): Session {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => snapshot,
  );
}
