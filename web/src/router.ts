import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string[]; // decoded segments after "#/"
  query: URLSearchParams;
}

export function parseHash(hash = location.hash): Route {
  const h = hash.replace(/^#\/?/, '');
  const qi = h.indexOf('?');
  const p = qi >= 0 ? h.slice(0, qi) : h;
  const q = qi >= 0 ? h.slice(qi + 1) : '';
  const path = p.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { path, query: new URLSearchParams(q) };
}

// A page with unsaved work sets a guard: asked before the route changes, it returns
// false to stay (the address bar is put back).
let leaveGuard: (() => boolean) | null = null;
let shown = location.hash;
const routeListeners = new Set<() => void>();
window.addEventListener('hashchange', () => {
  if (leaveGuard && !leaveGuard()) {
    history.replaceState(null, '', shown || '#/');
    return;
  }
  shown = location.hash;
  routeListeners.forEach((fn) => fn());
});

/** Installs a guard asked before leaving the page; returns a function that removes it. */
export function setLeaveGuard(fn: () => boolean): () => void {
  leaveGuard = fn;
  return () => {
    if (leaveGuard === fn) leaveGuard = null;
  };
}

export function useRoute(): Route {
  const [r, setR] = useState(parseHash);
  useEffect(() => {
    const on = () => setR(parseHash());
    routeListeners.add(on);
    return () => void routeListeners.delete(on);
  }, []);
  return r;
}

/** Builds "#/a/b?x=y" with each segment encoded. */
export function href(segments: (string | number)[], query?: Record<string, string | undefined>): string {
  let s = '#/' + segments.map((x) => encodeURIComponent(String(x))).join('/');
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
    const qs = q.toString();
    if (qs) s += '?' + qs;
  }
  return s;
}

export function navigate(to: string, replace = false) {
  if (replace) {
    if (leaveGuard && !leaveGuard()) return;
    history.replaceState(null, '', to);
    shown = location.hash;
    routeListeners.forEach((fn) => fn());
  } else location.hash = to.replace(/^#/, '');
}
