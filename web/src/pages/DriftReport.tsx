import { useState } from "react";
import { Link, useParams } from "react-router";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useApi } from "../api/hooks";
import type { DriftReport as Report, FeatureDrift } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";
import { formatValue, percent } from "../components/values";
import { SEVERITY_LEVELS } from "./DriftReports";

/** Features most drifted first: by severity, then by PSI. */
export function rankFeatures(features: Record<string, FeatureDrift>): [string, FeatureDrift][] {
  return Object.entries(features).sort(([, a], [, b]) =>
    SEVERITY_LEVELS.indexOf(b.severity) - SEVERITY_LEVELS.indexOf(a.severity) || (b.psi ?? 0) - (a.psi ?? 0));
}

/** The reference and current shares of each bin (numeric) or category, for a chart. */
export function distribution(feature: FeatureDrift): { bin: string; reference: number; current: number }[] {
  const share = (counts: number[]) => {
    const total = counts.reduce((sum, n) => sum + n, 0) || 1;
    return counts.map((n) => n / total);
  };
  if (feature.kind === "categorical" && feature.categories && feature.reference_counts && feature.current_counts) {
    const reference = share(feature.reference_counts);
    const current = share(feature.current_counts);
    const labels = [...feature.categories, "(other)", "(unseen)"];
    return labels.slice(0, reference.length).map((bin, i) => ({ bin, reference: reference[i], current: current[i] ?? 0 }))
      .filter((row) => row.reference > 0 || row.current > 0);
  }
  if (feature.reference_bins && feature.current_bins && feature.cuts) {
    const reference = share(feature.reference_bins);
    const current = share(feature.current_bins);
    const cuts = feature.cuts;
    return reference.map((value, i) => ({
      bin: i === 0 ? `< ${formatValue(cuts[0])}` : i >= cuts.length ? `≥ ${formatValue(cuts[cuts.length - 1])}`
        : `${formatValue(cuts[i - 1])}–${formatValue(cuts[i])}`,
      reference: value, current: current[i] ?? 0,
    }));
  }
  return [];
}

/** One drift report: the per-feature table sorted by drift, and a chart of the chosen feature's distributions. */
export default function DriftReport() {
  const { reportId = "" } = useParams();
  const report = useApi<Report>(`/drift/${encodeURIComponent(reportId)}`);
  const [chosen, setChosen] = useState<string | null>(null);
  if (report.error) return <ErrorPanel error={report.error} onRetry={() => report.refetch()} />;
  if (!report.data) return <Loading what={`drift report ${reportId}`} />;
  const data = report.data;
  const ranked = rankFeatures(data.report.features);
  const selected = chosen ?? ranked[0]?.[0] ?? null;
  return (
    <>
      <h1>Drift of <Link to={`/models/${encodeURIComponent(data.model)}/drift`}>{data.model}</Link> v{data.version} <StateBadge state={data.severity} /></h1>
      <p className="hint">{data.rows} logged rows from {formatTime(data.window_start)} to {formatTime(data.window_end)};
        {" "}{percent(data.report.drifted_share)} of the features drifted.
        {data.report.missing_columns.length > 0 && ` Missing from the log: ${data.report.missing_columns.join(", ")}.`}</p>
      <table aria-label="features">
        <thead><tr><th>Feature</th><th>Severity</th><th>Method</th><th>PSI</th><th>Distance</th><th>p-value</th><th>Null rate (ref → now)</th></tr></thead>
        <tbody>
          {ranked.map(([name, feature]) => (
            <tr key={name} className={name === selected ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => setChosen(name)}>{name}</button></td>
              <td><StateBadge state={feature.severity} /></td>
              <td>{feature.method}</td>
              <td>{formatValue(feature.psi)}</td>
              <td>{formatValue(feature.wasserstein ?? feature.jensen_shannon)}</td>
              <td>{formatValue(feature.p_value)}</td>
              <td>{percent(feature.reference_null_rate)} → {percent(feature.null_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected && <FeatureChart name={selected} feature={data.report.features[selected]} />}
      {data.report.prediction && <FeatureChart name="predictions" feature={data.report.prediction} />}
    </>
  );
}

function FeatureChart({ name, feature }: { name: string; feature: FeatureDrift }) {
  const rows = distribution(feature);
  return (
    <section className="panel" aria-label={`distribution of ${name}`}>
      <h2>{name}: reference vs current <StateBadge state={feature.severity} /></h2>
      {rows.length === 0 ? <p>{feature.note ?? "No values to draw."}</p> : (
        <div className="chart">
          <ResponsiveContainer width="100%" height={240}>
            <BarChart data={rows} margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="bin" />
              <YAxis tickFormatter={(value: number) => `${Math.round(value * 100)}%`} />
              <Tooltip formatter={(value) => percent(Number(value))} />
              <Legend />
              <Bar dataKey="reference" fill="#8a94a8" isAnimationActive={false} />
              <Bar dataKey="current" fill="#2f6fd6" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}
