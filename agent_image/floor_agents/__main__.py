"""``python -m floor_agents trader|auditor|monitor …``: the agent process entry (:mod:`floor_agents.entry`)."""

from floor_agents.entry import main

if __name__ == "__main__":
    main()
