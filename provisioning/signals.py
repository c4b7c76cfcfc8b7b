"""How provisioning reports what happened to a run. The receivers live in portal: the catalog keeps or deletes
the row of a destroyed service, the audit log records who asked for what. Every signal is sent with
``sender=ProvisioningRun`` and the run as ``run``."""

from django.dispatch import Signal

# A run was created: ``actor`` (a user or None), ``awaiting_approval`` (it waits for an SRE).
run_requested = Signal()
# A run waits for an SRE's approval (when requested, or when a plan made again needs one): ``reasons``.
run_awaiting_approval = Signal()
# An SRE let a waiting run go ahead: ``actor``.
run_approved = Signal()
# An SRE turned a waiting run down: ``actor``, ``reason``.
run_rejected = Signal()
# Someone stopped a run: ``actor``, ``reason``.
run_cancelled = Signal()
# A run reached succeeded or failed: ``status``, ``error``.
run_finished = Signal()
