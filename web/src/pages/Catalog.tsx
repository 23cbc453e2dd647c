import { Link } from "react-router";
import { useApi } from "../api/hooks";
import type { CatalogEntry, Page } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { PAGE_SIZE, Pager, SortHeader, StateBadge, TeamFilter, TextFilter, formatTime, useListParams } from "../components/lists";

const FILTERS = ["q", "team", "tag", "column", "state", "drift"];
const STATES = ["candidate", "staging", "production", "rejected", "archived", "rolled_back"];
const SEVERITIES = ["ok", "warning", "critical"];

/** Search the model catalog by text, owner team, schema column, registry tag, version state or drift. */
export default function Catalog() {
  const list = useListParams({ sort: "name", filters: FILTERS });
  const models = useApi<Page<CatalogEntry>>("/models", { ...list.values, sort: list.sort, offset: list.offset, limit: PAGE_SIZE });
  return (
    <>
      <h1>Catalog</h1>
      <div className="filters">
        <TextFilter list={list} name="q" label="Name or description" />
        <TeamFilter list={list} />
        <TextFilter list={list} name="column" label="Schema column" placeholder="an input or the output" />
        <TextFilter list={list} name="tag" label="Tag" placeholder="KEY or KEY=VALUE" />
        <label>
          State
          <select value={list.values.state} onChange={(event) => list.update({ state: event.target.value })}>
            <option value="">any</option>
            {STATES.map((state) => <option key={state}>{state}</option>)}
          </select>
        </label>
        <label>
          Drift
          <select value={list.values.drift} onChange={(event) => list.update({ drift: event.target.value })}>
            <option value="">any</option>
            {SEVERITIES.map((severity) => <option key={severity}>{severity}</option>)}
          </select>
        </label>
      </div>
      {models.error ? <ErrorPanel error={models.error} onRetry={() => models.refetch()} />
        : !models.data ? <Loading what="the catalog" />
          : models.data.total === 0 ? <p>No model matches these filters.</p>
            : (
              <>
                <table>
                  <thead>
                    <tr>
                      <SortHeader field="name" label="Model" list={list} />
                      <SortHeader field="team" label="Team" list={list} />
                      <th>Production</th>
                      <SortHeader field="versions" label="Versions" list={list} />
                      <th>Inputs</th>
                      <th>Tags</th>
                      <th>Drift</th>
                      <SortHeader field="updated_at" label="Updated" list={list} />
                    </tr>
                  </thead>
                  <tbody>
                    {models.data.items.map((model) => (
                      <tr key={model.name}>
                        <td><Link to={`/models/${encodeURIComponent(model.name)}`}>{model.name}</Link>
                          {model.description && <div className="hint">{model.description}</div>}</td>
                        <td>{model.team ?? "—"}</td>
                        <td>{model.production_version ? `v${model.production_version}` : "—"}</td>
                        <td>{model.versions}</td>
                        <td>{model.inputs.join(", ")}{model.output && <> → {model.output}</>}</td>
                        <td>{Object.entries(model.tags).map(([key, value]) => `${key}=${value}`).join(", ") || "—"}</td>
                        <td><StateBadge state={model.drift_severity} /></td>
                        <td>{formatTime(model.updated_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <Pager page={models.data} list={list} />
              </>
            )}
    </>
  );
}
