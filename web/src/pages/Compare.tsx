import { Link, useParams, useSearchParams } from "react-router";
import { useApi } from "../api/hooks";
import type { Comparison } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge } from "../components/lists";
import { formatValue } from "../components/values";

/** Two versions side by side: state, metrics (overall and per slice), parameters, signature and data digests. */
export default function Compare() {
  const { model = "" } = useParams();
  const [params] = useSearchParams();
  const left = params.get("left") ?? "";
  const right = params.get("right") ?? "";
  const name = encodeURIComponent(model);
  const valid = /^[0-9]+$/.test(left) && /^[0-9]+$/.test(right);
  const compared = useApi<Comparison>(`/models/${name}/compare`, { left, right }, { enabled: valid });
  if (!valid) {
    return (
      <section className="panel error" role="alert">
        <h2>Choose two versions to compare</h2>
        <p>The address needs <code>?left=N&amp;right=M</code> with two version numbers.</p>
        <p><Link to={`/models/${name}`}>Pick them from {model}'s versions</Link></p>
      </section>
    );
  }
  if (compared.error) return <ErrorPanel error={compared.error} onRetry={() => compared.refetch()} />;
  if (!compared.data) return <Loading what={`versions ${left} and ${right} of ${model}`} />;
  const data = compared.data;
  const [a, b] = data.versions;
  return (
    <>
      <h1><Link to={`/models/${name}`}>{model}</Link>: version {a} vs {b}</h1>
      <table aria-label="states">
        <thead><tr><th /><th>v{a}</th><th>v{b}</th></tr></thead>
        <tbody><tr><td>State</td><td><StateBadge state={data.state[0]} /></td><td><StateBadge state={data.state[1]} /></td></tr></tbody>
      </table>
      <Side title="Metrics" rows={data.metrics} versions={data.versions} better={data.better} />
      <Side title="Metrics per slice" rows={data.slices} versions={data.versions} empty="The evaluation names no slice columns." />
      <Side title="Parameters that differ" rows={data.params} versions={data.versions} empty="The same parameters." />
      <Side title="Signature changes" rows={data.inputs} versions={data.versions} empty="The same inputs and output." />
      <Side title="Data digests" rows={data.data} versions={data.versions} digest />
    </>
  );
}

function Side({ title, rows, versions, better, empty, digest = false }: {
  title: string; rows: Record<string, unknown[]>; versions: string[]; better?: Record<string, string | null>;
  empty?: string; digest?: boolean;
}) {
  const names = Object.keys(rows);
  return (
    <section className="panel" aria-label={title}>
      <h2>{title}</h2>
      {names.length === 0 ? <p>{empty ?? "Nothing recorded."}</p> : (
        <table>
          <thead><tr><th>Name</th><th>v{versions[0]}</th><th>v{versions[1]}</th></tr></thead>
          <tbody>
            {names.map((name) => {
              const [left, right] = rows[name];
              const differs = JSON.stringify(left) !== JSON.stringify(right);
              return (
                <tr key={name} className={differs ? "differs" : undefined}>
                  <td>{name.replace(/^shipyard\.data\./, "")}</td>
                  {[left, right].map((value, index) => (
                    <td key={index} className={better?.[name] === versions[index] ? "better" : undefined}>
                      {digest ? <code>{formatValue(value)}</code> : formatValue(value)}
                      {better?.[name] === versions[index] && " ✓"}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
