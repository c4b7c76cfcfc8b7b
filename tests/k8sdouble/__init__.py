"""A Kubernetes API server double, served over HTTP on loopback, and the pytest fixtures around it."""
