import { Link } from "react-router";
import { useApi } from "../api/hooks";
import type { CatalogEntry, Page } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";

/** Each model's newest drift severity, worst first, linking to its reports. */
export default function Monitoring() {
  const models = useApi<Page<CatalogEntry>>("/models", { limit: 500, sort: "name" });
  if (models.error) return <ErrorPanel error={models.error} onRetry={() => models.refetch()} />;
  if (!models.data) return <Loading what="the models" />;
  const order = ["critical", "warning", "ok"];
  const rank = (entry: CatalogEntry) => (entry.drift_severity ? order.indexOf(entry.drift_severity) : order.length);
  const entries = [...models.data.items].sort((a, b) => rank(a) - rank(b));
  return (
    <>
      <h1>Monitoring</h1>
      <table aria-label="drift by model">
        <thead><tr><th>Model</th><th>Newest drift</th><th>Checked</th></tr></thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.name}>
              <td><Link to={`/models/${encodeURIComponent(entry.name)}/drift`}>{entry.name}</Link></td>
              <td><StateBadge state={entry.drift_severity} /></td>
              <td>{formatTime(entry.drift_checked_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
