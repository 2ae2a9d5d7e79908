"""Reports for humans: read the cluster and Prometheus, recommend, change nothing.

`rightsizing` holds the pure decision logic; `sources` reads the cluster (the
official Kubernetes client) and Prometheus (httpx); `render` prints a table
or JSON.
"""
