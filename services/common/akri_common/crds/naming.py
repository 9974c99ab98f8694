"""Instance names, CDI names and environment-variable suffixes, exactly as upstream Akri derives them.

The digest is BLAKE2b with a 3-byte output over the device id, with the node name appended (no
separator) when the device is not shared, so that every node that sees a shared device converges on
one Instance name while node-local devices get one Instance per node.
"""

from __future__ import annotations

import hashlib

from akri_common.crds import GROUP
from akri_common.ids import ConfigurationName, DeviceId, InstanceName, NodeName


def device_hash(device_id: DeviceId, *, shared: bool, node: NodeName) -> str:
    """The six lower-case hex digits that tell one device's Instance from another's."""
    digest_input = device_id if shared else device_id + node
    return hashlib.blake2b(digest_input.encode(), digest_size=3).hexdigest()


def instance_name(configuration: ConfigurationName, digest: str) -> InstanceName:
    """``<configuration>-<hash6>``."""
    return InstanceName(f"{configuration}-{digest}")


def cdi_name(configuration: ConfigurationName, digest: str) -> str:
    """``akri.sh/<configuration>=<hash6>``, the Instance's ``spec.cdiName``."""
    return f"{GROUP}/{configuration}={digest}"


def env_suffix(digest: str) -> str:
    """The suffix of the per-Instance copy of each environment variable (``KEY_<HASH6>``)."""
    return digest.upper()


def resource_name(plugin: str) -> str:
    """The kubelet extended-resource name of an instance- or configuration-level plugin."""
    return f"{GROUP}/{plugin}"
