"""Dealer registry: master data and history (offences, invoices, reviews, status changes)."""

from dealerpolicy.registry.imports import ImportReport, RowProblem, read_rows, shape_only
from dealerpolicy.registry.incidents import confirm_incident
from dealerpolicy.registry.store import RegistryStore

__all__ = ["ImportReport", "RegistryStore", "RowProblem", "confirm_incident", "read_rows",
           "shape_only"]
