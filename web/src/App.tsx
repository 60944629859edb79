import { useEffect, useState } from 'preact/hooks';
import { currentSession, onSessionChange, signOut } from './api';
import { href, useRoute } from './router';
import { Login } from './pages/Login';
import { FlowsPage } from './pages/Flows';
import { FlowEditorPage } from './pages/FlowEditor';
import { ExecutionsPage } from './pages/Executions';
import { ExecutionPage } from './pages/Execution';
import { ConfigPage, configKinds } from './pages/Config';
import { ClientsPage } from './pages/Clients';

const nav: [string, string][] = [
  ['flows', 'Flows'],
  ['executions', 'Executions'],
  ...configKinds.map((k) => [k.kind, k.title] as [string, string]),
  ['clients', 'API clients'],
];

export function App() {
  const [session, setSession] = useState(currentSession());
  const route = useRoute();
  // On a narrow screen the menu folds behind a button; following a link folds it again.
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route]);
  useEffect(() => onSessionChange(() => setSession(currentSession())), []);
  useEffect(() => {
    // Without the secret (after a reload) the token cannot be renewed: sign out at expiry.
    if (!session) return;
    const t = setTimeout(() => {
      if (currentSession() === session) signOut('Your session has expired; sign in again.');
    }, Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(t);
  }, [session]);

  if (!session) return <Login />;

  const [section = 'flows', id] = route.path;
  let page;
  if (section === 'flows' && id) page = <FlowEditorPage key={id} name={id} query={route.query} />;
  else if (section === 'flows') page = <FlowsPage query={route.query} />;
  else if (section === 'executions' && id) page = <ExecutionPage key={id} id={id} />;
  else if (section === 'executions') page = <ExecutionsPage query={route.query} />;
  else if (section === 'clients') page = <ClientsPage />;
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
          {nav.map(([k, t]) => (
            <a href={href([k])} aria-current={section === k ? 'page' : undefined}>
              {t}
            </a>
          ))}
        </nav>
        <span class="who" title="Signed-in API client">
          {session.clientId}
        </span>
        <button class="secondary" onClick={() => signOut('')}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
