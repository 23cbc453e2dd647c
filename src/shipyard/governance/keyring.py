"""The ring of keys that may have signed audit checkpoints, built from signed key-rotation records.

A rotation record (``rotation-<seq>-<new key id>.json`` beside the checkpoints) carries the old and the
new public key and the last event the old key may anchor (``seq``); it is signed by both keys
(``.old.sig``, ``.new.sig``), so a ring grows only through keys that vouch for each other. Starting
from the configured key, every key linked to it by valid records is in the ring: a checkpoint is
accepted under a key of the ring up to that key's retirement, and refused under any other key.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from cryptography.hazmat.primitives import serialization

from shipyard.governance.signing import Signer, Verifier
from shipyard.store.object_folder import ObjectFolder

FORMAT = "shipyard.audit.key-rotation/1"
_NAME = re.compile(r"^rotation-(\d{12})-[0-9a-f]{16}\.json$")


@dataclass(frozen=True, kw_only=True)
class Rotation:
    old_key_id: str
    old_public: str
    new_key_id: str
    new_public: str
    seq: int
    """The last event a checkpoint signed by the old key may anchor."""
    time: datetime

    def body(self) -> bytes:
        content = {**asdict(self), "format": FORMAT, "time": self.time.astimezone(timezone.utc).isoformat()}
        return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()

    @property
    def name(self) -> str:
        return f"rotation-{self.seq:012d}-{self.new_key_id}.json"


@dataclass
class Keyring:
    anchor: str
    keys: dict[str, Verifier] = field(default_factory=dict)
    retired_after: dict[str, int] = field(default_factory=dict)
    """Key id -> the last event its checkpoints may anchor."""
    problems: list[tuple[int, str]] = field(default_factory=list)

    def check(self, name: str, body: bytes, signature: str, *, signed_key: str, seq: int) -> str | None:
        """What is wrong with checkpoint ``name`` (of event ``seq``, naming ``signed_key``), or None."""
        verifier = self.keys.get(signed_key)
        if verifier is None:
            return (f"checkpoint {name} names key {signed_key}, which is neither the configured key {self.anchor} "
                    "nor one rotated to or from it: it was altered or signed with another key")
        if not verifier.verifies(body, signature):
            return (f"checkpoint {name} does not verify with key {signed_key}: it was altered or signed with "
                    "another key")
        retired = self.retired_after.get(signed_key)
        if retired is not None and seq > retired:
            return (f"checkpoint {name} anchors event {seq}, but its key {signed_key} was retired after event "
                    f"{retired}: it was signed with a retired key")
        return None


def public_pem(verifier: Verifier) -> str:
    return verifier.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def write_rotation(folder: ObjectFolder, rotation: Rotation, *, old: Signer, new: Signer) -> None:
    body = rotation.body()
    folder.write(rotation.name + ".old.sig", old.sign(body).encode())
    folder.write(rotation.name + ".new.sig", new.sign(body).encode())
    folder.write(rotation.name, body)


def load_keyring(folder: ObjectFolder, anchor: Verifier) -> Keyring:
    """The keys linked to ``anchor`` by valid rotation records, and a problem for each record that is not."""
    ring = Keyring(anchor=anchor.key_id, keys={anchor.key_id: anchor})
    rotations: list[tuple[Rotation, Verifier, Verifier]] = []
    for seq, name in sorted((int(m.group(1)), n) for n in folder.names() if (m := _NAME.match(n))):
        try:
            body = folder.read(name)
            signatures = [folder.read(name + suffix).decode().strip() for suffix in (".old.sig", ".new.sig")]
            rotation = _parse(body)
            old, new = _verifier(rotation.old_public), _verifier(rotation.new_public)
        except FileNotFoundError:
            ring.problems.append((seq, f"key rotation {name} is not signed by both keys"))
            continue
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            ring.problems.append((seq, f"key rotation {name} is not readable: {exc}"))
            continue
        if (old.key_id, new.key_id) != (rotation.old_key_id, rotation.new_key_id) or rotation.name != name \
                or not (old.verifies(body, signatures[0]) and new.verifies(body, signatures[1])):
            ring.problems.append((seq, f"key rotation {name} does not verify with the keys it names: it was "
                                       "altered or forged"))
            continue
        rotations.append((rotation, old, new))
    grown = True
    while grown:
        grown = False
        for rotation, old, new in rotations:
            if (old.key_id in ring.keys) != (new.key_id in ring.keys):
                ring.keys.setdefault(old.key_id, old)
                ring.keys.setdefault(new.key_id, new)
                grown = True
    for rotation, old, _ in rotations:
        if old.key_id in ring.keys:
            ring.retired_after[old.key_id] = min(rotation.seq, ring.retired_after.get(old.key_id, rotation.seq))
    return ring


def _parse(body: bytes) -> Rotation:
    content = json.loads(body)
    if content.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} record")
    return Rotation(old_key_id=str(content["old_key_id"]), old_public=str(content["old_public"]),
                    new_key_id=str(content["new_key_id"]), new_public=str(content["new_public"]),
                    seq=int(content["seq"]), time=datetime.fromisoformat(content["time"]))


def _verifier(pem: str) -> Verifier:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return Verifier(key)
