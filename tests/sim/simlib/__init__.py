"""k3sim: a simulated K3s API server (and, through simlib.world, its cluster) for tests."""
