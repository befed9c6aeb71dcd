"""The agents' processes: trader, auditor and monitor. Each runs as its own OS process (local floor)
or Pod (Kubernetes), reads its manifest from a file or its custom resource, and talks to the floor
through PostgreSQL, Redis and its status sink."""
