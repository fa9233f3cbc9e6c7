"""The decision audit log: hash-chained records, queries, export, verification."""

from dealerpolicy.audit.chain import GENESIS, ChainError, VerifyResult
from dealerpolicy.audit.store import AuditStore

__all__ = ["GENESIS", "AuditStore", "ChainError", "VerifyResult"]
