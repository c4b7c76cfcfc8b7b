"""Provisioning runs: what is asked (``lifecycle``), how it reaches a worker (``dispatch``, ``tasks``), how a
worker carries it out (``perform``), what happens when a worker vanishes (``reaper``) and the drift sweep's
batches (``sweep``). The engine that plans and applies one scope is ``provisioning.engine``."""
