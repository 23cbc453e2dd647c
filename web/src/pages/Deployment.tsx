import { useState } from "react";
import { Link, useParams } from "react-router";
import { useApi } from "../api/hooks";
import { useApiChange } from "../api/mutations";
import type { Arm, AuditEvent, DeploymentDetail, Fleet, Page, Permissions, Rollout, Version } from "../api/types";
import { ConfirmButton } from "../components/Confirm";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";
import { percent } from "../components/values";

/** The deployment page polls this often (milliseconds), so that shares and the rollout move as they change. */
export const DEPLOYMENT_POLL_MS = 1500;

/** A model's live traffic: arms and shares, the rollout against its SLOs, and the changes the caller may make. */
export default function Deployment() {
  const { model = "" } = useParams();
  const name = encodeURIComponent(model);
  const deployment = useApi<DeploymentDetail>(`/deployments/${name}`, {}, { refetchInterval: DEPLOYMENT_POLL_MS });
  const permissions = useApi<Permissions>(`/models/${name}/permissions`);
  if (deployment.error) return <ErrorPanel error={deployment.error} onRetry={() => deployment.refetch()} />;
  if (permissions.error) return <ErrorPanel error={permissions.error} onRetry={() => permissions.refetch()} />;
  if (!deployment.data || !permissions.data) return <Loading what={`the deployment of ${model}`} />;
  const data = deployment.data;
  return (
    <>
      <h1>Deployment of <Link to={`/models/${name}`}>{model}</Link></h1>
      <p className="hint">Revision {data.revision}, changed {formatTime(data.updated_at)}{data.updated_by && ` by ${data.updated_by}`};
        updating every {DEPLOYMENT_POLL_MS / 1000} s.</p>
      <Arms deployment={data} />
      <FleetFigures model={model} />
      {data.rollout && <RolloutProgress model={model} rollout={data.rollout} />}
      {data.load_failures.length > 0 && (
        <section className="panel error" aria-label="load failures">
          <h2>Versions that failed to load</h2>
          <ul>{data.load_failures.map((f) => <li key={f.version}>v{f.version}: {f.error}</li>)}</ul>
        </section>
      )}
      <Actions deployment={data} permissions={permissions.data} />
    </>
  );
}

function Arms({ deployment }: { deployment: DeploymentDetail }) {
  return (
    <section className="panel" aria-label="arms">
      <h2>Arms</h2>
      <div className="share-bar" aria-hidden="true">
        {deployment.arms.filter((arm) => arm.share).map((arm) => (
          <span key={arm.role} className={`share ${arm.role}`} style={{ width: `${(arm.share ?? 0) * 100}%` }}>
            {arm.role} {percent(arm.share)}
          </span>
        ))}
      </div>
      <table>
        <thead><tr><th>Role</th><th>Version</th><th>Share of traffic</th></tr></thead>
        <tbody>
          {deployment.arms.map((arm) => (
            <tr key={arm.role} data-role={arm.role}>
              <td>{arm.role}</td>
              <td><Link to={`/models/${encodeURIComponent(deployment.model)}/versions/${arm.version}`}>v{arm.version}</Link></td>
              <td className="share-value">{arm.share === null ? `mirrored (${percent(arm.weight)})` : percent(arm.share)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {deployment.routing_key && <p>Sticky by <code>{deployment.routing_key}</code>.</p>}
    </section>
  );
}

/** The live service levels every gateway measured, added up: what the stable watch judges. */
function FleetFigures({ model }: { model: string }) {
  const fleet = useApi<Fleet>(`/deployments/${encodeURIComponent(model)}/fleet`, {}, { refetchInterval: DEPLOYMENT_POLL_MS });
  if (fleet.error) return <ErrorPanel error={fleet.error} onRetry={() => fleet.refetch()} />;
  if (!fleet.data) return <Loading what="the live service levels" />;
  const arms = fleet.data.arms;
  return (
    <section className="panel" aria-label="live service levels">
      <h2>Live service levels</h2>
      {arms.length === 0 ? <p>No gateway has reported in the last {fleet.data.fresh_s} s (none serves the model, or it has no rollout plan to watch).</p> : (
        <table>
          <thead><tr><th>Arm</th><th>Version</th><th>Gateways</th><th>Requests</th><th>Error rate</th><th>p99 latency</th><th>Window</th></tr></thead>
          <tbody>
            {arms.map((arm) => (
              <tr key={arm.version} data-arm={arm.arm ?? "gone"}>
                <td>{arm.arm ?? "(left the deployment)"}</td><td>v{arm.version}</td><td>{arm.gateways}</td>
                <td className="fleet-requests">{arm.requests}</td>
                <td className="fleet-error-rate">{arm.error_rate === null ? "—" : percent(arm.error_rate)}</td>
                <td className="fleet-p99">{arm.p99_ms === null ? "—" : `${arm.p99_ms.toFixed(1)} ms`}</td>
                <td>{arm.window_s} s to {formatTime(arm.published_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface Measured { requests: number; errors: number; error_rate: number; p99_ms: number | null }

function RolloutProgress({ model, rollout }: { model: string; rollout: Rollout }) {
  const events = useApi<Page<AuditEvent>>("/audit", { model, sort: "-seq", limit: 50 }, { refetchInterval: DEPLOYMENT_POLL_MS });
  const steps = rollout.plan?.canary?.steps ?? [];
  const slo = rollout.plan?.slo ?? {};
  const step = rollout.step ?? 0;
  const last = events.data?.items.find((event) => (event.details as { measured?: { trial?: Measured } } | null)?.measured?.trial);
  const measured = (last?.details as { measured?: { trial?: Measured; stable?: Measured | null } } | undefined)?.measured;
  const dwell = rollout.phase === "shadow" ? rollout.plan?.shadow?.min_dwell_s : rollout.plan?.canary?.min_dwell_s;
  const elapsed = rollout.phase_started_at && events.dataUpdatedAt ? Math.max(0, events.dataUpdatedAt / 1000 - rollout.phase_started_at) : null;
  return (
    <section className="panel" aria-label="rollout">
      <h2>Rollout of v{rollout.version}: <StateBadge state={rollout.phase} /></h2>
      {steps.length > 0 && (
        <ol className="steps">
          {steps.map((weight, index) => (
            <li key={index} className={rollout.phase === "canary" && index === step ? "current"
              : (rollout.phase === "canary" && index < step) || rollout.phase === "completed" ? "done" : undefined}>
              {weight}%
            </li>
          ))}
        </ol>
      )}
      {dwell !== undefined && elapsed !== null && !["completed", "rolled_back"].includes(rollout.phase) && (
        <p>In this phase for {Math.round(elapsed)} s of at least {dwell} s.</p>
      )}
      {rollout.reason && <p>Why: {String(rollout.reason)}</p>}
      <table aria-label="service levels">
        <thead><tr><th>SLO</th><th>Limit</th><th>Last measured (trial)</th><th>Stable</th></tr></thead>
        <tbody>
          <tr><td>Error rate</td><td>≤ {percent(slo.max_error_rate)}</td><td>{percent(measured?.trial?.error_rate)}</td><td>{percent(measured?.stable?.error_rate)}</td></tr>
          <tr><td>p99 latency</td><td>{slo.max_p99_latency_ms ? `≤ ${slo.max_p99_latency_ms} ms` : "—"}</td>
            <td>{measured?.trial?.p99_ms != null ? `${measured.trial.p99_ms} ms` : "—"}</td>
            <td>{measured?.stable?.p99_ms != null ? `${measured.stable.p99_ms} ms` : "—"}</td></tr>
          <tr><td>Prediction shift</td><td>{slo.max_prediction_shift ? `≤ ${slo.max_prediction_shift}` : "—"}</td><td colSpan={2}>judged on the gateway against the stable arm's labels</td></tr>
          <tr><td>Requests</td><td>≥ {slo.min_requests ?? "—"} before judging</td><td>{measured?.trial?.requests ?? "—"}</td><td>{measured?.stable?.requests ?? "—"}</td></tr>
        </tbody>
      </table>
      {last && <p className="hint">Measured at {formatTime(last.time)} by {last.actor}.</p>}
    </section>
  );
}

function refusal(permissions: Permissions, operation: string): string | null {
  const verdict = permissions.operations[operation];
  return verdict === undefined ? `the server did not say whether you may ${operation}` : verdict.allowed ? null : verdict.reason;
}

function Actions({ deployment, permissions }: { deployment: DeploymentDetail; permissions: Permissions }) {
  const name = encodeURIComponent(deployment.model);
  const versions = useApi<Page<Version>>(`/models/${name}/versions`, { limit: 500 });
  const deploy = useApiChange(`/deployments/${name}`);
  const rollback = useApiChange(`/deployments/${name}/rollback`);
  const rolling = deployment.rollout && deployment.rollout.phase === "awaiting_approval" ? deployment.rollout.version : null;
  const approve = useApiChange(`/models/${name}/versions/${rolling ?? "0"}/approve`);
  const stable = deployment.arms.find((arm) => arm.role === "stable");
  const canary = deployment.arms.find((arm) => arm.role === "canary");
  const candidates = (versions.data?.items ?? []).filter((v) => !["rejected", "archived"].includes(v.state) && v.version !== stable?.version);
  const [version, setVersion] = useState("");
  const [strategy, setStrategy] = useState("canary");
  const [share, setShare] = useState(10);
  const chosen = version || candidates[0]?.version || "";
  const newest = canary ?? deployment.arms.find((arm) => arm.role === "ab" || arm.role === "shadow");
  const latestChange = deployment.rollout && !["completed", "rolled_back"].includes(deployment.rollout.phase)
    ? `stops the rollout of v${deployment.rollout.version} and sends all traffic to the stable arm`
    : newest ? `removes the ${newest.role} arm (v${newest.version}) and sends all traffic to v${stable?.version}`
      : `puts the previous production version back in place of v${stable?.version}`;
  return (
    <section className="panel" aria-label="actions">
      <h2>Actions <span className="hint">as {permissions.identity}{permissions.team && `, on team ${permissions.team}'s model`}</span></h2>
      <div className="action-row">
        <label>Version <select value={chosen} onChange={(event) => setVersion(event.target.value)}>
          {candidates.map((v) => <option key={v.version} value={v.version}>v{v.version} ({v.state})</option>)}
        </select></label>
        <label>Strategy <select value={strategy} onChange={(event) => setStrategy(event.target.value)}>
          {["canary", "blue-green", "ab", "shadow", "rollout"].map((s) => <option key={s}>{s}</option>)}
        </select></label>
        {["canary", "ab", "shadow"].includes(strategy) && (
          <label>Percent <input type="number" min={0} max={100} value={share} onChange={(event) => setShare(Number(event.target.value))} /></label>
        )}
        <ConfirmButton label="Deploy" refusal={chosen ? refusal(permissions, strategy === "blue-green" ? "deploy.production" : "deploy.canary") : "no version to deploy"}
          busy={deploy.isPending} error={deploy.error}
          change={<p>{strategy === "blue-green" ? `All traffic moves from v${stable?.version ?? "—"} to v${chosen}, which becomes production.`
            : strategy === "rollout" ? `v${chosen} starts the rollout the pipeline's plan describes (canary steps ${deployment.rollout?.plan?.canary?.steps?.join("% → ") ?? "from the spec"}).`
              : `v${chosen} gets ${share}% of traffic as the ${strategy} arm${strategy === "shadow" ? " (mirrored, answers not returned)" : `; v${stable?.version ?? "—"} keeps ${100 - share}%`}.`}</p>}
          onConfirm={(reason) => deploy.mutate({ version: chosen, strategy, percent: ["canary", "ab", "shadow"].includes(strategy) ? share : undefined, reason: reason || undefined })} />
      </div>
      {canary && stable && (
        // keyed by the arm's weight: when the share changes (a rollout step, another client), the input starts
        // again from the new share instead of keeping the one it was first rendered with
        <CanaryShare key={`${canary.version}:${canary.weight}`} model={deployment.model} canary={canary} stable={stable}
          rolling={deployment.rollout !== null} refusal={refusal(permissions, "traffic.set")} />
      )}
      {rolling && (
        <div className="action-row">
          <ConfirmButton label={`Approve v${rolling}`} refusal={refusal(permissions, "lifecycle.approve")} busy={approve.isPending} error={approve.error}
            change={<p>v{rolling} is approved for production, and the rollout moves to its first phase.</p>}
            onConfirm={(reason) => approve.mutate({ reason: reason || undefined })} />
        </div>
      )}
      <div className="action-row">
        <ConfirmButton label="Roll back" needsReason refusal={stable ? refusal(permissions, "rollback") : "nothing is deployed"}
          busy={rollback.isPending} error={rollback.error} change={<p>This {latestChange}.</p>}
          onConfirm={(reason) => rollback.mutate({ reason })} />
      </div>
    </section>
  );
}

function CanaryShare({ model, canary, stable, rolling, refusal }:
{ model: string; canary: Arm; stable: Arm; rolling: boolean; refusal: string | null }) {
  const traffic = useApiChange(`/deployments/${encodeURIComponent(model)}/traffic`, "PUT");
  const [canaryShare, setCanaryShare] = useState(Math.round(canary.weight * 100));
  return (
    <div className="action-row">
      <label>Canary share (%) <input type="number" min={0} max={100} value={canaryShare} aria-label="canary share"
        onChange={(event) => setCanaryShare(Number(event.target.value))} /></label>
      <ConfirmButton label="Set traffic" refusal={refusal} busy={traffic.isPending} error={traffic.error}
        change={<p>The canary v{canary.version} goes from {percent(canary.share)} to {canaryShare}% of traffic; the stable v{stable.version} gets {100 - canaryShare}%.
          {rolling && " The rollout in flight is cancelled."}</p>}
        onConfirm={(reason) => traffic.mutate({ canary: { version: canary.version, percent: canaryShare }, reason: reason || undefined })} />
    </div>
  );
}
