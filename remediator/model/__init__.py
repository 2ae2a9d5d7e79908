"""The vocabulary every layer shares: alerts, outcomes, action requests, policy, time."""
