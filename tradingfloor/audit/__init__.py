"""The auditor's pure core: the audit log's hash chain and the per-trade re-checks."""
