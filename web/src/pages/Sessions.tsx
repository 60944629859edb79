import { api, items } from '../api';
import { fmtTime } from '../format';
import { ErrorBox, useAsync } from '../ui';
import { useState } from 'preact/hooks';

interface SessionRow {
  id: string;
  created_at?: string;
  last_seen_at?: string;
  expires_at?: string;
  address?: string;
  user_agent?: string;
  current?: boolean;
}

/** The signed-in user's own sessions (browsers signed in), each revocable. */
export function SessionsPage() {
  const { data, error, loading, reload } = useAsync(() => api('/auth/sessions').then((b) => items<SessionRow>(b)), []);
  const [actionError, setActionError] = useState<unknown>(null);
  const revoke = async (s: SessionRow) => {
    if (!confirm(s.current ? 'Revoke this session? You will be signed out here.' : 'Revoke this session? That browser is signed out at its next request.')) return;
    setActionError(null);
    try {
      await api(`/auth/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Your sessions</h1>
      <p class="muted">Each browser you signed in from. Revoking one signs that browser out.</p>
      <ErrorBox error={actionError} onClose={() => setActionError(null)} />
      <ErrorBox error={error} />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <div class="table-scroll">
          <table class="list" data-testid="sessions-table">
            <thead>
              <tr>
                <th scope="col">Signed in</th>
                <th scope="col">Last seen</th>
                <th scope="col">Expires</th>
                <th scope="col">Address</th>
                <th scope="col">Browser</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((s) => (
                <tr data-current={s.current ? 'true' : undefined}>
                  <td>
                    {fmtTime(s.created_at)}
                    {s.current && <span class="badge ok">this one</span>}
                  </td>
                  <td>{fmtTime(s.last_seen_at)}</td>
                  <td>{fmtTime(s.expires_at)}</td>
                  <td class="mono">{s.address}</td>
                  <td class="small">{s.user_agent}</td>
                  <td>
                    <button class="danger" onClick={() => revoke(s)}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
