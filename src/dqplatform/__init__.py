"""dqplatform: a data-quality platform with a FastAPI controlplane and a PySpark dataplane."""
