import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useApi } from "../api/hooks";
import type { Sweep } from "../api/types";
import { ErrorPanel } from "./ErrorPanel";
import { Loading } from "./Loading";
import { StateBadge, formatDuration } from "./lists";

/** The sweep's objective by trial, as a chart and a table; the best trial is marked. */
export function SweepTrials({ runId }: { runId: string }) {
  const sweep = useApi<Sweep>(`/runs/${encodeURIComponent(runId)}/sweep`);
  if (sweep.error) return <ErrorPanel error={sweep.error} onRetry={() => sweep.refetch()} />;
  if (!sweep.data) return <Loading what="the sweep's trials" />;
  const { metric, direction, trials, best_trial: best, best_value: bestValue } = sweep.data;
  const points = trials.map((trial) => ({ trial: trial.number, value: trial.value }));
  const params = [...new Set(trials.flatMap((trial) => Object.keys(trial.params)))];
  return (
    <section className="panel" aria-label="sweep trials">
      <h2>Sweep: {metric} ({direction}), best trial #{best} = {bestValue.toFixed(4)}</h2>
      <div style={{ width: "100%", height: 240 }}>
        <ResponsiveContainer>
          <LineChart data={points} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="trial" label={{ value: "trial", position: "insideBottomRight", offset: -4 }} />
            <YAxis domain={["auto", "auto"]} />
            <Tooltip />
            <Line type="monotone" dataKey="value" name={metric} stroke="#2456c7" connectNulls isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <table>
        <thead>
          <tr><th>Trial</th><th>State</th><th>{metric}</th>{params.map((name) => <th key={name}>{name}</th>)}<th>Duration</th></tr>
        </thead>
        <tbody>
          {trials.map((trial) => (
            <tr key={trial.number} className={trial.number === best ? "best" : undefined}>
              <td>#{trial.number}{trial.number === best && " ★"}</td>
              <td><StateBadge state={trial.state} /></td>
              <td>{trial.value === null ? "—" : trial.value.toFixed(4)}</td>
              {params.map((name) => <td key={name}>{formatParam(trial.params[name])}</td>)}
              <td>{formatDuration(trial.duration_s)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function formatParam(value: unknown): string {
  if (value === undefined || value === null) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return String(value);
}
