import { useEffect, useRef, useState } from 'preact/hooks';
import { Methods, signIn, signInMethods, signInUser, takeNotice } from '../api';
import { ErrorBox, Notice } from '../ui';

/**
 * The sign-in page: username and password by default, "Sign in with <provider>" when the
 * server has single sign-on configured (a plain link: the provider's page comes back to
 * the same address), and an API client's id and secret as the secondary way.
 */
export function Login() {
  const [mode, setMode] = useState<'user' | 'client'>('user');
  const [name, setName] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice] = useState(takeNotice);
  const [methods, setMethods] = useState<Methods | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    signInMethods().then(setMethods, () => setMethods({ password: true, oidc: null }));
  }, []);
  // autofocus is not honoured for elements inserted after load (a sign-out): focus here.
  useEffect(() => first.current?.focus(), [mode]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'user') await signInUser(name.trim(), secret);
      else await signIn(name.trim(), secret);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const switchTo = (m: 'user' | 'client') => {
    setMode(m);
    setName('');
    setSecret('');
    setError(null);
  };
  // The provider sends the browser back here; the hash (the page asked for) rides along.
  const returnTo = `/${location.hash}`;
  const sso = methods?.oidc;
  return (
    <main class="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to flowd</h1>
        {notice && <Notice kind="warn">{notice}</Notice>}
        {mode === 'user' ? (
          <>
            <label>
              Username
              <input name="username" autocomplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} ref={first} />
            </label>
            <label>
              Password
              <input name="password" type="password" autocomplete="current-password" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
            </label>
          </>
        ) : (
          <>
            <label>
              Client ID
              <input name="client_id" autocomplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} ref={first} />
            </label>
            <label>
              Client secret
              <input name="client_secret" type="password" autocomplete="current-password" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
            </label>
          </>
        )}
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {sso && (
          <a class="button secondary sso" href={`${sso.login_url}${sso.login_url.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(returnTo)}`}>
            Sign in with {sso.name || 'single sign-on'}
          </a>
        )}
        {mode === 'user' ? (
          <>
            <button type="button" class="link" onClick={() => switchTo('client')}>
              Sign in with an API client
            </button>
            <p class="muted small">The first start of flowd prints the admin user's password (and the admin API client's credentials).</p>
          </>
        ) : (
          <>
            <button type="button" class="link" onClick={() => switchTo('user')}>
              Sign in with a username and password
            </button>
            <p class="muted small">Use an API client's id and secret; the session then lasts for this tab only.</p>
          </>
        )}
      </form>
    </main>
  );
}
