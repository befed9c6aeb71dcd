"""Local services for the embedded default: PostgreSQL and Redis started from their pip wheels."""
