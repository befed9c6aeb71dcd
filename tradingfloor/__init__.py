"""Trading Floor: the shared domain (models, decision rules, persistence, market data, trading core).

Both the Floor Boss (``floor_boss``) and the agents (``floor_agents``) import from here; this package
imports neither of them, so there are no cycles (the CLI loads them lazily inside its commands).
"""

__version__ = "0.1.0"
