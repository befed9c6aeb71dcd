"""The Floor Boss on one machine: agents as OS processes, state in PostgreSQL, the same decision core."""
