"""Anomalies: the failures a scan found, with sample rows, and what people made of them."""
