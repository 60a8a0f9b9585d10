"""Field profiles: what a profile operation measured in each field of each container."""
