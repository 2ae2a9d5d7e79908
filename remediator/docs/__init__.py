"""The reference pages under docs/, generated from the code's own models.

`python -m remediator.docs` (or `scripts/docs`) writes every rule field (from
the rule models' JSON Schema), every setting (`Settings`), every metric (the
service's registry, built without a server), every outcome
(`model.outcomes`) and the published rule-file schema. A test regenerates
them and compares, so the reference cannot drift from the code. This package
sits beside the CLI at the top of the import layers: it reads every layer and
no layer reads it.
"""
