"""The portal deployed on the cluster it manages: its exposure rendered by its own builders (``exposure``) and the
least-privilege RBAC of its ``kubernetes`` target (``rbac``). Both write files under ``deploy/``."""
