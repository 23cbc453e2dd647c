import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useApi } from "../api/hooks";
import type { CatalogEntry, Page, Version } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";

/** A model: its versions with their lifecycle states, two of them chosen to compare, and links onward. */
export default function ModelDetail() {
  const { model = "" } = useParams();
  const name = encodeURIComponent(model);
  const entry = useApi<CatalogEntry>(`/models/${name}`);
  const versions = useApi<Page<Version>>(`/models/${name}/versions`, { limit: 500 });
  const [chosen, setChosen] = useState<string[]>([]);
  const navigate = useNavigate();
  const error = entry.error ?? versions.error;
  if (error) return <ErrorPanel error={error} onRetry={() => { void entry.refetch(); void versions.refetch(); }} />;
  if (!entry.data || !versions.data) return <Loading what={`model ${model}`} />;
  const toggle = (version: string) => setChosen((current) => (current.includes(version)
    ? current.filter((v) => v !== version) : [...current, version].slice(-2)));
  const [left, right] = [...chosen].sort((a, b) => Number(a) - Number(b));
  return (
    <>
      <h1>{entry.data.name} {entry.data.team && <span className="hint">team {entry.data.team}</span>}</h1>
      <section className="panel" aria-label="summary">
        {entry.data.description && <p>{entry.data.description}</p>}
        <p>
          Production: {entry.data.production_version ? `v${entry.data.production_version}` : "none"};
          {" "}serving: {entry.data.stable_version ? `v${entry.data.stable_version}` : "nothing"};
          {" "}drift: <StateBadge state={entry.data.drift_severity} />
        </p>
        <p className="actions">
          <Link to={`/deployments/${name}`}>Deployment</Link>{" · "}
          <Link to={`/models/${name}/drift`}>Drift reports</Link>
        </p>
      </section>
      <h2>Versions</h2>
      <p className="hint">Tick two versions to compare them side by side.</p>
      <table aria-label="versions">
        <thead>
          <tr><th>Compare</th><th>Version</th><th>State</th><th>Approval</th><th>Updated</th><th>Reason</th></tr>
        </thead>
        <tbody>
          {versions.data.items.map((version) => (
            <tr key={version.version}>
              <td><input type="checkbox" aria-label={`compare version ${version.version}`}
                checked={chosen.includes(version.version)} onChange={() => toggle(version.version)} /></td>
              <td><Link to={`/models/${name}/versions/${version.version}`}>v{version.version}</Link></td>
              <td><StateBadge state={version.state} /></td>
              <td>{String(version.approval ?? "—")}{version.approved_by ? ` by ${version.approved_by}` : ""}</td>
              <td>{formatTime(version.updated_at)}</td>
              <td>{String(version.reason ?? "")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <button type="button" disabled={chosen.length !== 2}
          onClick={() => navigate(`/models/${name}/compare?left=${left}&right=${right}`)}>
          Compare {chosen.length === 2 ? `v${left} and v${right}` : "two versions"}
        </button>
      </p>
    </>
  );
}
