// A small history-based router: every page has a URL under /console/, and the back button works.
import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useSyncExternalStore } from 'react';

export const BASE = '/console';

const listeners = new Set<() => void>();
let current = location.pathname + location.search;
/** Asks before leaving a page (a secret not yet copied); returns whether to leave. */
let blocker: (() => boolean) | undefined;

function publish() {
  current = location.pathname + location.search;
  for (const listener of listeners) listener();
}

addEventListener('popstate', () => {
  const target = location.pathname + location.search;
  if (blocker !== undefined && target !== current && !blocker()) {
    // The browser has already moved; put the page the person stays on back on top.
    history.pushState(null, '', current);
    return;
  }
  publish();
});

export function navigate(to: string, { replace = false } = {}) {
  const target = to.startsWith(BASE) ? to : BASE + to;
  if (target === current) return;
  if (blocker !== undefined && !blocker()) return;
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  publish();
  scrollTo(0, 0);
}

/** The path under /console (always starting with /) and the query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const url = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
  const [pathname = '', search = ''] = url.split('?');
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) || '/' : pathname;
  return { path: path.length > 1 ? path.replace(/\/$/, '') : path, query: new URLSearchParams(search) };
}

/** While `when` holds, leaving the page (a link, back, closing the tab) asks `message` first. */
export function useLeaveConfirmation(when: boolean, message: string) {
  useEffect(() => {
    if (!when) return;
    const ask = () => confirm(message);
    const onBeforeUnload = (event: BeforeUnloadEvent) => event.preventDefault();
    blocker = ask;
    addEventListener('beforeunload', onBeforeUnload);
    return () => {
      if (blocker === ask) blocker = undefined;
      removeEventListener('beforeunload', onBeforeUnload);
    };
  }, [when, message]);
}

/** A link to a page of the console; a plain <a>, so it opens in a new tab and works from the keyboard. */
export function Link({ to, ...props }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const href = BASE + to;
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a {...props} href={href} onClick={onClick} />;
}

/** The query string for a page: empty values left out. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const search = query.toString();
  return search === '' ? path : `${path}?${search}`;
}
