"""Templates and what they draw with: the template file, a workspace's catalogue, fonts and artwork."""
