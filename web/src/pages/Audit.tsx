import { useApi } from "../api/hooks";
import type { AuditEvent, Chain, Page } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { PAGE_SIZE, Pager, SortHeader, TeamFilter, TextFilter, formatTime, useListParams } from "../components/lists";

const FILTERS = ["team", "model", "action", "actor", "since"];

/** The hash-chained audit log, filterable, with the chain's verification. */
export default function Audit() {
  const list = useListParams({ sort: "-seq", filters: FILTERS });
  const events = useApi<Page<AuditEvent>>("/audit", { ...list.values, sort: list.sort, offset: list.offset, limit: PAGE_SIZE });
  return (
    <>
      <h1>Audit log</h1>
      <ChainStatus />
      <div className="filters">
        <TeamFilter list={list} />
        <TextFilter list={list} name="model" label="Model" />
        <TextFilter list={list} name="action" label="Action" placeholder="e.g. promote" />
        <TextFilter list={list} name="actor" label="Actor" />
        <label>
          Since
          <input type="datetime-local" value={list.values.since}
            onChange={(event) => list.update({ since: event.target.value })} />
        </label>
      </div>
      {events.error ? <ErrorPanel error={events.error} onRetry={() => events.refetch()} />
        : !events.data ? <Loading what="the audit log" />
          : events.data.total === 0 ? <p>No event matches these filters.</p>
            : (
              <>
                <table>
                  <thead>
                    <tr>
                      <SortHeader field="seq" label="#" list={list} />
                      <th>Time</th><th>Actor</th><th>Action</th><th>Model</th><th>Change</th><th>Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {events.data.items.map((event) => (
                      <tr key={event.seq}>
                        <td title={event.hash}>{event.seq}</td>
                        <td>{formatTime(event.time)}</td>
                        <td>{event.actor}{event.authenticated === false && <span className="hint"> (unauthenticated)</span>}</td>
                        <td>{event.action}</td>
                        <td>{event.model ? `${event.model}${event.version ? ` v${event.version}` : ""}` : "—"}</td>
                        <td>{event.from_state || event.to_state ? `${event.from_state ?? "—"} → ${event.to_state ?? "—"}` : "—"}</td>
                        <td>{event.reason ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <Pager page={events.data} list={list} />
              </>
            )}
    </>
  );
}

function ChainStatus() {
  const chain = useApi<Chain>("/audit/verify");
  if (chain.error) return <ErrorPanel error={chain.error} onRetry={() => chain.refetch()} />;
  if (!chain.data) return <Loading what="the chain's verification" />;
  const { ok, summary, anchored, unanchored_events: unanchored, first_bad_seq: firstBad } = chain.data;
  return (
    <section className={`panel${ok ? "" : " error"}`} aria-label="chain verification">
      <h2>{ok ? "Chain verified" : "Chain broken"}</h2>
      <p>{summary}</p>
      {!ok && firstBad !== null && <p>The first bad event is #{firstBad}.</p>}
      {ok && !anchored && <p className="hint">No signing key is configured: only the chain itself was checked.</p>}
      {ok && anchored && unanchored > 0 && <p className="hint">{unanchored} events are after the newest checkpoint.</p>}
    </section>
  );
}
