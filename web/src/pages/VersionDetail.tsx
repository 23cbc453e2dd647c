import { Link, useParams } from "react-router";
import { ApiError } from "../api/client";
import { useApi } from "../api/hooks";
import type { Card, DeploymentDetail, GateReport, Lineage, Page, VersionDetail as Detail } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { FlowGraph, shortDigest, type GraphNode } from "../components/Graph";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";
import { formatValue } from "../components/values";

/** One version: its state and history, gate results, model card, and lineage from data file to deployments. */
export default function VersionDetail() {
  const { model = "", version = "" } = useParams();
  const base = `/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`;
  const detail = useApi<Detail>(base);
  if (detail.error) return <ErrorPanel error={detail.error} onRetry={() => detail.refetch()} />;
  if (!detail.data) return <Loading what={`${model} version ${version}`} />;
  return (
    <>
      <h1><Link to={`/models/${encodeURIComponent(model)}`}>{model}</Link> version {version} <StateBadge state={detail.data.state} /></h1>
      <section className="panel" aria-label="history">
        <h2>History</h2>
        {detail.data.history.length === 0 ? <p>No recorded change yet.</p> : (
          <table>
            <thead><tr><th>When</th><th>Who</th><th>Action</th><th>From</th><th>To</th><th>Reason</th></tr></thead>
            <tbody>
              {detail.data.history.map((event) => (
                <tr key={event.seq}>
                  <td>{formatTime(event.time)}</td><td>{event.actor}</td><td>{event.action}</td>
                  <td>{event.from_state ?? "—"}</td><td>{event.to_state ?? "—"}</td><td>{event.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {detail.data.gated ? <Gates path={`${base}/gates`} /> : (
        <section className="panel" aria-label="gates">
          <h2>Gates</h2>
          <p>No gate results yet: its pipeline has no <code>promotion</code> gates, or they have not been evaluated.</p>
        </section>
      )}
      <LineageGraph path={`${base}/lineage`} model={model} />
      <ModelCard path={`${base}/card`} />
    </>
  );
}

function Gates({ path }: { path: string }) {
  const gates = useApi<GateReport>(path);
  if (gates.error instanceof ApiError && gates.error.status === 404) {
    return <section className="panel" aria-label="gates"><h2>Gates</h2><p>{gates.error.detail}.</p></section>;
  }
  if (gates.error) return <ErrorPanel error={gates.error} />;
  if (!gates.data) return <Loading what="the gate results" />;
  return (
    <section className="panel" aria-label="gates">
      <h2>Gates <StateBadge state={gates.data.passed ? "passed" : "failed"} /> <span className="hint">{gates.data.outcome}</span></h2>
      <table>
        <thead><tr><th>Gate</th><th>Measured</th><th>Threshold</th><th>Result</th><th>Why</th></tr></thead>
        <tbody>
          {gates.data.results.map((result) => (
            <tr key={`${result.gate}:${result.name}`}>
              <td>{result.name}</td><td>{formatValue(result.measured)}</td><td>{formatValue(result.threshold)}</td>
              <td><StateBadge state={result.passed ? "passed" : "failed"} /></td><td>{result.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ModelCard({ path }: { path: string }) {
  const card = useApi<Card>(path, { format: "html" });
  if (card.error) return <ErrorPanel error={card.error} />;
  if (!card.data) return <Loading what="the model card" />;
  return (
    <section className="panel" aria-label="model card">
      <h2>Model card</h2>
      <iframe className="card" title="model card" sandbox="" srcDoc={card.data.text} />
      <p className="hint">SHA-256 {shortDigest(card.data.html_sha256)} (checked against the recorded digest).</p>
    </section>
  );
}

function LineageGraph({ path, model }: { path: string; model: string }) {
  const lineage = useApi<Lineage>(path);
  // The list, not /deployments/{model}: a model that is not deployed is no error here.
  const deployments = useApi<Page<DeploymentDetail>>("/deployments", { limit: 500 });
  const deployment = deployments.data?.items.find((d) => d.model === model);
  if (lineage.error) return <ErrorPanel error={lineage.error} />;
  if (!lineage.data) return <Loading what="the lineage" />;
  const data = lineage.data;
  const source = data.data_source;
  const nodes: GraphNode[] = [
    { id: "source", label: <><strong>data</strong><div className="hint">{String(source.path ?? source.type ?? "source")}</div><code>{shortDigest(source.digest)}</code></> },
    { id: "ingested", label: <><strong>ingested frame</strong><div><code>{shortDigest(data.ingested.digest)}</code></div></> },
    { id: "validation", label: <><strong>validation</strong><div className="hint">{data.validation.passed === false ? "failed" : "passed"}, {formatValue(data.validation.rows_in)} rows</div></> },
    { id: "split", label: <><strong>split</strong><div className="hint">train <code>{shortDigest(data.split.train_digest)}</code></div></> },
    { id: "run", label: <><strong>run</strong><div><Link to={`/runs/${data.pipeline_run.id}`}><code>{data.pipeline_run.id.slice(0, 12)}</code></Link></div></> },
    { id: "version", label: <><strong>{data.model.name} v{data.model.version}</strong><div><code>{shortDigest(data.model.sha256)}</code></div></>, className: "current" },
  ];
  const edges: [string, string][] = [["source", "ingested"], ["ingested", "validation"], ["validation", "split"],
    ["split", "run"], ["run", "version"]];
  for (const arm of deployment?.arms ?? []) {
    if (arm.version !== data.model.version) continue;
    nodes.push({ id: `arm-${arm.role}`, label: <><strong>{arm.role} arm</strong><div className="hint">{arm.share === null ? "mirrored" : `${Math.round(arm.share * 100)}% of traffic`}</div></> });
    edges.push(["version", `arm-${arm.role}`]);
  }
  return (
    <section className="panel" aria-label="lineage">
      <h2>Lineage</h2>
      <FlowGraph nodes={nodes} edges={edges} label="lineage from the data file to the deployments" />
    </section>
  );
}
