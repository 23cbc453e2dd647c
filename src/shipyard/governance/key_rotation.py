"""Rotating the key that signs audit checkpoints: a new Ed25519 key, the old one retired but kept in the ring.

The rotation is an audit event (``audit_key_rotated``) anchored by a last checkpoint under the old key;
the rotation record then retires the old key after that checkpoint's event and names the new one,
signed by both (see :mod:`shipyard.governance.keyring`). Checkpoints written before stay verifiable.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError
from shipyard.governance.audit import append_event
from shipyard.governance.checkpoints import write_checkpoint
from shipyard.governance.identity import current_identity
from shipyard.governance.keyring import Rotation, public_pem, write_rotation
from shipyard.governance.policy import authorize
from shipyard.governance.signing import Signer, Verifier, generate_key_pair, load_signer, load_private_key
from shipyard.store.object_folder import ObjectFolder

ROTATED = "audit_key_rotated"


def rotate_key(out: Path, *, reason: str | None = None, settings: Settings | None = None) -> tuple[Rotation, Path]:
    """Retire the configured signing key for a new one written to ``out`` (and ``out.pub``); the record and the
    new private key's path. The caller then points ``SHIPYARD_AUDIT_SIGNING_KEY`` at ``out``."""
    settings = settings or load_settings()
    identity = current_identity()
    authorize(identity, "audit.manage", team=None)
    old = load_signer(settings)
    if old is None:
        raise RefusedError("no signing key is configured, so there is no key to rotate",
                           hint="create the first one with `shipyard audit keygen --out PATH` and set "
                                "SHIPYARD_AUDIT_SIGNING_KEY=PATH")
    write_checkpoint(settings, signer=old)  # refuses a key that is already retired, before anything changes
    private_path, _, new_id = generate_key_pair(out)
    new = Signer(load_private_key(private_path))
    append_event(actor=identity.name, action=ROTATED, reason=reason or f"audit signing key {old.key_id} -> {new_id}",
                 details={"old_key_id": old.key_id, "new_key_id": new_id}, settings=settings)
    last = write_checkpoint(settings, signer=old)
    rotation = Rotation(old_key_id=old.key_id, old_public=public_pem(Verifier(old.private.public_key())),
                        new_key_id=new_id, new_public=public_pem(Verifier(new.private.public_key())),
                        seq=last.seq, time=datetime.now(timezone.utc))
    write_rotation(ObjectFolder(settings.audit_checkpoints), rotation, old=old, new=new)
    return rotation, private_path
