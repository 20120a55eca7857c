"""Side-by-side benchmarks of Redwood against real redis-server: `python -m bench` (see __main__)."""
