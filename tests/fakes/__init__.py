"""In-memory twins of the ports use cases depend on (tests/fakes/unit_of_work.py)."""
