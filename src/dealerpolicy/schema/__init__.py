"""Fact types and decision points from schema.yaml; validation of request facts."""

from dealerpolicy.schema.model import Point, Schema, load_schema, schema_from_node

__all__ = ["Point", "Schema", "load_schema", "schema_from_node"]
