import { useEffect, useRef, useState } from 'preact/hooks';
import { signIn, takeNotice } from '../api';
import { ErrorBox, Notice } from '../ui';

export function Login() {
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice] = useState(takeNotice);
  const first = useRef<HTMLInputElement>(null);
  // autofocus is not honoured for elements inserted after load (a sign-out): focus here.
  useEffect(() => first.current?.focus(), []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(clientId.trim(), secret);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to flowd</h1>
        {notice && <Notice kind="warn">{notice}</Notice>}
        <label>
          Client ID
          <input name="client_id" autocomplete="username" required value={clientId} onInput={(e) => setClientId(e.currentTarget.value)} ref={first} />
        </label>
        <label>
          Client secret
          <input name="client_secret" type="password" autocomplete="current-password" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">Use an API client's id and secret. The first start of flowd prints the admin client's credentials.</p>
      </form>
    </main>
  );
}
