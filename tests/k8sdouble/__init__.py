"""A Kubernetes API server double, served over HTTP on loopback, and the pytest fixtures around it.

Its modules, each depending only on those listed before it:

- ``clock``, ``errors``: the server's timestamps; rejected requests as ``Status`` answers.
- ``kinds``, ``crds``: the kinds served (built-in, and those of the CRD files), version order.
- ``selectors``: label and field selectors.
- ``schemas``, ``defaults``, ``validation``: custom resources' structural schemas (lookup, pruning), what the
  server fills in on write, what it refuses.
- ``managedfields``, ``apply``: field ownership, and server-side apply on top of it.
- ``patch``: merge and JSON patches.
- ``cluster``: the state in memory and the write pipeline.
- ``discovery``, ``requestlog``, ``faults``: discovery documents, the request log, injected failures.
- ``api``: the REST API over a cluster (routing, answers).
- ``server``: :class:`~.server.KubernetesDouble` (WSGI app, test hooks, loopback server) and the command line
  (``python -m tests.k8sdouble.server``); ``client``: :class:`~.client.DoubleClient` for the hooks of a double in
  another process; ``fixtures``: the pytest fixtures.
"""
