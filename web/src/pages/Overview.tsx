import { useState } from "react";
import { Link } from "react-router";
import { useApi } from "../api/hooks";
import type { CatalogEntry, Deployment, Identity, Page, QueueEntry, Run, TeamQuota } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, TeamFilter, formatTime, useListParams } from "../components/lists";

/** The rollout phases in which a deployment is still moving (serving/deployments.py ACTIVE_PHASES). */
export const ACTIVE_PHASES = ["awaiting_approval", "shadow", "canary"];
const WEEK_MS = 7 * 24 * 3600 * 1000;
const RUN_OUTCOMES = ["succeeded", "failed", "queued"] as const;

/** One team at a glance: its models in production, rollouts in flight, drift, last week's runs, quota and queue. */
export default function Overview() {
  const list = useListParams({ sort: "name", filters: ["team"] });
  const me = useApi<Identity>("/me");
  const team = list.values.team || me.data?.teams[0] || "";
  return (
    <>
      <h1>Overview{team && ` — ${team}`}</h1>
      <div className="filters"><TeamFilter list={list} /></div>
      <div className="cards">
        <RunCounts team={team} />
        {team && <QuotaCard team={team} />}
        <QueueCard team={team} />
      </div>
      <ModelsTable team={team} />
    </>
  );
}

function RunCounts({ team }: { team: string }) {
  // A week back from when the page opened, so that re-renders share one cached query.
  const [since] = useState(() => new Date(Date.now() - WEEK_MS).toISOString());
  return (
    <section className="panel" aria-label="runs in the last week">
      <h2>Runs in the last 7 days</h2>
      <ul>
        {RUN_OUTCOMES.map((status) => <RunCount key={status} team={team} status={status} since={since} />)}
      </ul>
    </section>
  );
}

function RunCount({ team, status, since }: { team: string; status: string; since: string }) {
  const runs = useApi<Page<Run>>("/runs", { team, status, since, limit: 1 });
  const query = new URLSearchParams({ status, ...(team ? { team } : {}) }).toString();
  return (
    <li>
      <Link to={`/runs?${query}`}><StateBadge state={status} /></Link>{" "}
      {runs.error ? <span className="hint">unavailable: {runs.error.message}</span>
        : runs.data ? <strong>{runs.data.total}</strong> : "…"}
    </li>
  );
}

const QUOTA_ROWS = [["runs", "runs"], ["cpu", "CPUs"], ["memory", "memory"], ["gpus", "GPUs"], ["sweep_trials", "sweep trials"]] as const;

function QuotaCard({ team }: { team: string }) {
  const quota = useApi<TeamQuota>(`/teams/${encodeURIComponent(team)}/quota`);
  return (
    <section className="panel" aria-label="quota use">
      <h2>Quota use</h2>
      {quota.error ? <ErrorPanel error={quota.error} />
        : !quota.data ? <Loading what="the quota" />
          : (
            <ul>
              {QUOTA_ROWS.map(([key, label]) => {
                const used = quota.data.used[key];
                const limit = quota.data.limits[key];
                const show = key === "memory" ? formatBytes : (value: number) => String(value);
                return <li key={key}>{label}: <strong>{show(used)}</strong> of {limit === null ? "unlimited" : show(limit)}</li>;
              })}
              {quota.data.source === null && <li className="hint">No quota file: nothing limits the team.</li>}
            </ul>
          )}
    </section>
  );
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

function QueueCard({ team }: { team: string }) {
  const queue = useApi<Page<QueueEntry>>("/queue", { team, limit: 500 });
  return (
    <section className="panel" aria-label="quota queue">
      <h2>Waiting for quota</h2>
      {queue.error ? <ErrorPanel error={queue.error} />
        : !queue.data ? <Loading what="the queue" />
          : queue.data.total === 0 ? <p>No run is waiting: the team is within its quota.</p>
            : (
              <ul>
                {queue.data.items.map((entry) => (
                  <li key={entry.run_id}>
                    #{entry.position} <Link to={`/runs/${entry.run_id}`}>{entry.pipeline}</Link>
                    {entry.reason && <span className="hint"> — {entry.reason}</span>}
                  </li>
                ))}
              </ul>
            )}
    </section>
  );
}

function ModelsTable({ team }: { team: string }) {
  const models = useApi<Page<CatalogEntry>>("/models", { team, sort: "name", limit: 500 });
  const deployments = useApi<Page<Deployment>>("/deployments", { limit: 500 });
  if (models.error) return <ErrorPanel error={models.error} onRetry={() => models.refetch()} />;
  if (!models.data) return <Loading what="the team's models" />;
  if (models.data.total === 0) return <p>{team ? `Team ${team} owns no model yet.` : "No model is registered yet."}</p>;
  const byModel = new Map((deployments.data?.items ?? []).map((deployment) => [deployment.model, deployment]));
  return (
    <section aria-label="models">
      <h2>Models</h2>
      <table>
        <thead>
          <tr><th>Model</th><th>Production</th><th>Rollout in flight</th><th>Last drift</th><th>Updated</th></tr>
        </thead>
        <tbody>
          {models.data.items.map((model) => {
            const rollout = byModel.get(model.name)?.rollout;
            const phase = typeof rollout?.phase === "string" ? rollout.phase : null;
            return (
              <tr key={model.name}>
                <td><Link to={`/models/${encodeURIComponent(model.name)}`}>{model.name}</Link></td>
                <td>{model.production_version ? `v${model.production_version}` : "—"}</td>
                <td>{phase && ACTIVE_PHASES.includes(phase)
                  ? <><StateBadge state={phase} /> v{String(rollout?.version ?? "?")}</>
                  : deployments.error ? <span className="hint">unavailable</span> : "—"}</td>
                <td><StateBadge state={model.drift_severity} /> {model.drift_checked_at && <span className="hint">{formatTime(model.drift_checked_at)}</span>}</td>
                <td>{formatTime(model.updated_at)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
