"""A small OpenID Connect provider on loopback for browser sign-in tests: a discovery document, its JWKS, an
authorization endpoint that signs one user in at once and redirects back with a code, and a token endpoint that
redeems the code only for the PKCE verifier (S256) it was issued for. Browsers call it across origins (CORS)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

import jwt
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from live_server import LiveServer
from oidc_issuer import new_key


@dataclass
class OidcProvider:
    user: str
    groups: list[str]
    audience: str
    client_id: str
    key: object = field(default_factory=new_key)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    redeemed: list[str] = field(default_factory=list)
    """The user of each code traded for a token, in order."""

    def __enter__(self) -> OidcProvider:
        self._server = LiveServer(self._app()).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self._server.url

    def _app(self):
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict:
            return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                    "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]}

        @app.get("/jwks")
        def jwks() -> dict:
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        def authorize(request: Request):
            asked = request.query_params
            checks = {"response_type": asked.get("response_type") == "code",
                      "client_id": asked.get("client_id") == self.client_id,
                      "code_challenge_method": asked.get("code_challenge_method") == "S256",
                      "code_challenge": bool(asked.get("code_challenge")),
                      "redirect_uri": bool(asked.get("redirect_uri")),
                      "scope": "openid" in asked.get("scope", "").split()}
            problems = [name for name, ok in checks.items() if not ok]
            if problems:
                return PlainTextResponse(f"bad authorization request: {', '.join(problems)}", status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"challenge": asked["code_challenge"], "redirect_uri": asked["redirect_uri"]}
            back = urlencode({"code": code, "state": asked.get("state", "")})
            return RedirectResponse(f"{asked['redirect_uri']}?{back}", status_code=302)

        @app.post("/token")
        async def token(request: Request):
            form = {name: values[0] for name, values in parse_qs((await request.body()).decode()).items()}
            issued = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "").encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if (issued is None or form.get("grant_type") != "authorization_code"
                    or form.get("client_id") != self.client_id or form.get("redirect_uri") != issued["redirect_uri"]
                    or challenge != issued["challenge"]):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.redeemed.append(self.user)
            now = int(time.time())
            claims = {"iss": self.url, "aud": self.audience, "sub": f"id-{self.user}",
                      "preferred_username": self.user, "groups": self.groups, "iat": now, "exp": now + 300}
            access = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
            return {"access_token": access, "token_type": "Bearer", "expires_in": 300,
                    "scope": form.get("scope", "openid")}

        return app
