"""The rule library on Spark: one module per family of rules, each turning a check into
Spark work the scan runs (a per-record Column, aggregates, or a pass of its own)."""
