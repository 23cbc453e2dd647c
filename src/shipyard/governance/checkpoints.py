"""Signed checkpoints: the audit chain's head hash, anchored outside the database.

A checkpoint names an event (``seq``) and the hash that event had, plus the first event the database
still held (older ones pruned after export). It is a canonical JSON object with a detached Ed25519
signature beside it (``<seq>-<digest>.json`` and ``<seq>-<digest>.json.sig``, the digest that of the
JSON, so that two processes anchoring the same event never overwrite each other's pair) in a folder of
the artifact store or object storage. Someone who can rewrite the database but not sign cannot make a truncated or
re-chained log agree with them. One is written once ``audit_checkpoint_every`` events were appended
since the last, on the first event after ``audit_checkpoint_interval_s`` without one, and on demand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, ShipyardError, TamperedError
from shipyard.governance.keyring import load_keyring
from shipyard.governance.signing import Signer, Verifier, load_signer
from shipyard.store.db import session_scope
from shipyard.store.models import AuditEvent
from shipyard.store.object_folder import ObjectFolder

FORMAT = "shipyard.audit.checkpoint/1"
_SUFFIX = ".json"
_NAME = re.compile(r"^(\d{12})-[0-9a-f]{12}\.json$")

log = logging.getLogger(__name__)
_newest: dict[str, Checkpoint] = {}
_newest_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    seq: int
    head_hash: str
    first_seq: int
    count: int
    time: datetime
    key_id: str

    def body(self) -> bytes:
        content = {**asdict(self), "format": FORMAT, "time": self.time.astimezone(timezone.utc).isoformat()}
        return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class StoredCheckpoints:
    """Every checkpoint in the folder whose signature a key of the ring accepts, oldest first, and one line
    for each that it does not (unsigned, signed by an unknown or retired key, altered, unreadable)."""

    valid: list[Checkpoint]
    problems: list[tuple[int, str]]


def file_name(body: bytes) -> str:
    """``<seq>-<first 12 hex digits of the body's SHA-256>.json``; the signature is that name plus ``.sig``."""
    return f"{parse(body).seq:012d}-{hashlib.sha256(body).hexdigest()[:12]}{_SUFFIX}"


def write_checkpoint(settings: Settings | None = None, *, signer: Signer | None = None) -> Checkpoint | None:
    """Anchor the log's current head now; None when the log is empty. An existing checkpoint is never replaced."""
    settings = settings or load_settings()
    signer = signer or load_signer(settings)
    if signer is None:
        raise RefusedError("no signing key is configured, so there is nothing to sign a checkpoint with",
                           hint="create one with `shipyard audit keygen --out PATH` and set "
                                "SHIPYARD_AUDIT_SIGNING_KEY=PATH")
    folder = ObjectFolder(settings.audit_checkpoints)
    retired = load_keyring(folder, Verifier(signer.private.public_key())).retired_after.get(signer.key_id)
    if retired is not None:
        raise RefusedError(f"signing key {signer.key_id} was retired after event {retired} by a key rotation; "
                           "a checkpoint it signs now would not verify", headline="signing key retired",
                           hint="set SHIPYARD_AUDIT_SIGNING_KEY to the key it was rotated to")
    with session_scope(settings) as session:
        head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                               .limit(1)).first()
        if head is None:
            return None
        first, count = session.execute(select(func.min(AuditEvent.seq), func.count()).select_from(AuditEvent)).one()
        newest = _newest_stored(folder)
        if newest is not None and newest.seq > head.seq:
            raise TamperedError(f"the newest checkpoint anchors event {newest.seq} but the log ends at event "
                                f"{head.seq}: events were deleted from its end",
                                hint="run `shipyard audit verify` to see what changed")
        if newest is not None:
            anchored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == newest.seq))
            if anchored is not None and anchored != newest.head_hash:
                raise TamperedError(f"event {newest.seq} no longer has the hash its checkpoint anchored; "
                                    "the log was rewritten, so no new checkpoint is signed over it",
                                    hint="run `shipyard audit verify` to see what changed")
    if newest is not None and newest.seq == head.seq:
        return newest
    checkpoint = Checkpoint(seq=head.seq, head_hash=head.hash, first_seq=first, count=count,
                            time=datetime.now(timezone.utc), key_id=signer.key_id)
    body = checkpoint.body()
    folder.write(file_name(body) + ".sig", signer.sign(body).encode())
    folder.write(file_name(body), body)
    _remember(settings, checkpoint)
    return checkpoint


def maybe_checkpoint(seq: int, settings: Settings | None = None) -> None:
    """After event ``seq`` was committed: write a checkpoint if one is due. Never fails the append;
    a checkpoint that cannot be written is logged and tried again on the next event."""
    try:
        settings = settings or load_settings()
        if settings.audit_signing_key is None:
            return
        if not _due(seq, _newest.get(settings.audit_checkpoints), settings):
            return
        newest = _newest_stored(ObjectFolder(settings.audit_checkpoints))
        if newest is not None:
            _remember(settings, newest)
        if _due(seq, newest, settings):
            write_checkpoint(settings)
    except ShipyardError as exc:
        log.warning("audit checkpoint not written: %s", exc.render())


def _due(seq: int, newest: Checkpoint | None, settings: Settings) -> bool:
    if newest is None:
        return True
    if seq - newest.seq >= settings.audit_checkpoint_every:
        return True
    age = (datetime.now(timezone.utc) - newest.time).total_seconds()
    return seq > newest.seq and age >= settings.audit_checkpoint_interval_s


def _remember(settings: Settings, checkpoint: Checkpoint) -> None:
    with _newest_lock:
        known = _newest.get(settings.audit_checkpoints)
        if known is None or known.seq <= checkpoint.seq:
            _newest[settings.audit_checkpoints] = checkpoint


def forget_cached() -> None:
    """Drop what this process remembers of each folder's newest checkpoint (the folder is read again)."""
    with _newest_lock:
        _newest.clear()


def _newest_stored(folder: ObjectFolder) -> Checkpoint | None:
    for _, name in reversed(_entries(folder)):
        try:
            return parse(folder.read(name))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            continue
    return None


def _entries(folder: ObjectFolder) -> list[tuple[int, str]]:
    """(seq, file name) of each checkpoint in the folder, by seq."""
    return sorted((int(match.group(1)), name) for name in folder.names() if (match := _NAME.match(name)))


def parse(body: bytes) -> Checkpoint:
    content = json.loads(body)
    if content.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} checkpoint")
    return Checkpoint(seq=int(content["seq"]), head_hash=str(content["head_hash"]),
                      first_seq=int(content["first_seq"]), count=int(content["count"]),
                      time=datetime.fromisoformat(content["time"]), key_id=str(content["key_id"]))


def load_checkpoints(settings: Settings, verifier: Verifier) -> StoredCheckpoints:
    """Read and check every checkpoint in the folder against the keyring that grows from ``verifier``'s key
    through signed key rotations; a rotation record that does not verify is a problem too."""
    folder = ObjectFolder(settings.audit_checkpoints)
    ring = load_keyring(folder, verifier)
    valid, problems = [], list(ring.problems)
    for seq, name in _entries(folder):
        try:
            body = folder.read(name)
            signature = folder.read(name + ".sig").decode()
        except FileNotFoundError:
            problems.append((seq, f"checkpoint {name} has no signature beside it"))
            continue
        except UnicodeDecodeError:
            problems.append((seq, f"the signature of checkpoint {name} is not text"))
            continue
        try:
            checkpoint = parse(body)
        except (ValueError, KeyError, TypeError) as exc:
            problems.append((seq, f"checkpoint {name} is not readable, so it does not verify with key "
                                  f"{verifier.key_id}: {exc}"))
            continue
        problem = ring.check(name, body, signature.strip(), signed_key=checkpoint.key_id, seq=checkpoint.seq)
        if problem is not None:
            problems.append((seq, problem))
            continue
        if checkpoint.seq != seq:
            problems.append((seq, f"checkpoint {name} was renamed: it anchors event {checkpoint.seq}"))
            continue
        valid.append(checkpoint)
    return StoredCheckpoints(valid=valid, problems=sorted(problems))
