"""The Ed25519 key pair that signs the audit log's checkpoints (``cryptography``'s implementation)."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shipyard.config import Settings
from shipyard.errors import RefusedError, SpecError


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key: names the key a checkpoint was signed with."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.private.public_key())

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode()


@dataclass(frozen=True)
class Verifier:
    public: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def verifies(self, data: bytes, signature: str) -> bool:
        try:
            self.public.verify(base64.b64decode(signature, validate=True), data)
        except (InvalidSignature, ValueError):
            return False
        return True


def generate_key_pair(path: Path) -> tuple[Path, Path, str]:
    """Write a new private key to ``path`` (mode 0600) and its public key to ``path.pub``; never overwrites."""
    public_path = path.with_name(path.name + ".pub")
    for existing in (path, public_path):
        if existing.exists():
            raise RefusedError(f"{existing} already exists; a signing key is never overwritten",
                               hint="choose another --out path, or remove the old key only once no checkpoint "
                                    "signed with it needs checking")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return path, public_path, key_id(private.public_key())


def load_signer(settings: Settings) -> Signer | None:
    """The configured signing key; None when ``SHIPYARD_AUDIT_SIGNING_KEY`` is not set."""
    if settings.audit_signing_key is None:
        return None
    private = _load(settings.audit_signing_key, "SHIPYARD_AUDIT_SIGNING_KEY", private=True)
    return Signer(private)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    return _load(path, "the key file", private=True)


def load_verifier(settings: Settings) -> Verifier | None:
    """The public key that checks checkpoints: ``SHIPYARD_AUDIT_PUBLIC_KEY``, else the signing key's own."""
    if settings.audit_public_key is not None:
        return Verifier(_load(settings.audit_public_key, "SHIPYARD_AUDIT_PUBLIC_KEY", private=False))
    signer = load_signer(settings)
    return None if signer is None else Verifier(signer.private.public_key())


def _load(path: Path, setting: str, *, private: bool):
    data = path.read_bytes()
    try:
        key = (serialization.load_pem_private_key(data, password=None) if private
               else serialization.load_pem_public_key(data))
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{setting}={path} is not a PEM {'private' if private else 'public'} key without a "
                        f"password: {exc}", headline="invalid setting",
                        hint="create a key pair with `shipyard audit keygen --out PATH`") from None
    wanted = Ed25519PrivateKey if private else Ed25519PublicKey
    if not isinstance(key, wanted):
        raise SpecError(f"{setting}={path} is a {type(key).__name__.lstrip('_')}, not an Ed25519 key",
                        headline="invalid setting", hint="create a key pair with `shipyard audit keygen --out PATH`")
    return key
