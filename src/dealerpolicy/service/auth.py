"""Bearer tokens from the config, each with roles: `check`, `audit`, `admin`.

A request without a known token gets 401; a known token without the role gets 403.
Every configured token is compared (constant time, `hmac.compare_digest`) so the
answer time does not tell how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dealerpolicy.config import Token
from dealerpolicy.service.problems import HTTPProblem

bearer = HTTPBearer(auto_error=False, description="a token from server.tokens in the config")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dealerpolicy"'}


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]


class TokenTable:
    """The configured tokens, looked up in constant time per token."""

    def __init__(self, tokens: list[Token]):
        self._tokens = [(t.token.encode(), Principal(t.name, frozenset(t.roles))) for t in tokens]

    def find(self, presented: str) -> Principal | None:
        """The principal of a token, or None; compares against every token."""
        given = presented.encode()
        found = None
        for secret, principal in self._tokens:
            if hmac.compare_digest(secret, given) and found is None:
                found = principal
        return found


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer <token>` header ("" when there is none)."""
    return token_of(request.headers.get("authorization", ""))


def token_of(authorization: str) -> str:
    scheme, _, credentials = authorization.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def authorize(tokens: TokenTable, token: str, roles: tuple[str, ...]) -> Principal:
    """The principal of `token` if it holds one of `roles` (any role when empty); else 401/403."""
    if not token:
        raise HTTPProblem(401, "auth.missing_token", "send Authorization: Bearer <token>", CHALLENGE)
    principal = tokens.find(token)
    if principal is None:
        raise HTTPProblem(401, "auth.bad_token", "the bearer token is not known", CHALLENGE)
    if roles and not principal.roles & set(roles):
        raise HTTPProblem(403, "auth.forbidden",
                          f"token {principal.name!r} lacks the role {' or '.join(roles)} "
                          f"(it has: {', '.join(sorted(principal.roles)) or 'none'})")
    return principal


def require(*roles: str) -> Callable[..., Any]:
    """A dependency: the caller's principal if it holds one of `roles`; else 401/403."""

    async def dependency(request: Request,
                         creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        return authorize(request.app.state.tokens, creds.credentials.strip() if creds else "", roles)

    return dependency
