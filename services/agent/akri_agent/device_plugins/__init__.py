"""Kubelet device plugins for the Instances on this node (upstream Akri's plugin manager).

Per Instance listing this node: an instance-level plugin ``akri.sh/<instance>`` (slots
``<instance>-<n>``) and membership in the configuration-level plugin ``akri.sh/<configuration>``
(virtual ids ``<configuration>-<m>``). Slot bookkeeping lives in ``Instance.spec.deviceUsage``,
written by server-side apply with the field manager ``dp-<node>``.

``slots`` and ``allocation`` decide (pure); ``ledger`` writes this node's slots; ``plugin`` serves
the kubelet API; ``kubelet`` registers and watches for kubelet restarts; ``reclaimer`` frees slots
kubelet no longer reports; ``manager`` ties them together per Instance.
"""

from akri_agent.device_plugins.manager import DevicePluginManager

__all__ = ["DevicePluginManager"]
