"""Verify the audit log against its signed checkpoints: the hash chain proves that no event inside the
log was edited, removed or reordered; the checkpoints prove that the log was not cut short, that its
start was only pruned as recorded, and that it was not rewritten and re-chained as a whole."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.config import Settings, load_settings
from shipyard.governance.audit import ChainReport, Event, read_events, walk_chain
from shipyard.governance.checkpoints import Checkpoint, load_checkpoints
from shipyard.governance.signing import load_verifier


@dataclass(frozen=True, kw_only=True)
class Verification:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    first_seq: int | None = None
    """The oldest event the database holds (above 1 once older events were exported and pruned)."""
    head_seq: int | None = None
    anchored: bool = False
    """Whether signed checkpoints were checked; without a key only the chain itself is."""
    checkpoints: int = 0
    anchored_through: int | None = None
    """The newest event a valid checkpoint anchors."""
    unanchored_events: int = 0
    """Events after the newest checkpoint: deleting only these cannot be detected yet."""
    summary: str = ""


def verify_log(*, settings: Settings | None = None) -> Verification:
    settings = settings or load_settings()
    events = read_events(settings=settings)
    chain = walk_chain(events)
    verifier = load_verifier(settings)
    first_seq = events[0].seq if events else None
    head_seq = events[-1].seq if events else None
    facts = {"events": len(events), "first_seq": first_seq, "head_seq": head_seq}
    if verifier is None:
        return _unanchored(chain, facts)
    stored = load_checkpoints(settings, verifier)
    newest = stored.valid[-1] if stored.valid else None
    anchored = {"anchored": True, "checkpoints": len(stored.valid),
                "anchored_through": newest.seq if newest else None,
                "unanchored_events": (head_seq or 0) - (newest.seq if newest else 0) if events else 0}
    if stored.problems:
        seq, problem = stored.problems[0]
        return Verification(ok=False, first_bad_seq=seq, problem=problem, **facts, **anchored,
                            summary="TAMPERED: a checkpoint does not verify")
    if not chain.ok:
        return Verification(ok=False, first_bad_seq=chain.first_bad_seq, problem=chain.problem, **facts,
                            **anchored, summary="TAMPERED: the hash chain is broken")
    mismatch = _against_checkpoints(events, stored.valid)
    if mismatch is not None:
        seq, problem = mismatch
        return Verification(ok=False, first_bad_seq=seq, problem=problem, **facts, **anchored,
                            summary="TAMPERED: the log disagrees with its signed checkpoints")
    if newest is None:
        summary = (f"chain intact over {len(events)} events; not anchored yet: no checkpoint has been written "
                   "(run `shipyard audit checkpoint`)")
    else:
        summary = (f"chain intact and anchored: {len(stored.valid)} signed checkpoints agree with the log "
                   f"through event {newest.seq}")
        unanchored = anchored["unanchored_events"]
        if unanchored:
            newest_events = "the newest event is" if unanchored == 1 else f"the {unanchored} newest events are"
            summary += f"; {newest_events} not anchored yet (deleting only those would not be detected)"
    return Verification(ok=True, **facts, **anchored, summary=summary)


def _unanchored(chain: ChainReport, facts: dict) -> Verification:
    if not chain.ok:
        return Verification(ok=False, first_bad_seq=chain.first_bad_seq, problem=chain.problem, **facts,
                            summary="TAMPERED: the hash chain is broken")
    return Verification(ok=True, **facts,
                        summary=f"chain intact over {chain.events} events; not anchored: no signing key is "
                                "configured, so deleting the newest events or re-chaining the whole log "
                                "would not be detected (set SHIPYARD_AUDIT_SIGNING_KEY)")


def _against_checkpoints(events: list[Event], checkpoints: list[Checkpoint]) -> tuple[int, str] | None:
    """The first way the log contradicts a checkpoint, as (event seq, what is wrong)."""
    if not checkpoints:
        return None
    newest = checkpoints[-1]
    head = events[-1].seq if events else 0
    if newest.seq > head:
        return head + 1, (f"the checkpoint of event {newest.seq} is signed but the log ends at event {head}: "
                          f"events {head + 1} to {newest.seq} were deleted from its end")
    first = events[0].seq
    if first != newest.first_seq:
        if first > newest.first_seq:
            return newest.first_seq, (f"the log starts at event {first} but its newest checkpoint (event "
                                      f"{newest.seq}) was signed when it started at event {newest.first_seq}: "
                                      "events were deleted from the start without a recorded prune")
        return first, (f"the log starts at event {first} but its newest checkpoint says events before "
                       f"{newest.first_seq} were pruned: old events were put back")
    by_seq = {e.seq: e for e in events}
    if first > 1:
        base = next((c for c in checkpoints if c.seq == first - 1), None)
        if base is None or base.head_hash != events[0].prev_hash:
            return first, (f"no signed checkpoint of event {first - 1} matches the link of event {first}: "
                           "the log's start cannot be tied to the pruned events")
    for checkpoint in checkpoints:
        if checkpoint.seq < first:
            continue
        event = by_seq.get(checkpoint.seq)
        if event is None or event.hash != checkpoint.head_hash:
            return checkpoint.seq, (f"event {checkpoint.seq} does not have the hash its signed checkpoint "
                                    f"anchored ({checkpoint.head_hash[:12]}…): events up to {checkpoint.seq} "
                                    "were rewritten and re-chained")
    return None
