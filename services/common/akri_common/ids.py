"""Distinct types for the names that flow between components, so that mypy keeps them apart."""

from typing import NewType

NodeName = NewType("NodeName", str)
ConfigurationName = NewType("ConfigurationName", str)
InstanceName = NewType("InstanceName", str)
HandlerName = NewType("HandlerName", str)
DeviceId = NewType("DeviceId", str)
