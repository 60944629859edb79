import { useEffect } from 'preact/hooks';
import { api, Execution, items } from '../api';
import { fmtTime } from '../format';
import { href } from '../router';
import { ErrorBox, useAsync } from '../ui';

/** Executions waiting for an answer to a this.message: "waiting for you". Hidden when there are none. */
export function WaitingList() {
  const { data, error, reload } = useAsync(
    () => api('/executions', { query: { status: 'WAITING', limit: 50 } }).then((b) => items<Execution>(b).filter((x) => x.message && typeof x.message === 'object')),
    [],
  );
  useEffect(() => {
    const t = setInterval(() => reload(), 10000);
    return () => clearInterval(t);
  }, [reload]);
  if (error) return <ErrorBox error={error} />;
  if (!data || data.length === 0) return null;
  return (
    <section class="waiting" aria-labelledby="waiting-title" data-testid="waiting">
      <h2 id="waiting-title">Waiting for you ({data.length})</h2>
      <ul>
        {data.map((x) => (
          <li>
            <a href={href(['executions', x.id])}>{x.message?.subject || 'A question'}</a> <span class="muted">— flow {x.name}, asked {fmtTime(x.message && (x.message as any).asked_at ? (x.message as any).asked_at : x.started_at ?? x.created_at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
