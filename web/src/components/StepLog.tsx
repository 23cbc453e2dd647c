import { useApi } from "../api/hooks";
import type { RunLog } from "../api/types";
import { ErrorPanel } from "./ErrorPanel";
import { Loading } from "./Loading";

/** How much of a step log's end the page asks for (bytes). */
export const STEP_LOG_BYTES = 64 * 1024;

/** A step's own output, its traceback last when it failed. */
export function StepLog({ runId, step }: { runId: string; step: string }) {
  const log = useApi<RunLog>(`/runs/${encodeURIComponent(runId)}/logs`, { step, max_bytes: STEP_LOG_BYTES });
  if (log.error) return <ErrorPanel error={log.error} onRetry={() => log.refetch()} />;
  if (!log.data) return <Loading what={`the log of step ${step}`} />;
  const { text, truncated, size_bytes: size } = log.data;
  return (
    <>
      <h3>Log</h3>
      {text === "" ? <p>This step left no log here (it was cached, or ran on another machine).</p> : (
        <>
          {truncated && <p>The log's end; it has {Math.ceil(size / 1024)} KiB in all.</p>}
          <pre className="log" aria-label="step log">{text}</pre>
        </>
      )}
    </>
  );
}
