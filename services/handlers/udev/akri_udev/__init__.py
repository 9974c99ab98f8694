"""The udev discovery handler: devices on this node that match udev rules (upstream-compatible).

Rules in upstream's subset of the udev rule language (:mod:`akri_udev.rules`) are split as upstream
splits them (:mod:`akri_udev.query`), decided by pure functions (:mod:`akri_udev.matching`) over
snapshots read with pyudev (:mod:`akri_udev.sysfs`), turned into Akri devices
(:mod:`akri_udev.devices`, :mod:`akri_udev.kubevirt`), and kept current by uevents
(:mod:`akri_udev.monitor`, :mod:`akri_udev.inventory`, :mod:`akri_udev.handler`).
"""

from akri_udev.details import UdevDetails, parse_details
from akri_udev.handler import NAME, UdevHandler
from akri_udev.rules import Field, Filter, Operator, Rule, RuleSyntaxError, parse_rule, parse_rules
from akri_udev.settings import UdevSettings

__all__ = [
    "NAME",
    "Field",
    "Filter",
    "Operator",
    "Rule",
    "RuleSyntaxError",
    "UdevDetails",
    "UdevHandler",
    "UdevSettings",
    "parse_details",
    "parse_rule",
    "parse_rules",
]
