import { useState } from "react";
import { Link, useParams } from "react-router";
import { useApi } from "../api/hooks";
import type { RunDetail as Run, Step } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { RunDag } from "../components/RunDag";
import { StateBadge, formatDuration, formatTime } from "../components/lists";
import { StepLog } from "../components/StepLog";
import { SweepTrials } from "../components/SweepTrials";

/** While a run may still change, its page polls this often (milliseconds). */
export const POLL_MS = 2000;
const LIVE = new Set(["pending", "queued", "running"]);

export default function RunDetail() {
  const { runId = "" } = useParams();
  const run = useApi<Run>(`/runs/${encodeURIComponent(runId)}`, {}, {
    refetchInterval: (data) => (data === undefined || LIVE.has(data.status) ? POLL_MS : false),
  });
  const [chosen, setChosen] = useState<string | null>(null);
  if (run.error) return <ErrorPanel error={run.error} onRetry={() => run.refetch()} />;
  if (!run.data) return <Loading what={`run ${runId}`} />;
  const data = run.data;
  const failed = data.steps.find((step) => step.state === "failed");
  const selected = data.steps.find((step) => step.name === chosen) ?? failed ?? null;
  const done = data.steps.filter((step) => ["succeeded", "skipped"].includes(step.state)).length;
  const hasSweep = data.steps.some((step) => step.kind === "sweep" && step.state === "succeeded");
  return (
    <>
      <h1>Run <code>{data.id.slice(0, 12)}</code> of {data.pipeline} <StateBadge state={data.status} /></h1>
      <section className="panel" aria-label="summary">
        <p>
          Created {formatTime(data.created_at)}{data.started_by && ` by ${data.started_by}`};
          {" "}started {formatTime(data.started_at)}; finished {formatTime(data.finished_at)}.
          {LIVE.has(data.status) && <> {done} of {data.steps.length} steps done; updating every {POLL_MS / 1000} s.</>}
        </p>
        {data.queue_position !== null && <p>Waiting for its team's quota: position {data.queue_position}.</p>}
        {data.model_name && data.model_version && (
          <p>Registered <Link to={`/models/${encodeURIComponent(data.model_name)}`}>{data.model_name}</Link> version {data.model_version}.</p>
        )}
        {data.error && <pre className="log" aria-label="run error">{data.error}</pre>}
        {data.resume_command && (
          <p>Resume it with: <code className="command">{data.resume_command}</code></p>
        )}
      </section>
      {data.steps.length === 0 ? <p>No step has started yet.</p> : (
        <>
          <RunDag steps={data.steps} selected={selected?.name ?? null} onSelect={setChosen} />
          <StepTable steps={data.steps} onSelect={setChosen} />
          {selected && <StepDetail runId={data.id} step={selected} />}
        </>
      )}
      {hasSweep && <SweepTrials runId={data.id} />}
    </>
  );
}

function StepTable({ steps, onSelect }: { steps: Step[]; onSelect: (name: string) => void }) {
  return (
    <table aria-label="steps">
      <thead><tr><th>Step</th><th>Kind</th><th>State</th><th>Duration</th><th>Cache</th><th>Attempts</th></tr></thead>
      <tbody>
        {steps.map((step) => (
          <tr key={step.name}>
            <td><button type="button" className="link" onClick={() => onSelect(step.name)}>{step.name}</button></td>
            <td>{step.kind}</td>
            <td><StateBadge state={step.state} /></td>
            <td>{formatDuration(step.duration_s)}</td>
            <td>{step.cache_hit ? "hit" : "—"}</td>
            <td>{step.attempts}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function StepDetail({ runId, step }: { runId: string; step: Step }) {
  return (
    <section className="panel" aria-label={`step ${step.name}`}>
      <h2>Step {step.name} <StateBadge state={step.state} /></h2>
      {step.error && <pre className="log" aria-label="step error">{step.error}</pre>}
      {step.state === "failed" && <StepLog key={step.name} runId={runId} step={step.name} />}
      <p>Started {formatTime(step.started_at)}, finished {formatTime(step.finished_at)}; cache key <code>{step.cache_key?.slice(0, 16) ?? "—"}</code>.</p>
      <h3>Outputs</h3>
      {Object.keys(step.outputs).length === 0 ? <p>None yet.</p> : (
        <ul>
          {Object.entries(step.outputs).map(([name, ref]) => (
            <li key={name}><code>{name}</code>: <code>{describeRef(ref)}</code></li>
          ))}
        </ul>
      )}
      {step.details && Object.keys(step.details).length > 0 && (
        <>
          <h3>Details</h3>
          <pre className="log">{JSON.stringify(step.details, null, 2)}</pre>
        </>
      )}
    </section>
  );
}

function describeRef(ref: unknown): string {
  if (ref && typeof ref === "object" && "digest" in ref) {
    const { digest, format } = ref as { digest: string; format?: string };
    return `${format ?? "artifact"} ${digest.slice(0, 16)}`;
  }
  return JSON.stringify(ref);
}
