import { useState } from 'preact/hooks';
import { api, currentSession, items, ROLES } from '../api';
import { fmtTime } from '../format';
import { ErrorBox, Notice, useAsync } from '../ui';

interface User {
  username: string;
  role: string;
  source?: 'password' | 'oidc';
  disabled?: boolean;
  created_at?: string;
  updated_at?: string;
}

const enc = encodeURIComponent;

/** Users (admin): create, change the role, reset the password, disable, delete. */
export function UsersPage() {
  const { data, error, loading, reload } = useAsync(() => api('/users').then((b) => items<User>(b)), []);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('runner');
  const [msg, setMsg] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  const me = currentSession();

  const act = async (what: () => Promise<unknown>, done: string) => {
    setActionError(null);
    setMsg('');
    try {
      await what();
      setMsg(done);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    const u = username.trim();
    act(async () => {
      await api('/users', { method: 'POST', body: { username: u, password, role } });
      setUsername('');
      setPassword('');
    }, `Created user “${u}” (${role}).`);
  };
  const patch = (u: User, body: Record<string, unknown>, done: string) => act(() => api(`/users/${enc(u.username)}`, { method: 'PATCH', body }), done);
  const resetPassword = (u: User) => {
    const p = prompt(`New password for “${u.username}” (their sessions end):`);
    if (p) patch(u, { password: p }, `Password of “${u.username}” reset; their sessions ended.`);
  };
  const del = (u: User) => {
    if (!confirm(`Delete user “${u.username}”? Their sessions end; the audit log keeps their name.`)) return;
    act(() => api(`/users/${enc(u.username)}`, { method: 'DELETE' }), `Deleted user “${u.username}”.`);
  };

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <p class="muted">People sign in with a username and password (or single sign-on, when configured). Roles: admin (everything), editor (flows, connectors, run), runner (run and read executions), viewer (read only).</p>
      <form class="inline" onSubmit={create} aria-label="Create a user">
        <label>
          Username
          <input name="new-username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autocomplete="off" />
        </label>
        <label>
          Password
          <input name="new-password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required autocomplete="new-password" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create user</button>
      </form>
      {msg && <Notice kind="ok">{msg}</Notice>}
      <ErrorBox error={actionError} onClose={() => setActionError(null)} />
      <ErrorBox error={error} />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <div class="table-scroll">
          <table class="list" data-testid="users-table">
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Role</th>
                <th scope="col">Sign-in</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((u) => (
                <tr data-user={u.username}>
                  <td>
                    {u.username}
                    {me?.kind === 'user' && me.name === u.username ? <span class="muted"> (you)</span> : null}
                  </td>
                  <td>
                    <select aria-label={`Role of ${u.username}`} value={u.role} onChange={(e) => patch(u, { role: e.currentTarget.value }, `“${u.username}” is now ${e.currentTarget.value}.`)}>
                      {ROLES.map((r) => (
                        <option value={r}>{r}</option>
                      ))}
                    </select>
                  </td>
                  <td>{u.source === 'oidc' ? 'single sign-on' : 'password'}</td>
                  <td>{u.disabled ? <span class="badge bad">disabled</span> : <span class="badge ok">enabled</span>}</td>
                  <td>{fmtTime(u.created_at)}</td>
                  <td class="actions">
                    {u.source !== 'oidc' && (
                      <button class="secondary" onClick={() => resetPassword(u)} aria-label={`Reset the password of ${u.username}`}>
                        Reset password
                      </button>
                    )}{' '}
                    <button class="secondary" onClick={() => patch(u, { disabled: !u.disabled }, `“${u.username}” ${u.disabled ? 'enabled' : 'disabled; their sessions ended'}.`)} aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}>
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>{' '}
                    <button class="danger" onClick={() => del(u)} aria-label={`Delete ${u.username}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
              {data.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">
                    No users.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
