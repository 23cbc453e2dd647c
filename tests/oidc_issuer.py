"""A test OpenID Connect issuer: RSA keys generated here, the public one served as a JWKS over loopback HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER, AUDIENCE = "https://id.example.test/realms/ml", "shipyard"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextmanager
def serve_jwks(public_key, *, kid: str = "k1") -> Iterator[str]:
    """The URL of a JWKS naming ``public_key`` as ``kid``, served until the block ends."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))
    body = json.dumps({"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def signed_jwt(key, *, kid: str = "k1", **overrides) -> str:
    """A JWT from the issuer for alice, developer in fraud, valid five minutes; ``None`` drops a claim."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "0f3a", "preferred_username": "alice", "iat": now,
              "exp": now + 300, "groups": ["fraud:developer", "risk:viewer", "risk:approver", "everyone"]}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": kid})
