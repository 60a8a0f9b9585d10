"""Containers: the tables, views and files a catalog operation found in a datastore."""
