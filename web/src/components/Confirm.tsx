import { useState, type ReactNode } from "react";
import { describe } from "./ErrorPanel";

export interface ConfirmProps {
  /** What the button says, e.g. "Roll back". */
  label: string;
  /** Exactly what will change, shown before anything does. */
  change: ReactNode;
  /** Null when the caller may; otherwise why not (the button is disabled and says so). */
  refusal: string | null;
  /** Whether the action asks for a reason (recorded in the audit log). */
  needsReason?: boolean;
  busy?: boolean;
  error?: unknown;
  onConfirm: (reason: string) => void;
}

/** A button that asks for confirmation, saying what will change, before it acts; disabled with the reason when the
 * caller's role does not allow the action. */
export function ConfirmButton({ label, change, refusal, needsReason = false, busy = false, error, onConfirm }: ConfirmProps) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const ready = !busy && (!needsReason || reason.trim() !== "");
  return (
    <span className="action">
      <button type="button" disabled={refusal !== null || busy} title={refusal ?? undefined}
        onClick={() => setOpen(true)}>{label}</button>
      {refusal && <span className="hint refusal">{refusal}</span>}
      {error !== undefined && error !== null && <span className="hint refusal" role="alert">{describe(error).heading}: {describe(error).body}</span>}
      {open && (
        <div className="modal-backdrop">
          <div role="dialog" aria-modal="true" aria-label={`Confirm: ${label}`} className="panel modal">
            <h2>{label}?</h2>
            <div className="change">{change}</div>
            {needsReason && (
              <label>Reason (recorded in the audit log)
                <input value={reason} onChange={(event) => setReason(event.target.value)} autoFocus />
              </label>
            )}
            <p className="actions">
              <button type="button" disabled={!ready} onClick={() => { setOpen(false); onConfirm(reason.trim()); }}>
                Confirm: {label}
              </button>
              <button type="button" onClick={() => setOpen(false)}>Cancel</button>
            </p>
          </div>
        </div>
      )}
    </span>
  );
}
