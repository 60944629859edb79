import { useEffect, useState } from 'preact/hooks';
import { currentSession, errorText, hasRole, logout, onSessionChange, restoreSession, Role, signOut } from './api';
import { href, useRoute } from './router';
import { Login } from './pages/Login';
import { FlowsPage } from './pages/Flows';
import { FlowEditorPage } from './pages/FlowEditor';
import { ExecutionsPage } from './pages/Executions';
import { ExecutionPage } from './pages/Execution';
import { ConfigPage, configKinds } from './pages/Config';
import { ClientsPage } from './pages/Clients';
import { UsersPage } from './pages/Users';
import { AuditPage } from './pages/Audit';
import { SessionsPage } from './pages/Sessions';

// [route, title, the role the page needs]; pages a role cannot use are not listed.
const nav: [string, string, Role][] = [
  ['flows', 'Flows', 'viewer'],
  ['executions', 'Executions', 'viewer'],
  ...configKinds.map((k) => [k.kind, k.title, 'viewer'] as [string, string, Role]),
  ['clients', 'API clients', 'admin'],
  ['users', 'Users', 'admin'],
  ['audit', 'Audit', 'admin'],
];
const adminOnly = new Set(['clients', 'users', 'audit']);

let restored: Promise<void> | null = null;

export function App() {
  const [session, setSession] = useState(currentSession());
  const [ready, setReady] = useState(!!session);
  const [logoutError, setLogoutError] = useState<unknown>(null);
  const route = useRoute();
  // On a narrow screen the menu folds behind a button; following a link folds it again.
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route]);
  useEffect(() => onSessionChange(() => setSession(currentSession())), []);
  useEffect(() => {
    // A user's session is a cookie: ask the server whom it belongs to (after a reload, in a new tab).
    restored ??= restoreSession();
    restored.finally(() => setReady(true));
  }, []);
  useEffect(() => {
    // Without the secret (after a reload) the token cannot be renewed: sign out at expiry.
    if (!session || session.kind !== 'client' || !session.expiresAt) return;
    const t = setTimeout(() => {
      if (currentSession() === session) signOut('Your session has expired; sign in again.');
    }, Math.max(0, session.expiresAt! - Date.now()));
    return () => clearTimeout(t);
  }, [session]);

  if (!session && !ready) return <p class="muted loading-session">Loading…</p>;
  if (!session) return <Login />;

  const [section = 'flows', id] = route.path;
  let page;
  if (section === 'flows' && id) page = <FlowEditorPage key={id} name={id} query={route.query} />;
  else if (section === 'flows') page = <FlowsPage query={route.query} />;
  else if (section === 'executions' && id) page = <ExecutionPage key={id} id={id} />;
  else if (section === 'executions') page = <ExecutionsPage query={route.query} />;
  else if (adminOnly.has(section) && !hasRole('admin', session))
    page = (
      <p class="error" role="alert" data-testid="role-refused">
        This page is for admins. You are signed in as {session.name} with the role {session.role}; ask an admin if you need it.
      </p>
    );
  else if (section === 'clients') page = <ClientsPage />;
  else if (section === 'users') page = <UsersPage />;
  else if (section === 'audit') page = <AuditPage query={route.query} />;
  else if (section === 'sessions') page = <SessionsPage />;
  else {
    const kind = configKinds.find((k) => k.kind === section);
    page = kind ? <ConfigPage key={kind.kind} kind={kind} selected={id} /> : <p class="error">Unknown page “{section}”. <a href="#/flows">Go to flows</a></p>;
  }
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/flows">
          flowd
        </a>
        <button class="menu-toggle secondary" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <nav aria-label="Main" id="main-nav" class={menuOpen ? 'open' : ''}>
          {[...nav, ...(session.kind === 'user' ? [['sessions', 'Your sessions', 'viewer'] as [string, string, Role]] : [])].filter(([, , r]) => hasRole(r, session)).map(([k, t]) => (
            <a href={href([k])} aria-current={section === k ? 'page' : undefined}>
              {t}
            </a>
          ))}
        </nav>
        {session.kind === 'user' ? (
          <a class="who" href="#/sessions" title="Your sessions" data-testid="who">
            {session.name} ({session.role})
          </a>
        ) : (
          <span class="who" title="Signed-in API client" data-testid="who">
            {session.name}
            {session.role ? ` (${session.role})` : ''}
          </span>
        )}
        <button class="secondary" onClick={() => logout().catch(setLogoutError)}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {logoutError ? (
          <p class="error" role="alert">
            Could not sign out: {errorText(logoutError)}
          </p>
        ) : null}
        {page}
      </main>
    </div>
  );
}
