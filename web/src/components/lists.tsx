import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import { useApi } from "../api/hooks";
import type { Page, Team } from "../api/types";

export const PAGE_SIZE = 50;

export interface ListParams {
  /** The list's filters, sort and offset, as the URL holds them (so that every view is a link). */
  values: Record<string, string>;
  offset: number;
  sort: string;
  /** Change some filters (an empty string clears one); any change but the offset goes back to the first page. */
  update: (patch: Record<string, string | number | null>) => void;
}

export function useListParams(defaults: { sort: string; filters: string[] }): ListParams {
  const [params, setParams] = useSearchParams();
  const values = useMemo(() => {
    const found: Record<string, string> = {};
    for (const key of defaults.filters) found[key] = params.get(key) ?? "";
    return found;
  }, [params, defaults.filters]);
  const offset = Math.max(0, Number.parseInt(params.get("offset") ?? "0", 10) || 0);
  const sort = params.get("sort") || defaults.sort;
  const update = useCallback((patch: Record<string, string | number | null>) => {
    setParams((current) => {
      const next = new URLSearchParams(current);
      for (const [key, value] of Object.entries(patch)) {
        if (value === null || value === "") next.delete(key);
        else next.set(key, String(value));
      }
      if (!("offset" in patch)) next.delete("offset");
      return next;
    });
  }, [setParams]);
  return { values, offset, sort, update };
}

/** A column heading that sorts the list by `field` (again: the other way). */
export function SortHeader({ field, label, list }: { field: string; label: string; list: ListParams }) {
  return <th aria-sort={sortState(field, list)}><SortButton field={field} label={label} list={list} /></th>;
}

export function SortButton({ field, label, list }: { field: string; label: string; list: ListParams }) {
  const state = sortState(field, list);
  const next = state === "ascending" ? `-${field}` : field;
  return (
    <button type="button" onClick={() => list.update({ sort: next })}>
      {label}{state === "descending" ? " ▼" : state === "ascending" ? " ▲" : ""}
    </button>
  );
}

function sortState(field: string, list: ListParams): "ascending" | "descending" | "none" {
  if (list.sort.replace(/^-/, "") !== field) return "none";
  return list.sort.startsWith("-") ? "descending" : "ascending";
}

export function Pager({ page, list }: { page: Page<unknown>; list: ListParams }) {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.items.length;
  return (
    <div className="pager">
      <button type="button" disabled={page.offset === 0}
        onClick={() => list.update({ offset: Math.max(0, page.offset - page.limit) || null })}>Previous</button>
      <span>{first}–{last} of {page.total}</span>
      <button type="button" disabled={page.next_offset === null}
        onClick={() => list.update({ offset: page.next_offset })}>Next</button>
    </div>
  );
}

/** A select of the teams the API knows; the empty choice is every team. */
export function TeamFilter({ list, name = "team" }: { list: ListParams; name?: string }) {
  const teams = useApi<Page<Team>>("/teams", { limit: 500 });
  const value = list.values[name] ?? "";
  const names = teams.data?.items.map((team) => team.name) ?? [];
  return (
    <label>
      Team
      <select value={value} onChange={(event) => list.update({ [name]: event.target.value })}>
        <option value="">all teams</option>
        {value && !names.includes(value) && <option value={value}>{value}</option>}
        {names.map((team) => <option key={team} value={team}>{team}</option>)}
      </select>
    </label>
  );
}

/** A text filter that applies on Enter or when it loses focus, so that typing does not fetch each letter. */
export function TextFilter({ list, name, label, placeholder }:
  { list: ListParams; name: string; label: string; placeholder?: string }) {
  const value = list.values[name] ?? "";
  return (
    <label>
      {label}
      <input key={value} defaultValue={value} placeholder={placeholder}
        onBlur={(event) => { if (event.target.value !== value) list.update({ [name]: event.target.value.trim() }); }}
        onKeyDown={(event) => {
          if (event.key === "Enter") list.update({ [name]: event.currentTarget.value.trim() });
        }} />
    </label>
  );
}

export function StateBadge({ state }: { state: string | null | undefined }) {
  if (!state) return <span className="state">—</span>;
  return <span className={`state ${state}`}>{state}</span>;
}

export function formatTime(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
