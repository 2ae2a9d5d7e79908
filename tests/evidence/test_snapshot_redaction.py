"""The issue's leaks through a real snapshot: logs, events and termination messages.

Gathered through the official client from kmock's emulator, as the service
does before acting; the stored document must hold none of the secrets.
"""

from __future__ import annotations

import json

import kmock
from kubernetes.client import ApiClient

from .conftest import Seeded, crashlooping_pod, declare_logs, event
from .test_snapshot import snap, target

KEY_LINES = ["MIIEowIBAAKCAQEA2a2rwplBQLzHPZe5TNJNqkV8aT7AhuLkRfJMj6tJXL9qXh1Q",
             "5onGa2smLkiGuEOPObp2/vjJDFEB++bPmkjVsMChPakApq3LPWQGlIG+IcnHJ7jb"]
LOG = "\n".join(["booting", "-----BEGIN RSA PRIVATE KEY-----", *KEY_LINES,
                 "-----END RSA PRIVATE KEY-----", "token ghp_U8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8D",
                 "+ mysql -u root -pS3cr3tRoot! shop", "redis AUTH xR9kL2mQ7",
                 'password = "hunter 2"', "panic: cannot start"]) + "\n"
JWT = ("eyJhbGciOiAiUlMyNTYiLCAia2lkIjogImsxIn0.eyJpc3MiOiAia3ViZXJuZXRlcy9zZXJ2aWNlYWNjb3Vud"
       "CIsICJzdWIiOiAic3lzdGVtOnNlcnZpY2VhY2NvdW50OmFwcHM6d2ViIn0.tcqcYezdZ_tDDj8hYs5suKcNd8Z")
SECRETS = [*KEY_LINES, "U8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8D", "S3cr3tRoot!", "xR9kL2mQ7",
           "hunter 2", JWT, "T024BE7LD/B08RS6ZK3L1/7pV2mQbXnR4sT9kW1yZ3aC5d", "pg-s3cr3t"]


async def test_no_secret_of_the_issue_reaches_the_stored_document(
        kmock: kmock.KubernetesEmulator, seeded: Seeded, client: ApiClient) -> None:
    seeded.scene()
    pod = crashlooping_pod()
    pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"] = (
        "fatal: PGPASSWORD=pg-s3cr3t rejected")
    seeded.add("v1/pods", pod)
    seeded.add("v1/events", event(
        "e3", "Pod", "web-b2-x1", "Failed", f"notify https://hooks.slack.com/services/"
        f"T024BE7LD/B08RS6ZK3L1/7pV2mQbXnR4sT9kW1yZ3aC5d with {JWT} failed"))
    declare_logs(kmock, LOG)

    doc = await snap(client, target(), log_lines=20)

    stored = json.dumps(doc)
    for secret in SECRETS:
        assert secret not in stored, secret
    lines = doc["previous_logs"]["web"]
    assert lines[0] == "booting" and lines[-1] == "panic: cannot start"
    assert "-----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----" in lines
    assert doc["containers"][0]["lastTermination"]["message"] == "fatal: PGPASSWORD=<redacted> rejected"
