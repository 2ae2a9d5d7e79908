"""Our typed adapter around Ansible: running plays (`runner`) and reading the
inventory (`inventory`). Both the service's `ansible.playbook` action and the
cluster provisioning product use it."""
