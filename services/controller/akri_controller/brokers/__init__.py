"""What the controller deploys, as pure functions: names, labels, manifests and pod decisions."""
