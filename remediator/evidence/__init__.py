"""Evidence: what the target looked like just before we acted (and when acting failed).

`snapshot.gather` reads a pod (or a workload, or an HPA) through the official
client within a time budget and a size cap; `render` turns the stored
document into plain JSON for the API and into text for the CLI.
"""
