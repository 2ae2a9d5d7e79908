"""The K3s cluster the service guards: inventory editing and provisioning (Ansible)."""
