import { Link, useParams } from "react-router";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useApi } from "../api/hooks";
import type { DriftSummary, Page } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";

export const SEVERITY_LEVELS = ["ok", "warning", "critical"];

/** A model's drift reports, newest first, and their severity over time. */
export default function DriftReports() {
  const { model = "" } = useParams();
  const name = encodeURIComponent(model);
  const reports = useApi<Page<DriftSummary>>(`/models/${name}/drift`, { limit: 200 });
  if (reports.error) return <ErrorPanel error={reports.error} onRetry={() => reports.refetch()} />;
  if (!reports.data) return <Loading what={`${model}'s drift reports`} />;
  const items = reports.data.items;
  const series = [...items].reverse().map((report) => ({
    time: new Date(report.created_at).toLocaleString(), level: SEVERITY_LEVELS.indexOf(report.severity),
  }));
  return (
    <>
      <h1>Drift of <Link to={`/models/${name}`}>{model}</Link></h1>
      {items.length === 0 ? <p>No drift report yet: <code className="command">shipyard monitor drift {model}</code> makes one.</p> : (
        <>
          <section className="panel" aria-label="severity over time">
            <h2>Severity over time</h2>
            <div className="chart">
              <ResponsiveContainer width="100%" height={180}>
                <LineChart data={series} margin={{ left: 24, right: 16, top: 8, bottom: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="time" />
                  <YAxis domain={[0, 2]} ticks={[0, 1, 2]} tickFormatter={(level: number) => SEVERITY_LEVELS[level] ?? ""} />
                  <Tooltip formatter={(level) => SEVERITY_LEVELS[Number(level)]} />
                  <Line type="stepAfter" dataKey="level" name="severity" stroke="#b4442f" isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          </section>
          <table aria-label="drift reports">
            <thead><tr><th>Created</th><th>Version</th><th>Severity</th><th>Rows</th><th>Window</th><th>Drifted</th></tr></thead>
            <tbody>
              {items.map((report) => (
                <tr key={report.id}>
                  <td><Link to={`/drift/${report.id}`}>{formatTime(report.created_at)}</Link></td>
                  <td>v{report.version}</td>
                  <td><StateBadge state={report.severity} /></td>
                  <td>{report.rows}</td>
                  <td>{formatTime(report.window_start)} – {formatTime(report.window_end)}</td>
                  <td>{report.drifted.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
