import { useQueries } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef } from "react";
import { Link } from "react-router";
import { apiRequest } from "../api/client";
import { useApi } from "../api/hooks";
import type { Page, Run } from "../api/types";
import { useSession } from "../auth/session";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { SortButton, StateBadge, TeamFilter, TextFilter, formatTime, useListParams } from "../components/lists";

/** Rows fetched per request: only the chunks the scrolled-to rows fall in are fetched, never the whole list. */
export const CHUNK = 200;
const ROW_HEIGHT = 34;
const FILTERS = ["team", "status", "pipeline", "model"];
const STATUSES = ["pending", "queued", "running", "succeeded", "failed", "cancelled"];
const LIVE = new Set(["pending", "queued", "running"]);

export default function Runs() {
  const list = useListParams({ sort: "-created_at", filters: FILTERS });
  const { token } = useSession();
  const query = useMemo(() => ({ ...list.values, sort: list.sort }), [list.values, list.sort]);
  const first = useApi<Page<Run>>("/runs", { ...query, offset: 0, limit: CHUNK }, {
    refetchInterval: (data) => (data?.items.some((run) => LIVE.has(run.status)) ? 5000 : false),
  });
  const total = first.data?.total ?? 0;
  const scroller = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read only in this render
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 1000, height: 600 },
  });
  const visible = virtualizer.getVirtualItems();
  const offsets = [...new Set(visible.map((row) => Math.floor(row.index / CHUNK) * CHUNK))].filter((offset) => offset > 0);
  const chunks = useQueries({
    queries: offsets.map((offset) => ({
      queryKey: ["/runs", { ...query, offset, limit: CHUNK }, token],
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        apiRequest<Page<Run>>("/runs", { token, query: { ...query, offset, limit: CHUNK }, signal }),
    })),
  });
  const rowAt = (index: number): Run | undefined => {
    const offset = Math.floor(index / CHUNK) * CHUNK;
    const page = offset === 0 ? first.data : chunks[offsets.indexOf(offset)]?.data;
    return page?.items[index - offset];
  };
  const chunkError = chunks.find((chunk) => chunk.error)?.error;

  return (
    <>
      <h1>Runs</h1>
      <div className="filters">
        <TeamFilter list={list} />
        <label>
          Status
          <select value={list.values.status} onChange={(event) => list.update({ status: event.target.value })}>
            <option value="">any</option>
            {STATUSES.map((status) => <option key={status}>{status}</option>)}
          </select>
        </label>
        <TextFilter list={list} name="pipeline" label="Pipeline" />
        <TextFilter list={list} name="model" label="Registered model" />
        {first.data && <span className="hint">{total} runs</span>}
      </div>
      {first.error ? <ErrorPanel error={first.error} onRetry={() => first.refetch()} />
        : !first.data ? <Loading what="the runs" />
          : total === 0 ? <p>No run matches these filters.</p>
            : (
              <>
                {chunkError && <ErrorPanel error={chunkError} />}
                <div className="virtual-list" ref={scroller} role="table" aria-label="runs" aria-rowcount={total}>
                  <div className="virtual-row head" role="row" style={{ height: ROW_HEIGHT }}>
                    <span role="columnheader">Run</span>
                    <span role="columnheader"><SortButton field="pipeline" label="Pipeline" list={list} /></span>
                    <span role="columnheader"><SortButton field="status" label="Status" list={list} /></span>
                    <span role="columnheader"><SortButton field="created_at" label="Created" list={list} /></span>
                    <span role="columnheader">Version</span>
                    <span role="columnheader">Started by</span>
                  </div>
                  <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
                    {visible.map((row) => {
                      const run = rowAt(row.index);
                      return (
                        <div key={row.key} className="virtual-row" role="row" aria-rowindex={row.index + 1}
                          style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${row.start}px)` }}>
                          {run ? (
                            <>
                              <span role="cell"><Link to={`/runs/${run.id}`}><code>{run.id.slice(0, 8)}</code></Link></span>
                              <span role="cell">{run.pipeline}</span>
                              <span role="cell"><StateBadge state={run.status} />{run.queue_position !== null && ` #${run.queue_position}`}</span>
                              <span role="cell">{formatTime(run.created_at)}</span>
                              <span role="cell">{run.model_version ? `v${run.model_version}` : "—"}</span>
                              <span role="cell">{run.started_by ?? "—"}</span>
                            </>
                          ) : <span role="cell" className="hint">loading row {row.index + 1}…</span>}
                        </div>
                      );
                    })}
                  </div>
                </div>
              </>
            )}
    </>
  );
}
