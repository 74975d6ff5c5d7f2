"""Where the client's bearer token comes from: a fixed token, a token file that something else
keeps fresh (oidc-agent, a cron job), or OAuth client credentials at the identity provider
(INDIGO IAM), renewed before they expire. The client asks before every request and connection,
so a renewed token is used from then on."""

from __future__ import annotations

import base64
import json
import os
import time
import warnings
from typing import Optional

import requests


def _expiry(token: str) -> Optional[float]:
    """When a JWT expires (seconds since the epoch); None for other tokens."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (IndexError, ValueError):
        return None


class StaticToken:
    """A fixed token (or none, for a gateway without authentication)."""

    renews = False

    def __init__(self, token: Optional[str]):
        self._token = token

    def token(self) -> Optional[str]:
        return self._token


class FileToken:
    """A token kept in a file, read again whenever the file changes. A file that goes missing,
    empty or unreadable does not lose the token already read: it is used until it expires."""

    renews = True

    def __init__(self, path: str):
        self.path = path
        self._token: Optional[str] = None
        self._seen = None

    def token(self) -> Optional[str]:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._seen:
                with open(self.path, encoding="utf-8") as file:
                    text = file.read().strip()
                if not text:
                    raise ValueError("it is empty")
                self._token, self._seen = text, stamp
        except (OSError, ValueError) as error:
            expiry = _expiry(self._token) if self._token else None
            if self._token is None or (expiry is not None and expiry <= time.time()):
                raise RuntimeError(f"token file {self.path}: {error}; no valid token to use meanwhile") from None
            warnings.warn(f"cannot read the token file {self.path} ({error}); keeping the token read before")
        return self._token


class ClientCredentials:
    """OAuth client credentials: the token endpoint from the issuer's discovery document, and a
    new token once less than a fifth of its life (at most a minute) is left."""

    renews = True

    def __init__(self, issuer: str, client_id: str, client_secret: str, scope: Optional[str] = None, timeout: float = 10):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.timeout = timeout
        self._endpoint: Optional[str] = None
        self._token: Optional[str] = None
        self._renew_at = 0.0

    def token(self) -> Optional[str]:
        if self._token and time.time() < self._renew_at:
            return self._token
        if self._endpoint is None:
            discovery = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=self.timeout)
            discovery.raise_for_status()
            self._endpoint = discovery.json()["token_endpoint"]
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        response = requests.post(self._endpoint, data=form, auth=(self.client_id, self.client_secret), timeout=self.timeout)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code >= 400 or "access_token" not in body:
            expiry = _expiry(self._token) if self._token else None
            if expiry is not None and expiry > time.time():
                return self._token  # renew later; this one is still good
            raise RuntimeError(f"the identity provider refused client credentials for {self.client_id}: {body.get('error', response.status_code)}")
        life = float(body.get("expires_in", 3600))
        self._token = body["access_token"]
        self._renew_at = time.time() + life - max(min(60.0, life / 2), life / 5)
        return self._token


def token_source(
    token: Optional[str] = None,
    token_file: Optional[str] = None,
    client_id: Optional[str] = None,
    client_secret: Optional[str] = None,
    issuer: Optional[str] = None,
    scope: Optional[str] = None,
):
    """The token source the arguments (or else the environment) ask for, in this order: client
    credentials (GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET, GATEWAY_OIDC_ISSUER,
    GATEWAY_OIDC_SCOPE), a token file (GATEWAY_TOKEN_FILE), a fixed token (GATEWAY_TOKEN)."""
    env = os.environ
    if token is not None:
        return StaticToken(token)
    client_id = client_id or env.get("GATEWAY_CLIENT_ID")
    client_secret = client_secret or env.get("GATEWAY_CLIENT_SECRET")
    if client_id or client_secret:
        issuer = issuer or env.get("GATEWAY_OIDC_ISSUER")
        if not (client_id and client_secret and issuer):
            raise ValueError("client credentials need a client id, a client secret and the issuer (GATEWAY_OIDC_ISSUER)")
        return ClientCredentials(issuer, client_id, client_secret, scope or env.get("GATEWAY_OIDC_SCOPE"))
    token_file = token_file or env.get("GATEWAY_TOKEN_FILE")
    if token_file:
        return FileToken(token_file)
    return StaticToken(env.get("GATEWAY_TOKEN"))
