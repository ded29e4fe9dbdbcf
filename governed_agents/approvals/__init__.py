"""Approval requests for gated writes, and the decisions people make on them.

See ``service`` for the rules; ``request_approval``, ``decide`` and friends are
re-exported here.
"""

from governed_agents.approvals.service import (
    ApprovalDecision,
    ApprovalRequest,
    decide,
    decide_batch,
    expire_overdue,
    get_request,
    list_requests,
    request_approval,
)

__all__ = [
    "ApprovalDecision",
    "ApprovalRequest",
    "decide",
    "decide_batch",
    "expire_overdue",
    "get_request",
    "list_requests",
    "request_approval",
]
