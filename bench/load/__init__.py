"""A bounded load test on loopback: uvicorn in a subprocess, an httpx load generator, RSS sampling."""
